"""Cohort matching: assign a cohort of mentees to mentors at once, under capacity.

Per-mentee recommendation lets the first mentees take the mentors everyone else needed too.
Here the whole cohort is assigned in one exact optimisation:

1. **Prune.** Each mentee keeps the ``n_candidates`` feasible mentors (active, free capacity,
   a shared language, not excluded) closest to their goals — the same retrieval as
   recommendations, batched — and the ranker scores those pairs. Scores are calibrated to a
   success probability (:meth:`models.ranker.RankerModel.success_probability`), so a total
   is a sum of expected successes.
2. **Solve.** A min-cost flow (OR-Tools) over source → mentee (up to ``mentors_per_mentee``)
   → mentor (one arc per candidate pair) → slots → sink. ``best_total`` maximises the total
   predicted success (a mentee may stay unmatched if that frees a mentor for a better pair
   elsewhere); ``most_matched`` maximises the number of matches first, then quality. Both are
   exact on the pruned graph, not greedy.
3. **Spread exposure** (optional, ``spread`` > 0). Each mentor's free slots become unit arcs
   with a bonus that falls as the mentor fills up — a convex cost, so the flow stays exact —
   which moves mentees from near-full, much-requested mentors to idle ones when the predicted
   loss is small. The summary reports what spreading costs in predicted success.
4. **Explain.** Matched pairs carry the ranker's reasons; an unmatched mentee carries why
   (no shared language, no free capacity, every candidate taken by others) and the best
   alternative with what stands in its way.

A result can be stored as a **draft** (``match_drafts``): a coordinator inspects it, edits it
pair by pair (hard constraints are checked again), and accepts it, which creates the pairings
(and so the mentors' load) in one transaction.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from evaluation.exposure import exposure_audit
from features.pairs import FEATURE_NAMES, compute_pair_features
from models.ranker import RankerModel
from recsys import db, store
from recsys.catalog import MenteeBatch, MentorCatalog, pair_inputs
from recsys.reasons import explain
from recsys.recommend import FeasibilityCache, reason_context
from recsys.schemas import MenteeIn, PairingStatus

if TYPE_CHECKING:
    from recsys.engine import RecommendationEngine

log = logging.getLogger(__name__)

Objective = Literal["best_total", "most_matched"]
OBJECTIVES: tuple[str, ...] = ("best_total", "most_matched")

COST_SCALE = 1_000_000  # probabilities become integer costs with 1e-6 resolution
DENSE_MAX_MENTORS = 50_000  # up to this many mentors, candidates come from one exact matmul
_DENSE_CHUNK_CELLS = 4_000_000  # mentees x mentors per similarity block (16 MB of float32)
_FEATURE_CHUNK_PAIRS = 16_384  # pairs per feature block (sentence tensors dominate memory)

NO_SHARED_LANGUAGE = "no_shared_language"
NO_CAPACITY = "no_free_capacity"
TAKEN_BY_OTHERS = "candidates_taken"
NO_CANDIDATES = "no_candidates"

DRAFT, ACCEPTED, DISCARDED = "draft", "accepted", "discarded"


# =========================================================================== options & results
@dataclass(frozen=True)
class MatchOptions:
    objective: Objective = "best_total"
    mentors_per_mentee: int = 1
    n_candidates: int = 50
    spread: float = 0.0  # exposure spreading strength, in probability units (0 = off)

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if not 1 <= self.mentors_per_mentee <= 10:
            raise ValueError("mentors_per_mentee must be between 1 and 10")
        if self.n_candidates < 1:
            raise ValueError("n_candidates must be >= 1")
        if not 0.0 <= self.spread <= 1.0:
            raise ValueError("spread must be between 0 and 1")


@dataclass
class Assignment:
    """One (mentee, slot) of the cohort: a mentor with its predicted success, or why not."""

    mentee_id: str
    slot: int
    mentor_id: str | None
    score: float | None  # predicted success probability (calibrated ranker score)
    ranker_score: float | None
    reasons: list[str] = field(default_factory=list)
    unmatched_code: str | None = None
    unmatched_reason: str | None = None
    alternative: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CohortMatch:
    as_of: dt.date
    options: MatchOptions
    assignments: list[Assignment]
    summary: dict[str, Any]
    model_version: str = ""

    def lines(self) -> list[dict[str, Any]]:
        """One JSON-able row per mentee: the first slot's mentor plus any further mentors."""
        by_mentee: dict[str, list[Assignment]] = {}
        for a in self.assignments:
            by_mentee.setdefault(a.mentee_id, []).append(a)
        rows = []
        for mentee_id, items in by_mentee.items():
            items.sort(key=lambda a: a.slot)
            first = items[0]
            row: dict[str, Any] = {
                "mentee_id": mentee_id,
                "mentor_id": first.mentor_id,
                "score": None if first.score is None else round(first.score, 6),
                "reasons": first.reasons,
            }
            if first.mentor_id is None:
                row["unmatched_reason"] = first.unmatched_reason
                row["unmatched_code"] = first.unmatched_code
                row["alternative"] = first.alternative
            if self.options.mentors_per_mentee > 1:
                row["mentors"] = [
                    {
                        "slot": a.slot,
                        "mentor_id": a.mentor_id,
                        "score": None if a.score is None else round(a.score, 6),
                        "reasons": a.reasons,
                        "unmatched_reason": a.unmatched_reason,
                    }
                    for a in items
                ]
            rows.append(row)
        return rows


