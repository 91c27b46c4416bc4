"""Cohort matching against the generator's ground truth (``recsys evaluate-matching``).

A cohort of mentees (the held-out mentees first, then mentees without a running pairing) is
assigned to mentors under capacity by each strategy, all under the same hard constraints and
from the same pruned candidate graph:

- ``greedy_top1``: each mentee in arrival order takes their top-ranked mentor that still has
  a free slot — what sequential per-mentee recommendation does;
- ``global_best_total`` / ``global_most_matched``: the exact min-cost-flow assignment
  (:mod:`recsys.matching`) with either objective;
- ``global_spread``: ``best_total`` with exposure spreading;
- ``rules_greedy``: the vendor-style rules baseline, top-1 in arrival order under capacity.

Each is scored with the latent truth: matched rate, mean expected outcome of the matched
pairs (the generator's P(success) with the mentor's load including the cohort's other
mentees), the expected number of successes over the whole cohort, the model's own predicted
success, and the exposure audit over all mentors.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evaluation.baselines import rules_baseline
from evaluation.exposure import exposure_audit, group_rows
from evaluation.report import ReportSection, Table, strategy_comparison_section, write_report
from recsys.matching import (
    CandidateGraph,
    build_candidates,
    greedy_assignment,
    solve_assignment,
    spread_bonus,
)
from recsys.schemas import MenteeIn

if TYPE_CHECKING:
    from recsys.engine import RecommendationEngine
    from recsys.synthetic import GroundTruth

PRIMARY = "expected_successes"
_WORD = re.compile(r"[a-z][a-z0-9+#]+")


class HashingEncoder:
    """A fast, deterministic bag-of-words encoder (signed feature hashing, L2-normalised).

    Texts sharing words get similar vectors, so retrieval still means something; used by the
    matching benchmark and fast tests, where the sentence-transformer's ~7 ms per sentence
    would dominate. Not a substitute for the real encoder in production.
    """

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim
        self.encoder_id = f"hashing-bow@1/{dim}"
        self._buckets: dict[str, tuple[int, float]] = {}

    def _bucket(self, word: str) -> tuple[int, float]:
        hit = self._buckets.get(word)
        if hit is None:
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
            hit = self._buckets[word] = (h % self.dim, 1.0 if (h >> 40) & 1 else -1.0)
        return hit

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                b, sign = self._bucket(word)
                out[i, b] += sign
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.maximum(norms, 1e-12)
        out[norms[:, 0] == 0, 0] = 1.0  # an empty text still gets a unit vector
        return out

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def encode_few(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)


@dataclass
class MatchingEvaluation:
    table: dict[str, dict[str, float]]
    groups: list[dict[str, object]]
    report: Path | None
    cohort: int


def select_cohort(
    gt: GroundTruth, paired: set[str], all_ids: Sequence[str], size: int
) -> list[str]:
    """Held-out mentees first, then mentees without a running pairing, in id order."""
    heldout = list(gt.heldout_mentee_ids)
    chosen = set(heldout)
    rest = [m for m in sorted(all_ids) if m not in chosen and m not in paired]
    return (heldout + rest)[:size]


def rules_greedy(engine: RecommendationEngine, org: str, batch: Any, as_of: dt.date,
                 slots: np.ndarray, k: int = 50) -> list[int | None]:  # fmt: skip
    """Rules top-1 in arrival order: the first of each mentee's rules ranking with a slot left."""
    state = engine.org_state(org)
    left = slots.copy()
    out: list[int | None] = []
    for j in range(len(batch.ids)):
        pick = None
        for mentor_id in rules_baseline(state.feasibility, batch, j, k, as_of):
            r = state.catalog.row_of[mentor_id]
            if left[r] > 0:
                pick, left[r] = r, left[r] - 1
                break
        out.append(pick)
    return out


