from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from evaluation.matching_eval import synthetic_engine
from features.pairs import FEATURE_NAMES
from recsys import db, store
from recsys.engine import RecommendationEngine
from recsys.matching import score_pairs
from recsys.rematch import (
    PairingNotFound,
    attach_to_alerts,
    rematch_callback,
    required_hours,
    suggest_replacements,
)

ORG = "r"
AS_OF = dt.date(2026, 10, 1)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecommendationEngine]:
    eng, _ = synthetic_engine(
        tmp_path_factory.mktemp("rematch"), n_mentors=120, n_mentees=200, seed=5, org=ORG
    )
    yield eng
    eng.ctx.engine.dispose()


@pytest.fixture(scope="module")
def pairing(engine: RecommendationEngine) -> db.Pairing:
    with engine.ctx.sessions() as s:
        return store.active_pairings(s, ORG, AS_OF)[0]


def _mentee(engine: RecommendationEngine, mentee_id: str):  # type: ignore[no-untyped-def]
    with engine.ctx.sessions() as s:
        return store.mentee_schema(store.get_row(s, db.Mentee, ORG, mentee_id))  # type: ignore[arg-type]


def _previous(engine: RecommendationEngine, mentee_id: str) -> set[str]:
    with engine.ctx.sessions() as s:
        return set(s.scalars(select(db.Pairing.mentor_id).where(
            db.Pairing.org_id == ORG, db.Pairing.mentee_id == mentee_id)))  # fmt: skip


def test_required_hours() -> None:
    assert required_hours(0.0) == 3.0
    assert required_hours(4.0) == 5.0
    assert required_hours(7.5) == 8.0
    assert required_hours(1.0, min_shared_hours=6) == 6.0


def test_time_constraints_become_a_shared_hours_constraint(
    engine: RecommendationEngine, pairing: db.Pairing
) -> None:
    mentee = _mentee(engine, pairing.mentee_id)
    current = score_pairs(engine, ORG, mentee, [pairing.mentor_id], as_of=AS_OF)[0]
    need = required_hours(current.features["shared_hours"])
    with engine.ctx.sessions() as s:
        found = suggest_replacements(
            s, engine, ORG, pairing.id, as_of=AS_OF, challenge="time_constraints", k=5
        )
    assert found, "the synthetic programme has mentors in nearby zones"
    banned = _previous(engine, mentee.id) | set(mentee.excluded_mentor_ids)
    catalog = engine.catalog(ORG)
    for r in found:
        assert r.shared_hours >= need - 0.05
        assert r.mentor_id not in banned
        assert set(mentee.languages) & catalog.languages[catalog.row_of[r.mentor_id]]
        assert "shared working hours" in r.constraint and r.reasons
    assert [r.score for r in found] == sorted((r.score for r in found), reverse=True)


def test_poor_match_requires_a_closer_fit(
    engine: RecommendationEngine, pairing: db.Pairing
) -> None:
    mentee = _mentee(engine, pairing.mentee_id)
    current = score_pairs(engine, ORG, mentee, [pairing.mentor_id], as_of=AS_OF)[0]
    with engine.ctx.sessions() as s:
        found = suggest_replacements(s, engine, ORG, pairing.id, as_of=AS_OF, k=3)
    assert found
    fits = score_pairs(engine, ORG, mentee, [r.mentor_id for r in found], as_of=AS_OF)
    key = "text_mean_best_sentence"
    assert key in FEATURE_NAMES
    assert all(f.features[key] > current.features[key] for f in fits)
    assert pairing.mentor_id not in {r.mentor_id for r in found}


def test_unknown_pairing_and_challenge(engine: RecommendationEngine, pairing: db.Pairing) -> None:
    with engine.ctx.sessions() as s:
        with pytest.raises(PairingNotFound):
            suggest_replacements(s, engine, ORG, "nope", as_of=AS_OF)
        with pytest.raises(ValueError):
            suggest_replacements(s, engine, ORG, pairing.id, as_of=AS_OF,
                                 challenge="boredom")  # type: ignore[arg-type]  # fmt: skip
        assert rematch_callback(s, engine, ORG, AS_OF)("nope") == []
        assert rematch_callback(s, engine, "other-org", AS_OF)(pairing.id) == []


def test_live_alerts_carry_the_suggestions(
    engine: RecommendationEngine, pairing: db.Pairing
) -> None:
    with store.transaction(engine.ctx.sessions) as s:
        alert = db.Alert(
            org_id=ORG, pairing_id=pairing.id, status="open", risk=0.7,
            signals=["time_constraints", "poor_match"], reasons=[], evidence=[],
            actions=[{"signal": "time_constraints", "type": "find_mentors_with_more_overlap",
                      "text": "…", "mentors": []}],
            as_of=AS_OF,
        )  # fmt: skip
        resolved = db.Alert(
            org_id=ORG, pairing_id=pairing.id, status="resolved", risk=0.7,
            signals=["poor_match"], reasons=[], evidence=[], actions=[], as_of=AS_OF,
        )  # fmt: skip
        s.add_all([alert, resolved])
        s.flush()
        alert_id, resolved_id = alert.id, resolved.id
    with store.transaction(engine.ctx.sessions) as s:
        done = attach_to_alerts(s, engine, ORG, AS_OF)
    assert set(done) == {alert_id} and done[alert_id] > 0
    with engine.ctx.sessions() as s:
        actions = {a["signal"]: a for a in s.get(db.Alert, alert_id).actions}  # type: ignore[union-attr]
        assert actions["time_constraints"]["suggestions"]
        assert actions["time_constraints"]["type"] == "find_mentors_with_more_overlap"
        assert actions["poor_match"]["suggestions"]
        assert s.get(db.Alert, resolved_id).actions == []  # type: ignore[union-attr]
