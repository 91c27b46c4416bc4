"""The one error body, body size limits, rate limits and the catch-all 500."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_helpers import FakeEngine, assert_error, auth, mentor

from recsys import keys, store
from recsys.context import AppContext
from recsys.settings import Settings
from serving.app import create_app

AppFactory = Callable[..., tuple[TestClient, str]]


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[AppFactory]:
    """A fresh app on its own database: ``make_client(engine=..., **settings)`` → (client, key)."""
    clients: list[TestClient] = []

    def make(engine: Any = None, **settings: Any) -> tuple[TestClient, str]:
        ctx = AppContext(Settings(home=tmp_path / f"h{len(clients)}", **settings))
        ctx.migrate()
        with store.transaction(ctx.sessions) as s:
            _, key = keys.create_key(s, "o", "k", ["admin"])
        client = TestClient(create_app(ctx, engine=engine))
        client.__enter__()
        clients.append(client)
        return client, key

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def test_unknown_route_and_method_use_the_error_body(client: TestClient, app_key: str) -> None:
    assert_error(client.get("/v1/nothing-here", headers=auth(app_key)), 404, "not_found")
    assert_error(client.patch("/v1/mentors", headers=auth(app_key)), 405, "method_not_allowed")


def test_malformed_json_is_422_with_location(client: TestClient, app_key: str) -> None:
    headers = {**auth(app_key), "Content-Type": "application/json"}
    resp = client.post("/v1/mentors", content=b'{"id": ', headers=headers)
    err = assert_error(resp, 422, "validation_error")
    assert err["details"][0]["field"].startswith("body")


def test_validation_names_field_and_reason(client: TestClient, app_key: str) -> None:
    bad = mentor("m", seniority=0, timezone="Mars/Olympus")
    err = assert_error(client.post("/v1/mentors", json=bad, headers=auth(app_key)), 422,
                       "validation_error")  # fmt: skip
    by_field = {d["field"]: d["reason"] for d in err["details"]}
    assert set(by_field) == {"body.seniority", "body.timezone"}
    assert "greater than or equal to 1" in by_field["body.seniority"]
    assert "Mars/Olympus" in by_field["body.timezone"]
    assert "and 1 more" in err["message"]


def test_body_size_limit(make_client: AppFactory) -> None:
    client, key = make_client(max_request_bytes=2_000)
    small = mentor("m")
    assert client.post("/v1/mentors", json=small, headers=auth(key)).status_code == 201
    big = mentor("m", bio="x" * 5_000)
    err = assert_error(client.post("/v1/mentors", json=big, headers=auth(key)), 413,
                       "payload_too_large")  # fmt: skip
    assert "2000 bytes" in err["message"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: streamed with chunked encoding
        yield b'{"id": "m", "bio": "'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}'

    headers = {**auth(key), "Content-Type": "application/json"}
    resp = client.post("/v1/mentors", content=chunks(), headers=headers)
    assert_error(resp, 413, "payload_too_large")


def test_rate_limit_per_key_with_retry_after(make_client: AppFactory) -> None:
    client, key = make_client(rate_limit_per_minute=3)
    for _ in range(3):
        assert client.get("/v1/models", headers=auth(key)).status_code == 200
    resp = client.get("/v1/models", headers=auth(key))
    assert_error(resp, 429, "rate_limited")
    assert 1 <= int(resp.headers["Retry-After"]) <= 20
    # Unauthenticated probes are not rate limited per key.
    assert client.get("/healthz").status_code == 200


def test_unexpected_errors_are_a_generic_500(
    make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client, key = make_client(engine=FakeEngine())
    with caplog.at_level(logging.ERROR, logger="recsys.serving"):
        resp = client.post("/v1/feedback/analyze", json={"text": "boom"}, headers=auth(key))
    err = assert_error(resp, 500, "internal_error")
    assert "secret" not in resp.text and err["details"] == []
    assert any("secret internal detail" in r.getMessage() or r.exc_info for r in caplog.records)
