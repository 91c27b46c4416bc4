"""`recsys evaluate`: the ranker next to its baselines, on held-out mentees.

Against the generator's ground truth (when the programme is synthetic): every strategy ranks
mentors for the held-out cohort (new mentees, no history) under the same hard constraints and
is scored by NDCG@k with the true expected outcome as gain. Strategies: the champion ranker,
the same ranker on candidates retrieved by goal–bio cosine alone (``ranker_cosine_retrieval``,
the first stage before docs/retrieval.md), the cold-start scorer, embedding-only retrieval,
vendor-style rules, random; optionally the two ranker objectives trained in memory on the
same data (``compare_objectives``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.baselines import feasible_rows, random_baseline, rules_baseline
from evaluation.offline import (
    add_relative_gains,
    exposure_counts,
    ground_truth_scorer,
    run_all,
    score_all,
    term_shortfall,
)
from evaluation.report import ReportSection, strategy_comparison_section, write_report
from models.ranker import RankerModel
from recsys.catalog import MenteeBatch
from recsys.engine import RecommendationEngine
from recsys.recommend import recommend
from recsys.schemas import MenteeIn

log = logging.getLogger(__name__)


@dataclass
class EvaluationResult:
    table: dict[str, dict[str, float]]
    report: Path
    k: int


def strategies_for(
    engine: RecommendationEngine, org: str, as_of: dt.date, models: dict[str, RankerModel]
) -> dict[str, Callable[[Sequence[MenteeIn], int], list[list[str]]]]:
    state = engine.org_state(org)
    catalog, feas = state.catalog, state.feasibility
    n_cand = engine.settings.retrieval_candidates
    batches: dict[tuple[str, ...], MenteeBatch] = {}

    def batch(mentees: Sequence[MenteeIn]) -> MenteeBatch:
        key = tuple(m.id for m in mentees)
        if key not in batches:
            batches[key] = engine.mentee_batch(mentees)
        return batches[key]

    def model_fn(model: RankerModel, strategy: str = "model", first_stage: str | None = None):  # type: ignore[no-untyped-def]
        def run(mentees: Sequence[MenteeIn], k: int) -> list[list[str]]:
            b = batch(mentees)
            return [
                [r.mentor_id for r in recommend(catalog, feas, b, j, model, k=k, as_of=as_of,
                                                n_candidates=n_cand, strategy=strategy,  # type: ignore[arg-type]
                                                first_stage=first_stage,  # type: ignore[arg-type]
                                                learned_exact_max=engine.settings.learned_search)]
                for j in range(len(mentees))
            ]  # fmt: skip

        return run

    out: dict[str, Callable[[Sequence[MenteeIn], int], list[list[str]]]] = {
        name: model_fn(m) for name, m in models.items()
    }
    if "ranker" in models:  # the same ranker on candidates from goal–bio cosine alone
        out["ranker_cosine_retrieval"] = model_fn(models["ranker"], first_stage="cosine")
    out["cold_start"] = model_fn(RankerModel.cold_start(catalog.encoder_id))
    out["embedding"] = model_fn(RankerModel.cold_start(catalog.encoder_id), "embedding")
    out["rules"] = lambda ms, k: [
        rules_baseline(feas, batch(ms), j, k, as_of) for j in range(len(ms))
    ]
    out["random"] = lambda ms, k: [
        random_baseline(feas, batch(ms), j, k, as_of) for j in range(len(ms))
    ]
    return out


def evaluate_ground_truth(
    engine: RecommendationEngine,
    org: str,
    ground_truth_dir: Path,
    out_dir: Path,
    *,
    k: int = 10,
    sample: int = 300,
    as_of: dt.date | None = None,
    extra_models: dict[str, RankerModel] | None = None,
    seed: int = 0,
) -> EvaluationResult:
    from recsys.snapshot import load_mentees
    from recsys.synthetic import load_ground_truth

    gt = load_ground_truth(ground_truth_dir)
    day = as_of or dt.date.fromisoformat(str(gt.meta.get("as_of", dt.date.today().isoformat())))
    ids = list(gt.heldout_mentee_ids)
    rng = np.random.default_rng(seed)
    if len(ids) > sample:
        ids = sorted(rng.choice(ids, size=sample, replace=False).tolist())
    with engine.ctx.sessions() as session:
        mentees = load_mentees(session, org, ids)
    if not mentees:
        raise ValueError(
            "none of the held-out mentees is in the store: ingest the demo programme first"
        )
    catalog = engine.catalog(org)
    all_ids = catalog.ids
    feas = engine.org_state(org).feasibility
    batch = engine.mentee_batch(mentees)
    ideal_cache: dict[str, np.ndarray] = {}
    ideal_lists: dict[str, list[str]] = {}
    for j, m in enumerate(mentees):
        feasible = [all_ids[r] for r in feasible_rows(feas, batch, j, day)]
        ideal_cache[m.id] = gt.expected_outcome_matrix(m.id, feasible, feasible_only=False)
        ideal_lists[m.id] = [feasible[i] for i in np.argsort(-ideal_cache[m.id])[:k]]

    def gain(mentee_id: str, mentor_ids: Sequence[str]) -> np.ndarray:
        return gt.expected_outcome_matrix(mentee_id, list(mentor_ids), feasible_only=False)

    models = {"ranker": engine.ranker, **(extra_models or {})}
    strategies = strategies_for(engine, org, day, models)
    runs = run_all(strategies, mentees, k)
    table = score_all(
        runs, mentees, k, ground_truth_scorer(gain, ideal_cache.__getitem__, len(all_ids))
    )
    primary = f"ndcg@{k}"
    table = add_relative_gains(table, "embedding", [primary, f"ndcg_lift@{k}"])
    table = add_relative_gains(table, "rules", [primary, f"ndcg_lift@{k}"])
    columns = list(next(iter(table.values())))
    shortfall = {
        name: term_shortfall(mentees, lists, ideal_lists, gt.logit_terms)
        for name, lists in runs.items()
    }
    for name, gaps in shortfall.items():
        table[name].update({f"shortfall_{term}@{k}": gap for term, gap in gaps.items()})
    exposures = {name: exposure_counts(lists, len(all_ids)) for name, lists in runs.items()}
    section = strategy_comparison_section(
        table, out_dir, primary_metric=primary, exposures=exposures,
        heading="Held-out mentees vs the generator's ground truth",
        text=(
            f"{len(mentees)} held-out mentees (no history), {len(all_ids)} mentors, as of {day}. "
            f"Gains are the latent expected outcome of each recommended pair; the ideal list is the best "
            f"{k} feasible mentors. Ranker model version: {engine.model_version}."
        ),
        columns=columns,
    )  # fmt: skip
    report = write_report(
        out_dir,
        "Recommendation evaluation",
        [section, _shortfall_section(shortfall, k), _manifest_section(engine)],
    )
    return EvaluationResult(table=table, report=report, k=k)


def _shortfall_section(shortfall: dict[str, dict[str, float]], k: int) -> ReportSection:
    return ReportSection(
        heading="Where the lists fall short of the ideal",
        text=(
            f"Per term of the generator's success logit: its mean over the best {k} feasible "
            f"mentors minus its mean over the strategy's {k}, averaged over the held-out "
            "mentees (log-odds; in JSON as `shortfall_<term>@k`). Positive: what the lists "
            "lose on that term; negative: what they buy more of than the ideal lists do. "
            "A column the ranker cannot see well (the mentor's hidden engagement, a style "
            "few texts state) shows up here."
        ),
        tables=[
            [{"strategy": name, **{t: round(v, 3) for t, v in gaps.items()}}
             for name, gaps in shortfall.items()]
        ],
    )  # fmt: skip


def _manifest_section(engine: RecommendationEngine) -> ReportSection:
    m = engine.ranker.manifest
    rows: list[dict[str, Any]] = [
        {"field": "model version", "value": engine.model_version},
        {"field": "objective", "value": m.objective},
        {"field": "encoder", "value": m.encoder_id},
        {"field": "feature version", "value": m.feature_version},
        {"field": "features", "value": ", ".join(m.feature_names)},
    ]
    return ReportSection(heading="Model", tables=[rows])
