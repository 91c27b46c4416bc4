"""Recommendations over HTTP: inputs, hard constraints, and the served-list log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fastapi.testclient import TestClient
from serving_helpers import FakeEngine, assert_error, auth, mentee, mentor, pairing
from sqlalchemy import select

from recsys import db, keys, store
from recsys.context import AppContext
from recsys.settings import Settings
from serving.app import create_app


def _mentors(client: TestClient, key: str) -> None:
    rows = [
        mentor("design", bio="System design and distributed systems coach.", skills=["python"]),
        mentor("sales", bio="Enterprise sales and negotiation.", skills=["negotiation"]),
        mentor("french", languages=["fr"], bio="System design, distributed systems."),
        mentor("closed", capacity=0, bio="System design."),
        mentor("full", capacity=1, bio="System design and distributed systems."),
        mentor("inactive", active=False, bio="System design and distributed systems."),
    ]
    assert client.post("/v1/mentors:bulk", json={"items": rows}, headers=auth(key)).is_success


def _recommended_ids(client: TestClient, headers: dict[str, str], as_of: str) -> list[str]:
    body = {"mentee": mentee("x"), "as_of": as_of}
    resp = client.post("/v1/recommendations", json=body, headers=headers)
    return [r["mentor_id"] for r in resp.json()["recommendations"]]


def test_recommend_inline_profile_applies_hard_constraints(
    client: TestClient, app_key: str
) -> None:
    _mentors(client, app_key)
    h = auth(app_key)
    client.put("/v1/mentees/busy", json=mentee("busy"), headers=h)
    client.put("/v1/pairings/p", json=pairing("p", "full", "busy"), headers=h)
    resp = client.post("/v1/recommendations", json={"mentee": mentee("x"), "k": 10}, headers=h)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    ids = [r["mentor_id"] for r in body["recommendations"]]
    assert ids == ["design", "sales"]  # closed, full, inactive and no-shared-language are out
    assert [r["rank"] for r in body["recommendations"]] == [1, 2]
    assert body["recommendations"][0]["score"] > body["recommendations"][1]["score"]
    assert body["recommendations"][0]["reasons"]
    assert body["mentee_id"] == "x" and body["model_version"]


def test_a_mentor_who_said_full_is_left_out_for_a_while(client: TestClient, app_key: str) -> None:
    _mentors(client, app_key)
    h = auth(app_key)
    said = {"mentee_id": "e", "mentor_id": "design", "at": "2024-04-02", "event": "declined",
            "decline_reason": "no_capacity"}  # fmt: skip
    assert client.post("/v1/interactions", json=said, headers=h).status_code == 201

    def ids(as_of: str) -> list[str]:
        return _recommended_ids(client, h, as_of)

    assert "design" not in ids("2024-04-02") and "design" not in ids("2024-04-15")
    assert "design" in ids("2024-04-01")  # before it said so
    assert "design" in ids("2024-04-16")  # 14 days on


def test_a_mentor_who_said_full_has_room_again_when_a_pairing_ends(
    client: TestClient, app_key: str
) -> None:
    _mentors(client, app_key)
    h = auth(app_key)
    client.put("/v1/mentees/e", json=mentee("e"), headers=h)
    said = {"mentee_id": "e", "mentor_id": "design", "at": "2024-04-02", "event": "declined",
            "decline_reason": "no_capacity"}  # fmt: skip
    assert client.post("/v1/interactions", json=said, headers=h).status_code == 201
    done = pairing("p", "design", "e", started_at="2024-01-08", ended_at="2024-04-09",
                   status="completed")  # fmt: skip
    assert client.put("/v1/pairings/p", json=done, headers=h).is_success

    def ids(as_of: str) -> list[str]:
        return _recommended_ids(client, h, as_of)

    assert "design" not in ids("2024-04-08")
    assert "design" in ids("2024-04-09")  # its pairing ended: room again, days before the 14


def test_recommend_by_id_with_exclusions_and_k(client: TestClient, app_key: str) -> None:
    _mentors(client, app_key)
    h = auth(app_key)
    client.put("/v1/mentees/e", json=mentee("e", excluded_mentor_ids=["sales"]), headers=h)
    one = client.post("/v1/recommendations", json={"mentee_id": "e", "k": 1}, headers=h).json()
    assert [r["mentor_id"] for r in one["recommendations"]] == ["design"]
    excl = {"mentee_id": "e", "exclude_mentor_ids": ["design", "full"]}
    assert client.post("/v1/recommendations", json=excl, headers=h).json()["recommendations"] == []
    assert_error(client.post("/v1/recommendations", json={"mentee_id": "nobody"}, headers=h),
                 404, "not_found")  # fmt: skip


def test_served_lists_are_logged(
    client: TestClient, app_key: str, org: str, serving_ctx: AppContext
) -> None:
    _mentors(client, app_key)
    h = auth(app_key)
    body = client.post("/v1/recommendations", json={"mentee": mentee("x")}, headers=h).json()
    rec_id = body["recommendation_id"]
    client.app.state.served_writer.flush()  # type: ignore[attr-defined]  # written behind
    with serving_ctx.sessions() as s:
        served = s.get(db.RecommendationList, rec_id)
        assert served is not None and served.org_id == org and served.mentee_id == "x"
        assert [i["mentor_id"] for i in served.items] == ["design", "full", "sales"]
        shown = s.scalars(
            select(db.Interaction).where(db.Interaction.recommendation_id == rec_id)
        ).all()
        assert sorted((i.mentor_id, i.position, i.event) for i in shown) == [
            ("design", 1, "shown"),
            ("full", 2, "shown"),
            ("sales", 3, "shown"),
        ]
    event = {"mentee_id": "x", "mentor_id": "design", "at": "2024-04-02", "event": "requested",
             "recommendation_id": rec_id}  # fmt: skip
    assert client.post("/v1/interactions", json=event, headers=h).status_code == 201
    # Reporting the same event twice keeps one row.
    assert client.post("/v1/interactions", json=event, headers=h).status_code == 201
    declined = {**event, "event": "declined", "decline_reason": "no_capacity"}
    assert client.post("/v1/interactions", json=declined, headers=h).status_code == 201
    with serving_ctx.sessions() as s:
        logged = s.scalars(
            select(db.Interaction).where(
                db.Interaction.org_id == org, db.Interaction.event != "shown"
            )
        ).all()
    assert sorted((i.event, i.decline_reason) for i in logged) == [
        ("declined", "no_capacity"),
        ("requested", None),  # once
    ]
    for bad, why in (
        ({**event, "decline_reason": "no_capacity"}, "only allowed with event 'declined'"),
        ({**declined, "decline_reason": "busy"}, "no_capacity"),  # names the allowed values
    ):
        err = assert_error(
            client.post("/v1/interactions", json=bad, headers=h), 422, "validation_error"
        )
        (detail,) = err["details"]
        assert detail["field"] == "body.decline_reason" and why in detail["reason"]
    # values past what the columns hold are the client's error, not a 500 (the contract fuzz
    # test sent a 22-digit position, which overflowed SQLite's INTEGER)
    for field, value in (("position", 10**21), ("recommendation_id", "r" * 65)):
        err = assert_error(
            client.post("/v1/interactions", json={**event, field: value}, headers=h),
            422,
            "validation_error",
        )
        assert [d["field"] for d in err["details"]] == [f"body.{field}"]
    with serving_ctx.sessions() as s:  # nothing more was stored
        assert len(s.scalars(select(db.Interaction).where(db.Interaction.org_id == org,
                   db.Interaction.event != "shown")).all()) == 2  # fmt: skip


def test_request_validation(client: TestClient, app_key: str) -> None:
    h = auth(app_key)
    cases = [
        ({"mentee_id": "e", "k": 0}, "body.k"),
        ({"mentee_id": "e", "k": 101}, "body.k"),
        ({"k": 3}, "body"),
        ({"mentee_id": "e", "mentee": mentee("e")}, "body"),
        ({"mentee": {**mentee("e"), "languages": []}}, "body.mentee.languages"),
        ({"mentee_id": "e", "as_of": "yesterday"}, "body.as_of"),
    ]
    for body, field in cases:
        err = assert_error(client.post("/v1/recommendations", json=body, headers=h), 422,
                           "validation_error")  # fmt: skip
        assert err["details"][0]["field"] == field, (body, err)


def test_recommendations_past_the_in_flight_cap_get_503_overloaded(
    client: TestClient, app_key: str
) -> None:
    import asyncio

    from serving.limits import InFlightLimit

    _mentors(client, app_key)
    h = auth(app_key)
    body = {"mentee": mentee("y"), "k": 3}
    state = client.app.state  # type: ignore[attr-defined]
    saved = state.recommend_limit
    limit = state.recommend_limit = InFlightLimit(1, max_wait_s=0.05)
    try:
        asyncio.run(limit._slots.acquire())  # one request in progress that does not finish
        resp = client.post("/v1/recommendations", json=body, headers=h)
        limit._slots.release()
        assert resp.status_code == 503
        assert resp.headers["Retry-After"] == "1"
        assert resp.json()["error"]["code"] == "overloaded"
        assert client.post("/v1/recommendations", json=body, headers=h).status_code == 200
    finally:
        state.recommend_limit = saved


def test_a_decline_for_no_capacity_reaches_the_engine(tmp_path: Path) -> None:
    ctx = AppContext(Settings(home=tmp_path))
    ctx.migrate()
    with store.transaction(ctx.sessions) as s:
        _, key = keys.create_key(s, "o", "k", ["app"])
    engine = FakeEngine()
    with TestClient(create_app(ctx, engine=engine)) as client:
        base = {"mentee_id": "e", "mentor_id": "m", "at": "2024-04-02", "event": "declined"}
        for body in (base, {**base, "decline_reason": "poor_fit"}):
            assert client.post("/v1/interactions", json=body, headers=auth(key)).status_code == 201
        assert engine.said_full == []  # only "no room" says anything about capacity
        full = {**base, "decline_reason": "no_capacity"}
        assert client.post("/v1/interactions", json=full, headers=auth(key)).status_code == 201
    assert engine.said_full == [("o", "m", dt.date(2024, 4, 2))]