# =========================================================================== candidates
@dataclass
class CandidateGraph:
    """Pruned, scored candidate pairs of a cohort (one row per edge) and the mentors' slots."""

    mentee: np.ndarray  # (E,) cohort index
    row: np.ndarray  # (E,) catalog row
    similarity: np.ndarray  # (E,) goal-bio cosine (retrieval score)
    score: np.ndarray  # (E,) raw ranker score
    probability: np.ndarray  # (E,) calibrated P(success)
    features: np.ndarray  # (E, F) pair features, for reasons and constraints
    best_goal_sentence: np.ndarray
    best_bio_sentence: np.ndarray
    slots: np.ndarray  # (N,) free slots per catalog row as of the date (0 when infeasible)
    load: np.ndarray  # (N,) active pairings per catalog row as of the date
    n_language: np.ndarray  # (M,) active mentors sharing a language, per mentee
    n_feasible: np.ndarray  # (M,) of those, with free capacity and not excluded

    @property
    def n_edges(self) -> int:
        return len(self.mentee)


PairFilter = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""(mentee index per edge, catalog row per edge, feature matrix) -> keep mask. Extra hard
constraints, e.g. a minimum of shared working hours when re-matching."""


def _language_masks(catalog: MentorCatalog, mentees: MenteeBatch) -> tuple[np.ndarray, np.ndarray]:
    """(group per mentee, mask per distinct language set): mentees share few language sets."""
    groups: dict[frozenset[str], int] = {}
    group_of = np.fromiter(
        (groups.setdefault(langs, len(groups)) for langs in mentees.languages),
        np.int64,
        count=len(mentees.ids),
    )
    masks = np.zeros((len(groups), len(catalog)), dtype=bool)
    for langs, g in groups.items():
        masks[g] = catalog.shares_language(langs) if len(catalog) else False
    return group_of, masks


def _banned_rows(
    catalog: MentorCatalog, mentees: MenteeBatch, exclude: Sequence[frozenset[str]] | None
) -> list[np.ndarray]:
    out = []
    for j, mentee_id in enumerate(mentees.ids):
        banned = set(mentees.excluded[j]) | {mentee_id}
        if exclude is not None:
            banned |= exclude[j]
        rows = [catalog.row_of[m] for m in banned if m in catalog.row_of]
        out.append(np.asarray(rows, np.int64))
    return out


def _top_candidates(
    catalog: MentorCatalog,
    mentees: MenteeBatch,
    feasible_base: np.ndarray,
    group_of: np.ndarray,
    lang_masks: np.ndarray,
    banned: list[np.ndarray],
    n_candidates: int,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per mentee: the ``n_candidates`` feasible rows with the highest goal-bio cosine."""
    n_mentors = len(catalog)
    rows_out: list[np.ndarray] = []
    sims_out: list[np.ndarray] = []
    if n_mentors <= DENSE_MAX_MENTORS or catalog.index is None:
        # exact: one matmul per block of mentees, infeasible mentors masked out
        chunk = max(1, _DENSE_CHUNK_CELLS // max(n_mentors, 1))
        bio = np.ascontiguousarray(catalog.bio_vec, dtype=np.float32)
        for lo in range(0, len(mentees.ids), chunk):
            hi = min(lo + chunk, len(mentees.ids))
            sims = mentees.goal_vec[lo:hi].astype(np.float32) @ bio.T
            ok = feasible_base[None, :] & lang_masks[group_of[lo:hi]]
            for i in range(hi - lo):
                if len(banned[lo + i]):
                    ok[i, banned[lo + i]] = False
            sims = np.where(ok, sims, -np.inf)
            k = min(n_candidates, n_mentors)
            if k == 0:
                rows_out.extend(np.zeros(0, np.int64) for _ in range(hi - lo))
                sims_out.extend(np.zeros(0, np.float32) for _ in range(hi - lo))
                continue
            part = (
                np.argpartition(-sims, k - 1, axis=1)[:, :k]
                if k < n_mentors
                else (np.tile(np.arange(n_mentors), (hi - lo, 1)))
            )
            for i in range(hi - lo):
                cand = part[i]
                s = sims[i, cand]
                keep = np.isfinite(s)
                cand, s = cand[keep], s[keep]
                order = np.argsort(-s, kind="stable")
                rows_out.append(cand[order].astype(np.int64))
                sims_out.append(s[order].astype(np.float32))
        return rows_out, sims_out
    # large pools: the index, with each mentee's constraints as a row mask inside the search
    for j in range(len(mentees.ids)):
        ok = feasible_base & lang_masks[group_of[j]]
        if len(banned[j]):
            ok[banned[j]] = False
        rows, sims = catalog.nearest_rows(mentees.goal_vec[j], n_candidates, ok)
        rows_out.append(rows)
        sims_out.append(sims)
    return rows_out, sims_out


def build_candidates(
    catalog: MentorCatalog,
    feasibility: FeasibilityCache,
    mentees: MenteeBatch,
    model: RankerModel,
    *,
    as_of: dt.date,
    n_candidates: int = 50,
    exclude: Sequence[frozenset[str]] | None = None,
    pair_filter: PairFilter | None = None,
) -> CandidateGraph:
    """Prune each mentee to its best feasible candidates and score the pairs.

    ``exclude`` adds mentor ids to leave out per mentee (e.g. the current mentor when
    re-matching); ``pair_filter`` adds hard constraints on the scored pairs.
    """
    base_ok, base_load = feasibility.base(as_of)
    slots = np.where(base_ok, catalog.capacity - base_load, 0).astype(np.int64)
    slots = np.maximum(slots, 0)
    group_of, lang_masks = _language_masks(catalog, mentees)
    banned = _banned_rows(catalog, mentees, exclude)
    active_lang = lang_masks & catalog.active[None, :] if len(catalog) else lang_masks
    n_language = active_lang.sum(axis=1)[group_of] if len(group_of) else np.zeros(0, np.int64)
    feasible_lang = (lang_masks & base_ok[None, :]).sum(axis=1)
    n_feasible = feasible_lang[group_of].astype(np.int64) if len(group_of) else n_language
    for j, rows in enumerate(banned):
        if len(rows):
            n_feasible[j] -= int((base_ok[rows] & lang_masks[group_of[j], rows]).sum())
    rows_per, sims_per = _top_candidates(
        catalog, mentees, base_ok, group_of, lang_masks, banned, n_candidates
    )
    counts = np.fromiter((len(r) for r in rows_per), np.int64, count=len(rows_per))
    mentee_idx = np.repeat(np.arange(len(rows_per), dtype=np.int64), counts)
    rows = np.concatenate(rows_per) if rows_per else np.zeros(0, np.int64)
    sims = np.concatenate(sims_per) if sims_per else np.zeros(0, np.float32)
    n_feat = len(FEATURE_NAMES)
    feats = np.zeros((len(rows), n_feat), np.float32)
    gq = np.zeros(len(rows), np.int64)
    bq = np.zeros(len(rows), np.int64)
    day = np.datetime64(as_of, "D")
    for lo in range(0, len(rows), _FEATURE_CHUNK_PAIRS):
        hi = min(lo + _FEATURE_CHUNK_PAIRS, len(rows))
        inputs = pair_inputs(
            catalog,
            rows[lo:hi],
            mentees,
            mentee_idx[lo:hi],
            np.full(hi - lo, day),
            load=base_load[rows[lo:hi]],
            text_maps=model.text_maps,
            goal_tags=model.goal_tags,
        )
        pf = compute_pair_features(inputs)
        feats[lo:hi] = pf.matrix
        gq[lo:hi] = pf.best_goal_sentence
        bq[lo:hi] = pf.best_bio_sentence
    if pair_filter is not None and len(rows):
        keep = np.asarray(pair_filter(mentee_idx, rows, feats), bool)
        mentee_idx, rows, sims = mentee_idx[keep], rows[keep], sims[keep]
        feats, gq, bq = feats[keep], gq[keep], bq[keep]
    scores = model.score(feats) if len(rows) else np.zeros(0)
    probs = model.success_probability(scores) if len(rows) else np.zeros(0)
    return CandidateGraph(
        mentee=mentee_idx,
        row=rows,
        similarity=sims,
        score=np.asarray(scores, np.float64),
        probability=np.asarray(probs, np.float64),
        features=feats,
        best_goal_sentence=gq,
        best_bio_sentence=bq,
        slots=slots,
        load=np.asarray(base_load, np.float64),
        n_language=np.asarray(n_language, np.int64),
        n_feasible=np.asarray(n_feasible, np.int64),
    )


# =========================================================================== solver
def spread_bonus(
    load: np.ndarray, capacity: np.ndarray, slots: np.ndarray, spread: float
) -> list[np.ndarray]:
    """Per mentor, the bonus of each further mentee: ``spread * (1 - fill)`` where fill is the
    share of capacity used once that mentee is added. Falls with every slot taken (convex cost),
    so the flow prefers idle mentors; always >= 0, so spreading never unmatches anyone."""
    out = []
    for ld, cap, s in zip(load, capacity, slots, strict=True):
        k = np.arange(int(s), dtype=np.float64)
        fill = (float(ld) + k + 1.0) / max(float(cap), 1.0)
        out.append(spread * np.clip(1.0 - fill, 0.0, 1.0))
    return out


def solve_assignment(
    edge_mentee: np.ndarray,
    edge_mentor: np.ndarray,
    weight: np.ndarray,
    slots: np.ndarray,
    n_mentees: int,
    *,
    per_mentee: int = 1,
    objective: Objective = "best_total",
    slot_bonus: Sequence[np.ndarray] | None = None,
) -> np.ndarray:
    """Exact assignment on a sparse graph by min-cost flow; returns a mask of chosen edges.

    ``weight`` (>= 0) per edge is what is maximised; ``slots[m]`` bounds mentor ``m``'s new
    mentees; each mentee gets at most ``per_mentee`` distinct mentors. ``slot_bonus[m][k]`` is
    added for the k-th mentee of mentor ``m`` (non-increasing in k). ``best_total`` maximises
    the total weight; ``most_matched`` the number of assigned edges, then the total weight.
    """
    from ortools.graph.python import min_cost_flow

    edge_mentee = np.asarray(edge_mentee, np.int64)
    edge_mentor = np.asarray(edge_mentor, np.int64)
    n_edges = len(edge_mentee)
    if n_edges == 0 or n_mentees == 0:
        return np.zeros(n_edges, bool)
    if np.any(np.asarray(weight) < 0):
        raise ValueError("edge weights must be >= 0")
    slots = np.asarray(slots, np.int64)
    used, mentor_node = np.unique(edge_mentor, return_inverse=True)
    used_slots = np.minimum(slots[used], n_mentees)
    keep_edge = used_slots[mentor_node] > 0
    source, first_mentee = 0, 1
    first_mentor = first_mentee + n_mentees
    sink = first_mentor + len(used)
    total = n_mentees * per_mentee

    starts: list[np.ndarray] = []
    ends: list[np.ndarray] = []
    caps: list[np.ndarray] = []
    costs: list[np.ndarray] = []

    def arcs(s: np.ndarray, e: np.ndarray, c: np.ndarray, w: np.ndarray) -> None:
        starts.append(np.asarray(s, np.int64))
        ends.append(np.asarray(e, np.int64))
        caps.append(np.asarray(c, np.int64))
        costs.append(np.asarray(w, np.int64))

    m_nodes = np.arange(n_mentees, dtype=np.int64) + first_mentee
    arcs(np.full(n_mentees, source), m_nodes, np.full(n_mentees, per_mentee), np.zeros(n_mentees))
    edge_ids = np.flatnonzero(keep_edge)
    edge_cost = -np.rint(np.asarray(weight, np.float64)[edge_ids] * COST_SCALE).astype(np.int64)
    first_edge_arc = n_mentees
    arcs(
        edge_mentee[edge_ids] + first_mentee,
        mentor_node[edge_ids] + first_mentor,
        np.ones(len(edge_ids)),
        edge_cost,
    )
    if slot_bonus is None:
        arcs(
            np.arange(len(used)) + first_mentor,
            np.full(len(used), sink),
            used_slots,
            np.zeros(len(used)),
        )
    else:
        bonus = [
            np.asarray(slot_bonus[int(m)], np.float64)[: int(s)]
            for m, s in zip(used, used_slots, strict=True)
        ]
        counts = np.fromiter((len(b) for b in bonus), np.int64, count=len(bonus))
        flat = np.concatenate(bonus) if bonus else np.zeros(0)
        arcs(
            np.repeat(np.arange(len(used)) + first_mentor, counts),
            np.full(len(flat), sink),
            np.ones(len(flat)),
            -np.rint(flat * COST_SCALE),
        )
    if objective == "best_total":
        arcs(np.array([source]), np.array([sink]), np.array([total]), np.array([0]))
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(starts), np.concatenate(ends), np.concatenate(caps), np.concatenate(costs)
    )
    smcf.set_node_supply(source, total)
    smcf.set_node_supply(sink, -total)
    status = smcf.solve() if objective == "best_total" else smcf.solve_max_flow_with_min_cost()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    flows = smcf.flows(np.arange(first_edge_arc, first_edge_arc + len(edge_ids)))
    chosen = np.zeros(n_edges, bool)
    chosen[edge_ids[np.asarray(flows) > 0]] = True
    return chosen


