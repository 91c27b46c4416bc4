from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select

import recsys.store
from recsys import db
from recsys.store import ensure_org, migrate, session_factory, transaction, upsert_rows

MIGRATIONS = Path(recsys.store.__file__).parent / "migrations"


def _heads() -> tuple[str, ...]:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return tuple(ScriptDirectory.from_config(cfg).get_heads())


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_one_head_revision() -> None:
    assert len(_heads()) == 1


def test_migrate_creates_the_schema(new_engine: Callable[[], Engine]) -> None:
    engine = new_engine()
    assert inspect(engine).get_table_names() == []

    migrate(engine)

    tables = set(inspect(engine).get_table_names())
    assert set(db.Base.metadata.tables) | {"alembic_version"} == tables
    assert _revision(engine) == _heads()[0]


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, db.Base.metadata)
    assert diff == []


def test_migrate_is_idempotent(engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as s:
        ensure_org(s, "default")
        upsert_rows(s, "mentors", "default", [{
            "id": "m1", "seniority": 3, "timezone": "UTC", "languages": ["en"], "skills": [],
            "capacity": 1,
        }])  # fmt: skip

    migrate(engine)
    migrate(engine)

    assert _revision(engine) == _heads()[0]
    with factory() as s:
        assert list(s.scalars(select(db.Mentor.id))) == ["m1"]
