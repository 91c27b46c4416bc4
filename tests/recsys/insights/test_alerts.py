from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from insights_support import AS_OF, ORG, RISK_STUB
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from recsys import db
from recsys.insights.alerts import (
    ACKNOWLEDGED,
    GOAL_SETTING_TEMPLATE,
    OPEN,
    RESOLVED,
    AlertNotFound,
    AlertStateError,
    acknowledge,
    list_alerts,
    resolve,
    scan,
)
from recsys.insights.risk import PairingRisk, score_active_pairings
from recsys.settings import Settings
from recsys.store import transaction

Seeded = tuple[sessionmaker[Session], dict[str, str]]
SETTINGS = Settings(
    webhook_urls=["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"],
    slack_webhook_url="http://127.0.0.1:9/slack",
    smtp_host="127.0.0.1",
    alert_email_to=["coord@example.org"],
)


def _risks(factory: sessionmaker[Session], as_of: dt.date = AS_OF) -> list[PairingRisk]:
    with factory() as session:
        return score_active_pairings(session, ORG, as_of, RISK_STUB)


def _scan(factory: sessionmaker[Session], risks: list[PairingRisk], **kw: Any) -> Any:
    with transaction(factory) as session:
        return scan(session, ORG, AS_OF, risks, threshold=0.5, settings=SETTINGS, **kw)


def _outbox(factory: sessionmaker[Session]) -> list[db.OutboxMessage]:
    with factory() as session:
        return list(session.scalars(select(db.OutboxMessage).order_by(db.OutboxMessage.id)))


def test_scan_opens_alerts_above_threshold_and_for_boundary_concerns(analysed: Seeded) -> None:
    factory, texts = analysed
    risks = _risks(factory)
    report = _scan(factory, risks)
    assert len(report.opened) == 2 and report.scanned == 3
    with factory() as session:
        alerts = {a.pairing_id: a for a in list_alerts(session, ORG)}
    assert set(alerts) == {"p_risky", "p_boundary"}  # p_ok is below the threshold
    risky, boundary = alerts["p_risky"], alerts["p_boundary"]
    assert risky.status == OPEN and risky.risk == pytest.approx(risks[0].risk)
    assert risky.signals == ["time_constraints"]
    assert risky.reasons[0] == "2 notes about time constraints in the last 30 days"
    assert boundary.risk < 0.5 and boundary.signals == ["boundary_concern"]
    assert boundary.reasons[0].startswith("a boundary concern was raised")
    assert report.boundary == [boundary.id]
    for alert in (risky, boundary):
        for e in alert.evidence:
            assert len(e["quote"]) <= 200
            assert e["quote"] in texts[e["feedback_id"]] and e["quote"] != texts[e["feedback_id"]]
    # 2 alerts x (2 webhooks + slack + 1 email)
    messages = _outbox(factory)
    assert len(messages) == 8 and report.notifications == 8
    assert sorted({m.channel for m in messages}) == ["email", "slack", "webhook"]
    assert all(m.payload["event"] == "alert.opened" for m in messages)
    assert {m.payload["pairing"]["mentor_id"] for m in messages} == {"m_ny", "m_berlin"}


def _risky(analysed: Seeded) -> tuple[Any, Any]:
    factory, _ = analysed
    risk = dataclasses.replace(
        _risks(factory)[0],
        signals={"time_constraints": 0.9, "poor_match": 0.8, "unclear_goals": 0.7,
                 "boundary_concern": 0.6, "positive_progress": 0.9},
    )  # fmt: skip
    return factory, risk


def test_suggested_actions_per_challenge(analysed: Seeded) -> None:
    factory, risk = _risky(analysed)
    calls: list[tuple[str, str]] = []

    def rematch(pairing_id: str, challenge: str = "poor_match") -> list[dict[str, Any]]:
        calls.append((pairing_id, challenge))
        if challenge == "time_constraints":
            return [{"mentor_id": "m_berlin", "score": 0.7, "shared_hours": 8.0}]
        return [{"mentor_id": "m_berlin", "score": 0.8}]

    _scan(factory, [risk], rematch=rematch)
    with factory() as session:
        (alert,) = list_alerts(session, ORG)
    actions = {a["signal"]: a for a in alert.actions}
    assert list(actions) == ["time_constraints", "poor_match", "unclear_goals", "boundary_concern"]
    # each challenge becomes the re-match constraint
    assert sorted(calls) == [("p_risky", "poor_match"), ("p_risky", "time_constraints")]
    assert actions["time_constraints"]["mentors"] == [
        {"mentor_id": "m_berlin", "score": 0.7, "shared_hours": 8.0}
    ]
    assert actions["poor_match"]["suggestions"] == [{"mentor_id": "m_berlin", "score": 0.8}]
    assert actions["unclear_goals"]["template"] == GOAL_SETTING_TEMPLATE
    assert actions["boundary_concern"]["type"] == "escalate"
    assert actions["boundary_concern"]["to"] == "programme_owner"