def greedy_assignment(
    edge_mentee: np.ndarray,
    edge_mentor: np.ndarray,
    weight: np.ndarray,
    slots: np.ndarray,
    n_mentees: int,
    *,
    per_mentee: int = 1,
) -> np.ndarray:
    """Per-mentee top choices in arrival order (mentee index order): what sequential
    recommendation does. The reference the global assignment is compared with."""
    left = np.asarray(slots, np.int64).copy()
    chosen = np.zeros(len(edge_mentee), bool)
    order = np.lexsort((-np.asarray(weight, np.float64), np.asarray(edge_mentee)))
    taken = np.zeros(n_mentees, np.int64)
    for e in order:
        j, m = int(edge_mentee[e]), int(edge_mentor[e])
        if taken[j] < per_mentee and left[m] > 0:
            chosen[e] = True
            taken[j] += 1
            left[m] -= 1
    return chosen


# =========================================================================== matching
def pair_reasons(
    catalog: MentorCatalog,
    mentees: MenteeBatch,
    graph: CandidateGraph,
    edges: np.ndarray,
    model: RankerModel,
    as_of: dt.date,
) -> list[list[str]]:
    if len(edges) == 0:
        return []
    x = graph.features[edges]
    contrib = model.contributions(x)
    rows = graph.row[edges]
    totals, completed = catalog.history.completed_counts(
        rows, np.full(len(rows), np.datetime64(as_of, "D"))
    )
    out = []
    for i, e in enumerate(edges):
        ctx = reason_context(
            catalog, mentees, int(graph.mentee[e]), int(graph.row[e]),
            int(graph.best_goal_sentence[e]), int(graph.best_bio_sentence[e]),
            completed=int(completed[i]), total=int(totals[i]),
        )  # fmt: skip
        out.append(explain(x[i], contrib[i], ctx))
    return out


