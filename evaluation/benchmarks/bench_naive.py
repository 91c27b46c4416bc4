"""The serving target's yardstick: a naive embed -> search -> rerank route, next to ``recsys serve``.

    .venv/bin/python -m evaluation.benchmarks.bench_naive --home H --rounds 3
    .venv/bin/python -m evaluation.benchmarks.bench_naive --home H --backends torch onnx-int8

The serving issue sets inline throughput at c=8 (2 cores) at >= 100 req/s and says that "a
naive embed -> search -> rerank route reaches about 80". Throughput on a shared 2-core VM
drifts by tens of percent from day to day, so this benchmark runs that naive route and the
service on the same machine, against the same store and the same request bodies, interleaved
(naive, service, naive, service...), and reports both and their ratio: the ratio says what the
service would reach on a machine where the naive route reaches 80.

The naive route is what a competent first version looks like, one file, no tuning:

* a FastAPI ``def`` route (FastAPI's thread pool) under uvicorn, one worker;
* ``SentenceTransformer.encode(goals, normalize_embeddings=True)`` on the whole goal text
  (``torch`` fp32 by default, or the same int8 ONNX export the service uses);
* a FAISS HNSW index (M 32, efSearch 128, the service's settings) over the same mentor
  vectors, searched for 200 and filtered afterwards (active, free capacity, shared language,
  exclusions, never the mentee);
* five pair features computed in Python per candidate (cosine, seniority gap, shared
  languages, same department, shared skills) and a LightGBM booster of 100 trees (31 leaves),
  trained at start-up on random rows (scoring cost is what matters here);
* the top ``k`` as JSON, with one reason each.

Set-up (not timed): the mentors of the ``bench_recommend`` store under ``--home`` (build it
first: ``bench_recommend --mentors 10000 --compose-to 100000 --home H``) are read with their
bio vectors from the embedding cache and written to ``H/naive/`` with the HNSW index (built
once, then reused). The load generator is wrk (``apt-get install wrk``). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evaluation.benchmarks.bench_recommend import ORG, K, server_cpu, thread_cpu_seconds

SEARCH = 200
N_FEATURES = 5


# ----------------------------------------------------------------------------- naive service
class NaiveMentee(BaseModel):
    id: str
    seniority: int
    department: str = ""
    languages: list[str]
    skills: list[str] = Field(default_factory=list)
    goals: str
    excluded_mentor_ids: list[str] = Field(default_factory=list)


class NaiveRequest(BaseModel):
    mentee: NaiveMentee
    k: int = Field(default=10, ge=1, le=100)


def naive_app() -> Any:
    """The naive service (``uvicorn --factory``), reading ``NAIVE_DATA`` / ``NAIVE_BACKEND``."""
    import faiss
    import lightgbm as lgb
    import numpy as np
    from fastapi import FastAPI
    from sentence_transformers import SentenceTransformer

    from models.embedder import bundled_model_path

    data = Path(os.environ["NAIVE_DATA"])
    backend = os.environ.get("NAIVE_BACKEND", "torch")
    path = str(bundled_model_path())
    if backend == "torch":
        model = SentenceTransformer(path, device="cpu")
    else:  # the int8 export the service made under its home (the same file it serves)
        onnx_dir = os.environ["NAIVE_ONNX_DIR"]
        model = SentenceTransformer(
            onnx_dir, device="cpu", backend="onnx",
            model_kwargs={"file_name": os.environ["NAIVE_ONNX_FILE"]},
        )  # fmt: skip
    index = faiss.read_index(str(data / "hnsw.faiss"))
    faiss.ParameterSpace().set_index_parameter(index, "efSearch", 128)
    mentors = json.loads((data / "mentors.json").read_text())
    rng = np.random.default_rng(0)
    x = rng.random((5000, N_FEATURES))
    booster = lgb.train(
        {"objective": "regression", "num_leaves": 31, "verbose": -1},
        lgb.Dataset(x, x @ rng.random(N_FEATURES) + rng.normal(0, 0.1, 5000)),
        num_boost_round=100,
    )

    app = FastAPI()

    @app.get("/readyz")
    def ready() -> dict[str, str]:
        return {"status": "ready"}

    @app.post("/v1/recommendations")
    def recommend(req: NaiveRequest) -> dict[str, Any]:
        m = req.mentee
        query = model.encode([m.goals], normalize_embeddings=True)
        sims, ids = index.search(np.asarray(query, dtype=np.float32), SEARCH)
        langs, skills, excluded = set(m.languages), set(m.skills), set(m.excluded_mentor_ids)
        rows, feats = [], []
        for sim, i in zip(sims[0], ids[0], strict=True):
            mentor = mentors[i]
            if (
                i < 0
                or not mentor["open"]
                or mentor["id"] == m.id
                or mentor["id"] in excluded
                or not langs & set(mentor["languages"])
            ):
                continue
            shared = skills & set(mentor["skills"])
            rows.append((mentor, sorted(shared)))
            feats.append([
                float(sim), mentor["seniority"] - m.seniority,
                len(langs & set(mentor["languages"])),
                float(mentor["department"] == m.department), len(shared),
            ])  # fmt: skip
        if not rows:
            return {"mentee_id": m.id, "recommendations": []}
        scores = np.asarray(booster.predict(np.asarray(feats)), dtype=np.float64)
        best = np.argsort(-scores)[: req.k]
        return {
            "mentee_id": m.id,
            "recommendations": [
                {
                    "mentor_id": rows[j][0]["id"],
                    "rank": r + 1,
                    "score": float(scores[j]),
                    "reasons": [f"shared skills: {', '.join(rows[j][1])}"]
                    if rows[j][1]
                    else ["similar goals and experience"],
                }
                for r, j in enumerate(best)
            ],
        }

    return app


# ----------------------------------------------------------------------------- set-up
def prepare(ctx: Any, where: Path, log: Any) -> None:
    """Mentor fields and an HNSW index of their bio vectors for the naive service."""
    if (where / "hnsw.faiss").exists():
        return
    import faiss
    import numpy as np

    from recsys.engine import RecommendationEngine

    where.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    catalog = RecommendationEngine(ctx).catalog(ORG)
    open_ = catalog.active & (catalog.capacity > catalog.history.load(
        np.arange(len(catalog)), np.full(len(catalog), np.datetime64("2026-10-01", "D"))
    ))  # fmt: skip
    mentors = [
        {
            "id": catalog.ids[i],
            "seniority": int(catalog.seniority[i]),
            "department": str(catalog.department[i]),
            "languages": sorted(catalog.languages[i]),
            "skills": sorted(catalog.skills[i]),
            "open": bool(open_[i]),
        }
        for i in range(len(catalog))
    ]
    (where / "mentors.json").write_text(json.dumps(mentors))
    vectors = np.ascontiguousarray(catalog.bio_vec, dtype=np.float32)
    index = faiss.IndexHNSWFlat(vectors.shape[1], 32, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = 80
    index.add(vectors)
    faiss.write_index(index, str(where / "hnsw.faiss"))
    log(
        f"naive service data: {len(mentors)} mentors, index built in {time.perf_counter() - t0:.0f} s"
    )


@contextlib.contextmanager
def naive_service(
    data: Path, backend: str, onnx: tuple[str, str] | None, log_file: Path
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    from recsys.commands.service import free_port, wait_ready

    port = free_port()
    env = {**os.environ, "NAIVE_DATA": str(data), "NAIVE_BACKEND": backend, "HF_HUB_OFFLINE": "1"}
    if onnx is not None:
        env |= {"NAIVE_ONNX_DIR": onnx[0], "NAIVE_ONNX_FILE": onnx[1]}
    cmd = [
        sys.executable, "-m", "uvicorn", "evaluation.benchmarks.bench_naive:naive_app",
        "--factory", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    with log_file.open("wb") as sink:
        proc = subprocess.Popen(cmd, env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, log_file, 600)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def onnx_export(settings: Any) -> tuple[str, str] | None:
    """The service's int8 ONNX export (directory, file name inside it), if it made one."""
    from models.embedder import _int8_file, int8_quantization_config

    preset = int8_quantization_config()
    for where in (settings.encoder_cache_dir, settings.home / "encoders"):
        for export_dir in sorted(where.glob("*/")):
            file_name = _int8_file(export_dir, preset)
            if file_name is not None:
                return str(export_dir), file_name
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="a bench_recommend store")
    parser.add_argument("--backends", nargs="+", default=["torch"], choices=["torch", "onnx-int8"])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[8])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--skip-service", action="store_true", help="only the naive route")
    args = parser.parse_args(argv)

    import httpx

    from evaluation.benchmarks.bench_http import run_wrk
    from recsys import keys, store
    from recsys.commands.service import running_service
    from recsys.context import AppContext
    from recsys.settings import Settings
    from recsys.snapshot import load_mentees

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    settings = Settings(
        home=args.home, org=ORG, rate_limit_per_minute=10**9, inline_cache_entries=0
    )
    ctx = AppContext(settings)
    data = args.home / "naive"
    prepare(ctx, data, log)
    with store.transaction(ctx.sessions) as session:
        _, key = keys.create_key(session, ORG, "bench-naive", ["app"])
    with ctx.sessions() as session:
        mentees = load_mentees(session, ORG)
    bodies = [{"mentee": m.model_dump(mode="json"), "k": K, "as_of": "2026-10-01"} for m in mentees]
    onnx = onnx_export(settings)
    if "onnx-int8" in args.backends and onnx is None:
        parser.error("no int8 ONNX export in the encoder cache: run bench_recommend first")

    @contextlib.contextmanager
    def server(name: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
        log_file = args.home / f"bench-{name}.log"
        if name == "service":
            with running_service(settings, log=log_file) as running:
                yield running
        else:
            backend = name.removeprefix("naive-")
            with naive_service(data, backend, onnx, log_file) as running:
                yield running

    names = [f"naive-{b}" for b in args.backends] + ([] if args.skip_service else ["service"])
    runs: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for name in names:
            with server(name) as (base, proc):
                with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as c:
                    for i in range(args.warmup):
                        c.post(
                            "/v1/recommendations", json=bodies[i % len(bodies)]
                        ).raise_for_status()
                for conc in args.concurrency:
                    before = thread_cpu_seconds(proc.pid)
                    result = run_wrk(base, key, "/v1/recommendations", bodies,
                                     concurrency=conc, seconds=args.seconds)  # fmt: skip
                    result.update(server_cpu(before, thread_cpu_seconds(proc.pid), result))
                    result.pop("server_cpu_ms_by_thread", None)
                    runs.setdefault(f"{name}_c{conc}", []).append(result)
                    log(f"{name} c={conc}: {result['rps']} req/s, p50 {result['p50_ms']} ms")
    out: dict[str, Any] = {"mentors": len(json.loads((data / "mentors.json").read_text()))}
    for scenario, results in runs.items():
        out[scenario] = {
            "rps_per_round": [r["rps"] for r in results],
            "rps_median": statistics.median(r["rps"] for r in results),
            "p50_ms_median": statistics.median(r["p50_ms"] for r in results),
            "p99_ms_median": statistics.median(r["p99_ms"] for r in results),
            "server_cpu_ms_per_request_median": statistics.median(
                r.get("server_cpu_ms_per_request", float("nan")) for r in results
            ),
            "errors": sum(r["errors"] for r in results),
        }
    for conc in args.concurrency:
        service = out.get(f"service_c{conc}")
        for backend in args.backends:
            naive = out.get(f"naive-{backend}_c{conc}")
            if service and naive:
                ratios = [
                    s["rps"] / n["rps"]
                    for s, n in zip(runs[f"service_c{conc}"], runs[f"naive-{backend}_c{conc}"],
                                    strict=True)
                ]  # fmt: skip
                out[f"service_vs_naive-{backend}_c{conc}"] = {
                    "ratio_per_round": [round(r, 2) for r in ratios],
                    "ratio_median": round(statistics.median(ratios), 2),
                    "service_where_naive_reaches_80": round(80 * statistics.median(ratios), 1),
                }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
