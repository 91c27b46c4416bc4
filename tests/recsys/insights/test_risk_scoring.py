from __future__ import annotations

import datetime as dt
import math

import pytest
from insights_support import AS_OF, ORG, RISK_STUB
from sqlalchemy.orm import Session, sessionmaker

from recsys.insights.risk import (
    FEATURE_COLUMNS,
    QUOTE_MAX_CHARS,
    Note,
    explain,
    match_features_for_pairings,
    pairing_features,
    risk_features,
    score_active_pairings,
    summarise_signals,
    trim_quote,
)

Seeded = tuple[sessionmaker[Session], dict[str, str]]
START = dt.date(2024, 1, 1)


def _note(fid: str, day: int, role: str = "mentee", **signals: float) -> Note:
    return Note(
        fid, START + dt.timedelta(days=day), role, signals,
        {label: (f"span {fid}",) for label in signals},
    )  # fmt: skip


NOTES = [
    _note("a", 10, time_constraints=0.9),
    _note("b", 40, "mentor", time_constraints=0.8, unclear_goals=0.6),
    _note("c", 85, time_constraints=0.7),
    _note("d", 88, "coordinator", positive_progress=0.9, low_commitment=0.3),
]


def test_pairing_features_counts_recency_trend_roles_and_engagement() -> None:
    f = pairing_features(START, START + dt.timedelta(days=100), NOTES)
    assert f["n_time_constraints"] == 3
    assert f["recent_time_constraints"] == 1  # only day 85 is within the last 30 days
    # 2 older notes over 70 earlier days -> 2 * 30 / 70 expected in a 30-day window
    assert f["trend_time_constraints"] == pytest.approx(1 - 2 * 30 / 70)
    expected_w = 0.9 * 0.5 ** (90 / 30) + 0.8 * 0.5 ** (60 / 30) + 0.7 * 0.5 ** (15 / 30)
    assert f["w_time_constraints"] == pytest.approx(expected_w)
    assert f["n_low_commitment"] == 0  # below the decision score
    assert f["neg_by_mentee"] == 2 and f["neg_by_mentor"] == 2 and f["neg_by_coordinator"] == 0
    assert f["neg_total"] == 4 and f["neg_recent"] == 1
    assert f["n_positive_progress"] == 1
    assert f["n_notes"] == 4 and f["notes_last_30d"] == 2
    assert f["notes_per_30d"] == pytest.approx(4 * 30 / 100)
    assert f["days_since_last_note"] == 12 and f["days_since_start"] == 100


def test_pairing_features_ignore_notes_after_as_of() -> None:
    as_of = START + dt.timedelta(days=50)
    before = pairing_features(START, as_of, NOTES[:2])
    assert pairing_features(START, as_of, NOTES) == before
    # a note on the as_of day itself is visible
    same_day = pairing_features(START, as_of, [*NOTES[:2], _note("e", 50, poor_match=0.9)])
    assert same_day["n_poor_match"] == 1


def test_no_notes_means_no_check_in_since_the_start() -> None:
    f = pairing_features(START, START + dt.timedelta(days=45), [])
    assert f["days_since_last_note"] == 45 and f["n_notes"] == 0 and f["neg_total"] == 0


def test_match_features(seeded: Seeded) -> None:
    factory, _ = seeded
    with factory() as session:
        m = match_features_for_pairings(session, ORG, ["p_risky", "p_ok", "missing"])
    # New York / Berlin in winter-to-spring: 09-17 local overlap is 2 hours (UTC+1 vs UTC-5
    # on 2024-01-03, the start date)
    assert m.loc["p_risky", "shared_hours"] == pytest.approx(2.0)
    assert m.loc["p_ok", "shared_hours"] == pytest.approx(8.0)
    assert m.loc["p_risky", "seniority_gap"] == 4 and m.loc["p_ok", "seniority_gap"] == 3
    assert m.loc["p_risky", "shared_languages"] == 1
    assert m.loc["p_risky", "cross_department"] == 1 and m.loc["p_ok", "cross_department"] == 0
    assert m.loc["missing"].isna().all()


