"""Retention of confidential feedback text.

:func:`purge_feedback_text` removes the text of notes older than the retention period
(``Settings.feedback_retention_days``). What is derived from a note stays usable: its stored
signals (label and score) keep feeding the risk model and alerts. The evidence spans the miner
stored are verbatim excerpts of the note, so they are purged with it, and so are the quotes
taken from those notes in alerts and in queued or sent notifications.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from recsys import db

log = logging.getLogger(__name__)

PURGED_QUOTE = "[purged under the retention policy]"


def purge_feedback_text(
    session: Session,
    org: str,
    older_than_days: int,
    as_of: dt.date,
    *,
    now: dt.datetime | None = None,
) -> int:
    """Purge the text of ``org``'s notes dated before ``as_of - older_than_days``.

    Sets ``text`` to NULL and ``purged_at``; empties the notes' stored evidence spans and
    redacts quotes from them in alerts and the outbox. Returns how many notes were purged
    (already purged notes are not counted again).
    """
    if older_than_days < 0:
        raise ValueError("older_than_days must be >= 0")
    cutoff = as_of - dt.timedelta(days=older_than_days)
    stamp = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    fb = db.Feedback
    ids = list(
        session.scalars(
            select(fb.id).where(fb.org_id == org, fb.created_at < cutoff, fb.text.is_not(None))
        )
    )
    if not ids:
        return 0
    purged: set[str] = set(ids)
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        session.execute(
            update(fb)
            .where(fb.org_id == org, fb.id.in_(chunk))
            .values(text=None, purged_at=stamp)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            update(db.FeedbackSignal)
            .where(db.FeedbackSignal.org_id == org, db.FeedbackSignal.feedback_id.in_(chunk))
            .values(evidence=[])
            .execution_options(synchronize_session=False)
        )
    n_alerts = _redact_alerts(session, org, purged)
    n_messages = _redact_outbox(session, org, purged)
    session.expire_all()  # loaded Feedback objects must not keep the old text in memory
    log.info(
        "purged text of %d feedback notes of org %s older than %s (%d alerts, %d messages redacted)",
        len(ids), org, cutoff, n_alerts, n_messages,
    )  # fmt: skip
    return len(ids)


def _redact(
    evidence: Iterable[dict[str, Any]], purged: set[str]
) -> tuple[list[dict[str, Any]], bool]:
    out, changed = [], False
    for item in evidence:
        if item.get("feedback_id") in purged and item.get("quote") != PURGED_QUOTE:
            item = {**item, "quote": PURGED_QUOTE}
            changed = True
        out.append(item)
    return out, changed


def _redact_alerts(session: Session, org: str, purged: set[str]) -> int:
    n = 0
    for alert in session.scalars(select(db.Alert).where(db.Alert.org_id == org)):
        evidence, changed = _redact(alert.evidence or [], purged)
        if changed:
            alert.evidence = evidence
            n += 1
    session.flush()
    return n


def _redact_outbox(session: Session, org: str, purged: set[str]) -> int:
    n = 0
    for message in session.scalars(select(db.OutboxMessage).where(db.OutboxMessage.org_id == org)):
        alert = (message.payload or {}).get("alert")
        if not isinstance(alert, dict):
            continue
        evidence, changed = _redact(alert.get("evidence") or [], purged)
        if changed:
            message.payload = {**message.payload, "alert": {**alert, "evidence": evidence}}
            n += 1
    session.flush()
    return n
