"""Time the synthetic programme generator at full size (100k mentors, 100k mentees, 1M pairings).

Run: ``.venv/bin/python -m evaluation.benchmarks.bench_generate [--mentors N] [--mentees N]
[--pairings N] [--out DIR]``. Prints wall time per stage, rows per file, output sizes and the
peak resident memory. Target: under 2 minutes on 2 cores, under 6 GB.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import tempfile
import time
from pathlib import Path

from recsys.synthetic import generate_programme


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mentors", type=int, default=100_000)
    ap.add_argument("--mentees", type=int, default=100_000)
    ap.add_argument("--pairings", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None, help="keep the output here")
    args = ap.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="bench-generate-"))
    stage_start: dict[str, tuple[float, float]] = {}
    stage_time: dict[str, tuple[float, float]] = {}
    t0 = time.perf_counter()
    cpu0 = time.process_time()

    def progress(stage: str, done: int, total: int) -> None:
        now = (time.perf_counter(), time.process_time())
        stage_start.setdefault(stage, now)
        if done >= total:
            stage_time[stage] = (now[0] - stage_start[stage][0], now[1] - stage_start[stage][1])

    try:
        summary = generate_programme(
            out,
            n_mentors=args.mentors,
            n_mentees=args.mentees,
            n_pairings=args.pairings,
            seed=args.seed,
            progress=progress,
        )
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        print(
            f"generated {args.mentors:,} mentors / {args.mentees:,} mentees / "
            f"{args.pairings:,} pairings requested in {wall:.1f} s wall, {cpu:.1f} s CPU "
            f"(CPU time is the figure to trust on a busy machine)"
        )
        for stage, (secs, cpu_secs) in stage_time.items():
            print(f"  stage {stage:<13} {secs:7.1f} s wall {cpu_secs:7.1f} s CPU")
        for name, n in summary.counts.items():
            size = summary.paths[name].stat().st_size / 1e6
            print(f"  {name:<13} {n:>10,} rows  {size:8.1f} MB")
        gt_size = sum(p.stat().st_size for p in summary.ground_truth_dir.iterdir()) / 1e6
        print(f"  ground_truth  {summary.heldout_mentees:>10,} held-out  {gt_size:8.1f} MB")
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak_mb:,.0f} MB")
    finally:
        if args.out is None:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
