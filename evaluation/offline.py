"""Offline evaluation loop, independent of how the lists are produced.

A strategy is any ``RecommendFn``: given mentees and ``k`` it returns one ranked list of mentor
ids per mentee (the full pipeline, a popularity baseline, random, embeddings only ...). Lists
are scored two ways:

- against ground truth (synthetic data, where the expected outcome of every pair is known):
  NDCG@k with linear gains on the expected outcome, and the mean expected outcome of the lists;
- against held-out real pairings: graded relevance from what happened (``graded_relevance``),
  NDCG@k with exponential gains, MAP@k, recall@k, hit rate@k. Mentors nobody was paired with
  count as not relevant, so these figures are lower bounds that favour strategies resembling
  past choices; read them next to the ground-truth figures where available.

Both add list-level figures: catalogue coverage, exposure Gini and top-10% share, how full the
lists are, and the share of lists that recommend a mentor the mentee excluded (must be 0).
On ground truth, ``term_shortfall`` also says in what the lists fall short of the ideal ones:
the topic, seniority, style... terms of the latent success logit, each as a mean gap.
The primary metric is ``ndcg@k`` (``evaluation.metrics.primary_metric(k)``).

Split into run (call the strategy once, validate) and score (pure) so that one run can be
scored several ways and its lists reused for exposure plots.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np
from numpy.typing import NDArray

from evaluation.exposure import exposure_by_item
from evaluation.metrics import (
    average_precision,
    catalogue_coverage,
    gini,
    hit_rate_at_k,
    mean_skipping_nan,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
    relative_gain,
    top_share,
)
from recsys.schemas import MenteeIn, PairingIn, PairingStatus

RecommendFn = Callable[[Sequence[MenteeIn], int], list[list[str]]]
GainFn = Callable[[str, Sequence[str]], NDArray[np.float64]]
IdealFn = Callable[[str], NDArray[np.float64]]
# (mentee id, mentor ids) -> {term name: one value per mentor}, e.g. GroundTruth.logit_terms
TermsFn = Callable[[str, Sequence[str]], Mapping[str, NDArray[Any]]]
Scorer = Callable[[Sequence[MenteeIn], Sequence[Sequence[str]], int], dict[str, float]]

# Held-out outcome grades: a pairing that ended early still says the pair was chosen; one that
# completed is better; completed with a good rating (>= GOOD_RATING) or goals met is best.
GRADE_ENDED_EARLY = 1.0
GRADE_COMPLETED = 2.0
GRADE_SUCCESSFUL = 3.0
GOOD_RATING = 4
# A pairing counts as relevant for MAP / recall / hit rate from this grade up (completed).
DEFAULT_RELEVANT_MIN = GRADE_COMPLETED


def graded_relevance(pairing: PairingIn) -> float | None:
    """Grade of a pairing's outcome; None while it is still active (no outcome yet)."""
    if pairing.status is PairingStatus.active:
        return None
    if pairing.status is PairingStatus.ended_early:
        return GRADE_ENDED_EARLY
    good_rating = pairing.rating is not None and pairing.rating >= GOOD_RATING
    return GRADE_SUCCESSFUL if good_rating or pairing.goals_met else GRADE_COMPLETED


def outcomes_from_pairings(pairings: Iterable[PairingIn]) -> dict[str, dict[str, float]]:
    """mentee id -> mentor id -> grade, from finished pairings (the best grade when a pair
    met more than once)."""
    outcomes: dict[str, dict[str, float]] = {}
    for pairing in pairings:
        grade = graded_relevance(pairing)
        if grade is None:
            continue
        by_mentor = outcomes.setdefault(pairing.mentee_id, {})
        by_mentor[pairing.mentor_id] = max(grade, by_mentor.get(pairing.mentor_id, 0.0))
    return outcomes


