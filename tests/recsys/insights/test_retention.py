from __future__ import annotations

import datetime as dt

import pytest
from insights_support import AS_OF, ORG, RISK_STUB
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recsys import db
from recsys.insights.alerts import scan
from recsys.insights.retention import PURGED_QUOTE, purge_feedback_text
from recsys.insights.risk import risk_features, score_active_pairings
from recsys.settings import Settings
from recsys.store import transaction

Seeded = tuple[sessionmaker[Session], dict[str, str]]


def test_purge_nulls_old_text_and_keeps_signals(analysed: Seeded) -> None:
    factory, texts = analysed
    with factory() as session:
        before = risk_features(session, ORG, [("p_boundary", AS_OF), ("p_risky", AS_OF)])
    with transaction(factory) as session:
        risks = score_active_pairings(session, ORG, AS_OF, RISK_STUB)
        scan(session, ORG, AS_OF, risks, threshold=0.5,
             settings=Settings(webhook_urls=["http://127.0.0.1:9"]))  # fmt: skip
    stamp = dt.datetime(2024, 6, 1, 8, 0)
    with transaction(factory) as session:
        # notes dated before AS_OF - 90 days: f6 (120 days), f8 (300 days)
        assert purge_feedback_text(session, ORG, 90, AS_OF, now=stamp) == 2
    with transaction(factory) as session:
        assert purge_feedback_text(session, ORG, 90, AS_OF, now=stamp) == 0  # idempotent
    with factory() as session:
        notes = {f.id: f for f in session.scalars(select(db.Feedback))}
        assert notes["f6"].text is None and notes["f6"].purged_at == stamp
        assert notes["f8"].text is None
        assert notes["f2"].text == texts["f2"] and notes["f2"].purged_at is None
        signal = session.get(db.FeedbackSignal, (ORG, "f6", "boundary_concern"))
        assert signal is not None and signal.score == 0.9 and signal.evidence == []
        after = risk_features(session, ORG, [("p_boundary", AS_OF), ("p_risky", AS_OF)])
        (alert,) = [a for a in session.scalars(select(db.Alert)) if a.pairing_id == "p_boundary"]
        assert [e["quote"] for e in alert.evidence] == [PURGED_QUOTE]
        for message in session.scalars(select(db.OutboxMessage)):
            for e in message.payload["alert"]["evidence"]:
                assert e["feedback_id"] != "f6" or e["quote"] == PURGED_QUOTE
                assert texts["f6"][:40] not in e["quote"]
    # the risk model sees exactly the same features: signals outlive the text
    assert after.equals(before)


def test_purge_is_scoped_to_the_organisation(analysed: Seeded) -> None:
    factory, _ = analysed
    with transaction(factory) as session:
        assert purge_feedback_text(session, "other-org", 0, AS_OF) == 0
        with pytest.raises(ValueError):
            purge_feedback_text(session, ORG, -1, AS_OF)
    with transaction(factory) as session:
        # everything dated before AS_OF (f9 is after it)
        assert purge_feedback_text(session, ORG, 0, AS_OF) == 8
