"""Cohort matching at scale: a cohort of 10k mentees over 10k mentors (target: under 60 s on
2 cores), split into candidate pruning (retrieval + pair features + ranker) and the exact
min-cost-flow solve; greedy top-1 on the same graph for comparison.

    .venv/bin/python -m evaluation.benchmarks.bench_matching
    .venv/bin/python -m evaluation.benchmarks.bench_matching --mentors 2000 --mentees 2000

A synthetic programme is generated and ingested into a temporary store; texts go through
the catalog's own path with the hashing encoder (``evaluation.matching_eval.HashingEncoder``):
embedding is not what is measured here (serving reads cached vectors). The cohort is every
mentee of the programme, matched with the cold-start ranker. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentors", type=int, default=10_000)
    parser.add_argument("--mentees", type=int, default=10_000)
    parser.add_argument("--candidates", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from recsys.runtime import configure_threads

    configure_threads(args.threads)
    from evaluation.matching_eval import synthetic_engine
    from recsys.matching import (
        MatchOptions,
        build_candidates,
        greedy_assignment,
        match_batch,
        solve_assignment,
    )
    from recsys.snapshot import load_mentees

    out: dict[str, Any] = {"mentors": args.mentors, "mentees": args.mentees,
                           "candidates_per_mentee": args.candidates, "threads": args.threads}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        engine, gt_dir = synthetic_engine(
            Path(tmp), n_mentors=args.mentors, n_mentees=args.mentees, seed=args.seed,
            org="bench", heldout_fraction=0.05,
        )  # fmt: skip
        out["setup_generate_ingest_s"] = round(time.perf_counter() - t0, 2)
        as_of = dt.date(2026, 10, 1)
        t0 = time.perf_counter()
        state = engine.org_state("bench")
        with engine.ctx.sessions() as session:
            cohort = load_mentees(session, "bench")
        batch = engine.mentee_batch(cohort)
        out["setup_catalog_and_embeddings_s"] = round(time.perf_counter() - t0, 2)
        model = engine.ranker

        t0 = time.perf_counter()
        graph = build_candidates(
            state.catalog, state.feasibility, batch, model, as_of=as_of,
            n_candidates=args.candidates,
        )  # fmt: skip
        t_cand = time.perf_counter() - t0
        args_ = (graph.mentee, graph.row, graph.probability, graph.slots, len(cohort))
        t0 = time.perf_counter()
        best = solve_assignment(*args_)
        t_best = time.perf_counter() - t0
        t0 = time.perf_counter()
        most = solve_assignment(*args_, objective="most_matched")
        t_most = time.perf_counter() - t0
        greedy = greedy_assignment(*args_)
        t0 = time.perf_counter()
        full = match_batch(state.catalog, state.feasibility, batch, model, as_of=as_of,
                           options=MatchOptions(n_candidates=args.candidates))  # fmt: skip
        t_full = time.perf_counter() - t0
        out.update(
            candidate_edges=graph.n_edges,
            free_slots=int(graph.slots.sum()),
            candidates_s=round(t_cand, 2),
            solve_best_total_s=round(t_best, 2),
            solve_most_matched_s=round(t_most, 2),
            match_cohort_end_to_end_s=round(t_full, 2),
            end_to_end_breakdown_s=full.summary["seconds"],
            matched={
                "best_total": int(best.sum()),
                "most_matched": int(most.sum()),
                "greedy_top1": int(greedy.sum()),
            },
            predicted_success={
                "best_total": round(float(graph.probability[best].sum()), 2),
                "most_matched": round(float(graph.probability[most].sum()), 2),
                "greedy_top1": round(float(graph.probability[greedy].sum()), 2),
            },
            under_60s=bool(t_full < 60.0),
        )
        del gt_dir
    print(
        json.dumps(
            out, indent=2, default=lambda v: v.item() if isinstance(v, np.generic) else str(v)
        )
    )
    return out


if __name__ == "__main__":
    main()