def run_strategy(recommend: RecommendFn, mentees: Sequence[MenteeIn], k: int) -> list[list[str]]:
    """Call the strategy once for all mentees and check what it returned: one list per mentee,
    no mentor twice in a list. Lists longer than ``k`` are cut to ``k``."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    lists = recommend(mentees, k)
    if len(lists) != len(mentees):
        raise ValueError(f"strategy returned {len(lists)} lists for {len(mentees)} mentees")
    checked: list[list[str]] = []
    for mentee, items in zip(mentees, lists, strict=True):
        top = [str(item) for item in items[:k]]
        if len(set(top)) != len(top):
            raise ValueError(f"strategy recommended a mentor twice to mentee {mentee.id}")
        checked.append(top)
    return checked


def exposure_counts(lists: Iterable[Sequence[str]], n_catalogue: int) -> NDArray[np.float64]:
    """Appearances per catalogue item, padded with zeros for the never-recommended ones
    (input for ``gini``, ``top_share`` and Lorenz plots)."""
    counts = np.fromiter(exposure_by_item(lists).values(), dtype=np.float64)
    if counts.size > n_catalogue:
        raise ValueError(
            f"{counts.size} distinct mentors recommended but the catalogue has {n_catalogue}"
        )
    return np.concatenate((counts, np.zeros(n_catalogue - counts.size)))


def list_figures(
    mentees: Sequence[MenteeIn], lists: Sequence[Sequence[str]], k: int, n_catalogue: int
) -> dict[str, float]:
    """Figures of the lists alone: coverage, exposure concentration, fill, excluded mentors."""
    exposure = exposure_counts(lists, n_catalogue)
    with_excluded = sum(
        1
        for mentee, items in zip(mentees, lists, strict=True)
        if mentee.excluded_mentor_ids and set(mentee.excluded_mentor_ids) & set(items)
    )
    n = len(lists)
    return {
        "coverage": catalogue_coverage(lists, n_catalogue),
        "gini": gini(exposure),
        "top10_share": top_share(exposure, 0.1),
        f"fill@{k}": float(np.mean([len(items) / k for items in lists])) if n else math.nan,
        "excluded_rate": with_excluded / n if n else math.nan,
        "n_mentees": float(n),
    }


def score_against_ground_truth(
    mentees: Sequence[MenteeIn],
    lists: Sequence[Sequence[str]],
    k: int,
    *,
    gain: GainFn,
    ideal: IdealFn,
    n_catalogue: int,
) -> dict[str, float]:
    """Score lists by known expected outcomes in [0, 1].

    ``gain(mentee_id, mentor_ids)`` gives the expected outcome of each listed mentor;
    ``ideal(mentee_id)`` those of every mentor feasible for the mentee (the best possible list
    is drawn from them). Mentees whose ideal DCG is 0 are skipped (``n_skipped``).
    ``expected_outcome@k`` is the mean over listed mentors; ``ideal_expected_outcome@k`` what
    the best k feasible mentors would give, for scale.

    ``ndcg_lift@k`` uses as gain the lift over an average feasible mentor (expected outcome
    minus the mentee's mean over feasible mentors, floored at 0). With raw expected outcomes
    every mentor earns gain, so a random list already scores ~0.36 and differences between
    rankers are compressed; the lift gives credit only for better-than-average picks. Both are
    reported; ``ndcg@k`` stays the primary metric.
    """
    ndcgs: list[float] = []
    lift_ndcgs: list[float] = []
    outcome_means: list[float] = []
    ideal_means: list[float] = []
    for mentee, items in zip(mentees, lists, strict=True):
        gains = np.asarray(gain(mentee.id, items), dtype=np.float64) if items else np.zeros(0)
        if gains.shape != (len(items),):
            raise ValueError(f"gain returned shape {gains.shape} for {len(items)} mentors")
        ideal_gains = np.asarray(ideal(mentee.id), dtype=np.float64)
        ndcgs.append(ndcg_at_k(gains, ideal_gains, k, "linear"))
        finite = ideal_gains[np.isfinite(ideal_gains)]
        base = float(finite.mean()) if finite.size else 0.0
        lift_ndcgs.append(
            ndcg_at_k(
                np.clip(np.nan_to_num(gains, nan=base) - base, 0.0, None),
                np.clip(finite - base, 0.0, None),
                k,
                "linear",
            )
        )
        outcome_means.append(float(np.nanmean(gains)) if np.isfinite(gains).any() else math.nan)
        finite_ideal = ideal_gains[np.isfinite(ideal_gains)]
        ideal_means.append(
            float(-np.sort(-finite_ideal)[:k].mean()) if finite_ideal.size else math.nan
        )
    n_scored = sum(1 for value in ndcgs if math.isfinite(value))
    return {
        f"ndcg@{k}": mean_skipping_nan(ndcgs),
        f"ndcg_lift@{k}": mean_skipping_nan(lift_ndcgs),
        f"expected_outcome@{k}": mean_skipping_nan(outcome_means),
        f"ideal_expected_outcome@{k}": mean_skipping_nan(ideal_means),
        "n_scored": float(n_scored),
        "n_skipped": float(len(ndcgs) - n_scored),
        **list_figures(mentees, lists, k, n_catalogue),
    }


def term_shortfall(
    mentees: Sequence[MenteeIn],
    lists: Sequence[Sequence[str]],
    ideal_lists: Mapping[str, Sequence[str]],
    terms: TermsFn,
) -> dict[str, float]:
    """Where lists fall short of the best possible ones, term by term.

    ``terms(mentee_id, mentor_ids)`` gives each part of a pair's latent success logit (topic,
    seniority, style...) for the listed mentors. Per term: the mean over mentees of the term's
    mean over the ideal list (``ideal_lists[mentee_id]``) minus its mean over the list, so a
    positive value is what the lists lose on that term, in log-odds, and a negative one what
    they over-buy. NDCG says how far a ranker is from the ideal; this says in what. Mentees
    with an empty list or ideal list are left out.
    """
    sums: dict[str, float] = {}
    n = 0
    for mentee, items in zip(mentees, lists, strict=True):
        best = list(ideal_lists.get(mentee.id, ()))
        if not items or not best:
            continue
        ideal_terms, list_terms = terms(mentee.id, best), terms(mentee.id, list(items))
        for name, values in ideal_terms.items():
            gap = float(np.mean(values)) - float(np.mean(list_terms[name]))
            sums[name] = sums.get(name, 0.0) + gap
        n += 1
    return {name: total / n for name, total in sums.items()} if n else {}


def score_against_outcomes(
    mentees: Sequence[MenteeIn],
    lists: Sequence[Sequence[str]],
    k: int,
    *,
    outcomes: Mapping[str, Mapping[str, float]],
    n_catalogue: int,
    relevant_min: float = DEFAULT_RELEVANT_MIN,
) -> dict[str, float]:
    """Score lists by held-out pairings: ``outcomes`` is mentee id -> mentor id -> grade
    (``outcomes_from_pairings``). NDCG uses exponential gains (2**grade - 1); MAP, recall,
    precision and hit rate treat grades >= ``relevant_min`` as relevant. A mentee with no
    held-out pairing is skipped by every ranking metric; one with no relevant pairing by all
    but NDCG. The list figures (coverage, Gini ...) cover every mentee."""
    ndcgs: list[float] = []
    aps: list[float] = []
    recalls: list[float] = []
    precisions: list[float] = []
    hits: list[float] = []
    for mentee, items in zip(mentees, lists, strict=True):
        grades = outcomes.get(mentee.id)
        if not grades:
            continue
        rels = np.array([grades.get(m, 0.0) for m in items], dtype=np.float64)
        ndcgs.append(
            ndcg_at_k(rels, np.fromiter(grades.values(), dtype=np.float64), k, "exponential")
        )
        n_relevant = sum(1 for grade in grades.values() if grade >= relevant_min)
        if n_relevant == 0:
            continue
        relevant = (rels >= relevant_min).astype(np.float64)
        aps.append(average_precision(relevant, n_relevant))
        recalls.append(recall_at_k(relevant, n_relevant, k))
        precisions.append(precision_at_k(relevant, k))
        hits.append(hit_rate_at_k(relevant, k))
    n_scored = sum(1 for value in ndcgs if math.isfinite(value))
    return {
        f"ndcg@{k}": mean_skipping_nan(ndcgs),
        f"map@{k}": mean_skipping_nan(aps),
        f"recall@{k}": mean_skipping_nan(recalls),
        f"precision@{k}": mean_skipping_nan(precisions),
        f"hit_rate@{k}": mean_skipping_nan(hits),
        "n_scored": float(n_scored),
        "n_with_relevant": float(len(aps)),
        "n_skipped": float(len(mentees) - n_scored),
        **list_figures(mentees, lists, k, n_catalogue),
    }


def evaluate_against_ground_truth(
    recommend: RecommendFn,
    mentees: Sequence[MenteeIn],
    k: int,
    gain: GainFn,
    ideal: IdealFn,
    n_catalogue: int,
) -> dict[str, float]:
    """Run ``recommend`` once and score it with ``score_against_ground_truth``."""
    lists = run_strategy(recommend, mentees, k)
    return score_against_ground_truth(
        mentees, lists, k, gain=gain, ideal=ideal, n_catalogue=n_catalogue
    )


def evaluate_against_outcomes(
    recommend: RecommendFn,
    mentees: Sequence[MenteeIn],
    k: int,
    outcomes: Mapping[str, Mapping[str, float]],
    n_catalogue: int,
    relevant_min: float = DEFAULT_RELEVANT_MIN,
) -> dict[str, float]:
    """Run ``recommend`` once and score it with ``score_against_outcomes``."""
    lists = run_strategy(recommend, mentees, k)
    return score_against_outcomes(
        mentees, lists, k, outcomes=outcomes, n_catalogue=n_catalogue, relevant_min=relevant_min
    )


def ground_truth_scorer(gain: GainFn, ideal: IdealFn, n_catalogue: int) -> Scorer:
    return partial(score_against_ground_truth, gain=gain, ideal=ideal, n_catalogue=n_catalogue)


def outcome_scorer(
    outcomes: Mapping[str, Mapping[str, float]],
    n_catalogue: int,
    relevant_min: float = DEFAULT_RELEVANT_MIN,
) -> Scorer:
    return partial(
        score_against_outcomes,
        outcomes=outcomes,
        n_catalogue=n_catalogue,
        relevant_min=relevant_min,
    )


def run_all(
    strategies: Mapping[str, RecommendFn], mentees: Sequence[MenteeIn], k: int
) -> dict[str, list[list[str]]]:
    """The lists of every strategy, by strategy name."""
    return {name: run_strategy(recommend, mentees, k) for name, recommend in strategies.items()}


def score_all(
    runs: Mapping[str, Sequence[Sequence[str]]],
    mentees: Sequence[MenteeIn],
    k: int,
    scorer: Scorer,
) -> dict[str, dict[str, float]]:
    return {name: scorer(mentees, lists, k) for name, lists in runs.items()}


def compare(
    strategies: Mapping[str, RecommendFn],
    mentees: Sequence[MenteeIn],
    k: int,
    scorer: Scorer,
) -> dict[str, dict[str, float]]:
    """One row of figures per strategy, e.g.
    ``compare({"ranker": fn, "popular": pop}, mentees, 10, outcome_scorer(outcomes, n))``."""
    return score_all(run_all(strategies, mentees, k), mentees, k, scorer)


def add_relative_gains(
    table: Mapping[str, Mapping[str, float]],
    baseline: str,
    metrics: Sequence[str],
) -> dict[str, dict[str, float]]:
    """Copy of ``table`` where each row also has ``"<metric> vs <baseline>"``: the relative
    gain over the baseline row (0 for the baseline itself, NaN where undefined)."""
    if baseline not in table:
        raise KeyError(f"baseline {baseline!r} is not a row of the table")
    base = table[baseline]
    return {
        name: {
            **row,
            **{
                f"{metric} vs {baseline}": relative_gain(
                    row.get(metric, math.nan), base.get(metric, math.nan)
                )
                for metric in metrics
            },
        }
        for name, row in table.items()
    }
