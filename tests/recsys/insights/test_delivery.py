from __future__ import annotations

import datetime as dt
import json
import random
import time
from typing import Any

from insights_receivers import http_receiver, smtp_receiver
from insights_support import AS_OF, ORG, RISK_STUB
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recsys import db
from recsys.insights.alerts import scan
from recsys.insights.delivery import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    backoff_seconds,
    deliver_due,
    email_text,
    outbox_summary,
    sign,
    slack_message,
    verify_signature,
)
from recsys.insights.risk import score_active_pairings
from recsys.settings import Settings
from recsys.store import transaction

Seeded = tuple[sessionmaker[Session], dict[str, str]]
SECRET = "s3cret"
T0 = dt.datetime(2024, 6, 1, 12, 0, 0)


def _alerts(factory: sessionmaker[Session], settings: Settings) -> None:
    with factory() as session:
        risks = score_active_pairings(session, ORG, AS_OF, RISK_STUB)
    with transaction(factory) as session:
        scan(session, ORG, AS_OF, risks, threshold=0.5, settings=settings, now=T0)


def _messages(factory: sessionmaker[Session]) -> list[db.OutboxMessage]:
    with factory() as session:
        return list(session.scalars(select(db.OutboxMessage).order_by(db.OutboxMessage.id)))


def test_webhook_fails_then_is_retried_with_backoff_and_succeeds(analysed: Seeded) -> None:
    factory, _ = analysed
    with http_receiver(fail_first=2) as receiver:
        settings = Settings(webhook_urls=[receiver.url + "/hook"], webhook_secret=SECRET)
        _alerts(factory, settings)  # two alerts -> two messages, both due at T0

        first = deliver_due(factory, settings, now=T0)
        assert (first.attempted, first.delivered, first.failed) == (2, 0, 2)
        msgs = _messages(factory)
        assert all(m.attempts == 1 and m.delivered_at is None for m in msgs)
        assert all(m.last_error == "HTTP 500 Internal Server Error" for m in msgs)
        assert all(
            T0 + dt.timedelta(seconds=30) <= m.next_attempt_at <= T0 + dt.timedelta(seconds=33)
            for m in msgs
        )
        # not due yet: nothing is sent
        assert deliver_due(factory, settings, now=T0 + dt.timedelta(seconds=10)).attempted == 0
        with factory() as session:
            assert outbox_summary(session) == {"pending": 2, "failing": 2, "delivered": 0}

        later = deliver_due(factory, settings, now=T0 + dt.timedelta(minutes=1))
        assert (later.attempted, later.delivered, later.failed) == (2, 2, 0)
        msgs = _messages(factory)
        assert all(m.delivered_at is not None and m.attempts == 2 for m in msgs)
        assert all(m.last_error is None for m in msgs)
        assert deliver_due(factory, settings, now=T0 + dt.timedelta(hours=5)).attempted == 0

    assert len(receiver.requests) == 4
    for request in receiver.requests:
        assert request.path == "/hook"
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert verify_signature(
            SECRET, request.body, headers[TIMESTAMP_HEADER.lower()],
            headers[SIGNATURE_HEADER.lower()],
        )  # fmt: skip
        assert not verify_signature("wrong", request.body, headers[TIMESTAMP_HEADER.lower()],
                                    headers[SIGNATURE_HEADER.lower()])  # fmt: skip
        payload = json.loads(request.body)
        assert payload["event"] == "alert.opened" and payload["org"] == ORG
    # a retry is the same delivery (same id header) as the failed attempt
    ids = [r.headers[DELIVERY_HEADER] for r in receiver.requests]
    assert sorted(ids[:2]) == sorted(ids[2:])