def _score(
    pairs: list[tuple[int, int]],
    n_mentees: int,
    mentee_ids: Sequence[str],
    mentor_ids: Sequence[str],
    base_load: np.ndarray,
    gt: GroundTruth,
    predicted: dict[tuple[int, int], float],
    attributes: dict[str, dict[str, str | None]],
) -> tuple[dict[str, float], np.ndarray, dict[str, Any]]:
    counts = np.zeros(len(mentor_ids), np.int64)
    for _, r in pairs:
        counts[r] += 1
    e = [mentee_ids[j] for j, _ in pairs]
    m = [mentor_ids[r] for _, r in pairs]
    load = [int(base_load[r] + counts[r] - 1) for _, r in pairs]
    outcome = gt.expected_outcome(e, m, load) if pairs else np.zeros(0, np.float32)
    audit = exposure_audit([[x] for x in m], attributes)
    preds = [predicted[p] for p in pairs if p in predicted]
    matched = len({j for j, _ in pairs})
    row = {
        "matched_rate": matched / n_mentees if n_mentees else math.nan,
        "mean_expected_outcome": float(outcome.mean()) if len(outcome) else math.nan,
        PRIMARY: float(outcome.sum()),
        "predicted_success": float(np.sum(preds)),
        "gini": audit["gini"],
        "top10_share": audit["top10_share"],
        "coverage": audit["coverage"],
    }
    return row, counts.astype(np.float64), dict(audit)


def evaluate_matching(
    engine: RecommendationEngine,
    org: str,
    gt: GroundTruth,
    mentees: Sequence[MenteeIn],
    *,
    as_of: dt.date,
    n_candidates: int = 50,
    spread: float = 0.3,
    out_dir: Path | None = None,
) -> MatchingEvaluation:
    """Compare the strategies (module doc) on ``mentees``; write a report into ``out_dir``."""
    state = engine.org_state(org)
    catalog = state.catalog
    model = engine.ranker
    batch = engine.mentee_batch(mentees)
    graph: CandidateGraph = build_candidates(
        catalog, state.feasibility, batch, model, as_of=as_of, n_candidates=n_candidates
    )
    n = len(mentees)
    predicted = {
        (int(j), int(r)): float(p)
        for j, r, p in zip(graph.mentee, graph.row, graph.probability, strict=True)
    }

    def edges(mask: np.ndarray) -> list[tuple[int, int]]:
        return [(int(j), int(r)) for j, r in zip(graph.mentee[mask], graph.row[mask], strict=True)]

    args = (graph.mentee, graph.row, graph.probability, graph.slots, n)
    runs: dict[str, list[tuple[int, int]]] = {
        "greedy_top1": edges(greedy_assignment(*args)),
        "global_best_total": edges(solve_assignment(*args, objective="best_total")),
        "global_most_matched": edges(solve_assignment(*args, objective="most_matched")),
    }
    if spread > 0:
        bonus = spread_bonus(graph.load, catalog.capacity, graph.slots, spread)
        runs[f"global_spread_{spread:g}"] = edges(solve_assignment(*args, slot_bonus=bonus))
    rules = rules_greedy(engine, org, batch, as_of, graph.slots)
    runs["rules_greedy"] = [(j, r) for j, r in enumerate(rules) if r is not None]

    attributes = {
        m: {"location": catalog.location[i], "group": catalog.group[i]}
        for i, m in enumerate(catalog.ids)
    }
    table: dict[str, dict[str, float]] = {}
    exposures: dict[str, np.ndarray] = {}
    groups: list[dict[str, object]] = []
    for name, pairs in runs.items():
        row, counts, audit = _score(
            pairs, n, batch.ids, catalog.ids, graph.load, gt, predicted, attributes
        )
        table[name] = row
        exposures[name] = counts
        groups += [{"strategy": name, **g} for g in group_rows(audit)]  # type: ignore[arg-type]
    base = table["global_best_total"]["predicted_success"]
    for row in table.values():
        row["predicted_cost_vs_best_total"] = base - row["predicted_success"]
    report = None
    if out_dir is not None:
        section = strategy_comparison_section(
            table, out_dir, primary_metric=PRIMARY, exposures=exposures,
            heading="Cohort matching vs the generator's ground truth",
            text=(
                f"{n} mentees matched at once over {len(catalog)} mentors "
                f"({int(graph.slots.sum())} free slots) as of {as_of}; {graph.n_edges} candidate "
                f"pairs ({n_candidates} per mentee). `{PRIMARY}`: sum of the latent P(success) "
                "over the cohort (unmatched mentees count 0); `mean_expected_outcome`: over "
                "matched pairs. `predicted_success`: the ranker's calibrated view; "
                "`predicted_cost_vs_best_total`: what a strategy gives up against the exact "
                f"optimum in predicted success. Model: {model.version}."
            ),
        )  # fmt: skip
        group_section = ReportSection(
            heading="Exposure by mentor group",
            text="Share of assignments per group against its share of mentors (ratio 1 = fair "
            "share). Groups under 5 mentors are pooled.",
            tables=[Table(rows=groups)],
        )
        report = write_report(out_dir, "Cohort matching evaluation", [section, group_section])
    return MatchingEvaluation(table=table, groups=groups, report=report, cohort=n)


