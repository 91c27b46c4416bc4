"""Storage: engine set-up, migrations and repository functions over ``recsys.db``.

Repository functions take a ``Session`` and an organisation id and speak the domain schemas
(``recsys.schemas``), so ingest, the API and training share one way of reading and writing.
Bulk upserts use the dialect's ``INSERT … ON CONFLICT DO UPDATE`` (SQLite and PostgreSQL), which
is both idempotent (upsert by id) and fast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    Engine,
    Text,
    and_,
    case,
    cast,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session, sessionmaker

from recsys import db
from recsys.schemas import (
    FeedbackOut,
    InteractionIn,
    MenteeIn,
    MentorIn,
    ModalityStyle,
    PairingIn,
    PairingStatus,
    StructureStyle,
)
from recsys.settings import Settings

ModelT = TypeVar("ModelT", bound=db.Base)
SchemaT = TypeVar("SchemaT", bound=BaseModel)

# entity name -> (ORM model, conflict key columns)
ENTITY_MODELS: dict[str, tuple[type[db.Base], tuple[str, ...]]] = {
    "mentors": (db.Mentor, ("org_id", "id")),
    "mentees": (db.Mentee, ("org_id", "id")),
    "pairings": (db.Pairing, ("org_id", "id")),
    "feedback": (db.Feedback, ("org_id", "id")),
    "interactions": (db.Interaction, ("org_id", "mentee_id", "mentor_id", "at", "event")),
}


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, enforced foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def engine_from_settings(settings: Settings) -> Engine:
    if not settings.database_url:
        settings.ensure_home()
    return make_engine(settings.resolved_database_url)


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest Alembic revision (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    # configparser interpolation: a literal % (URL-encoded password or query) must be doubled
    url = engine.url.render_as_string(hide_password=False).replace("%", "%%")
    cfg.set_main_option("sqlalchemy.url", url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back (store unchanged) on any error."""
    with factory() as session, session.begin():
        yield session


def ensure_org(session: Session, org: str, name: str = "") -> None:
    if session.get(db.Organisation, org) is None:
        session.add(db.Organisation(id=org, name=name or org))
        session.flush()


