"""Ranker training time on a programme with ~100k pairings.

Text embeddings are computed at ingest and cached (see bench_encode for encoder throughput),
so this uses the fast hashing encoder to time what `recsys train ranker` itself does:
dataset building (labels, groups), pair features, and the LightGBM fits (``--members`` of them,
each a lambdarank and a regression fit, averaged into the served booster).

    .venv/bin/python -m evaluation.benchmarks.bench_train [--pairings 100000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    from evaluation.matching_eval import synthetic_engine
    from training.pipeline import ranking_dataset
    from training.ranker import MEMBERS, fit_ranker

    ap = argparse.ArgumentParser()
    ap.add_argument("--pairings", type=int, default=100_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--members", type=int, default=MEMBERS)
    args = ap.parse_args()
    n_mentees = int(args.pairings / 1.3 / 0.95) + 1
    n_mentors = max(1000, n_mentees // 8)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        engine, _ = synthetic_engine(Path(tmp), n_mentors=n_mentors, n_mentees=n_mentees, seed=0)
        t1 = time.perf_counter()
        ds = ranking_dataset(engine.ctx, engine, org="default")
        t2 = time.perf_counter()
        result = fit_ranker(
            ds, encoder_id=engine.embedder.encoder_id, threads=args.threads, members=args.members
        )
        t3 = time.perf_counter()
    print(
        f"programme: {n_mentors} mentors, {n_mentees} mentees (generate + ingest {t1 - t0:.1f} s)"
    )
    print(f"examples: {len(ds)} rows ({int(ds.from_log.sum())} from logged lists)")
    print(f"dataset + features: {t2 - t1:.1f} s")
    print(
        f"LightGBM fit ({args.threads} threads, {args.members} members): {t3 - t2:.1f} s, "
        f"{result.metrics['best_iteration']:.0f} trees"
    )
    print(f"train total (dataset + fit): {t3 - t1:.1f} s")


if __name__ == "__main__":
    main()