def test_risk_features_use_only_feedback_up_to_each_date(analysed: Seeded) -> None:
    factory, _ = analysed
    later = AS_OF + dt.timedelta(days=10)
    with factory() as session:
        frame = risk_features(session, ORG, [("p_risky", AS_OF), ("p_risky", later)])
    assert list(frame.columns) == ["pairing_id", "as_of", *FEATURE_COLUMNS]
    now, after = frame.iloc[0], frame.iloc[1]
    assert now["n_time_constraints"] == 2 and now["n_notes"] == 3
    assert after["n_time_constraints"] == 3 and after["n_notes"] == 4  # f9 is dated after AS_OF


def test_score_active_pairings_reasons_signals_and_evidence(analysed: Seeded) -> None:
    factory, texts = analysed
    with factory() as session:
        risks = score_active_pairings(session, ORG, AS_OF, RISK_STUB)
    assert [r.pairing_id for r in risks] == ["p_risky", "p_boundary", "p_ok"]  # active, by risk
    top = risks[0]
    assert top.risk == pytest.approx(1 / (1 + math.exp(-1.0)))
    assert top.reasons == [
        "2 notes about time constraints in the last 30 days",
        "no check-in for 20 days",
    ]
    assert top.signals == {"time_constraints": 0.9}
    assert {e["feedback_id"] for e in top.evidence} == {"f2", "f3"}  # never f9 (after as_of)
    assert top.mentor_id == "m_ny" and top.mentee_id == "e1"
    for e in top.evidence:
        assert e["quote"] in texts[e["feedback_id"]] and e["quote"] != texts[e["feedback_id"]]
    boundary = risks[1]
    # the boundary concern is 120 days old (outside the 90-day window) but is still reported
    assert boundary.signals["boundary_concern"] == 0.9
    assert [e["label"] for e in boundary.evidence] == ["boundary_concern"]


def test_summarise_signals_windows_and_boundary() -> None:
    as_of = START + dt.timedelta(days=200)
    notes = [
        _note("old", 5, boundary_concern=0.8, poor_match=0.9),
        _note("new", 190, unclear_goals=0.7),
    ]
    signals, evidence = summarise_signals(notes, as_of)
    assert signals == {"boundary_concern": 0.8, "unclear_goals": 0.7}
    assert [e["label"] for e in evidence] == ["boundary_concern", "unclear_goals"]


def test_explain_groups_features_by_theme_and_skips_negative() -> None:
    values = {
        "n_time_constraints": 3.0, "recent_time_constraints": 3.0, "w_time_constraints": 2.0,
        "days_since_last_note": 45.0, "n_positive_progress": 2.0, "recent_positive_progress": 1.0,
        "shared_hours": 1.0,
    }  # fmt: skip
    contributions = {
        "n_time_constraints": 0.2, "recent_time_constraints": 0.9, "w_time_constraints": 0.3,
        "days_since_last_note": 1.1, "n_positive_progress": -0.8, "recent_positive_progress": -0.2,
        "shared_hours": 0.04,
    }  # fmt: skip
    reasons = explain(values, contributions, top=3)
    # time constraints: 1.4 in total, phrased by its strongest feature; shared hours too weak
    assert reasons == [
        "3 notes about time constraints in the last 30 days",
        "no check-in for 45 days",
    ]


def test_trim_quote() -> None:
    assert trim_quote("  short\n quote ") == "short quote"
    long = "word " * 100
    cut = trim_quote(long)
    assert len(cut) <= QUOTE_MAX_CHARS and cut.endswith("…") and "  " not in cut


def test_explain_credits_challenge_totals_to_their_labels() -> None:
    values = {"neg_total": 3.0, "n_time_constraints": 2.0, "n_poor_match": 1.0,
              "recent_time_constraints": 0.0, "recent_poor_match": 0.0, "shared_hours": 0.0}  # fmt: skip
    contributions = {"neg_total": 1.2, "n_time_constraints": 0.0, "n_poor_match": 0.0,
                     "shared_hours": 0.3}  # fmt: skip
    assert explain(values, contributions) == [
        "2 notes about time constraints since the start",  # 0.8 of the 1.2
        "1 note about a poor match since the start",  # 0.4
        "no shared working hours (09:00–17:00 in both time zones)",
    ]
