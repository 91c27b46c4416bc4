from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np
import pytest

from evaluation.offline import (
    GRADE_COMPLETED,
    GRADE_ENDED_EARLY,
    GRADE_SUCCESSFUL,
    add_relative_gains,
    compare,
    evaluate_against_ground_truth,
    evaluate_against_outcomes,
    exposure_counts,
    graded_relevance,
    ground_truth_scorer,
    outcome_scorer,
    outcomes_from_pairings,
    run_all,
    run_strategy,
    term_shortfall,
)
from recsys.schemas import MenteeIn, PairingIn, PairingStatus

MENTORS = ["a", "b", "c", "d", "e"]
# expected outcome of every (mentee, mentor) pair, known on synthetic data
TRUTH: dict[str, dict[str, float]] = {
    "m1": {"a": 0.9, "b": 0.1, "c": 0.5, "d": 0.3, "e": 0.0},
    "m2": {"a": 0.2, "b": 0.8, "c": 0.6, "d": 0.0, "e": 0.4},
    "m3": dict.fromkeys(MENTORS, 0.0),  # nothing worth finding: skipped
}


def mentee(mentee_id: str, excluded: Sequence[str] = ()) -> MenteeIn:
    return MenteeIn(
        id=mentee_id,
        seniority=2,
        timezone="UTC",
        languages=["en"],
        goals="learn to lead a team",
        excluded_mentor_ids=list(excluded),
    )


MENTEES = [mentee("m1"), mentee("m2"), mentee("m3")]


def gain(mentee_id: str, mentor_ids: Sequence[str]) -> np.ndarray:
    return np.array([TRUTH[mentee_id][m] for m in mentor_ids])


def ideal(mentee_id: str) -> np.ndarray:
    return np.array(list(TRUTH[mentee_id].values()))


def oracle(mentees: Sequence[MenteeIn], k: int) -> list[list[str]]:
    return [sorted(MENTORS, key=lambda m: -TRUTH[x.id][m])[:k] for x in mentees]


def worst(mentees: Sequence[MenteeIn], k: int) -> list[list[str]]:
    return [sorted(MENTORS, key=lambda m: TRUTH[x.id][m])[:k] for x in mentees]


def popular(mentees: Sequence[MenteeIn], k: int) -> list[list[str]]:
    return [MENTORS[:k] for _ in mentees]


def test_ground_truth_oracle_is_perfect_and_skips_empty_query() -> None:
    result = evaluate_against_ground_truth(oracle, MENTEES, 2, gain, ideal, n_catalogue=5)
    assert result["ndcg@2"] == pytest.approx(1.0)
    assert result["n_scored"] == 2
    assert result["n_skipped"] == 1
    # m1: (0.9 + 0.5) / 2, m2: (0.8 + 0.6) / 2, m3: 0
    assert result["expected_outcome@2"] == pytest.approx((0.7 + 0.7 + 0.0) / 3)
    assert result["ideal_expected_outcome@2"] == pytest.approx(result["expected_outcome@2"])
    assert result["fill@2"] == pytest.approx(1.0)
    assert result["excluded_rate"] == 0.0


def test_ground_truth_worse_strategy_scores_lower() -> None:
    best = evaluate_against_ground_truth(oracle, MENTEES, 3, gain, ideal, 5)
    bad = evaluate_against_ground_truth(worst, MENTEES, 3, gain, ideal, 5)
    assert bad["ndcg@3"] < best["ndcg@3"]
    assert bad["expected_outcome@3"] < best["expected_outcome@3"]


def test_ground_truth_hand_computed_ndcg() -> None:
    def fixed(mentees: Sequence[MenteeIn], k: int) -> list[list[str]]:
        return [["c", "a"], ["b", "c"], ["a", "b"]]

    result = evaluate_against_ground_truth(fixed, MENTEES, 2, gain, ideal, 5)
    m1 = (0.5 + 0.9 / math.log2(3)) / (0.9 + 0.5 / math.log2(3))
    assert result["ndcg@2"] == pytest.approx((m1 + 1.0) / 2)
    assert result["coverage"] == pytest.approx(3 / 5)
    # exposure a=2, b=2, c=2, d=0, e=0: top 10% of 5 items is one item with 2 of 6
    assert result["top10_share"] == pytest.approx(1 / 3)


