"""Latency of one recommendation (inline mentee text, the serving path) at catalog scale.

    .venv/bin/python -m evaluation.benchmarks.bench_recommend --mentors 10000
    .venv/bin/python -m evaluation.benchmarks.bench_recommend --mentors 100000 \\
        --backend onnx-int8 --home .recsys-bench/100k          # reuses the embedding cache
    .venv/bin/python -m evaluation.benchmarks.bench_recommend --mentors 10000 --http

Set-up (not timed): a synthetic programme with ``--mentors`` mentors from
``recsys.synthetic.generate_programme`` is ingested into ``--home`` (a temp dir by default)
and every mentor text is embedded through the embedding cache, so a second run with the same
``--home`` skips encoding; a ranker is trained on a small programme in the same store
(``train_ranker``: registered as champion, so the service loads the same one), or, with
``--ranker-from HOME``, the champion of another store is registered instead: a large
programme's ranker keeps several hundred trees, where the bench's own small one keeps far
fewer, and the rank and reasons stages grow with them. At 100k
mentors encoding dominates set-up: use ``--backend onnx-int8`` and a persistent ``--home``.

Timed: ``--requests`` recommendations (k=10) for the programme's mentees as inline profiles
(text encoded per request: the service's in-memory inline cache is off unless
``--inline-cache N`` turns it on, and then, as requests cycle over the same mentees, the inline
figures are those of an app sending profiles it sent before), one at a time on one thread with
``settings.threads`` threads, after ``--warmup`` untimed ones. Reported per stage (p50 / p99 ms):
``encode`` (goal sentences), ``retrieve`` (index search with the hard constraints as a mask),
``features`` (pair inputs + pair features), ``rank`` (ranker scores, top k), ``reasons``
(contributions and reason text for the top k), and ``total`` = ``RecommendationEngine.recommend``
end to end (timed separately; the stages are a re-run of the same building blocks).

``--http`` also starts the service (``recsys serve``, one worker, as deployed) on the same store
and drives ``POST /v1/recommendations`` for ``--seconds`` at each ``--concurrency`` level, with
``--modes inline`` (profile in the body, goal encoded per request) and/or ``id`` (a stored
mentee: goal vectors from the embedding cache). The load generator is wrk when installed
(``apt-get install wrk``; a C client leaves the 2 cores to the server), else a bounded async
httpx loop (``--client httpx``). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ORG = "bench"
TRAIN_ORG = "bench-train"
TRAIN_SIZE = (300, 900)
K = 10


def _pcts(ms: list[float]) -> dict[str, float]:
    if len(ms) < 2:
        return {"p50": round(ms[0], 2) if ms else float("nan"), "p99": float("nan")}
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": round(q[49], 2), "p99": round(q[98], 2), "mean": round(statistics.mean(ms), 2)}


@contextlib.contextmanager
def _timer(into: list[float]) -> Iterator[None]:
    t0 = time.perf_counter()
    yield
    into.append((time.perf_counter() - t0) * 1000)


def _generate_and_ingest(ctx: Any, org: str, n_mentors: int, n_mentees: int, where: Path) -> None:
    from sqlalchemy import func, select

    from recsys import db
    from recsys.ingest import ingest_dir
    from recsys.synthetic import generate_programme

    with ctx.sessions() as session:
        have = session.scalar(select(func.count()).where(db.Mentor.org_id == org))
    if have == n_mentors:
        return
    generate_programme(where, n_mentors=n_mentors, n_mentees=n_mentees, seed=5, feedback_rate=0.0)
    ingest_dir(ctx.sessions, where, org=org)


def compose_mentors(ctx: Any, org: str, target: int, seed: int = 11) -> int:
    """Grow ``org`` to ``target`` mentors whose bios recombine the stored mentors' sentences.

    Each new mentor copies a stored profile (title, skills, languages, capacity …) and gets a
    bio of 3–4 sentences drawn from different stored bios, so its bio vector (the mean of its
    sentence vectors) is new while every sentence is already in the embedding cache: a 100k
    catalog of distinct, real-text vectors without encoding 400k new sentences (about 30 min
    here). Used for latency and throughput only; these mentors have no ground truth. Returns
    how many mentors were added.
    """
    import random

    from sqlalchemy import func, select

    from features.text import split_sentences
    from recsys import db, store
    from recsys.catalog import MAX_SPLIT
    from recsys.snapshot import load_mentors

    with ctx.sessions() as session:
        have = int(session.scalar(select(func.count()).where(db.Mentor.org_id == org)) or 0)
        if have >= target:
            return 0
        base = load_mentors(session, org)
    rng = random.Random(seed)
    pool = [s for m in base for s in split_sentences(m.bio, MAX_SPLIT)]
    rows = []
    for i in range(target - have):
        proto = base[rng.randrange(len(base))].model_dump(mode="json")
        bio = " ".join(rng.sample(pool, rng.choice((3, 4))))
        rows.append({**proto, "id": f"composed-{i}", "bio": bio})
    with store.transaction(ctx.sessions) as session:
        for lo in range(0, len(rows), 5000):
            store.upsert_rows(session, "mentors", org, rows[lo : lo + 5000])
    return len(rows)


def setup(
    home: Path,
    n_mentors: int,
    n_mentees: int,
    log: Callable[[str], None],
    compose_to: int | None = None,
    inline_cache_entries: int = 0,
    ranker_from: Path | None = None,
) -> Any:
    """Store, embeddings, index and a champion ranker under ``home``; returns the context.

    ``compose_to``: then grow the catalog to that many mentors (see :func:`compose_mentors`).
    ``inline_cache_entries``: the in-memory inline-profile cache (``RECSYS_INLINE_CACHE_ENTRIES``)
    of the engine and the service; 0 (the default here) encodes every request's text.
    """
    from recsys.context import AppContext
    from recsys.engine import RecommendationEngine
    from recsys.settings import Settings
    from training.pipeline import train_ranker
    from training.tracking import champion, setup_mlflow

    settings = Settings(
        home=home,
        org=ORG,
        rate_limit_per_minute=10**9,
        inline_cache_entries=inline_cache_entries,
    )
    ctx = AppContext(settings)
    ctx.migrate()
    t0 = time.perf_counter()
    _generate_and_ingest(ctx, ORG, n_mentors, n_mentees, home / "data")
    log(f"programme stored in {time.perf_counter() - t0:.0f} s")
    if compose_to:
        added = compose_mentors(ctx, ORG, compose_to)
        log(f"{added} mentors composed from stored bio sentences")
    t0 = time.perf_counter()
    engine = RecommendationEngine(ctx)
    # as `recsys ingest` does: bios and goals through the cache, index built and saved
    catalog, stored_mentees = engine.embed_profiles(ORG)
    log(
        f"{len(catalog)} mentors and {stored_mentees} mentees embedded + indexed in "
        f"{time.perf_counter() - t0:.0f} s"
    )
    client = setup_mlflow(settings)
    if ranker_from is not None:
        version = import_champion(ctx, ranker_from)
        log(f"champion ranker of {ranker_from} registered as version {version}")
    # no champion, or one this code refuses (an older feature version in a reused --home):
    # timing the cold-start scorer instead would flatter the figures
    if (
        champion(client, settings.ranker_model_name, settings.model_alias) is None
        or engine.load_champion_ranker().is_cold_start
    ):
        t0 = time.perf_counter()
        _generate_and_ingest(ctx, TRAIN_ORG, *TRAIN_SIZE, home / "train-data")
        train_ranker(ctx, org=TRAIN_ORG, engine=engine)
        log(f"ranker trained in {time.perf_counter() - t0:.0f} s")
    return ctx


def import_champion(ctx: Any, source_home: Path) -> str:
    """Register the champion ranker of the store under ``source_home`` (its bundle and its
    Booster) as this store's champion; returns the new version."""
    import mlflow.lightgbm

    from models.ranker import RankerModel
    from recsys.settings import Settings
    from training.ranker import PRIMARY_METRIC
    from training.tracking import download_bundle, log_training_run

    name = ctx.settings.ranker_model_name
    found = download_bundle(Settings(home=source_home), name)
    if found is None:
        raise SystemExit(f"--ranker-from: no champion {name!r} under {source_home}")
    bundle, version = found
    model = RankerModel.load(bundle)
    run = log_training_run(
        ctx.settings, model_name=name, run_name="ranker-imported",
        params={"imported_from": str(source_home), "imported_version": str(version.version)},
        # forced in: an older bundle without the metric still imports
        metrics={PRIMARY_METRIC: float("nan")} | model.manifest.metrics,
        primary_metric=PRIMARY_METRIC, bundle_dir=bundle,
        log_model=lambda registered: mlflow.lightgbm.log_model(
            model.booster, name="model", registered_model_name=registered
        ),
        force=True,
    )  # fmt: skip
    return run.version


