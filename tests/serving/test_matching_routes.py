"""Cohort matching over HTTP: propose a draft, review, edit, accept; exposure spreading."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from serving_helpers import assert_error, auth, mentee, mentor

from evaluation.matching_eval import HashingEncoder
from models.ranker import RankerModel
from recsys.context import AppContext
from recsys.engine import RecommendationEngine

AS_OF = "2026-03-02"


@pytest.fixture(scope="module", autouse=True)
def fast_matching_engine(app: FastAPI, serving_ctx: AppContext) -> None:
    """The matching routes' ranker pipeline, with a hashing encoder instead of the model."""
    if getattr(app.state, "matching_engine", None) is None:
        enc = HashingEncoder()
        engine = RecommendationEngine(serving_ctx, ranker=RankerModel.cold_start(enc.encoder_id))
        engine.__dict__["embedder"] = enc
        app.state.matching_engine = engine


def _programme(client: TestClient, key: str, org: str) -> dict[str, Any]:
    h = auth(key)
    mentors = [
        mentor(f"{org}-m1", bio="I coach engineers on system design and distributed systems.",
               capacity=1),
        mentor(f"{org}-m2", bio="Distributed systems, system design reviews, python.", capacity=1),
        mentor(f"{org}-m3", bio="Marketing strategy and brand building.", capacity=1),
        mentor(f"{org}-fr", languages=["fr"], bio="Design de systemes distribues.", capacity=3),
    ]  # fmt: skip
    mentees = [mentee(f"{org}-e{i}") for i in range(4)] + [
        mentee(f"{org}-de", languages=["de"], excluded_mentor_ids=[f"{org}-m1"])
    ]
    assert client.post("/v1/mentors:bulk", json={"items": mentors}, headers=h).is_success
    assert client.post("/v1/mentees:bulk", json={"items": mentees}, headers=h).is_success
    return {"mentors": mentors, "mentees": mentees}


def test_cohort_draft_review_edit_accept(client: TestClient, make_key: Any, org: str) -> None:
    coord = make_key(org, "coordinator")
    h = auth(coord)
    data = _programme(client, make_key(org, "admin"), org)
    ids = [m["id"] for m in data["mentees"]]
    resp = client.post("/v1/matching/cohort", json={"mentee_ids": ids, "as_of": AS_OF}, headers=h)
    assert resp.status_code == 201, resp.text
    draft = resp.json()
    assert draft["status"] == "draft" and len(draft["items"]) == 5
    items = {i["mentee_id"]: i for i in draft["items"]}
    matched = [i for i in items.values() if i["mentor_id"]]
    # three English-speaking mentors with one slot each: at most three English mentees placed
    assert len(matched) == 3 and len({i["mentor_id"] for i in matched}) == 3
    assert all(i["mentor_id"] != f"{org}-fr" for i in matched)  # no shared language
    unmatched = [i for i in items.values() if i["mentor_id"] is None]
    assert len(unmatched) == 2 and all(i["unmatched_reason"] for i in unmatched)
    assert items[f"{org}-de"]["mentor_id"] != f"{org}-m1"  # excluded
    assert draft["summary"]["matched_mentees"] == 3

    got = client.get(f"/v1/matching/drafts/{draft['id']}", headers=h)
    assert got.status_code == 200 and got.json()["items"] == draft["items"]

    # edits are checked against the hard constraints
    loser = next(i["mentee_id"] for i in unmatched if i["mentee_id"] != f"{org}-de")
    path = f"/v1/matching/drafts/{draft['id']}/items/{loser}"
    err = assert_error(
        client.patch(path, json={"mentor_id": f"{org}-fr"}, headers=h), 422, "validation_error"
    )
    assert err["details"][0]["field"] == "body.mentor_id"
    taken = matched[0]["mentor_id"]
    assert_error(client.patch(path, json={"mentor_id": taken}, headers=h), 422, "validation_error")
    # free a slot, give it to the unmatched mentee
    freed = client.patch(
        f"/v1/matching/drafts/{draft['id']}/items/{matched[0]['mentee_id']}",
        json={"mentor_id": None}, headers=h,
    )  # fmt: skip
    assert freed.status_code == 200 and freed.json()["mentor_id"] is None
    moved = client.patch(path, json={"mentor_id": taken}, headers=h)
    assert moved.status_code == 200, moved.text
    assert moved.json()["mentor_id"] == taken and 0 < moved.json()["score"] < 1

    accepted = client.post(f"/v1/matching/drafts/{draft['id']}/accept", headers=h)
    assert accepted.status_code == 200, accepted.text
    pairings = accepted.json()["pairings"]
    assert len(pairings) == 3
    for pid in pairings:
        p = client.get(f"/v1/pairings/{pid}", headers=h).json()
        assert p["status"] == "active" and p["started_at"] == AS_OF
    assert_error(client.post(f"/v1/matching/drafts/{draft['id']}/accept", headers=h), 409,
                 "conflict")  # fmt: skip
    assert_error(client.delete(f"/v1/matching/drafts/{draft['id']}", headers=h), 409, "conflict")

    # the new load counts: every English mentor is now full
    again = client.post("/v1/matching/cohort",
                        json={"mentee_ids": ids[:2], "as_of": AS_OF}, headers=h)  # fmt: skip
    assert again.status_code == 201
    assert all(i["mentor_id"] is None for i in again.json()["items"])
    assert client.delete(f"/v1/matching/drafts/{again.json()['id']}", headers=h).status_code == 204


