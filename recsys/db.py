"""SQLAlchemy 2 models: one table per contract entity plus the tables the service derives.

Every row belongs to one organisation (``org_id``): tenancy is part of the primary key, so
one organisation's data can never be reached with another's id. The CLI works in
``Settings.org`` ("default" unless set). The schema is created and upgraded by Alembic
(``recsys/migrations``); ``tests/recsys/test_migrations.py`` fails when the two drift.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[str]: JSON,
        list[dict[str, Any]]: JSON,
    }


def naive_utc(moment: dt.datetime | None = None) -> dt.datetime:
    """Naive UTC, how the store keeps datetimes; ``None`` means now."""
    if moment is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    if moment.tzinfo is not None:
        return moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def _now() -> dt.datetime:
    return naive_utc()


def _new_row_version() -> int:
    return secrets.randbelow(1 << 30) + 1  # room for 2^30 edits in a 32-bit integer


class Organisation(Base):
    __tablename__ = "organisations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class Mentor(Base):
    __tablename__ = "mentors"
    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    department: Mapped[str] = mapped_column(String(200), default="")
    seniority: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    languages: Mapped[list[str]] = mapped_column(JSON)
    skills: Mapped[list[str]] = mapped_column(JSON)
    style_structure: Mapped[str | None] = mapped_column(String(16), nullable=True)
    style_modality: Mapped[str | None] = mapped_column(String(16), nullable=True)
    bio: Mapped[str] = mapped_column(Text, default="")
    capacity: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    location: Mapped[str | None] = mapped_column(String(200), nullable=True)
    group: Mapped[str | None] = mapped_column("group_label", String(200), nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)
    # Starts at a random value and goes +1 on every upsert that changes the row
    # (store.upsert_rows): a serving catalog compares these with the versions it was built
    # from to find exactly which mentors changed behind its back (timestamps cannot:
    # SQLite's are to the second, PostgreSQL's taken at transaction start), after a cheap
    # check of their count and sum, which a random start keeps from cancelling out (one
    # never-edited mentor deleted and one added would otherwise leave both as they were).
    row_version: Mapped[int] = mapped_column(Integer, default=_new_row_version, server_default="1")
    # the day an upsert last raised ``capacity``: it ends a "no capacity" decline window
    capacity_raised_at: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    # covers the serving catalog's (id, row_version) scan: no table rows read
    __table_args__ = (Index("ix_mentors_versions", "org_id", "id", "row_version"),)


class Mentee(Base):
    __tablename__ = "mentees"
    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    department: Mapped[str] = mapped_column(String(200), default="")
    seniority: Mapped[int] = mapped_column(Integer)
    timezone: Mapped[str] = mapped_column(String(64))
    languages: Mapped[list[str]] = mapped_column(JSON)
    skills: Mapped[list[str]] = mapped_column(JSON)
    style_structure: Mapped[str | None] = mapped_column(String(16), nullable=True)
    style_modality: Mapped[str | None] = mapped_column(String(16), nullable=True)
    goals: Mapped[str] = mapped_column(Text)
    excluded_mentor_ids: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)


class Pairing(Base):
    __tablename__ = "pairings"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "mentor_id"], ["mentors.org_id", "mentors.id"]),
        ForeignKeyConstraint(["org_id", "mentee_id"], ["mentees.org_id", "mentees.id"]),
        Index("ix_pairings_mentor", "org_id", "mentor_id", "status"),
        Index("ix_pairings_mentee", "org_id", "mentee_id"),
    )
    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    mentor_id: Mapped[str] = mapped_column(String(128))
    mentee_id: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[dt.date] = mapped_column(Date)
    ended_at: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    goals_met: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Feedback(Base):
    __tablename__ = "feedback"
    __table_args__ = (
        ForeignKeyConstraint(["org_id", "pairing_id"], ["pairings.org_id", "pairings.id"]),
        Index("ix_feedback_pairing", "org_id", "pairing_id", "created_at"),
    )
    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    pairing_id: Mapped[str] = mapped_column(String(128))
    author_role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.date] = mapped_column(Date)
    # Confidential: null once purged by the retention policy; derived signals are kept.
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    purged_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    signals_version: Mapped[str | None] = mapped_column(String(64), nullable=True)


class FeedbackSignal(Base):
    __tablename__ = "feedback_signals"
    __table_args__ = (
        ForeignKeyConstraint(
            ["org_id", "feedback_id"], ["feedback.org_id", "feedback.id"], ondelete="CASCADE"
        ),
    )
    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    feedback_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    label: Mapped[str] = mapped_column(String(32), primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[list[str]] = mapped_column(JSON)


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("org_id", "mentee_id", "mentor_id", "at", "event", name="uq_interaction"),
        Index("ix_interactions_mentee", "org_id", "mentee_id"),
        # the poll's count of request answers skips the served-list ("shown") rows
        Index("ix_interactions_event", "org_id", "event"),
    )
    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    mentee_id: Mapped[str] = mapped_column(String(128))
    mentor_id: Mapped[str] = mapped_column(String(128))
    at: Mapped[dt.date] = mapped_column(Date)
    position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    event: Mapped[str] = mapped_column(String(16))
    recommendation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decline_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)


class EmbeddingCacheEntry(Base):
    """Text embeddings keyed by (encoder id, sha256 of the text): unchanged text is never re-encoded."""

    __tablename__ = "embedding_cache"
    encoder_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class ApiKey(Base):
    """An API key: only the sha256 of the secret is stored; the key id is its public prefix."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    roles: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class RecommendationList(Base):
    """Every list the service served: the key that joins served lists to later interactions."""

    __tablename__ = "recommendation_lists"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    mentee_id: Mapped[str] = mapped_column(String(128))
    model_version: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class Alert(Base):
    """An at-risk pairing alert. One open (or acknowledged) alert per pairing, updated in place."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_pairing", "org_id", "pairing_id", "status"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    pairing_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(
        String(16), default="open"
    )  # open | acknowledged | resolved
    risk: Mapped[float] = mapped_column(Float)
    signals: Mapped[list[str]] = mapped_column(JSON)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    as_of: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now, onupdate=_now)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class OutboxMessage(Base):
    """A notification waiting for delivery (webhook, email, Slack); retried with backoff."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "delivered_at", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    alert_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    channel: Mapped[str] = mapped_column(String(16))  # webhook | email | slack
    target: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)


class MatchDraft(Base):
    """A proposed cohort assignment awaiting a coordinator's review."""

    __tablename__ = "match_drafts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | accepted | discarded
    as_of: Mapped[dt.date] = mapped_column(Date)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=_now)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class MatchDraftItem(Base):
    __tablename__ = "match_draft_items"
    __table_args__ = (ForeignKeyConstraint(["draft_id"], ["match_drafts.id"], ondelete="CASCADE"),)
    draft_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mentee_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    slot: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)
    mentor_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    unmatched_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    alternative: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