def _gc_pause_ms() -> dict[str, float]:
    """A full garbage collection with everything loaded, before and after the freeze that
    ``recsys serve`` applies at start-up (the collection holds the GIL: a stall for all)."""
    import gc

    from recsys.runtime import freeze_startup_objects

    t0 = time.perf_counter()
    gc.collect()
    before = (time.perf_counter() - t0) * 1000
    freeze_startup_objects()
    t0 = time.perf_counter()
    gc.collect()
    after = (time.perf_counter() - t0) * 1000
    gc.unfreeze()
    return {"before_freeze": round(before, 1), "after_freeze": round(after, 1)}


def bench_in_process(ctx: Any, requests: int, warmup: int) -> dict[str, Any]:
    from recsys.engine import RecommendationEngine
    from recsys.recommend import candidate_features, first_stage_candidates, rank_candidates
    from recsys.runtime import configure_threads
    from recsys.snapshot import load_mentees

    configure_threads(ctx.settings.threads)
    engine = RecommendationEngine(ctx)
    engine.set_ranker(engine.load_champion_ranker())
    state = engine.org_state(ORG)
    catalog, feasibility = state.catalog, state.feasibility
    with ctx.sessions() as session:
        mentees = load_mentees(session, ORG)[: requests + warmup]
    as_of = dt.date(2026, 10, 1)
    n_cand = ctx.settings.retrieval_candidates
    stages: dict[str, list[float]] = {
        k: [] for k in ("encode", "retrieve", "features", "rank", "reasons", "total")
    }
    model = engine.ranker
    for i in range(requests + warmup):
        mentee = mentees[i % len(mentees)]
        timed = i >= warmup
        sink: dict[str, list[float]] = stages if timed else {k: [] for k in stages}
        with _timer(sink["total"]):
            engine.recommend(ORG, [mentee], k=K, as_of=as_of, cached_text=False)
        # the same steps again, stage by stage (recsys.recommend.recommend's building blocks)
        with _timer(sink["encode"]):
            batch = engine.mentee_batch([mentee], cached=False)
        with _timer(sink["retrieve"]):
            rows, sims, known = first_stage_candidates(
                catalog, feasibility, batch, 0, n_candidates=n_cand, as_of=as_of,
                text_maps=model.text_maps, learned_exact_max=engine.settings.learned_search,
                goal_tags=model.goal_tags, pool_score=model.pool_score if model.scores_pools else None,
            )  # fmt: skip
        with _timer(sink["features"]):  # the ranked cut's pool features are in "retrieve"
            cands = candidate_features(
                catalog, feasibility, batch, 0, rows, sims, as_of=as_of,
                text_maps=model.text_maps, goal_tags=model.goal_tags, known=known,
            )  # fmt: skip
        rank_ms: list[float] = []
        with _timer(rank_ms):
            rank_candidates(catalog, cands, batch, 0, model, k=K, as_of=as_of, explain_top=False)
        full_ms: list[float] = []
        with _timer(full_ms):
            rank_candidates(catalog, cands, batch, 0, model, k=K, as_of=as_of, explain_top=True)
        sink["rank"].append(rank_ms[0])
        sink["reasons"].append(max(full_ms[0] - rank_ms[0], 0.0))
    return {
        "mentors": len(catalog),
        "gc_full_collection_ms": _gc_pause_ms(),
        "index": catalog.index.index_type,
        "ranker": model.version,
        "requests": requests,
        "stages_ms": {k: _pcts(v) for k, v in stages.items()},
    }


