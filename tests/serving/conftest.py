"""Serving fixtures: one app per test session on a temp SQLite database, driven in-process with
``TestClient``. Tests share the app, so each creates its own organisation (``org`` fixture) and
ids: nothing depends on what another test stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from recsys import keys, store
from recsys.context import AppContext
from recsys.settings import Settings
from serving.app import create_app

KeyMaker = Callable[..., str]


@pytest.fixture(scope="session")
def serving_ctx(tmp_path_factory: pytest.TempPathFactory) -> AppContext:
    home: Path = tmp_path_factory.mktemp("serving-home")
    ctx = AppContext(Settings(home=home, rate_limit_per_minute=100_000))
    ctx.migrate()
    return ctx


@pytest.fixture(scope="session")
def app(serving_ctx: AppContext) -> FastAPI:
    return create_app(serving_ctx)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:  # runs the lifespan: the baseline engine loads
        yield c


@pytest.fixture(scope="session")
def make_key(serving_ctx: AppContext) -> KeyMaker:
    """``make_key(org, "app", ...)`` → plaintext key with those roles."""

    def make(org: str, *roles: str) -> str:
        with store.transaction(serving_ctx.sessions) as session:
            _, plaintext = keys.create_key(session, org, "test", roles or ("admin",))
        return plaintext

    return make


@pytest.fixture
def org() -> str:
    return f"org-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def app_key(make_key: KeyMaker, org: str) -> str:
    return make_key(org, "app")


@pytest.fixture
def coordinator_key(make_key: KeyMaker, org: str) -> str:
    return make_key(org, "coordinator")


@pytest.fixture
def admin_key(make_key: KeyMaker, org: str) -> str:
    return make_key(org, "admin")
