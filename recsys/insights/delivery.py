"""Deliver queued alert notifications from the ``outbox`` table: webhooks, Slack, email.

The outbox is the source of truth: a message stays there until a receiver accepted it, so a
receiver that is down loses nothing. Each failed attempt increments ``attempts``, stores
``last_error`` and pushes ``next_attempt_at`` back exponentially (30 s, 1 min, 2 min, … capped
at one hour, plus up to 10 % jitter so recovering receivers are not hit all at once); delivery
never gives up on its own.

Workers claim due messages optimistically (a conditional UPDATE that moves ``next_attempt_at``
one lease ahead), so the CLI and the service's background task can run :func:`deliver_due` at
the same time without sending a message twice while a lease is live.

Webhooks (``channel="webhook"``) POST the JSON payload with::

    X-Recsys-Timestamp: <unix seconds>
    X-Recsys-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>
    X-Recsys-Delivery:  <outbox id>   (the same on every retry: receivers de-duplicate on it)
    X-Recsys-Event:     alert.opened | alert.updated

The timestamp is part of the signed material, so a captured request cannot be replayed later:
receivers check the signature with :func:`verify_signature`, which also rejects timestamps
more than five minutes away from their clock. Slack (``channel="slack"``) gets a
``{"text", "blocks"}`` message; email (``channel="email"``) a plain-text message via SMTP.
Note text is never in a notification: only the short evidence quotes the alert carries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import smtplib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from recsys import db
from recsys.settings import Settings
from recsys.store import transaction

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Recsys-Signature"
TIMESTAMP_HEADER = "X-Recsys-Timestamp"
DELIVERY_HEADER = "X-Recsys-Delivery"
EVENT_HEADER = "X-Recsys-Event"
SIGNATURE_TOLERANCE_S = 300
BACKOFF_BASE_S = 30.0
BACKOFF_CAP_S = 3600.0
LEASE_S = 300.0
HTTP_TIMEOUT_S = 10.0
SMTP_TIMEOUT_S = 10.0
MAX_ERROR_CHARS = 500


class DeliveryError(Exception):
    """A receiver did not accept a message (retried later)."""


@dataclass
class DeliveryReport:
    attempted: int = 0
    delivered: int = 0
    failed: int = 0
    errors: dict[int, str] = field(default_factory=dict)  # outbox id -> last error


@dataclass(frozen=True)
class _Message:
    id: int
    channel: str
    target: str
    payload: dict[str, Any]
    attempts: int


# --------------------------------------------------------------------------- signing
def canonical_body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """``sha256=<hex>`` HMAC-SHA256 of ``"<timestamp>." + body`` with ``secret``."""
    material = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), material, hashlib.sha256).hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    timestamp: str | None,
    signature: str | None,
    *,
    now: float | None = None,
    tolerance_s: float = SIGNATURE_TOLERANCE_S,
) -> bool:
    """What a receiver runs: the signature matches and the timestamp is recent."""
    if not secret or not timestamp or not signature:
        return False
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature)


def backoff_seconds(
    attempts: int,
    *,
    base: float = BACKOFF_BASE_S,
    cap: float = BACKOFF_CAP_S,
    jitter: float = 0.1,
    rng: random.Random | None = None,
) -> float:
    """Delay before the next try after ``attempts`` failures: base·2^(attempts−1), capped."""
    delay = min(cap, base * 2.0 ** max(attempts - 1, 0))
    return delay * (1.0 + (rng or random).uniform(0.0, jitter))


# --------------------------------------------------------------------------- formatting
def _alert(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    alert = payload.get("alert")
    return alert if isinstance(alert, Mapping) else {}


def _headline(payload: Mapping[str, Any]) -> str:
    alert = _alert(payload)
    pairing = alert.get("pairing_id", "?")
    risk = float(alert.get("risk") or 0.0)
    if "boundary_concern" in (alert.get("signals") or []):
        return f"Boundary concern in pairing {pairing} (risk {risk:.0%})"
    return f"Pairing {pairing} at risk of ending early ({risk:.0%})"


def _action_lines(alert: Mapping[str, Any]) -> list[str]:
    lines = []
    for action in alert.get("actions") or []:
        line = f"[{action.get('signal')}] {action.get('text', '')}"
        mentors = action.get("mentors") or []
        if mentors:
            line += " Mentors with more overlap: " + ", ".join(
                f"{m['mentor_id']} ({m['shared_hours']} h)" for m in mentors
            )
        suggestions = action.get("suggestions") or []
        if suggestions:
            line += " Suggested mentors: " + ", ".join(
                str(s.get("mentor_id", s)) for s in suggestions
            )
        lines.append(line)
    return lines


def email_text(payload: Mapping[str, Any]) -> str:
    """Plain-text body: risk, reasons, evidence quotes, suggested actions."""
    alert = _alert(payload)
    out = [
        _headline(payload),
        "",
        f"Alert {alert.get('id')} ({alert.get('status')}), as of {alert.get('as_of')}",
        f"Risk of ending early: {float(alert.get('risk') or 0.0):.0%}",
        "",
        "Why:",
        *(f"  - {r}" for r in alert.get("reasons") or []),
    ]
    evidence = alert.get("evidence") or []
    if evidence:
        out += ["", "Evidence (excerpts):"]
        out += [
            f'  - [{e.get("label")}, {e.get("author_role")}, {e.get("created_at")}] "{e.get("quote")}"'
            for e in evidence
        ]
    actions = _action_lines(alert)
    if actions:
        out += ["", "Suggested actions:", *(f"  - {a}" for a in actions)]
        for action in alert.get("actions") or []:
            if action.get("template"):
                out += ["", str(action["template"])]
    out += ["", "Acknowledge or resolve this alert in recsys once it is handled."]
    return "\n".join(out) + "\n"


def email_message(payload: Mapping[str, Any], sender: str, recipient: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"[recsys] {_headline(payload)}"
    msg["From"] = sender
    msg["To"] = recipient
    msg.set_content(email_text(payload))
    return msg


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (fallback) plus Block Kit ``blocks``."""
    alert = _alert(payload)
    headline = _headline(payload)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
    ]
    reasons = alert.get("reasons") or []
    if reasons:
        text = "*Why*\n" + "\n".join(f"• {_slack_escape(str(r))}" for r in reasons)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    evidence = alert.get("evidence") or []
    if evidence:
        text = "*Evidence*\n" + "\n".join(
            f"> {_slack_escape(str(e.get('quote')))} _({e.get('label')})_" for e in evidence
        )
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    actions = _action_lines(alert)
    if actions:
        text = "*Suggested actions*\n" + "\n".join(f"• {_slack_escape(a)}" for a in actions)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"alert {alert.get('id')} · {alert.get('status')} · as of "
                    f"{alert.get('as_of')} · {payload.get('event')}",
                }
            ],
        }
    )
    return {"text": headline, "blocks": blocks}