def bench_http(
    ctx: Any,
    warmup: int,
    concurrency: list[int],
    seconds: float,
    modes: list[str],
    client: str = "auto",
    rounds: int = 1,
    mentor_writes: float = 0.0,
    workers: int = 1,
    answers: float = 0.0,
) -> dict[str, Any]:
    """``POST /v1/recommendations`` against ``recsys serve`` on this store, at each concurrency
    level for ``seconds``: ``inline`` mentees (profile in the body, goal text encoded per
    request) and/or ``id`` (a stored mentee, goal vectors from the embedding cache).

    ``rounds`` > 1 repeats every scenario that many times, interleaved (all scenarios once,
    then again), and reports medians with the range: on a shared VM the same server and load
    gave 88-106 req/s in rounds minutes apart, so a single run says little about a 5% change.
    Each scenario also reports the server's CPU per request (``server_cpu``).

    ``mentor_writes`` > 0: meanwhile, an app edits that many mentor bios per second
    (``PUT /v1/mentors/{id}``), each applied before the requests that follow it; the
    scenario reports the writes made and their latency (``writes``). ``answers`` > 0:
    meanwhile, an app reports that many request answers per second (``POST
    /v1/interactions``, event ``requested``: the mentors' track record moves), reported as
    ``answers``.

    ``workers`` > 1 serves with ``recsys serve --workers``; server CPU is then the sum over
    the worker processes."""
    import asyncio
    import random

    import httpx

    from evaluation.benchmarks.bench_http import run_scenario, run_wrk, wrk_available
    from recsys import keys, store
    from recsys.commands.service import running_service
    from recsys.snapshot import load_mentees, load_mentors

    with store.transaction(ctx.sessions) as session:
        _, key = keys.create_key(session, ORG, "bench", ["app"])
    with ctx.sessions() as session:
        mentees = load_mentees(session, ORG)
        some_mentors = load_mentors(session, ORG)[:500] if mentor_writes or answers else []
    editable = some_mentors if mentor_writes > 0 else []
    answered = some_mentors if answers > 0 else []
    bodies = {
        "inline": [{"mentee": m.model_dump(mode="json"), "k": K, "as_of": "2026-10-01"}
                   for m in mentees],
        "id": [{"mentee_id": m.id, "k": K, "as_of": "2026-10-01"} for m in mentees],
    }  # fmt: skip

    def maker(mode: str) -> Callable[[random.Random], tuple[str, str, Any]]:
        pool = bodies[mode]
        return lambda rng: ("POST", "/v1/recommendations", pool[rng.randrange(len(pool))])

    log = ctx.settings.home / "bench-service.log"
    out: dict[str, Any] = {}
    with running_service(ctx.settings, log=log, workers=workers) as (base, proc):
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=60) as warm:
            for i in range(warmup):
                warm.post("/v1/recommendations", json=bodies["inline"][i % len(mentees)])
        runs: dict[str, list[dict[str, Any]]] = {}
        for _ in range(max(1, rounds)):
            for mode in modes:
                for c in concurrency:
                    before = thread_cpu_seconds(proc.pid)
                    writer = (
                        BackgroundWriter(base, key, mentor_writes, _bio_edits(editable))
                        if editable
                        else None
                    )
                    answerer = (
                        BackgroundWriter(base, key, answers, _answers(mentees, answered))
                        if answered
                        else None
                    )
                    if client == "wrk" or (client == "auto" and wrk_available()):
                        result = run_wrk(
                            base, key, "/v1/recommendations", bodies[mode],
                            concurrency=c, seconds=seconds,
                        )  # fmt: skip
                    else:
                        result = asyncio.run(
                            run_scenario(base, key, maker(mode), concurrency=c, seconds=seconds)
                        )
                    if writer is not None:
                        result["writes"] = writer.stop()
                    if answerer is not None:
                        result["answers"] = answerer.stop()
                    result.update(server_cpu(before, thread_cpu_seconds(proc.pid), result))
                    runs.setdefault(f"{mode}_c{c}", []).append(result)
    for name, results in runs.items():
        out[name] = results[0] if len(results) == 1 else summarise_rounds(results)
    return out


