"""``serve`` runs the app under uvicorn in one process; models load in its lifespan."""

from __future__ import annotations

import multiprocessing as mp
import socket
import time
from pathlib import Path

import httpx
import pytest

from recsys.context import AppContext
from recsys.settings import Settings


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(home: str, port: int) -> None:
    from serving.app import serve

    serve(Settings(home=Path(home), port=port))


@pytest.mark.slow
def test_serve_answers_over_tcp(tmp_path: Path) -> None:
    AppContext(Settings(home=tmp_path)).migrate()
    port = _free_port()
    proc = mp.get_context("spawn").Process(target=_run, args=(str(tmp_path), port), daemon=True)
    proc.start()
    try:
        deadline = time.monotonic() + 60
        ready = None
        while time.monotonic() < deadline and ready is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready is not None and ready.status_code == 200, "service never became ready"
        assert ready.json()["versions"]["recommender"]
        unauth = httpx.get(f"http://127.0.0.1:{port}/v1/mentors")
        assert unauth.status_code == 401 and unauth.json()["error"]["code"] == "unauthorized"
    finally:
        proc.terminate()
        proc.join(10)
    assert not proc.is_alive()


def test_serve_spawns_workers_that_load_the_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """More workers are spawned processes building their own app: the model engine's factory
    for ``recsys serve``, the baseline's for ``--baseline``; anything else cannot travel."""
    import uvicorn

    from serving import app as app_module
    from serving.model_engine import model_engine_provider

    runs: list[tuple[object, dict[str, object]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: runs.append((target, kw)))
    settings = Settings(port=8123)
    app_module.serve(settings, engine_provider=model_engine_provider, workers=3)
    app_module.serve(settings, engine_provider=None, workers=2)
    assert [(t, kw["workers"], kw["factory"], kw["port"]) for t, kw in runs] == [
        ("serving.app:create_app_from_env", 3, True, 8123),
        ("serving.app:create_baseline_app_from_env", 2, True, 8123),
    ]
    with pytest.raises(ValueError, match="own engine"):
        app_module.serve(settings, engine_provider=lambda ctx: None, workers=2)  # type: ignore[arg-type,return-value]
    built: list[object] = []
    monkeypatch.setattr(app_module, "create_app", lambda **kw: built.append(kw["engine_provider"]))
    app_module.create_app_from_env()
    assert built == [model_engine_provider]


def test_serve_command_passes_workers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    import serving.app
    from recsys.cli import app
    from recsys.settings import get_settings

    calls: list[int] = []
    monkeypatch.setattr(serving.app, "serve", lambda settings, **kw: calls.append(kw["workers"]))
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path))
    runner = CliRunner()
    get_settings.cache_clear()
    try:
        assert runner.invoke(app, ["serve", "--workers", "2"]).exit_code == 0
        assert runner.invoke(app, ["serve", "--workers", "0"]).exit_code != 0
        monkeypatch.setenv("RECSYS_WORKERS", "3")
        get_settings.cache_clear()
        assert runner.invoke(app, ["serve"]).exit_code == 0
    finally:
        get_settings.cache_clear()
    assert calls == [2, 3]


@pytest.mark.slow
def test_serve_with_two_workers_serves_the_model_engine(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    port = _free_port()
    cmd = [sys.executable, "-c", "from recsys.cli import app; app(prog_name='recsys')",
           "serve", "--port", str(port), "--workers", "2"]  # fmt: skip
    env = {**os.environ, "RECSYS_HOME": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        ready = None
        while time.monotonic() < deadline and (ready is None or ready.status_code != 200):
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
            except httpx.TransportError:
                time.sleep(0.5)
        assert ready is not None and ready.status_code == 200, "service never became ready"
        versions = ready.json()["versions"]
        assert versions["encoder"] and "ranker" in versions  # not the baseline's
    finally:
        proc.terminate()
        proc.wait(60)
