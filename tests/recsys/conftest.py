"""Database fixtures: every storage test runs on SQLite (a temp file) and, when
``RECSYS_TEST_POSTGRES_URL`` is set (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``),
on PostgreSQL too. Each PostgreSQL database is a fresh schema (selected with ``search_path``)
dropped after the test, so runs never see each other's tables. ``home`` points
``RECSYS_HOME`` (and the cached settings) at a fresh directory for command-line tests.
"""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from recsys.settings import get_settings
from recsys.store import make_engine, migrate, session_factory

PG_ENV = "RECSYS_TEST_POSTGRES_URL"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


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


# --------------------------------------------------------------------------- contract data
Rows = dict[str, list[dict[str, Any]]]

_MENTORS: list[dict[str, Any]] = [
    {"id": "m1", "title": "Staff Engineer", "department": "R&D", "seniority": 6,
     "timezone": "Europe/Berlin", "languages": ["en", "de", "en"], "skills": ["python", "ml"],
     "bio": "Builds data platforms.", "capacity": 2, "location": "Berlin", "group": "g1"},
    {"id": "m2", "title": "Director", "seniority": 8, "timezone": "UTC", "languages": ["en"],
     "capacity": 0, "active": False},
    {"id": "m3", "seniority": 4, "timezone": "Asia/Tokyo", "languages": ["ja", "en"],
     "skills": [], "capacity": 1},
]  # fmt: skip
_MENTEES: list[dict[str, Any]] = [
    {"id": "e1", "title": "Engineer", "seniority": 2, "timezone": "Europe/Berlin",
     "languages": ["de"], "skills": ["sql"], "goals": "Grow into a tech lead role.",
     "excluded_mentor_ids": ["m2", "not-a-mentor"]},
    {"id": "e2", "seniority": 1, "timezone": "UTC", "languages": ["en"], "goals": "Learn ML."},
]  # fmt: skip
_PAIRINGS: list[dict[str, Any]] = [
    {"id": "p1", "mentor_id": "m1", "mentee_id": "e1", "started_at": "2024-01-10",
     "status": "active"},
    {"id": "p2", "mentor_id": "m2", "mentee_id": "e2", "started_at": "2023-05-01",
     "ended_at": "2023-09-01", "status": "completed", "rating": 4, "goals_met": True},
]  # fmt: skip
_FEEDBACK: list[dict[str, Any]] = [
    {"id": "f1", "pairing_id": "p1", "author_role": "mentee", "created_at": "2024-02-01",
     "text": "Great first session, clear plan."},
    {"id": "f2", "pairing_id": "p2", "author_role": "mentor", "created_at": "2023-06-01",
     "text": "We keep rescheduling."},
]  # fmt: skip
_INTERACTIONS: list[dict[str, Any]] = [
    {"mentee_id": "e1", "mentor_id": "m1", "at": "2024-01-05", "position": 1, "event": "shown",
     "recommendation_id": "r1"},
    {"mentee_id": "e1", "mentor_id": "m3", "at": "2024-01-05", "position": 2, "event": "shown"},
    {"mentee_id": "e1", "mentor_id": "m1", "at": "2024-01-06", "event": "accepted"},
    {"mentee_id": "e1", "mentor_id": "m3", "at": "2024-01-06", "event": "declined",
     "decline_reason": "no_capacity"},
]  # fmt: skip
CONTRACT_ROWS: Rows = {
    "mentors": _MENTORS,
    "mentees": _MENTEES,
    "pairings": _PAIRINGS,
    "feedback": _FEEDBACK,
    "interactions": _INTERACTIONS,
}
"""A small valid dataset touching every field (excluded ids that are not mentors, a purgeable
feedback, a completed pairing, interactions with and without a position, a decline with its reason)."""


@pytest.fixture
def rows() -> Rows:
    """A fresh copy of :data:`CONTRACT_ROWS` (tests may modify it)."""
    return copy.deepcopy(CONTRACT_ROWS)


@pytest.fixture
def write_contract() -> Callable[..., Path]:
    """``write(directory, rows, **overrides)``: one ``<entity>.jsonl`` per entity of ``rows``,
    with ``overrides`` (entity=list of rows) replacing entities; returns ``directory``."""

    def write(directory: Path, rows: Rows, **overrides: list[Any]) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        for entity, items in {**rows, **overrides}.items():
            (directory / f"{entity}.jsonl").write_bytes(
                b"".join(orjson.dumps(item) + b"\n" for item in items)
            )
        return directory

    return write