Request = tuple[str, str, dict[str, Any]]  # method, path, JSON body


def _bio_edits(mentors: list[Any]) -> Callable[[int], Request]:
    def edit(i: int) -> Request:
        m = mentors[i % len(mentors)]
        return (
            "PUT",
            f"/v1/mentors/{m.id}",
            m.model_dump(mode="json") | {"bio": f"{m.bio} Edit {i}."},
        )

    return edit


def _answers(mentees: list[Any], mentors: list[Any]) -> Callable[[int], Request]:
    def answer(i: int) -> Request:
        return (
            "POST",
            "/v1/interactions",
            {
                "mentee_id": mentees[i % len(mentees)].id,
                "mentor_id": mentors[(7 * i) % len(mentors)].id,
                "at": "2026-09-30",
                "event": "requested",
            },
        )

    return answer


class BackgroundWriter:
    """Sends ``request(i)`` over HTTP at ``per_second`` in a background thread until stopped
    (an app editing mentors or reporting answers while others ask for recommendations)."""

    def __init__(
        self, base: str, key: str, per_second: float, request: Callable[[int], Request]
    ) -> None:
        import threading

        self._stop = threading.Event()
        self._latency_ms: list[float] = []
        self._args = (base, key, request, 1.0 / per_second)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import httpx

        base, key, request, interval = self._args
        with httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=120) as http:
            i = 0
            while not self._stop.wait(interval):
                method, path, body = request(i)
                t = time.perf_counter()
                http.request(method, path, json=body).raise_for_status()
                self._latency_ms.append((time.perf_counter() - t) * 1000)
                i += 1

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        return (
            {"count": len(self._latency_ms), **_pcts(self._latency_ms)}
            if self._latency_ms
            else {"count": 0}
        )


