"""Candidate index: build time, recall@10 of HNSW (and IVF) against exact search, and
per-query search latency, on real embeddings of synthetic mentor bios.

    .venv/bin/python -m evaluation.benchmarks.bench_index                 # 10k and 100k
    .venv/bin/python -m evaluation.benchmarks.bench_index --sizes 10000 --queries 300

Vectors: ``recsys.synthetic.generate_programme`` writes ``--encoded`` (10k) mentors and the
mentee cohort (the queries); bios and goals go through ``recsys.catalog.encode_texts`` (the
catalog's own path: up to 4 sentences per text, text vector = normalised mean of its sentence
vectors), with sentences encoded by the ``--backend`` encoder (default onnx-int8) through the
SQLite ``EmbeddingCache``. Pools larger than that are filled with sentence-level variants of
the encoded bios (variant = normalised mean of sentence i taken from a random encoded bio,
for i = 0..3): real sentence vectors, real bio structure, no further encoding (encoding
100k distinct bios takes hours on a 2-core host). The 10k pool is exactly the encoded bios.
Matrices are cached under ``.recsys/bench/``.

Latency is measured the way serving calls the index: one query at a time through
``CandidateIndex.search`` (k=100, the default ``retrieval_candidates``; HNSW then searches
with ef = max(ef_search, 100)) and through ``search_allowed`` with ~30% of mentors masked out
(at capacity / no shared language), which is what ``recsys.recommend`` runs per request.
Recall@10 is measured with k=10, i.e. with the ef_search shown. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.benchmarks.bench_encode import programme_texts
from recsys.retrieval.index import CandidateIndex
from recsys.runtime import configure_threads, import_faiss

RECALL_K = 10
SERVE_K = 100


def compose_variants(per_doc: Sequence[np.ndarray], count: int, seed: int) -> np.ndarray:
    """``count`` new bio vectors, each the normalised mean of real sentence vectors.

    Variant j takes its i-th sentence from the i-th sentence of a random encoded bio, so it
    keeps the bios' structure (background, expertise, mentoring style) and their geometry
    without encoding new text.
    """
    rng = np.random.default_rng(seed)
    dim = per_doc[0].shape[1]
    out = np.empty((count, dim), dtype=np.float32)
    donors = rng.integers(0, len(per_doc), size=(count, 4))
    for j in range(count):
        sentences = [per_doc[d][i] for i, d in enumerate(donors[j]) if i < per_doc[d].shape[0]]
        mean = np.mean(sentences, axis=0)
        out[j] = mean / np.linalg.norm(mean)
    return out


def load_vectors(
    n_mentors: int,
    n_encoded: int,
    n_queries: int,
    seed: int,
    backend: str,
    home: Path,
    threads: int,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(mentor bio vectors, mentee goal vectors, info), cached under ``home/bench``.

    The first ``n_encoded`` mentors are real encoded bios; the rest are sentence-level
    variants of them (:func:`compose_variants`).
    """
    bench_dir = home / "bench"
    bench_dir.mkdir(parents=True, exist_ok=True)
    n_encoded = min(n_encoded, n_mentors)
    spec = f"{n_mentors}:{n_encoded}:{n_queries}:{seed}:{backend}"
    cached = bench_dir / f"index-vectors-{hashlib.sha256(spec.encode()).hexdigest()[:12]}.npz"
    if cached.is_file():
        data = np.load(cached, allow_pickle=False)
        info = json.loads(str(data["info"]))
        info["from_cache"] = str(cached)
        return data["mentors"], data["queries"], info

    import sqlalchemy as sa

    from models.embedder import Embedder
    from recsys.catalog import MAX_BIO_SENTENCES, MAX_GOAL_SENTENCES, encode_texts
    from recsys.db import Base
    from recsys.retrieval.cache import EmbeddingCache

    t0 = time.perf_counter()
    bios, goals = programme_texts(n_encoded, n_queries, seed)
    generate_s = time.perf_counter() - t0
    embedder = Embedder.load(backend=backend, threads=threads, home=home)  # type: ignore[arg-type]
    engine = sa.create_engine(f"sqlite:///{bench_dir / 'embedding-cache.db'}")
    Base.metadata.create_all(engine, tables=[Base.metadata.tables["embedding_cache"]])
    cache = EmbeddingCache(engine)
    before = cache.count(embedder.encoder_id)
    t0 = time.perf_counter()
    bio_texts = encode_texts(
        lambda texts: cache.encode_cached(embedder, texts, show_progress=True),
        bios,
        MAX_BIO_SENTENCES,
    )
    encoded, per_doc = bio_texts.whole, bio_texts.piece_vecs
    queries = encode_texts(
        lambda texts: cache.encode_cached(embedder, texts), goals, MAX_GOAL_SENTENCES
    ).whole
    encode_s = time.perf_counter() - t0
    variants = compose_variants(per_doc, n_mentors - n_encoded, seed)
    mentors = np.vstack([encoded, variants]).astype(np.float32)
    info = {
        "text_source": "recsys.synthetic.generate_programme",
        "encoder_id": embedder.encoder_id,
        "encoded_bios": n_encoded,
        "sentence_variant_bios": n_mentors - n_encoded,
        "sentences_encoded_now": cache.count(embedder.encoder_id) - before,
        "generate_s": round(generate_s, 1),
        "encode_s": round(encode_s, 1),
    }
    np.savez(cached, mentors=mentors, queries=queries, info=np.asarray(json.dumps(info)))
    return mentors, queries, info


