"""Feedback over HTTP: stored with its signals, read back, deleted; stateless analysis."""

from __future__ import annotations

from fastapi.testclient import TestClient
from serving_helpers import assert_error, auth, feedback, mentee, mentor, pairing


def _pairing(client: TestClient, key: str) -> None:
    h = auth(key)
    client.put("/v1/mentors/m", json=mentor("m"), headers=h)
    client.put("/v1/mentees/e", json=mentee("e"), headers=h)
    client.put("/v1/pairings/p", json=pairing("p", "m", "e"), headers=h)


def test_post_feedback_returns_and_stores_signals(client: TestClient, app_key: str) -> None:
    _pairing(client, app_key)
    h = auth(app_key)
    text = "Honestly we are too busy. I felt uncomfortable when he shared confidential numbers."
    resp = client.post("/v1/feedback", json=feedback("f", "p", text), headers=h)
    assert resp.status_code == 201, resp.text
    labels = {s["label"]: s for s in resp.json()["signals"]}
    assert {"time_constraints", "boundary_concern"} <= set(labels)
    assert labels["boundary_concern"]["evidence"] == [
        "I felt uncomfortable when he shared confidential numbers."
    ]
    stored = client.get("/v1/feedback/f", headers=h).json()
    assert stored["signals"] == sorted(resp.json()["signals"], key=lambda s: s["label"])
    assert stored["text"] == text
    listed = client.get("/v1/feedback", headers=h).json()
    assert listed["total"] == 1 and listed["items"][0]["signals"] == stored["signals"]
    assert client.delete("/v1/feedback/f", headers=h).status_code == 204
    assert_error(client.get("/v1/feedback/f", headers=h), 404, "not_found")


def test_feedback_needs_a_known_pairing(client: TestClient, app_key: str) -> None:
    resp = client.post("/v1/feedback", json=feedback("f", "ghost", "hi"), headers=auth(app_key))
    err = assert_error(resp, 422, "validation_error")
    assert err["details"] == [{"field": "body.pairing_id", "reason": "unknown pairing 'ghost'"}]


def test_analyze_is_stateless_and_respects_negation(
    client: TestClient, app_key: str, coordinator_key: str
) -> None:
    text = "We haven't missed a single session. Great progress on my goals!"
    for key in (app_key, coordinator_key):
        resp = client.post("/v1/feedback/analyze", json={"text": text}, headers=auth(key))
        assert resp.status_code == 200
        assert [s["label"] for s in resp.json()["signals"]] == ["positive_progress"]
    assert client.get("/v1/feedback", headers=auth(app_key)).json()["total"] == 0
    err = assert_error(client.post("/v1/feedback/analyze", json={"text": ""},
                                   headers=auth(app_key)), 422, "validation_error")  # fmt: skip
    assert err["details"][0]["field"] == "body.text"