def summarise_rounds(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians (and the range of req/s) over repeated runs of one scenario."""
    out: dict[str, Any] = {"rounds": len(results), "rps_per_round": [r["rps"] for r in results]}
    for field in ("rps", "p50_ms", "p99_ms", "server_cpu_ms_per_request"):
        values = [r[field] for r in results if field in r]
        if values:
            out[f"{field}_median"] = round(statistics.median(values), 2)
    out["errors"] = sum(r.get("errors", 0) for r in results)
    return out


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (uvicorn's spawned workers), from ``/proc``."""
    children: dict[int, list[int]] = {}
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = stat_file.read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])  # field 4, ppid
        children.setdefault(parent, []).append(int(stat_file.parent.name))
    tree, todo = [], [pid]
    while todo:
        tree.append(todo.pop())
        todo.extend(children.get(tree[-1], []))
    return tree


def thread_cpu_seconds(pid: int) -> dict[str, tuple[str, float]]:
    """CPU seconds (user + system) used so far by ``pid`` and its descendants (key ``""``,
    exited threads included) and by each live thread (key: thread id; value: OS thread name,
    seconds). Linux ``/proc`` only; empty elsewhere. A worker that exits between two readings
    takes its seconds with it."""
    tick = os.sysconf("SC_CLK_TCK")

    def read(stat_file: Path) -> tuple[str, float] | None:
        try:
            stat = stat_file.read_text()
        except OSError:  # the thread ended between listing and reading
            return None
        fields = stat[stat.rindex(")") + 2 :].split()
        # utime and stime are fields 14 and 15 of proc_pid_stat(5); fields[0] is field 3
        return stat[stat.index("(") + 1 : stat.rindex(")")], (
            int(fields[11]) + int(fields[12])
        ) / tick

    out: dict[str, tuple[str, float]] = {}
    for process in _process_tree(pid):
        total = read(Path(f"/proc/{process}/stat"))
        if total is None:
            continue
        out[""] = (total[0], out.get("", ("", 0.0))[1] + total[1])
        for task in Path(f"/proc/{process}/task").glob("*"):
            entry = read(task / "stat")
            if entry is not None:
                out[task.name] = entry
    return out


