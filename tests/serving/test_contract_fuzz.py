"""Property-based contract test: schemathesis generates requests for every operation of the
committed spec (``docs/openapi.json``) and sends them to the in-process ASGI app with an admin
key; no request may produce a 5xx. Bounded (few examples per operation) and marked slow.

The schema is loaded from the committed file with ``from_dict`` and the app is passed per call
(``app=``), because schemathesis' fixture-based lazy loader does not run under pytest 9.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi

from recsys import keys, store
from recsys.context import AppContext
from recsys.settings import Settings
from serving.app import create_app
from serving.engine import BaselineEngine

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
schema = schemathesis.openapi.from_dict(json.loads(SPEC.read_text()))


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str, Any]]:
    home: Path = tmp_path_factory.mktemp("fuzz-home")
    ctx = AppContext(Settings(home=home, rate_limit_per_minute=1_000_000))
    ctx.migrate()
    with store.transaction(ctx.sessions) as s:
        _, key = keys.create_key(s, "fuzz", "fuzz", ["admin"])
    app = create_app(ctx, engine=BaselineEngine(ctx.sessions))
    # One in-process client for the module: starting one per call dominates the run time.
    with asgi.get_client(cast(Any, app)) as client:
        yield app, key, client


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: schemathesis.Case, fuzz_app: tuple[FastAPI, str, Any]) -> None:
    app, key, client = fuzz_app
    case.call_and_validate(
        app=app,
        session=client,
        headers={"Authorization": f"Bearer {key}"},
        checks=[not_a_server_error],
    )