def test_receiver_down_loses_nothing(analysed: Seeded) -> None:
    factory, _ = analysed
    with http_receiver() as receiver:
        url = receiver.url
    settings = Settings(webhook_urls=[url], webhook_secret=SECRET)  # server is gone now
    _alerts(factory, settings)
    report = deliver_due(factory, settings, now=T0)
    assert report.failed == 2 and report.delivered == 0
    assert all("ConnectError" in (m.last_error or "") for m in _messages(factory))
    report = deliver_due(factory, settings, now=T0 + dt.timedelta(minutes=1))
    assert report.failed == 2
    msgs = _messages(factory)
    assert all(m.attempts == 2 and m.delivered_at is None for m in msgs)
    # the second failure waits twice as long
    assert all(m.next_attempt_at >= T0 + dt.timedelta(minutes=1, seconds=60) for m in msgs)


def test_slack_payload_is_posted(analysed: Seeded) -> None:
    factory, _ = analysed
    with http_receiver() as receiver:
        settings = Settings(slack_webhook_url=receiver.url + "/slack")
        _alerts(factory, settings)
        assert deliver_due(factory, settings, now=T0).delivered == 2
    bodies = [json.loads(r.body) for r in receiver.requests]
    for body in bodies:
        assert set(body) == {"text", "blocks"}
        assert body["blocks"][0]["type"] == "header"
    texts = " ".join(json.dumps(b) for b in bodies)
    assert "Boundary concern in pairing p_boundary" in texts
    assert "2 notes about time constraints in the last 30 days" in texts


def test_email_is_sent_over_smtp(analysed: Seeded) -> None:
    factory, _ = analysed
    with smtp_receiver() as (port, received):
        settings = Settings(
            smtp_host="127.0.0.1", smtp_port=port, smtp_from="recsys@example.org",
            alert_email_to=["coord@example.org"],
        )  # fmt: skip
        _alerts(factory, settings)
        report = deliver_due(factory, settings, now=T0)
        deadline = time.monotonic() + 5
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert report.delivered == 2
    assert len(received) == 2
    by_subject = {str(m["Subject"]): m for m in received}
    risky = next(m for s, m in by_subject.items() if "p_risky" in s)
    assert risky["To"] == "coord@example.org" and risky["From"] == "recsys@example.org"
    body = risky.get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "Risk of ending early: 73%" in body
    assert "2 notes about time constraints in the last 30 days" in body
    assert '"I am too busy with the release deadline this month."' in body
    assert "Mentors with more overlap: m_berlin (8.0 h)" in body


def test_email_without_smtp_is_retried_not_dropped(analysed: Seeded) -> None:
    factory, _ = analysed
    settings = Settings(smtp_host="127.0.0.1", alert_email_to=["c@example.org"])
    _alerts(factory, settings)
    report = deliver_due(factory, Settings(), now=T0)  # SMTP host since removed
    assert report.failed == 2
    assert all("SMTP is not configured" in (m.last_error or "") for m in _messages(factory))


def test_signature_rejects_replays_and_tampering() -> None:
    body = b'{"a":1}'
    now = 1_700_000_000
    sig = sign(SECRET, now, body)
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert verify_signature(SECRET, body, str(now), sig, now=now + 10)
    assert not verify_signature(SECRET, body, str(now), sig, now=now + 3600)  # replayed later
    assert not verify_signature(SECRET, b'{"a":2}', str(now), sig, now=now)
    assert not verify_signature(SECRET, body, str(now + 1), sig, now=now)  # timestamp is signed
    assert not verify_signature("", body, str(now), sig, now=now)


def test_backoff_grows_exponentially_and_is_capped() -> None:
    rng = random.Random(0)
    delays = [backoff_seconds(n, jitter=0.0, rng=rng) for n in range(1, 10)]
    assert delays[:4] == [30, 60, 120, 240]
    assert max(delays) == 3600
    jittered = backoff_seconds(3, rng=rng)
    assert 120 <= jittered <= 132


def test_formatters_handle_minimal_payloads() -> None:
    payload: dict[str, Any] = {
        "event": "alert.opened",
        "alert": {"id": 1, "pairing_id": "p", "risk": 0.9},
    }
    assert "Pairing p at risk of ending early (90%)" in email_text(payload)
    msg = slack_message(payload)
    assert msg["text"] == "Pairing p at risk of ending early (90%)"
    assert not verify_signature(SECRET, b"", "not-a-number", "sha256=00")