def server_cpu(
    before: dict[str, tuple[str, float]],
    after: dict[str, tuple[str, float]],
    result: dict[str, Any],
) -> dict[str, Any]:
    """Server CPU per answered request (ms), in total and by OS thread name (the service
    names its pools: ``recommend``, ``encoder``, ``served-log``…; ``python`` is the event loop
    and unnamed threads; ``exited`` threads that ended during the run). A native thread takes
    the name of the thread that started it: the tokenizer's rayon pool, first used while the
    catalog was built, shows up as ``model``. Latency at low concurrency hides this cost;
    throughput is bounded by it."""
    requests = result.get("requests") or 0
    if "" not in before or "" not in after or not requests:
        return {}
    total = after[""][1] - before[""][1]
    by_name: dict[str, float] = {}
    for tid, (name, seconds) in after.items():
        if tid:
            spent = seconds - before.get(tid, (name, 0.0))[1]
            key = name.rstrip("0123456789").rstrip("_-") or name
            by_name[key] = by_name.get(key, 0.0) + spent
    by_name["exited"] = total - sum(by_name.values())
    return {
        "server_cpu_ms_per_request": round(total * 1000 / requests, 2),
        "server_cpu_ms_by_thread": {
            name: round(seconds * 1000 / requests, 2)
            for name, seconds in sorted(by_name.items())
            if seconds * 1000 / requests >= 0.01
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--mentors", type=int, default=10_000)
    parser.add_argument("--mentees", type=int, default=1000, help="Programme mentees")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--backend", default=None, help="torch | onnx | onnx-int8")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--home", type=Path, default=None, help="Keep the store here (reuse)")
    parser.add_argument("--http", action="store_true", help="Also time the HTTP service")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seconds", type=float, default=20.0, help="Per concurrency level")
    parser.add_argument(
        "--inline-cache", type=int, default=0, metavar="N",
        help="In-memory inline-profile cache of N sentences (0: every request encodes)",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=int, default=1,
        help="Repeat every HTTP scenario this many times, interleaved; report medians",
    )  # fmt: skip
    parser.add_argument("--skip-in-process", action="store_true")
    parser.add_argument(
        "--compose-to", type=int, default=None,
        help="Grow the catalog to this many mentors from stored bio sentences (e.g. 100000)",
    )  # fmt: skip
    parser.add_argument(
        "--client", default="auto", choices=["auto", "wrk", "httpx"],
        help="HTTP load generator: wrk when installed (auto), else a bounded async httpx loop",
    )  # fmt: skip
    parser.add_argument(
        "--modes", nargs="+", default=["inline", "id"], choices=["inline", "id"],
        help="HTTP: inline mentee profiles and/or stored mentee ids",
    )  # fmt: skip
    parser.add_argument(
        "--mentor-writes", type=float, default=0.0, metavar="W",
        help="HTTP: meanwhile edit W mentor bios per second through the API",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, default=1,
        help="HTTP: serve with recsys serve --workers N (each worker loads its own models)",
    )  # fmt: skip
    parser.add_argument(
        "--answers", type=float, default=0.0, metavar="A",
        help="HTTP: meanwhile report A request answers per second through the API",
    )  # fmt: skip
    parser.add_argument(
        "--ranker-from", type=Path, default=None, metavar="HOME",
        help="Serve the champion ranker of the store under HOME (e.g. a large programme's) "
        "instead of one trained on a small programme",
    )  # fmt: skip
    args = parser.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.backend:
        os.environ["RECSYS_ENCODER_BACKEND"] = args.backend
    if args.threads:
        os.environ["RECSYS_THREADS"] = str(args.threads)

    def log(msg: str) -> None:
        print(f"[bench_recommend] {msg}", file=sys.stderr, flush=True)

    with contextlib.ExitStack() as stack:
        home = args.home or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        home.mkdir(parents=True, exist_ok=True)
        ctx = setup(
            home.resolve(), args.mentors, args.mentees, log, args.compose_to, args.inline_cache,
            ranker_from=args.ranker_from.resolve() if args.ranker_from else None,
        )  # fmt: skip
        report: dict[str, Any] = {
            "encoder_backend": ctx.settings.encoder_backend,
            "threads": ctx.settings.threads,
            "cpu_count": os.cpu_count(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
        }
        if not args.skip_in_process:
            report["in_process"] = bench_in_process(ctx, args.requests, args.warmup)
        if args.http:
            report["http"] = bench_http(
                ctx,
                args.warmup,
                args.concurrency,
                args.seconds,
                args.modes,
                args.client,
                args.rounds,
                args.mentor_writes,
                args.workers,
                args.answers,
            )
            report["http"]["workers"] = args.workers
        report["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