def _alternative(
    catalog: MentorCatalog,
    mentees: MenteeBatch,
    j: int,
    graph: CandidateGraph,
    edge_ids: np.ndarray,
    assigned_to: Mapping[int, list[str]],
) -> tuple[str, str, dict[str, Any] | None]:
    """(code, reason, best alternative) for an unmatched mentee ``j``."""
    langs = ", ".join(sorted(mentees.languages[j])) or "none given"
    if len(edge_ids):
        best = edge_ids[np.argmax(graph.probability[edge_ids])]
        r = int(graph.row[best])
        others = assigned_to.get(r, [])
        alt = {
            "mentor_id": catalog.ids[r],
            "score": round(float(graph.probability[best]), 6),
            "blocked_by": "capacity: every free slot went to other mentees of this cohort",
            "assigned_mentees": others[:10],
        }
        return (
            TAKEN_BY_OTHERS,
            f"all {len(edge_ids)} feasible candidate(s) were assigned to other mentees with a "
            "higher total predicted success",
            alt,
        )
    # No candidate: relax constraints one at a time to name what stands in the way.
    if len(catalog) == 0:
        return NO_CANDIDATES, "the organisation has no mentors", None
    sims = catalog.bio_vec @ mentees.goal_vec[j]
    banned = set(mentees.excluded[j]) | {mentees.ids[j]}
    ok = catalog.active.copy()
    for m in banned:
        banned_row = catalog.row_of.get(m)
        if banned_row is not None:
            ok[banned_row] = False
    bits = catalog.mentee_language_bits(sorted(mentees.languages[j]))
    shares = (catalog.lang_bits & bits).any(axis=1)
    if int(graph.n_language[j]) == 0 or not (ok & shares).any():
        code = NO_SHARED_LANGUAGE
        reason = f"no active mentor speaks any of the mentee's languages ({langs})"
        pool = ok
        blocked = "no shared language"
    else:
        code = NO_CAPACITY
        n = int((ok & shares).sum())
        reason = f"all {n} active mentor(s) sharing a language ({langs}) are at capacity"
        pool = ok & shares
        blocked = "at capacity"
    if not pool.any():
        return code, reason, None
    r = int(np.argmax(np.where(pool, sims, -np.inf)))
    load = int(graph.load[r])
    alt = {
        "mentor_id": catalog.ids[r],
        "score": None,
        "blocked_by": f"{blocked} (load {load} of capacity {int(catalog.capacity[r])}, "
        f"speaks {', '.join(sorted(catalog.languages[r]))})",
    }
    return code, reason, alt


