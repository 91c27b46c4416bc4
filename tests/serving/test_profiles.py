"""Mentor and mentee CRUD over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from serving_helpers import assert_error, auth, mentee, mentor, pairing


def test_mentor_crud_round_trip(client: TestClient, app_key: str) -> None:
    h = auth(app_key)
    created = client.post("/v1/mentors", json=mentor("m1", title="Principal"), headers=h)
    assert created.status_code == 201
    assert created.json()["title"] == "Principal" and created.json()["active_mentees"] == 0
    replaced = client.put("/v1/mentors/m1", json=mentor("m1", capacity=5), headers=h)
    assert replaced.status_code == 200 and replaced.json()["capacity"] == 5
    got = client.get("/v1/mentors/m1", headers=h).json()
    assert got["title"] == "Staff engineer" and got["languages"] == ["en", "de"]
    assert client.delete("/v1/mentors/m1", headers=h).status_code == 204
    assert_error(client.get("/v1/mentors/m1", headers=h), 404, "not_found")
    assert_error(client.delete("/v1/mentors/m1", headers=h), 404, "not_found")


def test_mentor_list_paginates_and_counts(client: TestClient, app_key: str) -> None:
    h = auth(app_key)
    items = [mentor(f"m{i:02d}") for i in range(7)]
    assert client.post("/v1/mentors:bulk", json={"items": items}, headers=h).json() == {
        "upserted": 7
    }
    page = client.get("/v1/mentors", params={"limit": 3, "offset": 2}, headers=h).json()
    assert [m["id"] for m in page["items"]] == ["m02", "m03", "m04"]
    assert (page["total"], page["limit"], page["offset"]) == (7, 3, 2)
    tail = client.get("/v1/mentors", params={"limit": 3, "offset": 6}, headers=h).json()
    assert [m["id"] for m in tail["items"]] == ["m06"]
    err = assert_error(client.get("/v1/mentors", params={"limit": 0}, headers=h), 422,
                       "validation_error")  # fmt: skip
    assert err["details"][0]["field"] == "query.limit"


def test_active_mentees_counts_active_pairings(client: TestClient, app_key: str) -> None:
    h = auth(app_key)
    client.put("/v1/mentors/m", json=mentor("m"), headers=h)
    client.put("/v1/mentees/e1", json=mentee("e1"), headers=h)
    client.put("/v1/mentees/e2", json=mentee("e2"), headers=h)
    client.put("/v1/pairings/p1", json=pairing("p1", "m", "e1"), headers=h)
    ended = pairing("p2", "m", "e2", status="completed", ended_at="2024-03-01")
    client.put("/v1/pairings/p2", json=ended, headers=h)
    assert client.get("/v1/mentors/m", headers=h).json()["active_mentees"] == 1


def test_bulk_is_all_or_nothing(client: TestClient, app_key: str) -> None:
    h = auth(app_key)
    bad = [mentor("ok"), mentor("bad", seniority=99)]
    err = assert_error(client.post("/v1/mentors:bulk", json={"items": bad}, headers=h), 422,
                       "validation_error")  # fmt: skip
    assert err["details"][0]["field"] == "body.items.1.seniority"
    assert_error(client.get("/v1/mentors/ok", headers=h), 404, "not_found")
    dup = [mentee("x"), mentee("x")]
    err = assert_error(client.post("/v1/mentees:bulk", json={"items": dup}, headers=h), 422,
                       "validation_error")  # fmt: skip
    assert err["details"] == [{"field": "body.items.1.id", "reason": "duplicate id 'x'"}]


def test_put_requires_matching_ids(client: TestClient, app_key: str) -> None:
    resp = client.put("/v1/mentees/a", json=mentee("b"), headers=auth(app_key))
    err = assert_error(resp, 422, "validation_error")
    assert err["details"][0]["field"] == "body.id"


def test_mentee_crud_and_unknown_fields(client: TestClient, app_key: str) -> None:
    h = auth(app_key)
    body = mentee("e", excluded_mentor_ids=["boss"])
    assert client.post("/v1/mentees", json=body, headers=h).status_code == 201
    got = client.get("/v1/mentees/e", headers=h).json()
    assert got["excluded_mentor_ids"] == ["boss"] and got["goals"].startswith("I want")
    assert client.get("/v1/mentees", headers=h).json()["total"] == 1
    err = assert_error(client.post("/v1/mentees", json={**body, "salary": 1}, headers=h), 422,
                       "validation_error")  # fmt: skip
    assert err["details"][0]["field"] == "body.salary"
    assert client.delete("/v1/mentees/e", headers=h).status_code == 204


def test_working_style_answers_are_stored_and_checked(client: TestClient, app_key: str) -> None:
    h = auth(app_key)
    body = mentor("m", style_structure="structured", style_modality="live")
    assert client.put("/v1/mentors/m", json=body, headers=h).status_code in (200, 201)
    got = client.get("/v1/mentors/m", headers=h).json()
    assert (got["style_structure"], got["style_modality"]) == ("structured", "live")
    resp = client.put("/v1/mentors/m", json={**body, "style_modality": "phone"}, headers=h)
    err = assert_error(resp, 422, "validation_error")
    assert err["details"][0]["field"] == "body.style_modality"
    assert "'written' or 'live'" in err["details"][0]["reason"]
    assert client.get("/v1/mentors/m", headers=h).json()["style_modality"] == "live"  # kept


def test_deleting_a_referenced_mentor_is_a_conflict(client: TestClient, app_key: str) -> None:
    h = auth(app_key)
    client.put("/v1/mentors/m", json=mentor("m"), headers=h)
    client.put("/v1/mentees/e", json=mentee("e"), headers=h)
    client.put("/v1/pairings/p", json=pairing("p", "m", "e"), headers=h)
    assert_error(client.delete("/v1/mentors/m", headers=h), 409, "conflict")
    assert_error(client.delete("/v1/mentees/e", headers=h), 409, "conflict")
    assert client.get("/v1/mentors/m", headers=h).status_code == 200  # rolled back


def test_coordinator_reads_but_does_not_write(
    client: TestClient, app_key: str, coordinator_key: str
) -> None:
    client.put("/v1/mentors/m", json=mentor("m"), headers=auth(app_key))
    assert client.get("/v1/mentors/m", headers=auth(coordinator_key)).status_code == 200
    resp = client.put("/v1/mentors/m", json=mentor("m"), headers=auth(coordinator_key))
    assert_error(resp, 403, "forbidden")
