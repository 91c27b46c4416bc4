"""Key management over HTTP (admin only, within the caller's organisation)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from serving_helpers import assert_error, auth


def test_create_list_revoke(client: TestClient, admin_key: str, org: str) -> None:
    h = auth(admin_key)
    created = client.post("/v1/keys", json={"name": "mobile", "roles": ["app"]}, headers=h)
    assert created.status_code == 201
    body = created.json()
    assert body["org"] == org and body["roles"] == ["app"] and body["active"] is True
    new_key = body["key"]
    assert new_key.startswith(f"rsk_{body['id']}_")
    assert client.get("/v1/mentors", headers={"X-API-Key": new_key}).status_code == 200
    listed = client.get("/v1/keys", headers=h).json()
    assert body["id"] in {k["id"] for k in listed}
    assert all("key" not in k and "key_hash" not in k for k in listed)
    assert client.delete(f"/v1/keys/{body['id']}", headers=h).status_code == 204
    assert client.delete(f"/v1/keys/{body['id']}", headers=h).status_code == 204  # idempotent
    assert_error(client.get("/v1/mentors", headers={"X-API-Key": new_key}), 401, "unauthorized")
    revoked = {k["id"]: k for k in client.get("/v1/keys", headers=h).json()}[body["id"]]
    assert revoked["active"] is False and revoked["revoked_at"]


def test_unknown_role_is_422(client: TestClient, admin_key: str) -> None:
    resp = client.post("/v1/keys", json={"roles": ["root"]}, headers=auth(admin_key))
    err = assert_error(resp, 422, "validation_error")
    assert err["details"][0]["field"] == "body.roles.0"
