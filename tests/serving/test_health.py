"""Probes, model versions and reload, and the Prometheus endpoint."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from serving_helpers import FakeEngine, assert_error, auth, mentee, mentor

from recsys import keys, store
from recsys.context import AppContext
from recsys.settings import Settings
from serving.app import create_app


def test_probes(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert ready.json()["versions"]["recommender"]


def test_readyz_is_503_until_models_load(tmp_path: Path) -> None:
    ctx = AppContext(Settings(home=tmp_path))
    ctx.migrate()
    engine = FakeEngine(ready=False)
    with TestClient(create_app(ctx, engine=engine)) as client:
        assert client.get("/healthz").status_code == 200
        assert_error(client.get("/readyz"), 503, "not_ready")
        engine.ready = True
        assert client.get("/readyz").status_code == 200


def test_models_and_reload(tmp_path: Path) -> None:
    ctx = AppContext(Settings(home=tmp_path))
    ctx.migrate()
    with store.transaction(ctx.sessions) as s:
        _, admin = keys.create_key(s, "o", "a", ["admin"])
        _, app_key = keys.create_key(s, "o", "b", ["app"])
    engine = FakeEngine()
    with TestClient(create_app(ctx, engine=engine)) as client:
        got = client.get("/v1/models", headers=auth(app_key)).json()
        assert got == {"ready": True, "versions": {"ranker": "fake-0", "signals": None}}
        assert_error(client.post("/v1/models/reload", headers=auth(app_key)), 403, "forbidden")
        reloaded = client.post("/v1/models/reload", headers=auth(admin)).json()
        assert reloaded["versions"]["ranker"] == "fake-1" and engine.reloads == 1
        metrics = client.get("/metrics").text
        assert 'recsys_model_info{component="ranker",version="fake-1"} 1.0' in metrics
        # mentor writes reach the engine so it can refresh its index
        client.put("/v1/mentors/m", json=mentor("m"), headers=auth(admin))
        assert engine.changed == [("o", ["m"])]


def test_app_without_lifespan_answers_503_for_model_routes(tmp_path: Path) -> None:
    ctx = AppContext(Settings(home=tmp_path))
    ctx.migrate()
    with store.transaction(ctx.sessions) as s:
        _, key = keys.create_key(s, "o", "a", ["admin"])
    client = TestClient(create_app(ctx))  # lifespan never ran: no engine yet
    body = {"mentee": mentee("e")}
    assert_error(client.post("/v1/recommendations", json=body, headers=auth(key)), 503,
                 "not_ready")  # fmt: skip


def test_metrics_label_routes_by_template(client: TestClient, app_key: str) -> None:
    client.get("/v1/mentors/some-unique-id-123", headers=auth(app_key))
    client.post("/v1/recommendations", json={"mentee": mentee("e")}, headers=auth(app_key))
    client.get("/no/such/path")
    text = client.get("/metrics").text
    assert (
        'recsys_http_requests_total{method="GET",route="/v1/mentors/{mentor_id}",status="404"}'
        in text
    )
    assert "some-unique-id-123" not in text
    assert 'route="<unmatched>",status="404"' in text
    assert "recsys_recommendation_duration_seconds_count" in text
    assert 'recsys_http_request_duration_seconds_bucket{le="0.005",method="POST"' in text
    assert "recsys_engine_ready 1.0" in text
