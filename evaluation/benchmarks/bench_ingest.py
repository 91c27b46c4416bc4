"""Ingest throughput: write contract files of a given size, ingest them into a fresh SQLite
store, ingest them again (the idempotent re-run), then export.

    .venv/bin/python -m evaluation.benchmarks.bench_ingest            # 100k/100k/300k
    .venv/bin/python -m evaluation.benchmarks.bench_ingest --mentors 10000 --mentees 10000 \
        --pairings 30000 --format csv

The target is >= 20k rows/s for the first ingest on SQLite. The files are simple synthetic
rows written here (not the project's synthetic data generator) so the benchmark measures
parsing, validation and storage only. Prints one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from recsys.export import export_dir
from recsys.ingest import ingest_dir
from recsys.store import make_engine, migrate, session_factory

_TIMEZONES = ("Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo", "UTC")
_LANGS = ("en", "de", "fr", "es", "ja", "pt")
_SKILLS = tuple(f"skill-{i}" for i in range(200))
_WORDS = tuple(
    [
        "mentor",
        "growth",
        "leadership",
        "python",
        "data",
        "design",
        "product",
        "strategy",
        "career",
        "feedback",
        "team",
        "communication",
        "planning",
        "roadmap",
        "architecture",
        "testing",
        "cloud",
        "security",
        "analytics",
    ]
)


def _person(rng: random.Random, prefix: str, i: int) -> dict[str, Any]:
    return {
        "id": f"{prefix}{i:07d}",
        "title": rng.choice(("Engineer", "Analyst", "Manager", "Designer")),
        "department": rng.choice(("R&D", "Sales", "Finance", "Ops")),
        "seniority": rng.randint(1, 8),
        "timezone": rng.choice(_TIMEZONES),
        "languages": rng.sample(_LANGS, rng.randint(1, 2)),
        "skills": rng.sample(_SKILLS, rng.randint(0, 5)),
    }


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def make_rows(
    n_mentors: int, n_mentees: int, n_pairings: int, seed: int = 0
) -> dict[str, Iterator[dict[str, Any]]]:
    """Lazily generated rows per entity (generated while written, so memory stays flat)."""
    rng = random.Random(seed)

    def mentors() -> Iterator[dict[str, Any]]:
        for i in range(n_mentors):
            yield {**_person(rng, "m", i), "bio": _text(rng, 40), "capacity": rng.randint(0, 4),
                   "active": rng.random() > 0.05}  # fmt: skip

    def mentees() -> Iterator[dict[str, Any]]:
        for i in range(n_mentees):
            excluded = [f"m{rng.randrange(n_mentors):07d}"] if rng.random() < 0.2 else []
            yield {**_person(rng, "e", i), "goals": _text(rng, 25), "excluded_mentor_ids": excluded}

    def pairings() -> Iterator[dict[str, Any]]:
        day0 = dt.date(2022, 1, 1)
        for i in range(n_pairings):
            start = day0 + dt.timedelta(days=rng.randrange(900))
            status = rng.choice(("active", "completed", "ended_early"))
            ended = None if status == "active" else start + dt.timedelta(days=rng.randint(10, 200))
            yield {
                "id": f"p{i:07d}", "mentor_id": f"m{rng.randrange(n_mentors):07d}",
                "mentee_id": f"e{rng.randrange(n_mentees):07d}", "started_at": start.isoformat(),
                "ended_at": ended.isoformat() if ended else None, "status": status,
                "rating": rng.randint(1, 5) if ended else None,
                "goals_met": rng.random() > 0.4 if ended else None,
            }  # fmt: skip

    return {"mentors": mentors(), "mentees": mentees(), "pairings": pairings()}


def _csv_value(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else value


def write_files(directory: Path, rows: dict[str, Iterator[dict[str, Any]]], fmt: str) -> None:
    for entity, items in rows.items():
        path = directory / f"{entity}.{fmt}"
        if fmt == "jsonl":
            with path.open("wb") as fh:
                for row in items:
                    fh.write(orjson.dumps(row) + b"\n")
            continue
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            for i, row in enumerate(items):
                if i == 0:
                    writer.writerow(list(row))
                writer.writerow([_csv_value(v) for v in row.values()])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--mentors", type=int, default=100_000)
    ap.add_argument("--mentees", type=int, default=100_000)
    ap.add_argument("--pairings", type=int, default=300_000)
    ap.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    ap.add_argument("--database-url", default=None, help="default: SQLite in a temp directory")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        root = Path(tmp)
        data = root / "data"
        data.mkdir()
        write_files(
            data, make_rows(args.mentors, args.mentees, args.pairings, args.seed), args.format
        )
        n_rows = args.mentors + args.mentees + args.pairings
        engine = make_engine(args.database_url or f"sqlite:///{root / 'bench.db'}")
        migrate(engine)
        factory = session_factory(engine)

        t0, c0 = time.perf_counter(), time.process_time()
        first = ingest_dir(factory, data)
        t_first, c_first = time.perf_counter() - t0, time.process_time() - c0
        t0 = time.perf_counter()
        again = ingest_dir(factory, data)
        t_again = time.perf_counter() - t0
        t0 = time.perf_counter()
        exported = export_dir(factory, root / "export")
        t_export = time.perf_counter() - t0
        engine.dispose()

    assert first.counts == again.counts and not first.errors, (first.counts, first.errors[:5])
    result = {
        "format": args.format,
        "rows": n_rows,
        "counts": first.counts,
        "ingest_s": round(t_first, 2),
        "ingest_rows_per_s": round(n_rows / t_first),
        # CPU time of this process: less sensitive than wall time to other load on the host
        "ingest_cpu_s": round(c_first, 2),
        "ingest_rows_per_cpu_s": round(n_rows / c_first),
        "reingest_s": round(t_again, 2),
        "reingest_rows_per_s": round(n_rows / t_again),
        "export_s": round(t_export, 2),
        "export_rows_per_s": round(sum(exported.values()) / t_export),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "target_rows_per_s": 20_000,
    }
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