def _audit(catalog: MentorCatalog, lists: list[list[str]]) -> dict[str, Any]:
    if len(catalog) == 0:
        return {}
    attrs = {
        m: {"location": catalog.location[i], "group": catalog.group[i]}
        for i, m in enumerate(catalog.ids)
    }
    return dict(exposure_audit(lists, attrs))


def assemble(
    catalog: MentorCatalog,
    mentees: MenteeBatch,
    graph: CandidateGraph,
    chosen: np.ndarray,
    model: RankerModel,
    *,
    as_of: dt.date,
    options: MatchOptions,
    explain_pairs: bool = True,
) -> list[Assignment]:
    """Assignments (one per mentee and slot) from the chosen edges, with reasons and, for
    each unmatched slot, why and the best alternative."""
    chosen_ids = np.flatnonzero(chosen)
    reasons = (
        pair_reasons(catalog, mentees, graph, chosen_ids, model, as_of)
        if explain_pairs
        else [[] for _ in chosen_ids]
    )
    per_mentee: dict[int, list[tuple[int, list[str]]]] = {}
    assigned_to: dict[int, list[str]] = {}
    for e, rs in zip(chosen_ids, reasons, strict=True):
        per_mentee.setdefault(int(graph.mentee[e]), []).append((int(e), rs))
        assigned_to.setdefault(int(graph.row[e]), []).append(mentees.ids[int(graph.mentee[e])])
    order = np.argsort(graph.mentee, kind="stable")
    bounds = np.searchsorted(graph.mentee[order], np.arange(len(mentees.ids) + 1))
    out: list[Assignment] = []
    for j, mentee_id in enumerate(mentees.ids):
        picks = sorted(per_mentee.get(j, []), key=lambda p: -graph.probability[p[0]])
        for slot, (edge, rs) in enumerate(picks):
            out.append(
                Assignment(
                    mentee_id=mentee_id,
                    slot=slot,
                    mentor_id=catalog.ids[int(graph.row[edge])],
                    score=float(graph.probability[edge]),
                    ranker_score=float(graph.score[edge]),
                    reasons=rs,
                )
            )
        if len(picks) < options.mentors_per_mentee:
            edges = order[bounds[j] : bounds[j + 1]]
            mine = {int(graph.row[e]) for e, _ in picks}
            edges = np.array([e for e in edges if int(graph.row[e]) not in mine], np.int64)
            code, reason, alt = _alternative(catalog, mentees, j, graph, edges, assigned_to)
            for slot in range(len(picks), options.mentors_per_mentee):
                out.append(
                    Assignment(
                        mentee_id=mentee_id,
                        slot=slot,
                        mentor_id=None,
                        score=None,
                        ranker_score=None,
                        unmatched_code=code,
                        unmatched_reason=reason,
                        alternative=alt,
                    )
                )
    return out


def _totals(graph: CandidateGraph, chosen: np.ndarray) -> dict[str, float]:
    p = graph.probability[chosen]
    return {
        "matched_pairs": int(chosen.sum()),
        "predicted_success_total": float(p.sum()),
        "predicted_success_mean": float(p.mean()) if len(p) else float("nan"),
    }


def match_batch(
    catalog: MentorCatalog,
    feasibility: FeasibilityCache,
    mentees: MenteeBatch,
    model: RankerModel,
    *,
    as_of: dt.date,
    options: MatchOptions = MatchOptions(),
    graph: CandidateGraph | None = None,
    explain_pairs: bool = True,
) -> CohortMatch:
    """Match a cohort (already embedded) against one organisation's catalog."""
    t0 = time.perf_counter()
    if graph is None:
        graph = build_candidates(
            catalog, feasibility, mentees, model, as_of=as_of, n_candidates=options.n_candidates
        )
    t1 = time.perf_counter()
    n = len(mentees.ids)
    bonus = None
    if options.spread > 0:
        bonus = spread_bonus(graph.load, catalog.capacity, graph.slots, options.spread)
    chosen = solve_assignment(
        graph.mentee,
        graph.row,
        graph.probability,
        graph.slots,
        n,
        per_mentee=options.mentors_per_mentee,
        objective=options.objective,
        slot_bonus=bonus,
    )
    t2 = time.perf_counter()
    assignments = assemble(
        catalog,
        mentees,
        graph,
        chosen,
        model,
        as_of=as_of,
        options=options,
        explain_pairs=explain_pairs,
    )
    lists = [[catalog.ids[int(r)]] for r in graph.row[chosen]]
    matched_mentees = len(set(graph.mentee[chosen].tolist()))
    summary: dict[str, Any] = {
        "mentees": n,
        "matched_mentees": matched_mentees,
        "matched_rate": matched_mentees / n if n else float("nan"),
        **_totals(graph, chosen),
        "unmatched": _count_codes(assignments),
        "candidate_edges": graph.n_edges,
        "free_slots": int(graph.slots.sum()),
        "seconds": {
            "candidates": round(t1 - t0, 3),
            "solve": round(t2 - t1, 3),
            "total": round(time.perf_counter() - t0, 3),
        },
        "exposure": _audit(catalog, lists),
    }
    if options.spread > 0:
        plain = solve_assignment(
            graph.mentee,
            graph.row,
            graph.probability,
            graph.slots,
            n,
            per_mentee=options.mentors_per_mentee,
            objective=options.objective,
        )
        without = _totals(graph, plain)
        plain_audit = _audit(catalog, [[catalog.ids[int(r)]] for r in graph.row[plain]])
        summary["spreading"] = {
            "strength": options.spread,
            "predicted_success_total": summary["predicted_success_total"],
            "predicted_success_total_without": without["predicted_success_total"],
            "cost_in_predicted_success": without["predicted_success_total"]
            - summary["predicted_success_total"],
            "matched_pairs_without": without["matched_pairs"],
            "gini": summary["exposure"].get("gini"),
            "gini_without": plain_audit.get("gini"),
            "top10_share": summary["exposure"].get("top10_share"),
            "top10_share_without": plain_audit.get("top10_share"),
        }
    return CohortMatch(
        as_of=as_of,
        options=options,
        assignments=assignments,
        summary=summary,
        model_version=model.version,
    )


