"""Alerts over HTTP: filters and the open → acknowledged → resolved life cycle."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from serving_helpers import assert_error, auth

from recsys import db, store
from recsys.context import AppContext


def _alert(ctx: AppContext, org: str, pairing_id: str, signals: list[str], **over: object) -> int:
    with store.transaction(ctx.sessions) as s:
        row = db.Alert(
            org_id=org, pairing_id=pairing_id, status="open", risk=0.7, signals=signals,
            reasons=["r"], evidence=[{"feedback_id": "f", "span": "x"}], actions=[],
            as_of=dt.date(2024, 3, 1),
        )  # fmt: skip
        for k, v in over.items():
            setattr(row, k, v)
        s.add(row)
        s.flush()
        return row.id


def test_list_filters(
    client: TestClient, coordinator_key: str, org: str, serving_ctx: AppContext
) -> None:
    old = dt.datetime(2024, 1, 1)
    a1 = _alert(serving_ctx, org, "p1", ["low_commitment"], created_at=old, updated_at=old)
    a2 = _alert(serving_ctx, org, "p2", ["boundary_concern", "poor_match"])
    a3 = _alert(serving_ctx, org, "p3", ["poor_match"], status="resolved")
    h = auth(coordinator_key)

    def ids(**params: str) -> list[int]:
        resp = client.get("/v1/alerts", params=params, headers=h)
        assert resp.status_code == 200, resp.text
        return [a["id"] for a in resp.json()["items"]]

    assert set(ids()) == {a1, a2, a3}
    assert set(ids(status="open")) == {a1, a2}
    assert set(ids(signal="poor_match")) == {a2, a3}
    assert ids(signal="poor_match", status="open") == [a2]
    assert set(ids(since="2024-02-01")) == {a2, a3}
    page = client.get("/v1/alerts", params={"signal": "poor_match", "limit": 1}, headers=h).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    err = assert_error(client.get("/v1/alerts", params={"signal": "nope"}, headers=h), 422,
                       "validation_error")  # fmt: skip
    assert err["details"][0]["field"] == "query.signal"


def test_acknowledge_and_resolve(
    client: TestClient, coordinator_key: str, org: str, serving_ctx: AppContext
) -> None:
    alert = _alert(serving_ctx, org, "p", ["unclear_goals"])
    h = auth(coordinator_key)
    acked = client.post(f"/v1/alerts/{alert}/acknowledge", headers=h)
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    assert client.post(f"/v1/alerts/{alert}/acknowledge", headers=h).status_code == 200
    resolved = client.post(f"/v1/alerts/{alert}/resolve", headers=h).json()
    assert resolved["status"] == "resolved" and resolved["resolved_at"] is not None
    assert client.post(f"/v1/alerts/{alert}/resolve", headers=h).status_code == 200
    assert_error(client.post(f"/v1/alerts/{alert}/acknowledge", headers=h), 409, "conflict")
    assert_error(client.post("/v1/alerts/987654/resolve", headers=h), 404, "not_found")
    assert_error(client.post("/v1/alerts/abc/resolve", headers=h), 422, "validation_error")