def exact_top(mentors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    faiss = import_faiss()
    flat = faiss.IndexFlatIP(mentors.shape[1])
    flat.add(mentors)
    return np.asarray(flat.search(queries, k)[1])


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    k = truth.shape[1]
    return float(np.mean([len(set(f[:k]) & set(t)) / k for f, t in zip(found, truth, strict=True)]))


def _latency(fn: Any, queries: np.ndarray) -> dict[str, float]:
    for q in queries[:20]:
        fn(q)
    ms = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        ms.append((time.perf_counter() - t0) * 1000)
    return {
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
    }


def bench_hnsw(
    mentors: np.ndarray,
    queries: np.ndarray,
    truth: np.ndarray,
    m: int,
    ef_construction: int,
    ef_searches: Sequence[int],
) -> dict[str, Any]:
    ids = [f"m{i}" for i in range(len(mentors))]
    t0 = time.perf_counter()
    index = CandidateIndex.build(
        ids, mentors, encoder_id="bench", index_type="hnsw", hnsw_m=m,
        ef_construction=ef_construction,
    )  # fmt: skip
    build_s = time.perf_counter() - t0
    row: dict[str, Any] = {"hnsw_m": m, "ef_construction": ef_construction,
                           "build_s": round(build_s, 2), "by_ef_search": {}}  # fmt: skip
    for ef in ef_searches:
        index.ef_search = ef
        found_ids, _ = index.search(queries, RECALL_K)
        found = np.asarray([[int(i[1:]) for i in row_ids] for row_ids in found_ids])
        row["by_ef_search"][ef] = {
            "recall_at_10": round(recall_at(found, truth), 4),
            "search_k100": _latency(lambda q, ix=index: ix.search(q, SERVE_K), queries),
            "search_allowed_k100": bench_filtered(index, queries),
        }
    return row


def bench_ivf(
    mentors: np.ndarray, queries: np.ndarray, truth: np.ndarray, nprobes: Sequence[int]
) -> dict[str, Any]:
    faiss = import_faiss()
    dim = mentors.shape[1]
    nlist = int(4 * np.sqrt(len(mentors)))
    t0 = time.perf_counter()
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.train(mentors)
    ivf.add(mentors)
    row: dict[str, Any] = {"nlist": nlist, "build_s": round(time.perf_counter() - t0, 2),
                           "by_nprobe": {}}  # fmt: skip
    for nprobe in nprobes:
        ivf.nprobe = nprobe
        found = ivf.search(queries, RECALL_K)[1]
        row["by_nprobe"][nprobe] = {
            "recall_at_10": round(recall_at(found, truth), 4),
            "search_k100": _latency(lambda q: ivf.search(q[None, :], SERVE_K), queries),
        }
    return row


def bench_flat(mentors: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    ids = [f"m{i}" for i in range(len(mentors))]
    t0 = time.perf_counter()
    index = CandidateIndex.build(ids, mentors, encoder_id="bench", index_type="flat")
    return {
        "build_s": round(time.perf_counter() - t0, 2),
        "search_k100": _latency(lambda q: index.search(q, SERVE_K), queries),
        "search_allowed_k100": bench_filtered(index, queries),
    }


def bench_filtered(index: CandidateIndex, queries: np.ndarray) -> dict[str, float]:
    """search_allowed as recommend() runs it: k=100, ~30% of the pool masked out (full)."""
    rng = np.random.default_rng(0)
    allowed = rng.random(index.slot_count) >= 0.3
    return _latency(lambda q: index.search_allowed(q, SERVE_K, allowed), queries)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument(
        "--encoded", type=int, default=10_000, help="real encoded bios; the rest are variants"
    )
    parser.add_argument("--hnsw-m", type=int, nargs="*", default=[16, 32])
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[32, 64, 128, 256])
    parser.add_argument("--nprobe", type=int, nargs="*", default=[8, 16, 32, 64])
    parser.add_argument("--backend", default="onnx-int8", choices=["torch", "onnx", "onnx-int8"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--home", type=Path, default=Path(".recsys"))
    args = parser.parse_args(argv)
    configure_threads(args.threads)

    pool, queries, info = load_vectors(
        max(args.sizes), args.encoded, args.queries, args.seed, args.backend, args.home,
        args.threads,
    )  # fmt: skip
    results: dict[str, Any] = {"vectors": info, "queries": len(queries), "threads": args.threads,
                               "by_size": {}}  # fmt: skip
    print(json.dumps({"vectors": info}), flush=True)
    for size in sorted(args.sizes):
        mentors = np.ascontiguousarray(pool[:size])
        truth = exact_top(mentors, queries, RECALL_K)
        entry: dict[str, Any] = {"flat": bench_flat(mentors, queries), "hnsw": [], "ivf": None}
        print(json.dumps({"size": size, "flat": entry["flat"]}), flush=True)
        for m in args.hnsw_m:
            row = bench_hnsw(mentors, queries, truth, m, args.ef_construction, args.ef_search)
            entry["hnsw"].append(row)
            print(json.dumps({"size": size, "hnsw": row}), flush=True)
        if args.nprobe:
            entry["ivf"] = bench_ivf(mentors, queries, truth, args.nprobe)
            print(json.dumps({"size": size, "ivf": entry["ivf"]}), flush=True)
        results["by_size"][size] = entry
    results["load_average_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
