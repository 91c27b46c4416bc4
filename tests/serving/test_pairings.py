"""Pairings over HTTP: references, consistency, risk."""

from __future__ import annotations

from fastapi.testclient import TestClient
from serving_helpers import assert_error, auth, feedback, mentee, mentor, pairing


def _people(client: TestClient, key: str) -> None:
    client.put("/v1/mentors/m", json=mentor("m"), headers=auth(key))
    client.put("/v1/mentees/e", json=mentee("e"), headers=auth(key))


def test_pairing_crud(client: TestClient, app_key: str) -> None:
    _people(client, app_key)
    h = auth(app_key)
    assert client.post("/v1/pairings", json=pairing("p", "m", "e"), headers=h).status_code == 201
    done = pairing("p", "m", "e", status="completed", ended_at="2024-05-01", rating=4)
    assert client.put("/v1/pairings/p", json=done, headers=h).json()["rating"] == 4
    listed = client.get("/v1/pairings", headers=h).json()
    assert [p["id"] for p in listed["items"]] == ["p"] and listed["total"] == 1
    assert client.delete("/v1/pairings/p", headers=h).status_code == 204
    assert_error(client.get("/v1/pairings/p", headers=h), 404, "not_found")


def test_unknown_references_are_422(client: TestClient, app_key: str) -> None:
    client.put("/v1/mentors/m", json=mentor("m"), headers=auth(app_key))
    resp = client.post("/v1/pairings", json=pairing("p", "m", "ghost"), headers=auth(app_key))
    err = assert_error(resp, 422, "validation_error")
    assert err["details"] == [{"field": "body.mentee_id", "reason": "unknown mentee 'ghost'"}]


def test_inconsistent_pairing_is_422(client: TestClient, app_key: str) -> None:
    _people(client, app_key)
    bad = pairing("p", "m", "e", ended_at="2023-01-01", status="completed")
    err = assert_error(client.post("/v1/pairings", json=bad, headers=auth(app_key)), 422,
                       "validation_error")  # fmt: skip
    assert "ended_at is before started_at" in err["details"][0]["reason"]


def test_pairing_with_feedback_cannot_be_deleted(client: TestClient, app_key: str) -> None:
    _people(client, app_key)
    h = auth(app_key)
    client.put("/v1/pairings/p", json=pairing("p", "m", "e"), headers=h)
    client.post("/v1/feedback", json=feedback("f", "p", "fine"), headers=h)
    assert_error(client.delete("/v1/pairings/p", headers=h), 409, "conflict")


def test_risk_reflects_stored_signals(
    client: TestClient, app_key: str, coordinator_key: str
) -> None:
    _people(client, app_key)
    h = auth(app_key)
    client.put("/v1/pairings/p", json=pairing("p", "m", "e"), headers=h)
    calm = client.get("/v1/pairings/p/risk", headers=auth(coordinator_key)).json()
    assert calm["risk"] == 0.0 and calm["pairing_id"] == "p"
    text = "My mentor keeps cancelling and never replies to my messages."
    client.post("/v1/feedback", json=feedback("f", "p", text, created_at="2024-02-01"), headers=h)
    risky = client.get("/v1/pairings/p/risk", headers=auth(coordinator_key)).json()
    assert risky["risk"] > 0.5 and "low_commitment" in risky["signals"]
    before = client.get(
        "/v1/pairings/p/risk", params={"as_of": "2024-01-15"}, headers=auth(coordinator_key)
    ).json()
    assert before["risk"] == 0.0  # the feedback was written later: replaying the past ignores it
    assert_error(client.get("/v1/pairings/p/risk", headers=h), 403, "forbidden")