def _count_codes(assignments: Sequence[Assignment]) -> dict[str, int]:
    out: dict[str, int] = {}
    for a in assignments:
        if a.mentor_id is None and a.unmatched_code:
            out[a.unmatched_code] = out.get(a.unmatched_code, 0) + 1
    return out


def match_cohort(
    engine: RecommendationEngine,
    org: str,
    mentees: Sequence[MenteeIn],
    *,
    as_of: dt.date,
    options: MatchOptions = MatchOptions(),
    cached_text: bool = True,
) -> CohortMatch:
    """Match ``mentees`` to ``org``'s mentors with the engine's ranker (see module doc)."""
    ids = [m.id for m in mentees]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate mentee ids in the cohort")
    state = engine.org_state(org)
    batch = engine.mentee_batch(mentees, cached=cached_text)
    return match_batch(
        state.catalog, state.feasibility, batch, engine.ranker, as_of=as_of, options=options
    )


# =========================================================================== pair scoring
@dataclass
class PairScore:
    mentor_id: str
    score: float  # predicted success probability
    ranker_score: float
    reasons: list[str]
    features: dict[str, float]


def score_pairs(
    engine: RecommendationEngine,
    org: str,
    mentee: MenteeIn,
    mentor_ids: Sequence[str],
    *,
    as_of: dt.date,
    cached_text: bool = True,
) -> list[PairScore]:
    """Score given (mentee, mentor) pairs with the ranker, whatever their feasibility (for a
    coordinator's manual edit; constraints are checked separately). Unknown mentors are
    left out."""
    state = engine.org_state(org)
    catalog = state.catalog
    rows = np.array([catalog.row_of[m] for m in mentor_ids if m in catalog.row_of], np.int64)
    if len(rows) == 0:
        return []
    model = engine.ranker
    batch = engine.mentee_batch([mentee], cached=cached_text)
    _, base_load = state.feasibility.base(as_of)
    day = np.datetime64(as_of, "D")
    inputs = pair_inputs(
        catalog,
        rows,
        batch,
        np.zeros(len(rows), np.int64),
        np.full(len(rows), day),
        load=base_load[rows],
        text_maps=model.text_maps,
        goal_tags=model.goal_tags,
    )
    pf = compute_pair_features(inputs)
    scores = model.score(pf.matrix)
    probs = model.success_probability(scores)
    graph = CandidateGraph(
        mentee=np.zeros(len(rows), np.int64),
        row=rows,
        similarity=pf.matrix[:, 0],
        score=scores,
        probability=probs,
        features=pf.matrix,
        best_goal_sentence=pf.best_goal_sentence,
        best_bio_sentence=pf.best_bio_sentence,
        slots=np.zeros(len(catalog), np.int64),
        load=base_load,
        n_language=np.zeros(1, np.int64),
        n_feasible=np.zeros(1, np.int64),
    )
    reasons = pair_reasons(catalog, batch, graph, np.arange(len(rows)), model, as_of)
    return [
        PairScore(catalog.ids[int(r)], float(p), float(s), rs, pf.as_dict(i))
        for i, (r, p, s, rs) in enumerate(zip(rows, probs, scores, reasons, strict=True))
    ]


# =========================================================================== exposure option
def exposure_pressure(
    session: Session, org: str, mentor_ids: Sequence[str], as_of: dt.date, *, window_days: int = 30
) -> dict[str, float]:
    """How close each mentor is to saturation, in [0, 1]: (active pairings + requests received
    in the last ``window_days``) / capacity. Mentors at capacity or without capacity read 1."""
    ids = list(dict.fromkeys(mentor_ids))
    if not ids:
        return {}
    load = store.mentor_load(session, org, as_of)
    caps = dict(
        session.execute(
            select(db.Mentor.id, db.Mentor.capacity).where(
                db.Mentor.org_id == org, db.Mentor.id.in_(ids)
            )
        ).all()
    )
    i = db.Interaction
    since = as_of - dt.timedelta(days=window_days)
    requests = dict(
        session.execute(
            select(i.mentor_id, func.count())
            .where(
                i.org_id == org,
                i.mentor_id.in_(ids),
                i.event == "requested",
                i.at > since,
                i.at <= as_of,
            )
            .group_by(i.mentor_id)
        ).all()
    )
    out = {}
    for m in ids:
        cap = int(caps.get(m, 0) or 0)
        used = load.get(m, 0) + int(requests.get(m, 0))
        out[m] = 1.0 if cap <= 0 else float(min(1.0, used / cap))
    return out


