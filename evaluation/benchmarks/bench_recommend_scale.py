"""Recommendation latency at catalog sizes that are too slow to embed here (e.g. 100k mentors).

Loads the catalog that ``bench_recommend`` stored under ``--home`` (real texts, real
embeddings, the trained ranker), then grows it ``--replicate`` times: each copy gets new ids
and its bio vectors jittered (Gaussian noise, renormalised) so the index is not degenerate;
profile fields, sentences and skills are copied. The index is rebuilt with the configured type
(``auto`` → HNSW above 20k). Times one recommendation per mentee (inline text, encoded per
request), as in ``bench_recommend``. Encoding 100k distinct bios would take ~1 h on 2 cores,
which is why the vectors are replicated: latency depends on sizes, not on the words.

    .venv/bin/python -m evaluation.benchmarks.bench_recommend --mentors 10000 --home /tmp/bench10k
    .venv/bin/python -m evaluation.benchmarks.bench_recommend_scale --home /tmp/bench10k --replicate 10
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import statistics
import time
from pathlib import Path

import numpy as np

ORG = "bench"


def main() -> None:
    from recsys.context import AppContext
    from recsys.engine import OrgState, RecommendationEngine
    from recsys.recommend import FeasibilityCache
    from recsys.retrieval.index import CandidateIndex
    from recsys.settings import Settings
    from recsys.snapshot import load_mentees

    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--replicate", type=int, default=10)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--noise", type=float, default=0.02)
    args = ap.parse_args()

    # inline text encoded per request, as bench_recommend measures it (inline cache off)
    ctx = AppContext(Settings(home=args.home, org=ORG, inline_cache_entries=0))
    engine = RecommendationEngine(ctx)
    base = engine.catalog(ORG)
    r = args.replicate
    rng = np.random.default_rng(0)
    bio = np.vstack(
        [base.bio_vec]
        + [base.bio_vec + rng.normal(0, args.noise, base.bio_vec.shape) for _ in range(r - 1)]
    )
    bio = (bio / np.linalg.norm(bio, axis=1, keepdims=True)).astype(np.float32)
    ids = [f"{m}#{c}" if c else m for c in range(r) for m in base.ids]
    big = dataclasses.replace(
        base,
        ids=ids,
        row_of={m: i for i, m in enumerate(ids)},
        seniority=np.tile(base.seniority, r),
        timezone=base.timezone * r,
        languages=base.languages * r,
        lang_vocab=dict(base.lang_vocab),
        lang_bits=np.tile(base.lang_bits, (r, 1)),
        skills=base.skills * r,
        skills_raw=base.skills_raw * r,
        department=np.tile(base.department, r),
        capacity=np.tile(base.capacity, r),
        active=np.tile(base.active, r),
        location=base.location * r,
        group=base.group * r,
        bio_sentences=base.bio_sentences * r,
        bio_sentence_style=base.bio_sentence_style * r,
        bio_vec=bio,
        skills_vec=np.tile(base.skills_vec, (r, 1)),
        bio_sent_vecs=np.tile(base.bio_sent_vecs, (r, 1, 1)),
        bio_sent_mask=np.tile(base.bio_sent_mask, (r, 1)),
        style=np.tile(base.style, (r, 1)),
    )
    t0 = time.perf_counter()
    big.index = CandidateIndex.from_settings(
        big.ids, big.bio_vec, encoder_id=big.encoder_id, settings=ctx.settings
    )
    build_s = time.perf_counter() - t0
    engine._orgs[ORG] = OrgState(big, FeasibilityCache(big))  # the grown catalog serves
    with ctx.sessions() as session:
        mentees = load_mentees(session, ORG)[: args.requests + 10]
    day = dt.date(2026, 10, 1)
    for m in mentees[:10]:
        engine.recommend(ORG, [m], k=10, as_of=day, cached_text=False)
    times = []
    for m in mentees[10:]:
        t = time.perf_counter()
        engine.recommend(ORG, [m], k=10, as_of=day, cached_text=False)
        times.append((time.perf_counter() - t) * 1000)
    q = statistics.quantiles(times, n=100, method="inclusive")
    print(json.dumps({
        "mentors": len(big), "index": big.index.index_type, "index_build_s": round(build_s, 1),
        "encoder": big.encoder_id, "ranker": engine.model_version, "requests": len(times),
        "total_ms": {"p50": round(q[49], 2), "p99": round(q[98], 2), "mean": round(statistics.mean(times), 2)},
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