# --------------------------------------------------------------------------- bulk upsert
def _insert_for(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database dialect {dialect!r}")
    return insert


def upsert_rows(session: Session, entity: str, org: str, rows: Sequence[dict[str, Any]]) -> int:
    """Insert or update ``rows`` (contract dicts) of ``entity`` for ``org``; returns the row count."""
    if not rows:
        return 0
    model, key = ENTITY_MODELS[entity]
    insert = _insert_for(session)
    table = model.__table__  # type: ignore[attr-defined]
    prepared = [_to_columns(entity, org, r) for r in rows]
    # One statement executed with many parameter sets: compiled once (and cached), whereas a
    # multi-row VALUES clause is recompiled per batch, which dominated ingest time (~5x slower).
    stmt = insert(table)
    update_cols = {c: stmt.excluded[c] for c in prepared[0] if c not in key and c != "pk"}
    if "updated_at" in table.c:
        update_cols["updated_at"] = func.now()
    if entity == "mentors":
        # a new version only when the row changes: re-ingesting an unchanged roster must not
        # send every mentor through the serving catalog's update (JSON compared as text:
        # PostgreSQL's json type has no equality)
        changed = or_(
            *(
                _as_text(table.c[c]).is_distinct_from(_as_text(stmt.excluded[c]))
                for c in update_cols
                if c not in ("updated_at",)
            )
        )
        update_cols["row_version"] = case(
            (changed, table.c.row_version + 1), else_=table.c.row_version
        )
        raised = stmt.excluded.capacity > table.c.capacity
        update_cols["capacity_raised_at"] = case(
            (raised, dt.date.today()), else_=table.c.capacity_raised_at
        )
    stmt = stmt.on_conflict_do_update(index_elements=list(key), set_=update_cols)
    session.execute(stmt, prepared)
    return len(rows)


def _as_text(column: Any) -> Any:
    return cast(column, Text) if isinstance(column.type, JSON) else column


def _to_columns(entity: str, org: str, row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["org_id"] = org
    if entity == "mentors" and "group" in out:
        out["group_label"] = out.pop("group")
    if entity == "interactions":
        out.setdefault("recommendation_id", None)
        out.setdefault("position", None)
        out.setdefault("decline_reason", None)
    return out


def upsert_models(session: Session, entity: str, org: str, items: Iterable[BaseModel]) -> int:
    return upsert_rows(session, entity, org, [i.model_dump(mode="python") for i in items])


# --------------------------------------------------------------------------- conversion
def _style_answers(row: db.Mentor | db.Mentee) -> dict[str, Any]:
    return {
        "style_structure": StructureStyle(row.style_structure) if row.style_structure else None,
        "style_modality": ModalityStyle(row.style_modality) if row.style_modality else None,
    }


def mentor_schema(row: db.Mentor) -> MentorIn:
    return MentorIn(
        id=row.id, title=row.title, department=row.department, seniority=row.seniority,
        timezone=row.timezone, languages=list(row.languages), skills=list(row.skills), bio=row.bio,
        capacity=row.capacity, active=row.active, location=row.location, group=row.group,
        **_style_answers(row),
    )  # fmt: skip


def mentee_schema(row: db.Mentee) -> MenteeIn:
    return MenteeIn(
        id=row.id, title=row.title, department=row.department, seniority=row.seniority,
        timezone=row.timezone, languages=list(row.languages), skills=list(row.skills),
        goals=row.goals, excluded_mentor_ids=list(row.excluded_mentor_ids),
        **_style_answers(row),
    )  # fmt: skip


def pairing_schema(row: db.Pairing) -> PairingIn:
    return PairingIn(
        id=row.id, mentor_id=row.mentor_id, mentee_id=row.mentee_id, started_at=row.started_at,
        ended_at=row.ended_at, status=PairingStatus(row.status), rating=row.rating,
        goals_met=row.goals_met,
    )  # fmt: skip


def feedback_schema(row: db.Feedback) -> FeedbackOut:
    return FeedbackOut.model_validate(
        {"id": row.id, "pairing_id": row.pairing_id, "author_role": row.author_role,
         "created_at": row.created_at, "text": row.text}
    )  # fmt: skip


def interaction_schema(row: db.Interaction) -> InteractionIn:
    return InteractionIn.model_validate(
        {"mentee_id": row.mentee_id, "mentor_id": row.mentor_id, "at": row.at,
         "position": row.position, "event": row.event, "recommendation_id": row.recommendation_id}
    )  # fmt: skip


# --------------------------------------------------------------------------- reads
def get_row(session: Session, model: type[ModelT], org: str, id_: str) -> ModelT | None:
    return session.get(model, (org, id_))


def list_rows(
    session: Session, model: type[ModelT], org: str, *, limit: int | None = None, offset: int = 0
) -> list[ModelT]:
    order = model.pk if model is db.Interaction else model.id  # type: ignore[attr-defined]
    stmt = select(model).where(model.org_id == org).order_by(order).offset(offset)  # type: ignore[attr-defined]
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def existing_ids(session: Session, model: type[db.Base], org: str, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` exist for ``org`` (chunked to respect parameter limits)."""
    wanted = list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 5000):
        part = wanted[start : start + 5000]
        stmt = select(model.id).where(model.org_id == org, model.id.in_(part))  # type: ignore[attr-defined]
        found.update(session.scalars(stmt))
    return found


def delete_row(session: Session, model: type[db.Base], org: str, id_: str) -> bool:
    res = session.execute(delete(model).where(model.org_id == org, model.id == id_))  # type: ignore[attr-defined]
    return bool(res.rowcount)  # type: ignore[attr-defined]


def active_pairings_filter(as_of: dt.date) -> Any:
    """Pairings running on ``as_of``: started, and not ended before or on that day."""
    p = db.Pairing
    return and_(
        p.started_at <= as_of,
        or_(p.ended_at.is_(None), p.ended_at > as_of),
        or_(p.status == PairingStatus.active.value, p.ended_at.is_not(None)),
    )


def mentor_load(session: Session, org: str, as_of: dt.date) -> dict[str, int]:
    """Active pairings per mentor as of a date (what counts against capacity)."""
    p = db.Pairing
    stmt = (
        select(p.mentor_id, func.count())
        .where(p.org_id == org, active_pairings_filter(as_of))
        .group_by(p.mentor_id)
    )
    return {m: int(n) for m, n in session.execute(stmt)}


def mentors_said_full(session: Session, org: str, as_of: dt.date, days: int) -> set[str]:
    """Mentors who declined a request for ``no_capacity`` in the ``days`` days up to and
    including ``as_of`` with none of their pairings ended and their capacity not raised since
    (see :meth:`features.history.MentorHistory.said_full`, the catalog's version)."""
    if days <= 0:
        return set()
    i, p, m = db.Interaction, db.Pairing, db.Mentor
    raised_since = (
        select(m.id)
        .where(
            m.org_id == org,
            m.id == i.mentor_id,
            m.capacity_raised_at >= i.at,
            m.capacity_raised_at <= as_of,
        )
        .exists()
    )
    ended_since = (
        select(p.id)
        .where(
            p.org_id == org,
            p.mentor_id == i.mentor_id,
            p.ended_at > i.at,
            p.ended_at <= as_of,
        )
        .exists()
    )
    stmt = select(i.mentor_id).where(
        i.org_id == org,
        i.event == "declined",
        i.decline_reason == "no_capacity",
        i.at > as_of - dt.timedelta(days=days),
        i.at <= as_of,
        ~ended_since,
        ~raised_since,
    )
    return set(session.scalars(stmt.distinct()))


def active_pairings(session: Session, org: str, as_of: dt.date) -> list[db.Pairing]:
    stmt = select(db.Pairing).where(db.Pairing.org_id == org, active_pairings_filter(as_of))
    return list(session.scalars(stmt.order_by(db.Pairing.id)))