def spread_rerank(
    scores: Sequence[float], pressure: Sequence[float], strength: float
) -> np.ndarray:
    """Order (indices, best first) of a recommendation list re-ranked to spread exposure:
    ``score - strength * pressure * spread_of_scores``. The penalty is scaled by the list's
    score range so that ``strength`` means the same for any scorer: at 1 a mentor at
    saturation drops by the whole range of the list (below every unsaturated mentor); at 0
    the order is unchanged."""
    s = np.asarray(scores, np.float64)
    if len(s) == 0:
        return np.zeros(0, np.int64)
    scale = float(s.max() - s.min()) or 1.0
    pressure_arr = np.asarray(pressure, np.float64)
    adjusted = s - strength * pressure_arr * scale
    # ties go to the less pressured mentor (np.lexsort: last key is the primary one)
    return np.lexsort((pressure_arr if strength > 0 else np.zeros(len(s)), -adjusted))


# =========================================================================== drafts
class DraftNotFound(LookupError):
    pass


class DraftStateError(ValueError):
    """The draft is no longer a draft (accepted or discarded)."""


class DraftConflict(ValueError):
    """The change breaks a hard constraint (capacity, language, exclusion, inactive mentor)."""

    def __init__(self, message: str, field: str = "mentor_id") -> None:
        super().__init__(message)
        self.field = field


def save_draft(session: Session, org: str, result: CohortMatch, mentees: Sequence[MenteeIn]) -> str:
    """Store ``result`` as a draft; the cohort's profiles go with it (needed to check edits
    and to store mentees that were matched from a file)."""
    draft_id = uuid.uuid4().hex
    store.ensure_org(session, org)
    params = {
        **asdict(result.options),
        "model_version": result.model_version,
        "profiles": {m.id: m.model_dump(mode="json") for m in mentees},
    }
    summary = {k: v for k, v in result.summary.items() if k != "exposure"}
    exposure = result.summary.get("exposure") or {}
    summary["exposure"] = {k: exposure.get(k) for k in ("gini", "top10_share", "coverage")}
    session.add(
        db.MatchDraft(
            id=draft_id,
            org_id=org,
            status=DRAFT,
            as_of=result.as_of,
            params=_jsonable(params),
            summary=_jsonable(summary),
        )
    )
    session.flush()
    session.add_all(
        db.MatchDraftItem(
            draft_id=draft_id,
            mentee_id=a.mentee_id,
            slot=a.slot,
            mentor_id=a.mentor_id,
            score=a.score,
            reasons=list(a.reasons),
            unmatched_reason=a.unmatched_reason,
            alternative=_jsonable(a.alternative),
        )
        for a in result.assignments
    )
    session.flush()
    return draft_id


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def _draft(session: Session, org: str, draft_id: str) -> db.MatchDraft:
    draft = session.get(db.MatchDraft, draft_id)
    if draft is None or draft.org_id != org:  # tenancy: another org's draft does not exist
        raise DraftNotFound(draft_id)
    return draft


def _items(session: Session, draft_id: str) -> list[db.MatchDraftItem]:
    it = db.MatchDraftItem
    stmt = select(it).where(it.draft_id == draft_id).order_by(it.mentee_id, it.slot)
    return list(session.scalars(stmt))


def item_view(item: db.MatchDraftItem) -> dict[str, Any]:
    return {
        "mentee_id": item.mentee_id,
        "slot": item.slot,
        "mentor_id": item.mentor_id,
        "score": item.score,
        "reasons": list(item.reasons or []),
        "unmatched_reason": item.unmatched_reason,
        "alternative": item.alternative,
    }


def draft_view(session: Session, org: str, draft_id: str) -> dict[str, Any]:
    draft = _draft(session, org, draft_id)
    params = {k: v for k, v in (draft.params or {}).items() if k != "profiles"}
    return {
        "id": draft.id,
        "status": draft.status,
        "as_of": draft.as_of,
        "params": params,
        "summary": draft.summary,
        "created_at": draft.created_at,
        "accepted_at": draft.accepted_at,
        "items": [item_view(i) for i in _items(session, draft_id)],
    }


def _require_draft(draft: db.MatchDraft) -> None:
    if draft.status != DRAFT:
        raise DraftStateError(f"draft {draft.id} is {draft.status}, not a draft")