def test_ground_truth_rejects_bad_gain_shape() -> None:
    def bad_gain(mentee_id: str, mentor_ids: Sequence[str]) -> np.ndarray:
        return np.zeros(1)

    with pytest.raises(ValueError, match="shape"):
        evaluate_against_ground_truth(oracle, MENTEES, 3, bad_gain, ideal, 5)


def test_run_strategy_validates_lists() -> None:
    with pytest.raises(ValueError, match="lists"):
        run_strategy(lambda ms, k: [["a"]], MENTEES, 2)
    with pytest.raises(ValueError, match="twice"):
        run_strategy(lambda ms, k: [["a", "a"]] * len(ms), MENTEES, 2)
    with pytest.raises(ValueError):
        run_strategy(oracle, MENTEES, 0)
    assert run_strategy(lambda ms, k: [MENTORS] * len(ms), MENTEES, 2) == [["a", "b"]] * 3


def pairing(pid: str, mentee_id: str, mentor_id: str, status: str, **extra: object) -> PairingIn:
    ended = None if status == "active" else dt.date(2024, 6, 1)
    return PairingIn.model_validate(
        {
            "id": pid,
            "mentee_id": mentee_id,
            "mentor_id": mentor_id,
            "started_at": "2024-01-01",
            "ended_at": ended,
            "status": status,
            **extra,
        }
    )


def test_graded_relevance() -> None:
    assert graded_relevance(pairing("p", "m1", "a", "active")) is None
    assert graded_relevance(pairing("p", "m1", "a", "ended_early", rating=5)) == GRADE_ENDED_EARLY
    assert graded_relevance(pairing("p", "m1", "a", "completed")) == GRADE_COMPLETED
    assert graded_relevance(pairing("p", "m1", "a", "completed", rating=3)) == GRADE_COMPLETED
    assert graded_relevance(pairing("p", "m1", "a", "completed", rating=4)) == GRADE_SUCCESSFUL
    assert (
        graded_relevance(pairing("p", "m1", "a", "completed", goals_met=True)) == GRADE_SUCCESSFUL
    )
    assert PairingStatus.completed == "completed"


def test_outcomes_from_pairings_keeps_best_grade_and_drops_active() -> None:
    outcomes = outcomes_from_pairings(
        [
            pairing("p1", "m1", "a", "ended_early"),
            pairing("p2", "m1", "a", "completed", goals_met=True),
            pairing("p3", "m1", "b", "ended_early"),
            pairing("p4", "m2", "c", "completed"),
            pairing("p5", "m3", "d", "active"),
        ]
    )
    assert outcomes == {"m1": {"a": 3.0, "b": 1.0}, "m2": {"c": 2.0}}


OUTCOMES = {"m1": {"a": 3.0, "b": 1.0}, "m2": {"c": 2.0}}


def fixed_lists(mentees: Sequence[MenteeIn], k: int) -> list[list[str]]:
    return [["b", "a"], ["d", "e"], ["a", "c"]]


def test_outcomes_hand_computed() -> None:
    result = evaluate_against_outcomes(fixed_lists, MENTEES, 2, OUTCOMES, n_catalogue=10)
    # m1: gains [2^1-1, 2^3-1] = [1, 7] against ideal [7, 1]; m2: nothing found; m3 skipped
    m1 = (1 + 7 / math.log2(3)) / (7 + 1 / math.log2(3))
    assert result["ndcg@2"] == pytest.approx((m1 + 0.0) / 2)
    # relevant (grade >= 2): m1 {a} found at rank 2, m2 {c} not found
    assert result["map@2"] == pytest.approx((0.5 + 0.0) / 2)
    assert result["recall@2"] == pytest.approx(0.5)
    assert result["precision@2"] == pytest.approx(0.25)
    assert result["hit_rate@2"] == pytest.approx(0.5)
    assert result["n_scored"] == 2
    assert result["n_with_relevant"] == 2
    assert result["n_skipped"] == 1
    assert result["coverage"] == pytest.approx(5 / 10)


def test_outcomes_mentee_with_only_early_endings_counts_for_ndcg_only() -> None:
    result = evaluate_against_outcomes(
        lambda ms, k: [["b", "a"]], MENTEES[:1], 2, {"m1": {"b": 1.0}}, n_catalogue=5
    )
    assert result["ndcg@2"] == pytest.approx(1.0)
    assert math.isnan(result["map@2"])
    assert result["n_with_relevant"] == 0


