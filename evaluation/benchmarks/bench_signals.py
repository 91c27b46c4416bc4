"""Throughput of :meth:`models.signals.SignalMiner.analyze` (notes per second).

``python -m evaluation.benchmarks.bench_signals [--model DIR] [--notes N] [--threads 2]``

Without ``--model`` a miner is trained first into a temporary folder (not timed). Notes are
taken from the held-out test set, cycled to ``--notes``; only counts and timings are printed,
never note text. Target: ≥ 2,000 notes/s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--notes", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    if hasattr(os, "sched_setaffinity") and args.threads < (os.cpu_count() or 1):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: args.threads]))

    from models.signals import SignalMiner
    from training.signals import DEFAULT_TEST_PATH, read_jsonl, train_signal_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model
        if model_dir is None:
            started = time.perf_counter()
            model_dir = Path(tmp) / "signals"
            train_signal_pipeline(model_dir)
            print(f"trained a miner in {time.perf_counter() - started:.1f} s (not timed below)")
        miner = SignalMiner.load(model_dir)
        base = [row["text"] for row in read_jsonl(DEFAULT_TEST_PATH)]
        notes = [base[i % len(base)] for i in range(args.notes)]
        n_chars = sum(len(t) for t in notes)
        miner.analyze(notes[:512], batch_size=args.batch_size)  # warm-up
        rates: list[float] = []
        cpu_rates: list[float] = []
        n_signals = 0
        for _ in range(args.repeats):
            started, cpu_started = time.perf_counter(), time.process_time()
            results = miner.analyze(notes, batch_size=args.batch_size)
            rates.append(len(notes) / (time.perf_counter() - started))
            cpu_rates.append(len(notes) / max(time.process_time() - cpu_started, 1e-9))
            n_signals = sum(len(r) for r in results)
    print(
        f"notes: {len(notes)}  mean length: {n_chars / len(notes):.0f} chars  "
        f"threads: {args.threads}  batch size: {args.batch_size}"
    )
    print(
        f"analyze throughput: median {statistics.median(rates):,.0f} notes/s "
        f"(min {min(rates):,.0f}, max {max(rates):,.0f}, {args.repeats} runs)"
    )
    # CPU time tells what the code costs when the host is shared with other work
    print(f"per CPU-second of this process: median {statistics.median(cpu_rates):,.0f} notes")
    print(f"signals detected per run: {n_signals}")
    print("target >= 2,000 notes/s:", "met" if statistics.median(rates) >= 2000 else "NOT met")


if __name__ == "__main__":
    main()
