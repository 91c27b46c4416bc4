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
