"""Org-scoped reads and state changes of the ``alerts`` table for the HTTP API.

Alerts are raised by the insights pipeline; coordinators list them, acknowledge them (someone
is looking) and resolve them (dealt with). Resolving is final: acknowledging a resolved alert
is a conflict, resolving it again is a no-op.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recsys import db


class AlertStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class AlertConflict(Exception):
    """The alert is in a state that does not allow the change."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def list_alerts(
    session: Session,
    org: str,
    status: str | None = None,
    signal: str | None = None,
    since: dt.date | None = None,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> tuple[list[db.Alert], int]:
    """Alerts of ``org`` (newest first) and how many match in total.

    ``since`` keeps alerts raised or updated on or after that day; ``signal`` keeps alerts
    carrying that signal. The signal filter runs in Python because the list is stored as JSON
    (portable across SQLite and PostgreSQL); alert volumes per organisation are small.
    """
    stmt = select(db.Alert).where(db.Alert.org_id == org)
    if status is not None:
        stmt = stmt.where(db.Alert.status == status)
    if since is not None:
        stmt = stmt.where(db.Alert.updated_at >= dt.datetime.combine(since, dt.time.min))
    stmt = stmt.order_by(db.Alert.updated_at.desc(), db.Alert.id.desc())
    if signal is None:
        total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        page = stmt.offset(offset)
        if limit is not None:
            page = page.limit(limit)
        return list(session.scalars(page)), int(total or 0)
    matching = [a for a in session.scalars(stmt) if signal in (a.signals or [])]
    end = None if limit is None else offset + limit
    return matching[offset:end], len(matching)


def get_alert(session: Session, org: str, alert_id: int) -> db.Alert | None:
    alert = session.get(db.Alert, alert_id)
    return alert if alert is not None and alert.org_id == org else None


def acknowledge(session: Session, org: str, alert_id: int) -> db.Alert | None:
    """Mark an open alert acknowledged (idempotent); None when unknown in ``org``."""
    alert = get_alert(session, org, alert_id)
    if alert is None:
        return None
    if alert.status == AlertStatus.resolved:
        raise AlertConflict(f"alert {alert_id} is already resolved")
    if alert.status != AlertStatus.acknowledged:
        alert.status = AlertStatus.acknowledged.value
        alert.updated_at = _now()
        session.flush()
    return alert


def resolve(session: Session, org: str, alert_id: int) -> db.Alert | None:
    """Mark an alert resolved (idempotent); None when unknown in ``org``."""
    alert = get_alert(session, org, alert_id)
    if alert is None:
        return None
    if alert.status != AlertStatus.resolved:
        now = _now()
        alert.status = AlertStatus.resolved.value
        alert.updated_at = now
        alert.resolved_at = now
        session.flush()
    return alert
