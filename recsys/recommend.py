"""The recommend pipeline: embed goals → retrieve candidates → hard constraints → pair
features → ranker → reasons. Used as is by the CLI, the HTTP service and evaluation.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import numpy as np

from features.pairs import FEATURE_NAMES, PairFeatures, compute_pair_features
from models.ranker import RankerModel
from recsys.catalog import MenteeBatch, MentorCatalog, pair_inputs
from recsys.reasons import ReasonContext, explain

Strategy = Literal["model", "embedding"]
K = TypeVar("K")
V = TypeVar("V")


@dataclass
class Recommendation:
    mentor_id: str
    rank: int
    score: float
    reasons: list[str]
    success_probability: float | None = None
    features: dict[str, float] = field(default_factory=dict)


@dataclass
class Candidates:
    """Feasible candidates for one mentee with their features (before the final cut to k)."""

    rows: np.ndarray
    retrieval_score: np.ndarray
    features: PairFeatures
    load: np.ndarray


class FeasibilityCache:
    """Active + free-capacity mask for all mentors, per as-of date (a few dates kept), and
    that mask narrowed to the mentors sharing a language with a mentee (per language set)."""

    def __init__(self, catalog: MentorCatalog, max_dates: int = 8, max_masks: int = 64):
        self.catalog = catalog
        self._by_date: OrderedDict[dt.date, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._allowed: OrderedDict[tuple[dt.date, frozenset[str]], np.ndarray] = OrderedDict()
        self._max = max_dates
        self._max_masks = max_masks
        # recommendations run on several threads; the LRU bookkeeping must not interleave
        self._lock = threading.RLock()

    def allowed(self, as_of: dt.date, languages: frozenset[str]) -> np.ndarray:
        """Rows that are active, have free capacity on ``as_of`` and share a language with a
        mentee speaking ``languages`` (read-only; copy before narrowing it further)."""

        def compute() -> np.ndarray:
            mask = self.base(as_of)[0] & self.catalog.shares_language(languages)
            mask.flags.writeable = False
            return mask

        return self._cached(self._allowed, (as_of, languages), self._max_masks, compute)

    def base(self, as_of: dt.date) -> tuple[np.ndarray, np.ndarray]:
        """(active and free on ``as_of``, load on ``as_of``) for every catalog row."""

        def compute() -> tuple[np.ndarray, np.ndarray]:
            load = self.catalog.load(np.arange(len(self.catalog), dtype=np.int64), as_of)
            return self.catalog.active & (self.catalog.capacity > load), load

        return self._cached(self._by_date, as_of, self._max, compute)

    def _cached(self, lru: OrderedDict[K, V], key: K, limit: int, compute: Callable[[], V]) -> V:
        """``lru[key]``, computed on a miss; the least recently used entries beyond ``limit``
        are dropped."""
        with self._lock:
            hit = lru.get(key)
            if hit is None:
                hit = lru[key] = compute()
                while len(lru) > limit:
                    lru.popitem(last=False)
            else:
                lru.move_to_end(key)
            return hit


def nearest_feasible(
    catalog: MentorCatalog,
    feasibility: FeasibilityCache,
    mentees: MenteeBatch,
    j: int,
    *,
    n_candidates: int,
    as_of: dt.date,
    exclude: frozenset[str] = frozenset(),
) -> tuple[np.ndarray, np.ndarray]:
    """Catalog rows of the ``n_candidates`` feasible mentors closest to mentee ``j``'s goals,
    and their goal–bio cosines, best first.

    The hard constraints are a row mask applied inside the index search (see
    :meth:`CandidateIndex.search_allowed`), so full mentors never crowd out feasible ones.
    """
    ok = feasibility.allowed(as_of, mentees.languages[j])
    banned = [catalog.row_of[m] for m in {*exclude, *mentees.excluded[j], mentees.ids[j]}
              if m in catalog.row_of]  # fmt: skip
    if banned:
        ok = ok.copy()
        ok[banned] = False
    return catalog.nearest_rows(mentees.goal_vec[j], n_candidates, ok)


def candidate_features(
    catalog: MentorCatalog,
    feasibility: FeasibilityCache,
    mentees: MenteeBatch,
    j: int,
    rows: np.ndarray,
    sims: np.ndarray,
    *,
    as_of: dt.date,
) -> Candidates:
    """Pair features of mentee ``j`` with candidate ``rows`` as of a date."""
    _, base_load = feasibility.base(as_of)
    load = base_load[rows]
    inputs = pair_inputs(
        catalog, rows, mentees, np.full(len(rows), j), np.full(len(rows), np.datetime64(as_of, "D")),
        load=load,
    )  # fmt: skip
    return Candidates(
        rows=rows, retrieval_score=sims, features=compute_pair_features(inputs), load=load
    )


def retrieve_candidates(
    catalog: MentorCatalog,
    feasibility: FeasibilityCache,
    mentees: MenteeBatch,
    j: int,
    *,
    n_candidates: int,
    as_of: dt.date,
    exclude: frozenset[str] = frozenset(),
) -> Candidates:
    """Top ``n_candidates`` feasible mentors by goal–bio similarity, with their features."""
    rows, sims = nearest_feasible(
        catalog, feasibility, mentees, j, n_candidates=n_candidates, as_of=as_of, exclude=exclude
    )
    return candidate_features(catalog, feasibility, mentees, j, rows, sims, as_of=as_of)


def reason_context(
    catalog: MentorCatalog,
    mentees: MenteeBatch,
    j: int,
    r: int,
    best_goal: int,
    best_bio: int,
    *,
    completed: int,
    total: int,
) -> ReasonContext:
    """The facts reasons may quote for mentee row ``j`` and catalog row ``r``."""
    gs, bs = mentees.goal_sentences[j], catalog.bio_sentences[r]
    return ReasonContext(
        goal_sentence=gs[min(best_goal, len(gs) - 1)] if gs else "",
        bio_sentence=bs[min(best_bio, len(bs) - 1)] if bs else "",
        mentor_skills=catalog.skills_raw[r],
        mentor_languages=sorted(catalog.languages[r]),
        mentee_languages=sorted(mentees.languages[j]),
        mentor_department=str(catalog.department[r]),
        mentee_department=str(mentees.department[j]),
        past_completed=completed,
        past_total=total,
    )


def rank_candidates(
    catalog: MentorCatalog,
    cands: Candidates,
    mentees: MenteeBatch,
    j: int,
    model: RankerModel,
    *,
    k: int,
    as_of: dt.date,
    strategy: Strategy = "model",
    explain_top: bool = True,
    exposure_penalty: np.ndarray | None = None,
) -> list[Recommendation]:
    """Score candidates, keep the best ``k``, attach reasons from feature contributions.

    ``exposure_penalty`` (per candidate, in score units) lets callers spread exposure.
    """
    if len(cands.rows) == 0:
        return []
    x = cands.features.matrix
    scores = model.score(x) if strategy == "model" else cands.retrieval_score.astype(np.float64)
    ranked_scores = scores - exposure_penalty if exposure_penalty is not None else scores
    top = np.argsort(-ranked_scores, kind="stable")[:k]
    probs = model.success_probability(scores[top]) if strategy == "model" else None
    contrib = model.contributions(x[top]) if explain_top else None
    if explain_top:
        day = np.full(len(top), np.datetime64(as_of, "D"))
        totals, completed = catalog.history.completed_counts(cands.rows[top], day)
    out = []
    for rank, t in enumerate(top, start=1):
        reasons: list[str] = []
        if contrib is not None:
            ctx = reason_context(
                catalog, mentees, j, int(cands.rows[t]),
                int(cands.features.best_goal_sentence[t]), int(cands.features.best_bio_sentence[t]),
                completed=int(completed[rank - 1]), total=int(totals[rank - 1]),
            )  # fmt: skip
            reasons = explain(x[t], contrib[rank - 1], ctx)
        out.append(
            Recommendation(
                mentor_id=catalog.ids[int(cands.rows[t])],
                rank=rank,
                score=float(scores[t]),
                reasons=reasons,
                success_probability=float(probs[rank - 1]) if probs is not None else None,
            )
        )
    return out


def recommend(
    catalog: MentorCatalog,
    feasibility: FeasibilityCache,
    mentees: MenteeBatch,
    j: int,
    model: RankerModel,
    *,
    k: int = 10,
    as_of: dt.date,
    exclude: frozenset[str] = frozenset(),
    n_candidates: int = 100,
    strategy: Strategy = "model",
) -> list[Recommendation]:
    cands = retrieve_candidates(
        catalog, feasibility, mentees, j, n_candidates=max(n_candidates, k), as_of=as_of,
        exclude=exclude,
    )  # fmt: skip
    return rank_candidates(catalog, cands, mentees, j, model, k=k, as_of=as_of, strategy=strategy)


__all__ = ["FEATURE_NAMES", "Candidates", "FeasibilityCache", "Recommendation", "recommend"]