# --------------------------------------------------------------------------- sending
def _post(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        response = client.post(url, content=body, headers=headers, timeout=HTTP_TIMEOUT_S)
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"HTTP {response.status_code} {response.reason_phrase}".strip())


def _send(message: _Message, settings: Settings, client: httpx.Client) -> None:
    if message.channel == "webhook":
        body = canonical_body(message.payload)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "recsys-alerts/1",
            TIMESTAMP_HEADER: timestamp,
            DELIVERY_HEADER: str(message.id),
            EVENT_HEADER: str(message.payload.get("event", "")),
        }
        if settings.webhook_secret:
            headers[SIGNATURE_HEADER] = sign(settings.webhook_secret, timestamp, body)
        _post(client, message.target, body, headers)
    elif message.channel == "slack":
        body = canonical_body(slack_message(message.payload))
        _post(client, message.target, body, {"Content-Type": "application/json"})
    elif message.channel == "email":
        if not settings.smtp_host:
            raise DeliveryError("SMTP is not configured (RECSYS_SMTP_HOST)")
        msg = email_message(message.payload, settings.smtp_from, message.target)
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_S) as s:
                s.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
    else:
        raise DeliveryError(f"unknown channel {message.channel!r}")


def _claim(
    factory: sessionmaker[Session], now: dt.datetime, limit: int, org: str | None
) -> list[_Message]:
    o = db.OutboxMessage
    lease_until = now + dt.timedelta(seconds=LEASE_S)
    with transaction(factory) as session:
        stmt = select(o.id, o.next_attempt_at).where(
            o.delivered_at.is_(None), o.next_attempt_at <= now
        )
        if org is not None:
            stmt = stmt.where(o.org_id == org)
        due = session.execute(stmt.order_by(o.next_attempt_at, o.id).limit(limit)).all()
        claimed: list[int] = []
        for mid, due_at in due:
            res = session.execute(
                update(o)
                .where(o.id == mid, o.delivered_at.is_(None), o.next_attempt_at == due_at)
                .values(next_attempt_at=lease_until)
            )
            if res.rowcount == 1:  # type: ignore[attr-defined]
                claimed.append(mid)
        if not claimed:
            return []
        rows = session.scalars(select(o).where(o.id.in_(claimed)).order_by(o.id))
        return [_Message(r.id, r.channel, r.target, dict(r.payload), r.attempts) for r in rows]