def _mentor_counts(items: Sequence[db.MatchDraftItem]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in items:
        if i.mentor_id is not None:
            out[i.mentor_id] = out.get(i.mentor_id, 0) + 1
    return out


def check_pair(
    mentor: db.Mentor | None, mentee: Mapping[str, Any], *, free_slots: int
) -> str | None:
    """Why the pair breaks a hard constraint, or None when it is allowed."""
    if mentor is None:
        return "unknown mentor"
    if not mentor.active:
        return f"mentor {mentor.id} is not active"
    if mentor.id == mentee["id"]:
        return "a mentee cannot mentor themself"
    if mentor.id in set(mentee.get("excluded_mentor_ids") or []):
        return f"mentor {mentor.id} is excluded for this mentee"
    if not set(mentee.get("languages") or []) & set(mentor.languages):
        return f"mentor {mentor.id} shares no language with the mentee"
    if free_slots <= 0:
        return f"mentor {mentor.id} has no free capacity"
    return None


def edit_item(
    session: Session,
    org: str,
    draft_id: str,
    mentee_id: str,
    mentor_id: str | None,
    *,
    slot: int = 0,
    scored: PairScore | None = None,
) -> dict[str, Any]:
    """Set (or clear, with ``mentor_id=None``) the mentor of one pair of a draft.

    Hard constraints are checked against the store as of the draft's date, counting the
    draft's other pairs against capacity. ``scored`` (from :func:`score_pairs`) gives the new
    pair's predicted success and reasons."""
    draft = _draft(session, org, draft_id)
    _require_draft(draft)
    profiles = (draft.params or {}).get("profiles", {})
    if mentee_id not in profiles:
        raise DraftNotFound(f"{draft_id}/{mentee_id}")
    items = _items(session, draft_id)
    item = next((i for i in items if i.mentee_id == mentee_id and i.slot == slot), None)
    per_mentee = int((draft.params or {}).get("mentors_per_mentee", 1))
    if item is None:
        if not 0 <= slot < per_mentee:
            raise DraftConflict(f"slot must be between 0 and {per_mentee - 1}", field="slot")
        item = db.MatchDraftItem(draft_id=draft_id, mentee_id=mentee_id, slot=slot, reasons=[])
        session.add(item)
    if mentor_id is None:
        item.mentor_id, item.score, item.reasons = None, None, []
        item.unmatched_reason, item.alternative = "left unmatched by the coordinator", None
        session.flush()
        return item_view(item)
    if any(i.mentee_id == mentee_id and i.slot != slot and i.mentor_id == mentor_id for i in items):
        raise DraftConflict(f"mentor {mentor_id} is already assigned to this mentee")
    mentor = store.get_row(session, db.Mentor, org, mentor_id)
    others = _mentor_counts([i for i in items if i is not item])
    load = store.mentor_load(session, org, draft.as_of).get(mentor_id, 0)
    free = (mentor.capacity if mentor else 0) - load - others.get(mentor_id, 0)
    problem = check_pair(mentor, profiles[mentee_id], free_slots=free)
    if problem is not None:
        raise DraftConflict(problem)
    item.mentor_id = mentor_id
    item.score = scored.score if scored is not None else None
    item.reasons = list(scored.reasons) if scored is not None else ["chosen by the coordinator"]
    item.unmatched_reason, item.alternative = None, None
    session.flush()
    return item_view(item)


def accept_draft(
    session: Session, org: str, draft_id: str, *, start: dt.date | None = None
) -> list[str]:
    """Create the draft's pairings (status active, started ``start`` — default the draft's
    date) and mark it accepted. Run inside one transaction: any broken constraint (a mentor
    filled up or was deactivated since) raises :class:`DraftConflict` and nothing is stored.
    Mentees matched from a file are stored from the draft's profiles. Returns pairing ids."""
    draft = _draft(session, org, draft_id)
    _require_draft(draft)
    day = start or draft.as_of
    items = [i for i in _items(session, draft_id) if i.mentor_id is not None]
    profiles: dict[str, Any] = (draft.params or {}).get("profiles", {})
    counts = _mentor_counts(items)
    load = store.mentor_load(session, org, day)
    mentors = {
        m.id: m
        for m in session.scalars(
            select(db.Mentor).where(db.Mentor.org_id == org, db.Mentor.id.in_(list(counts)))
        )
    }
    problems = []
    for i in items:
        m = mentors.get(str(i.mentor_id))
        free = (
            (m.capacity if m else 0) - load.get(str(i.mentor_id), 0) - counts[str(i.mentor_id)] + 1
        )
        problem = check_pair(m, profiles.get(i.mentee_id, {"id": i.mentee_id}), free_slots=free)
        if problem is not None:
            problems.append(f"{i.mentee_id}: {problem}")
    if problems:
        raise DraftConflict(
            f"{len(problems)} pair(s) break a hard constraint now, e.g. {'; '.join(problems[:3])}"
        )
    stored = store.existing_ids(session, db.Mentee, org, [i.mentee_id for i in items])
    missing = [
        profiles[i.mentee_id]
        for i in items
        if i.mentee_id not in stored and i.mentee_id in profiles
    ]
    if missing:
        unique = {p["id"]: p for p in missing}
        store.upsert_rows(
            session,
            "mentees",
            org,
            [MenteeIn.model_validate(p).model_dump() for p in unique.values()],
        )
    ids = []
    for n, i in enumerate(items):
        pid = f"match-{draft_id[:16]}-{n:05d}"
        session.add(
            db.Pairing(
                org_id=org,
                id=pid,
                mentor_id=i.mentor_id,
                mentee_id=i.mentee_id,
                started_at=day,
                ended_at=None,
                status=PairingStatus.active.value,
                rating=None,
                goals_met=None,
            )
        )
        ids.append(pid)
    draft.status = ACCEPTED
    draft.accepted_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    session.flush()
    return ids


def discard_draft(session: Session, org: str, draft_id: str) -> None:
    draft = _draft(session, org, draft_id)
    _require_draft(draft)
    draft.status = DISCARDED  # items are kept: what was proposed stays auditable
    session.flush()


def list_drafts(session: Session, org: str, *, limit: int = 50) -> list[dict[str, Any]]:
    d = db.MatchDraft
    rows = session.scalars(
        select(d).where(d.org_id == org).order_by(d.created_at.desc()).limit(limit)
    )
    return [
        {
            "id": r.id,
            "status": r.status,
            "as_of": r.as_of,
            "created_at": r.created_at,
            "summary": r.summary,
        }
        for r in rows
    ]
