"""Feedback text is confidential: no log record of the whole insights flow may contain it."""

from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from insights_receivers import http_receiver, smtp_receiver
from insights_support import AS_OF, ORG, RISK_STUB, FakeMiner
from sqlalchemy.orm import Session, sessionmaker

from recsys.insights.alerts import scan
from recsys.insights.delivery import deliver_due
from recsys.insights.retention import purge_feedback_text
from recsys.insights.risk import score_active_pairings
from recsys.insights.signals_store import analyze_pending
from recsys.settings import Settings
from recsys.store import transaction

Seeded = tuple[sessionmaker[Session], dict[str, str]]


def _fragments(texts: dict[str, str]) -> set[str]:
    """Every sentence of every note (the smallest piece a leak would show)."""
    out: set[str] = set()
    for text in texts.values():
        out.update(s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 12)
    return out


def test_no_note_text_in_logs(seeded: Seeded, caplog: pytest.LogCaptureFixture) -> None:
    factory, texts = seeded
    caplog.set_level(logging.DEBUG)  # every logger, every level
    now = dt.datetime(2024, 6, 1, 12)
    with http_receiver(fail_first=1) as hook, smtp_receiver() as (port, _):
        settings = Settings(
            webhook_urls=[hook.url], webhook_secret="k", slack_webhook_url=hook.url + "/s",
            smtp_host="127.0.0.1", smtp_port=port, alert_email_to=["c@example.org"],
        )  # fmt: skip
        with transaction(factory) as session:
            assert analyze_pending(session, ORG, FakeMiner()) == 9
        with transaction(factory) as session:
            risks = score_active_pairings(session, ORG, AS_OF, RISK_STUB)
            report = scan(session, ORG, AS_OF, risks, threshold=0.5, settings=settings, now=now)
        assert report.notifications == 6
        first = deliver_due(factory, settings, now=now)
        second = deliver_due(factory, settings, now=now + dt.timedelta(hours=1))
        assert first.failed == 1 and first.delivered + second.delivered == 6
        with transaction(factory) as session:
            assert purge_feedback_text(session, ORG, 30, AS_OF) == 3
    # "mail.log" is the test's own SMTP server (aiosmtpd) echoing what it received
    records = [r for r in caplog.records if not r.name.startswith("mail.log")]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in records)
    assert "analysed 9 feedback notes" in logged  # the flow did log
    assert "attempt 1 failed" in logged
    leaks = [f for f in _fragments(texts) if f in logged]
    assert leaks == []