def deliver_due(
    session_factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    http_client: httpx.Client | None = None,
    limit: int = 100,
    org: str | None = None,
) -> DeliveryReport:
    """Send every outbox message that is due at ``now`` (default: the current time).

    Each outcome is committed on its own, so a crash half-way loses no progress. Safe to call
    from the CLI and from the service's background task at the same time.
    """
    moment = db.naive_utc(now)
    report = DeliveryReport()
    messages = _claim(session_factory, moment, limit, org)
    if not messages:
        return report
    client = http_client or httpx.Client(timeout=HTTP_TIMEOUT_S)
    o = db.OutboxMessage
    try:
        for message in messages:
            report.attempted += 1
            error: str | None = None
            try:
                _send(message, settings, client)
            except DeliveryError as exc:
                error = str(exc)[:MAX_ERROR_CHARS]
            attempts = message.attempts + 1
            values: dict[str, Any] = {"attempts": attempts, "last_error": error}
            if error is None:
                values["delivered_at"] = moment
                report.delivered += 1
            else:
                delay = backoff_seconds(attempts)
                values["next_attempt_at"] = moment + dt.timedelta(seconds=delay)
                report.failed += 1
                report.errors[message.id] = error
                log.warning(
                    "outbox %d (%s) attempt %d failed: %s; retry in %.0f s",
                    message.id, message.channel, attempts, error, delay,
                )  # fmt: skip
            with transaction(session_factory) as session:
                session.execute(update(o).where(o.id == message.id).values(**values))
    finally:
        if http_client is None:
            client.close()
    log.info(
        "outbox delivery: %d attempted, %d delivered, %d failed",
        report.attempted, report.delivered, report.failed,
    )  # fmt: skip
    return report


def outbox_summary(session: Session, org: str | None = None) -> dict[str, int]:
    """Counts of ``pending`` (not yet delivered), ``failing`` (pending with a failed attempt)
    and ``delivered`` messages."""
    o = db.OutboxMessage
    stmt = select(
        func.count().filter(o.delivered_at.is_(None)),
        func.count().filter(o.delivered_at.is_(None), o.attempts > 0),
        func.count().filter(o.delivered_at.is_not(None)),
    )
    if org is not None:
        stmt = stmt.where(o.org_id == org)
    pending, failing, delivered = session.execute(stmt).one()
    return {"pending": int(pending), "failing": int(failing), "delivered": int(delivered)}
