"""Coordinator alerts for at-risk pairings: open, update, acknowledge, resolve, notify.

:func:`scan` turns scored pairings (:class:`recsys.insights.risk.PairingRisk`) into alerts:

* an alert opens when a pairing's risk reaches the threshold, and always when a note carries a
  ``boundary_concern`` (never silently dropped, whatever the risk);
* there is at most one live (open or acknowledged) alert per pairing: a later scan updates it
  in place; a notification goes out only when something material changed (new evidence or
  signals, or the risk moved by :data:`RISK_CHANGE` or more);
* after a coordinator resolves an alert, a later scan opens a new one only when something new
  happened: evidence dated after the resolved alert's ``as_of``, or a risk at least
  :data:`REOPEN_MARGIN` higher than when it was resolved;
* each opened or materially updated alert enqueues one outbox message per configured channel
  (webhooks, Slack, email recipients), delivered by :mod:`recsys.insights.delivery`.

An alert carries the risk, the top reasons, short evidence quotes (only the miner's evidence
spans, trimmed to ~200 characters, never a whole note) and one suggested action per challenge.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from recsys import db, store
from recsys.insights.risk import MIN_SIGNAL_SCORE, PairingRisk, trim_quote
from recsys.schemas import CHALLENGE_SIGNALS, Signal
from recsys.settings import Settings

log = logging.getLogger(__name__)

OPEN, ACKNOWLEDGED, RESOLVED = "open", "acknowledged", "resolved"
STATUSES = (OPEN, ACKNOWLEDGED, RESOLVED)
LIVE = (OPEN, ACKNOWLEDGED)
RISK_CHANGE = 0.05
REOPEN_MARGIN = 0.10
MAX_REASONS = 5
PAYLOAD_SCHEMA_VERSION = 1


class RematchFn(Protocol):
    """Replacement mentors for a pairing; the challenge becomes a constraint (e.g. at least N
    shared working hours for ``time_constraints``). See :func:`recsys.rematch.rematch_callback`."""

    def __call__(self, pairing_id: str, challenge: str = ...) -> list[dict[str, Any]]: ...


GOAL_SETTING_TEMPLATE = """\
Goal-setting conversation (30 minutes, mentee leads, mentor asks questions)
1. Outcome: "In 3 months I will be able to ..." (one sentence, in the mentee's words).
2. Why now: what changes for the mentee, their team or their career if this happens?
3. Evidence: what would we see after 4 weeks? After the whole pairing?
4. First step: one action the mentee takes before the next session.
5. The mentor's part: introductions, reviews of work, practice, honest feedback on ...
Write the goals down, share them with both, and revisit them at every check-in."""


class AlertNotFound(LookupError):
    pass


class AlertStateError(ValueError):
    pass


@dataclass
class ScanReport:
    as_of: dt.date
    scanned: int = 0
    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)  # pairings resolved with nothing new
    boundary: list[int] = field(default_factory=list)  # alerts driven by a boundary concern
    notifications: int = 0


# --------------------------------------------------------------------------- actions
def _overlap_hours(tz_a: str, tz_b: str, on: dt.date) -> float:
    from features.profile import shared_working_hours, utc_offsets

    return float(shared_working_hours(utc_offsets([tz_a], on), utc_offsets([tz_b], on))[0])


def mentors_with_more_overlap(
    session: Session, org: str, pairing_id: str, as_of: dt.date, *, limit: int = 3
) -> list[dict[str, Any]]:
    """Active mentors with free capacity, a shared language and more shared working hours with
    the mentee than the current mentor (most overlap first)."""
    pairing = session.get(db.Pairing, (org, pairing_id))
    if pairing is None:
        return []
    mentee = session.get(db.Mentee, (org, pairing.mentee_id))
    current = session.get(db.Mentor, (org, pairing.mentor_id))
    if mentee is None or current is None:
        return []
    current_hours = _overlap_hours(current.timezone, mentee.timezone, as_of)
    load = store.mentor_load(session, org, as_of)
    excluded = {pairing.mentor_id, *mentee.excluded_mentor_ids}
    languages = set(mentee.languages)
    found: list[dict[str, Any]] = []
    stmt = select(db.Mentor).where(db.Mentor.org_id == org, db.Mentor.active.is_(True))
    for mentor in session.scalars(stmt):
        if mentor.id in excluded or load.get(mentor.id, 0) >= mentor.capacity:
            continue
        if not languages & set(mentor.languages):
            continue
        hours = _overlap_hours(mentor.timezone, mentee.timezone, as_of)
        if hours > current_hours:
            found.append({"mentor_id": mentor.id, "shared_hours": round(hours, 1)})
    found.sort(key=lambda m: (-m["shared_hours"], m["mentor_id"]))
    return found[:limit]


def _safe_rematch(rematch: RematchFn, pairing_id: str, challenge: str) -> list[dict[str, Any]]:
    """Suggestions are advice: an alert is never lost because re-matching failed."""
    try:
        return rematch(pairing_id, challenge=challenge)
    except Exception:
        log.warning("re-match suggestions failed for pairing %s", pairing_id, exc_info=True)
        return []


def suggest_actions(
    session: Session,
    org: str,
    risk: PairingRisk,
    as_of: dt.date,
    *,
    rematch: RematchFn | None = None,
) -> list[dict[str, Any]]:
    """One suggested action per challenge signal present, strongest signal first."""
    present = sorted(
        (
            (score, label)
            for label, score in risk.signals.items()
            if score >= MIN_SIGNAL_SCORE and label != Signal.positive_progress.value
        ),
        reverse=True,
    )
    actions: list[dict[str, Any]] = []
    for _, label in present:
        action: dict[str, Any] = {"signal": label}
        if label == Signal.time_constraints.value:
            if rematch is not None:  # the recommender, constrained to more shared hours
                mentors = _safe_rematch(rematch, risk.pairing_id, label)
            else:
                mentors = mentors_with_more_overlap(session, org, risk.pairing_id, as_of)
            action.update(
                type="find_mentors_with_more_overlap",
                text=(
                    "Agree a realistic cadence (e.g. 30 minutes every two weeks) or consider a "
                    "mentor with more shared working hours."
                ),
                mentors=mentors,
            )
        elif label == Signal.poor_match.value:
            suggestions = _safe_rematch(rematch, risk.pairing_id, label) if rematch else []
            action.update(
                type="rematch",
                text="Talk to both separately; if the fit is wrong, offer a re-match.",
                suggestions=suggestions,
            )
        elif label == Signal.unclear_goals.value:
            action.update(
                type="goal_setting",
                text="Run a short goal-setting conversation with the template.",
                template=GOAL_SETTING_TEMPLATE,
            )
        elif label == Signal.boundary_concern.value:
            action.update(
                type="escalate",
                to="programme_owner",
                text=(
                    "Escalate to the programme owner today; do not contact the pair about the "
                    "concern before they decide how to proceed."
                ),
            )
        elif label == Signal.low_commitment.value:
            action.update(
                type="check_in",
                text="Check in with both on expectations and agree a meeting cadence.",
            )
        elif label == Signal.communication_breakdown.value:
            action.update(
                type="facilitate",
                text="Offer a three-way conversation with the coordinator to reset how they work.",
            )
        elif label == Signal.fear_of_feedback.value:
            action.update(
                type="feedback_guide",
                text="Share the feedback guide with the mentor and agree how feedback is given.",
            )
        else:  # pragma: no cover - every challenge label is handled above
            continue
        actions.append(action)
    return actions


# --------------------------------------------------------------------------- scan
def _challenge_labels(risk: PairingRisk) -> list[str]:
    challenges = {s.value for s in CHALLENGE_SIGNALS}
    present = [
        (s, lb) for lb, s in risk.signals.items() if lb in challenges and s >= MIN_SIGNAL_SCORE
    ]
    return [lb for _, lb in sorted(present, key=lambda sl: (-sl[0], sl[1]))]


def _has_boundary(risk: PairingRisk) -> bool:
    return risk.signals.get(Signal.boundary_concern.value, 0.0) >= MIN_SIGNAL_SCORE


def _evidence(risk: PairingRisk) -> list[dict[str, Any]]:
    return [
        {
            "feedback_id": str(e["feedback_id"]),
            "label": str(e["label"]),
            "quote": trim_quote(str(e.get("quote") or "")),
            "created_at": e.get("created_at"),
            "author_role": e.get("author_role"),
        }
        for e in risk.evidence
    ]


def _reasons(risk: PairingRisk) -> list[str]:
    reasons = list(risk.reasons)
    if _has_boundary(risk):
        dates = sorted(
            str(e["created_at"])
            for e in risk.evidence
            if e["label"] == Signal.boundary_concern.value and e.get("created_at")
        )
        when = f" (latest note {dates[-1]})" if dates else ""
        reasons.insert(0, f"a boundary concern was raised{when}")
    return reasons[:MAX_REASONS]


def _newer_than(risk: PairingRisk, day: dt.date) -> bool:
    return any(
        e.get("created_at") and dt.date.fromisoformat(str(e["created_at"])) > day
        for e in risk.evidence
    )


def _live_alert(session: Session, org: str, pairing_id: str) -> db.Alert | None:
    a = db.Alert
    stmt = (
        select(a)
        .where(a.org_id == org, a.pairing_id == pairing_id, a.status.in_(LIVE))
        .order_by(a.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def _last_resolved(session: Session, org: str, pairing_id: str) -> db.Alert | None:
    a = db.Alert
    stmt = (
        select(a)
        .where(a.org_id == org, a.pairing_id == pairing_id, a.status == RESOLVED)
        .order_by(a.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def scan(
    session: Session,
    org: str,
    as_of: dt.date,
    risks: Sequence[PairingRisk],
    *,
    threshold: float,
    rematch: RematchFn | None = None,
    settings: Settings | None = None,
    now: dt.datetime | None = None,
) -> ScanReport:
    """Open or update alerts for ``risks`` (scored as of ``as_of``) and enqueue notifications.

    Notification targets come from ``settings`` (default: :func:`recsys.settings.get_settings`).
    """
    if settings is None:
        from recsys.settings import get_settings

        settings = get_settings()
    stamp = db.naive_utc(now)
    report = ScanReport(as_of=as_of, scanned=len(risks))
    for risk in risks:
        boundary = _has_boundary(risk)
        if risk.risk < threshold and not boundary:
            continue
        labels, reasons, evidence = _challenge_labels(risk), _reasons(risk), _evidence(risk)
        live = _live_alert(session, org, risk.pairing_id)
        if live is not None:
            changed = (
                abs(live.risk - risk.risk) >= RISK_CHANGE
                or bool(set(labels) - set(live.signals))
                or bool(
                    {(e["feedback_id"], e["label"]) for e in evidence}
                    - {(e["feedback_id"], e["label"]) for e in live.evidence}
                )
            )
            live.risk, live.signals, live.reasons, live.evidence = (
                risk.risk,
                labels,
                reasons,
                evidence,
            )
            live.actions = suggest_actions(session, org, risk, as_of, rematch=rematch)
            live.as_of = max(live.as_of, as_of)
            alert, event = live, "alert.updated"
            if not changed:
                report.unchanged.append(live.id)
                continue
            live.updated_at = stamp
            report.updated.append(live.id)
        else:
            resolved = _last_resolved(session, org, risk.pairing_id)
            if resolved is not None and not (
                _newer_than(risk, resolved.as_of) or risk.risk >= resolved.risk + REOPEN_MARGIN
            ):
                report.suppressed.append(risk.pairing_id)
                continue
            alert = db.Alert(
                org_id=org,
                pairing_id=risk.pairing_id,
                status=OPEN,
                actions=suggest_actions(session, org, risk, as_of, rematch=rematch),
                as_of=as_of,
                created_at=stamp,
                updated_at=stamp,
                risk=float(risk.risk),
                signals=labels,
                reasons=reasons,
                evidence=evidence,
            )
            session.add(alert)
            session.flush()
            event = "alert.opened"
            report.opened.append(alert.id)
        if boundary:
            report.boundary.append(alert.id)
        report.notifications += enqueue_notifications(
            session, org, alert, risk, event=event, settings=settings, now=stamp
        )
    session.flush()
    log.info(
        "alert scan for org %s as of %s: %d scanned, %d opened, %d updated, %d notifications",
        org, as_of, report.scanned, len(report.opened), len(report.updated), report.notifications,
    )  # fmt: skip
    return report


# --------------------------------------------------------------------------- notifications
def alert_to_dict(alert: db.Alert) -> dict[str, Any]:
    """The alert as plain JSON-able data (the API and the notification payload use this)."""
    return {
        "id": alert.id,
        "org": alert.org_id,
        "pairing_id": alert.pairing_id,
        "status": alert.status,
        "risk": round(float(alert.risk), 4),
        "signals": list(alert.signals),
        "reasons": list(alert.reasons),
        "evidence": [dict(e) for e in alert.evidence],
        "actions": [dict(a) for a in alert.actions],
        "as_of": alert.as_of.isoformat(),
        "created_at": _iso(alert.created_at),
        "updated_at": _iso(alert.updated_at),
        "resolved_at": _iso(alert.resolved_at),
    }


def notification_targets(settings: Settings) -> list[tuple[str, str]]:
    """(channel, target) pairs configured in ``settings``."""
    targets = [("webhook", url) for url in settings.webhook_urls]
    if settings.slack_webhook_url:
        targets.append(("slack", settings.slack_webhook_url))
    if settings.smtp_host:
        targets.extend(("email", address) for address in settings.alert_email_to)
    return targets


def enqueue_notifications(
    session: Session,
    org: str,
    alert: db.Alert,
    risk: PairingRisk | None = None,
    *,
    event: str,
    settings: Settings,
    now: dt.datetime | None = None,
) -> int:
    """One outbox message per configured target; returns how many were enqueued."""
    stamp = db.naive_utc(now)
    payload: dict[str, Any] = {
        "schema_version": PAYLOAD_SCHEMA_VERSION,
        "event": event,
        "org": org,
        "alert": alert_to_dict(alert),
    }
    if risk is not None:
        payload["pairing"] = {
            "id": risk.pairing_id,
            "mentor_id": risk.mentor_id,
            "mentee_id": risk.mentee_id,
        }
    targets = notification_targets(settings)
    for channel, target in targets:
        session.add(
            db.OutboxMessage(
                org_id=org, alert_id=alert.id, channel=channel, target=target, payload=payload,
                attempts=0, next_attempt_at=stamp, created_at=stamp,
            )
        )  # fmt: skip
    return len(targets)


# --------------------------------------------------------------------------- states
def list_alerts(
    session: Session,
    org: str,
    status: str | None = None,
    signal: str | None = None,
    since: dt.date | dt.datetime | None = None,
    *,
    limit: int | None = None,
) -> list[db.Alert]:
    """Alerts of ``org``, most recently updated first; filters combine with AND.

    ``signal`` keeps alerts carrying that challenge label; ``since`` keeps alerts updated on or
    after that moment (a date means its midnight, UTC).
    """
    a = db.Alert
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown alert status {status!r}; expected one of {STATUSES}")
    if signal is not None:
        Signal(signal)  # unknown labels are an error, not an empty list
    stmt = select(a).where(a.org_id == org)
    if status is not None:
        stmt = stmt.where(a.status == status)
    if since is not None:
        moment = since if isinstance(since, dt.datetime) else dt.datetime.combine(since, dt.time())
        stmt = stmt.where(a.updated_at >= db.naive_utc(moment))
    stmt = stmt.order_by(a.updated_at.desc(), a.id.desc())
    alerts = list(session.scalars(stmt))
    # JSON containment differs per dialect; alert lists are small, so filter here.
    if signal is not None:
        alerts = [x for x in alerts if signal in x.signals]
    return alerts[:limit] if limit is not None else alerts


def get_alert(session: Session, org: str, alert_id: int) -> db.Alert:
    alert = session.get(db.Alert, alert_id)
    if alert is None or alert.org_id != org:
        raise AlertNotFound(f"no alert {alert_id} in organisation {org!r}")
    return alert


def acknowledge(
    session: Session, org: str, alert_id: int, *, now: dt.datetime | None = None
) -> db.Alert:
    """open → acknowledged (acknowledging twice is a no-op; a resolved alert cannot be)."""
    alert = get_alert(session, org, alert_id)
    if alert.status == RESOLVED:
        raise AlertStateError(f"alert {alert_id} is resolved")
    if alert.status == OPEN:
        alert.status = ACKNOWLEDGED
        alert.updated_at = db.naive_utc(now)
        session.flush()
    return alert


def resolve(
    session: Session, org: str, alert_id: int, *, now: dt.datetime | None = None
) -> db.Alert:
    """open / acknowledged → resolved (resolving twice is a no-op)."""
    alert = get_alert(session, org, alert_id)
    if alert.status != RESOLVED:
        stamp = db.naive_utc(now)
        alert.status = RESOLVED
        alert.resolved_at = stamp
        alert.updated_at = stamp
        session.flush()
    return alert


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None