def test_time_constraints_without_a_recommender_lists_mentors_with_more_overlap(
    analysed: Seeded,
) -> None:
    factory, risk = _risky(analysed)
    _scan(factory, [risk])
    with factory() as session:
        (alert,) = list_alerts(session, ORG)
    actions = {a["signal"]: a for a in alert.actions}
    # m_berlin: 8 shared hours with the Berlin mentee, free capacity, shared language;
    # m_paris has no capacity; the current mentor (New York) shares 2 hours
    assert actions["time_constraints"]["mentors"] == [
        {"mentor_id": "m_berlin", "shared_hours": 8.0}
    ]
    assert actions["poor_match"]["suggestions"] == []


def test_a_failing_rematch_never_loses_the_alert(analysed: Seeded) -> None:
    factory, risk = _risky(analysed)

    def broken(pairing_id: str, challenge: str = "poor_match") -> list[dict[str, Any]]:
        raise RuntimeError("index not ready")

    _scan(factory, [risk], rematch=broken)
    with factory() as session:
        (alert,) = list_alerts(session, ORG)
    assert {a["signal"] for a in alert.actions} >= {"boundary_concern", "poor_match"}


def test_rescan_updates_the_live_alert_instead_of_duplicating(analysed: Seeded) -> None:
    factory, _ = analysed
    risks = _risks(factory)
    first = _scan(factory, risks)
    again = _scan(factory, risks)
    assert (
        again.opened == []
        and again.updated == []
        and sorted(again.unchanged) == sorted(first.opened)
    )
    assert len(_outbox(factory)) == 8  # nothing material changed: no new notifications
    bumped = [dataclasses.replace(risks[0], risk=risks[0].risk + 0.2)]
    third = _scan(factory, bumped)
    assert third.updated == [first.opened[0]] and third.opened == []
    messages = _outbox(factory)
    assert len(messages) == 12 and messages[-1].payload["event"] == "alert.updated"
    with factory() as session:
        n = session.scalar(select(func.count()).select_from(db.Alert))
        (alert,) = list_alerts(session, ORG, signal="time_constraints")
    assert n == 2 and alert.risk == pytest.approx(bumped[0].risk)


def test_acknowledge_resolve_and_reopen(analysed: Seeded) -> None:
    factory, _ = analysed
    risks = _risks(factory)
    _scan(factory, risks)
    with transaction(factory) as session:
        (risky,) = list_alerts(session, ORG, signal="time_constraints")
        assert acknowledge(session, ORG, risky.id).status == ACKNOWLEDGED
        assert acknowledge(session, ORG, risky.id).status == ACKNOWLEDGED  # idempotent
    with factory() as session:
        assert [a.id for a in list_alerts(session, ORG, status=ACKNOWLEDGED)] == [risky.id]
    # an acknowledged alert is still the live one: a re-scan updates it
    assert risky.id in _scan(factory, risks).unchanged
    with transaction(factory) as session:
        done = resolve(session, ORG, risky.id)
        assert done.status == RESOLVED and done.resolved_at is not None
        with pytest.raises(AlertStateError):
            acknowledge(session, ORG, risky.id)
        with pytest.raises(AlertNotFound):
            resolve(session, "other-org", risky.id)
    # same evidence and risk after resolution: no new alert
    report = _scan(factory, risks)
    assert report.opened == [] and report.suppressed == ["p_risky"]
    # new evidence dated after the resolved alert's as_of: a new alert opens
    newer = dataclasses.replace(
        risks[0],
        evidence=[*risks[0].evidence, {"feedback_id": "fx", "label": "time_constraints",
                                        "quote": "no time", "created_at": "2024-06-05"}],
    )  # fmt: skip
    report = _scan(factory, [newer])
    assert len(report.opened) == 1 and report.opened[0] != risky.id
    with factory() as session:
        statuses = sorted(a.status for a in list_alerts(session, ORG) if a.pairing_id == "p_risky")
    assert statuses == [OPEN, RESOLVED]


def test_list_alerts_filters(analysed: Seeded) -> None:
    factory, _ = analysed
    _scan(factory, _risks(factory))
    with factory() as session:
        assert len(list_alerts(session, ORG)) == 2
        assert [a.pairing_id for a in list_alerts(session, ORG, signal="boundary_concern")] == [
            "p_boundary"
        ]
        assert list_alerts(session, ORG, status=RESOLVED) == []
        assert list_alerts(session, ORG, since=dt.datetime(2100, 1, 1)) == []
        assert len(list_alerts(session, ORG, since=dt.date(2000, 1, 1))) == 2
        assert list_alerts(session, "other-org") == []
        with pytest.raises(ValueError):
            list_alerts(session, ORG, status="closed")
        with pytest.raises(ValueError):
            list_alerts(session, ORG, signal="nope")


def test_no_targets_configured_means_no_outbox_rows(analysed: Seeded) -> None:
    factory, _ = analysed
    with transaction(factory) as session:
        report = scan(session, ORG, AS_OF, _risks(factory), threshold=0.5, settings=Settings())
    assert len(report.opened) == 2 and report.notifications == 0 and _outbox(factory) == []