def test_excluded_mentor_is_reported() -> None:
    mentees = [mentee("m1", excluded=["a"]), mentee("m2", excluded=["z"])]
    result = evaluate_against_ground_truth(oracle, mentees, 2, gain, ideal, 5)
    assert result["excluded_rate"] == pytest.approx(0.5)


def test_exposure_counts_pads_with_zeros() -> None:
    counts = exposure_counts([["a", "b"], ["a"]], 4)
    assert sorted(counts.tolist()) == [0.0, 0.0, 1.0, 2.0]
    with pytest.raises(ValueError):
        exposure_counts([["a", "b"]], 1)


def test_compare_and_relative_gains() -> None:
    strategies = {"oracle": oracle, "popular": popular}
    table = compare(strategies, MENTEES, 2, ground_truth_scorer(gain, ideal, 5))
    assert list(table) == ["oracle", "popular"]
    assert table["oracle"]["ndcg@2"] > table["popular"]["ndcg@2"]
    assert table["popular"]["coverage"] == pytest.approx(2 / 5)
    assert table["popular"]["gini"] > table["oracle"]["gini"]

    with_gains = add_relative_gains(table, "popular", ["ndcg@2"])
    assert with_gains["popular"]["ndcg@2 vs popular"] == 0.0
    expected = (table["oracle"]["ndcg@2"] - table["popular"]["ndcg@2"]) / table["popular"]["ndcg@2"]
    assert with_gains["oracle"]["ndcg@2 vs popular"] == pytest.approx(expected)
    with pytest.raises(KeyError):
        add_relative_gains(table, "random", ["ndcg@2"])


def test_runs_can_be_scored_with_outcome_scorer() -> None:
    runs = run_all({"fixed": fixed_lists}, MENTEES, 2)
    scorer = outcome_scorer(OUTCOMES, 10)
    assert scorer(MENTEES, runs["fixed"], 2)["map@2"] == pytest.approx(0.25)


def test_lift_ndcg_credits_only_better_than_average_picks() -> None:
    from evaluation.offline import score_against_ground_truth
    from recsys.schemas import MenteeIn

    outcomes = {"a": 0.9, "b": 0.8, "c": 0.3, "d": 0.2, "e": 0.3}  # mean 0.5
    mentee = MenteeIn.model_validate(
        {"id": "x", "title": "t", "department": "d", "seniority": 1, "timezone": "UTC",
         "languages": ["en"], "skills": [], "goals": "g"}
    )  # fmt: skip

    def score(items: list[str]) -> dict[str, float]:
        return score_against_ground_truth(
            [mentee], [items], 2,
            gain=lambda _m, ids: np.array([outcomes[i] for i in ids]),
            ideal=lambda _m: np.array(list(outcomes.values())),
            n_catalogue=5,
        )  # fmt: skip

    best, average = score(["a", "b"]), score(["c", "e"])
    assert best["ndcg_lift@2"] == pytest.approx(1.0) and best["ndcg@2"] == pytest.approx(1.0)
    assert average["ndcg_lift@2"] == 0.0  # below-average picks earn no lift...
    assert average["ndcg@2"] > 0.3  # ...while raw expected outcomes still give them credit


def test_term_shortfall_says_in_what_lists_fall_short() -> None:
    # two latent terms per (mentee, mentor); the ideal list for m1 is [a, b]
    table = {"a": (2.0, 1.0), "b": (1.0, 1.0), "c": (0.0, 3.0), "d": (1.0, -1.0)}

    def terms(mentee_id: str, mentor_ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {
            "topic": np.array([table[m][0] for m in mentor_ids]),
            "style": np.array([table[m][1] for m in mentor_ids]),
        }

    ideal_lists = {"m1": ["a", "b"], "m2": ["a", "b"]}
    gaps = term_shortfall(MENTEES[:2], [["c", "d"], ["a", "b"]], ideal_lists, terms)
    # m1: ideal topic 1.5, style 1.0; list topic 0.5, style 1.0. m2 got the ideal list
    assert gaps == {"topic": pytest.approx(0.5), "style": pytest.approx(0.0)}
    over = term_shortfall(MENTEES[:1], [["c"]], ideal_lists, terms)
    assert over["style"] == pytest.approx(-2.0)  # bought more style than the ideal list
    # nothing to compare: an empty list, or no ideal list for the mentee
    assert term_shortfall(MENTEES[:2], [[], ["a"]], {"m1": ["a"]}, terms) == {}
