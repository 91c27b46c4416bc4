"""Database fixtures: every storage test runs on SQLite (a temp file) and, when
``RECSYS_TEST_POSTGRES_URL`` is set (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``),
on PostgreSQL too. Each PostgreSQL database is a fresh schema (selected with ``search_path``)
dropped after the test, so runs never see each other's tables.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from recsys.store import make_engine, migrate, session_factory

PG_ENV = "RECSYS_TEST_POSTGRES_URL"


def _backends() -> list[object]:
    params: list[object] = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get(PG_ENV):
        params.append(pytest.param("postgres", id="postgres", marks=pytest.mark.postgres))
    return params


@pytest.fixture(params=_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    engine = create_engine(os.environ[PG_ENV], isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def new_engine(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[[], Engine]]:
    """Factory of engines on fresh, empty (unmigrated) databases of the test's backend."""
    engines: list[Engine] = []
    schemas: list[str] = []
    admin: Engine | None = request.getfixturevalue("pg_admin") if backend == "postgres" else None

    def make() -> Engine:
        if admin is None:
            url = f"sqlite:///{tmp_path / f'db{len(engines)}.sqlite'}"
        else:
            schema = f"recsys_test_{uuid.uuid4().hex[:12]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            schemas.append(schema)
            url = (
                make_url(os.environ[PG_ENV])
                .update_query_dict({"options": f"-csearch_path={schema}"})
                .render_as_string(hide_password=False)
            )
        engine = make_engine(url)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def new_factory(new_engine: Callable[[], Engine]) -> Callable[[], sessionmaker[Session]]:
    """Factory of session factories on fresh, migrated databases."""

    def make() -> sessionmaker[Session]:
        engine = new_engine()
        migrate(engine)
        return session_factory(engine)

    return make


@pytest.fixture
def engine(new_engine: Callable[[], Engine]) -> Engine:
    """A fresh database with the schema migrated to head."""
    eng = new_engine()
    migrate(eng)
    return eng


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)