def test_inline_cohort_and_options(client: TestClient, make_key: Any, org: str) -> None:
    h = auth(make_key(org, "coordinator"))
    _programme(client, make_key(org, "admin"), org)
    inline = [mentee(f"{org}-new{i}") for i in range(2)]
    body = {"mentees": inline, "as_of": AS_OF, "objective": "most_matched",
            "mentors_per_mentee": 2, "spread_exposure": 0.3}  # fmt: skip
    resp = client.post("/v1/matching/cohort", json=body, headers=h)
    assert resp.status_code == 201, resp.text
    draft = resp.json()
    assert len(draft["items"]) == 4  # two slots per mentee
    assert draft["params"]["objective"] == "most_matched"
    assert "spreading" in draft["summary"]
    assert client.get(f"/v1/mentees/{org}-new0", headers=h).status_code == 404  # not stored yet


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"mentee_ids": ["a"], "mentees": [mentee("b")]},
        {"mentee_ids": ["a"], "objective": "fastest"},
        {"mentee_ids": ["a"], "spread_exposure": 2},
        {"mentees": [mentee("a"), mentee("a")]},
    ],
)
def test_invalid_cohort_requests(client: TestClient, make_key: Any, org: str,
                                 body: dict[str, Any]) -> None:  # fmt: skip
    resp = client.post("/v1/matching/cohort", json=body, headers=auth(make_key(org, "coordinator")))
    assert_error(resp, 422, "validation_error")


def test_matching_is_a_coordinator_action(client: TestClient, make_key: Any, org: str) -> None:
    resp = client.post("/v1/matching/cohort", json={"mentee_ids": ["x"]},
                       headers=auth(make_key(org, "app")))  # fmt: skip
    assert_error(resp, 403, "forbidden")
    unknown = client.post("/v1/matching/cohort", json={"mentee_ids": ["x"]},
                          headers=auth(make_key(org, "coordinator")))  # fmt: skip
    assert_error(unknown, 404, "not_found")


def test_recommendations_can_spread_exposure(client: TestClient, make_key: Any, org: str) -> None:
    admin = auth(make_key(org, "admin"))
    bio = "I coach engineers on system design and distributed systems."
    # same bio; the hot mentor also shares the mentee's skill tag, so it ranks first
    mentors = [mentor(f"{org}-hot", bio=bio, skills=["python"], capacity=2),
               mentor(f"{org}-cold", bio=bio, skills=["cooking"], capacity=2)]  # fmt: skip
    assert client.post("/v1/mentors:bulk", json={"items": mentors}, headers=admin).is_success
    assert client.put(f"/v1/mentees/{org}-e", json=mentee(f"{org}-e"), headers=admin).is_success
    day = dt.date.today() - dt.timedelta(days=2)
    for i in range(2):  # two recent requests: the hot mentor is saturated
        assert client.put(f"/v1/mentees/{org}-r{i}", json=mentee(f"{org}-r{i}"),
                          headers=admin).is_success  # fmt: skip
        ev = {"mentee_id": f"{org}-r{i}", "mentor_id": f"{org}-hot", "at": day.isoformat(),
              "event": "requested"}  # fmt: skip
        assert client.post("/v1/interactions", json=ev, headers=admin).is_success
    plain = client.post("/v1/recommendations", json={"mentee_id": f"{org}-e", "k": 2},
                        headers=admin).json()["recommendations"]  # fmt: skip
    assert [r["mentor_id"] for r in plain] == [f"{org}-hot", f"{org}-cold"]
    spread = client.post("/v1/recommendations",
                         json={"mentee_id": f"{org}-e", "k": 2, "spread_exposure": 1.0},
                         headers=admin).json()["recommendations"]  # fmt: skip
    assert [r["mentor_id"] for r in spread] == [f"{org}-cold", f"{org}-hot"]
    assert [r["rank"] for r in spread] == [1, 2]