def evaluate_matching_ground_truth(
    engine: RecommendationEngine,
    org: str,
    ground_truth_dir: Path,
    out_dir: Path | None,
    *,
    cohort: int = 2000,
    as_of: dt.date | None = None,
    n_candidates: int = 50,
    spread: float = 0.3,
) -> MatchingEvaluation:
    """Load the ground truth and the cohort from the store, then :func:`evaluate_matching`."""
    from recsys import db, store
    from recsys.snapshot import load_mentees
    from recsys.synthetic import load_ground_truth

    gt = load_ground_truth(ground_truth_dir)
    day = as_of or dt.date.fromisoformat(str(gt.meta.get("as_of", dt.date.today().isoformat())))
    with engine.ctx.sessions() as session:
        paired = {p.mentee_id for p in store.active_pairings(session, org, day)}
        all_ids = [r.id for r in store.list_rows(session, db.Mentee, org)]
        ids = select_cohort(gt, paired, all_ids, cohort)
        mentees = load_mentees(session, org, ids)
    if not mentees:
        raise ValueError("no cohort mentees in the store: ingest the demo programme first")
    return evaluate_matching(
        engine, org, gt, mentees, as_of=day, n_candidates=n_candidates, spread=spread,
        out_dir=out_dir,
    )  # fmt: skip


def synthetic_engine(
    directory: Path,
    *,
    n_mentors: int,
    n_mentees: int,
    seed: int = 0,
    org: str = "default",
    heldout_fraction: float = 0.05,
    encoder: Any | None = None,
) -> tuple[RecommendationEngine, Path]:
    """A generated programme ingested into a fresh store under ``directory``, and an engine
    over it with the cold-start ranker and (by default) the :class:`HashingEncoder`.
    Returns (engine, ground-truth dir). For benchmarks and tests."""
    from models.ranker import RankerModel
    from recsys.context import AppContext
    from recsys.engine import RecommendationEngine
    from recsys.ingest import ingest_dir
    from recsys.settings import Settings
    from recsys.synthetic import generate_programme

    directory = Path(directory)
    summary = generate_programme(
        directory / "data", n_mentors=n_mentors, n_mentees=n_mentees, seed=seed,
        heldout_fraction=heldout_fraction, feedback_rate=0.2,
    )  # fmt: skip
    ctx = AppContext(Settings(home=directory / "home"))
    ctx.settings.ensure_home()
    ctx.migrate()
    ingest_dir(ctx.sessions, directory / "data", org=org)
    enc = encoder or HashingEncoder()
    engine = RecommendationEngine(ctx, ranker=RankerModel.cold_start(enc.encoder_id))
    engine.__dict__["embedder"] = enc  # the engine's cached_property, set before first use
    return engine, summary.ground_truth_dir
