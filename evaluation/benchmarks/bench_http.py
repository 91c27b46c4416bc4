"""HTTP serving benchmark: latency percentiles and throughput of the real service over TCP.

    .venv/bin/python -m evaluation.benchmarks.bench_http
    .venv/bin/python -m evaluation.benchmarks.bench_http --mentors 5000 --concurrency 16 \
        --seconds 10 --engine-provider serving.app:baseline_engine_provider

Seeds a fresh SQLite store (mentors, mentees, one API key), starts the service with
``serving.app.serve`` in a child process (uvicorn, one worker, exactly as deployed), then
drives each scenario with ``concurrency`` concurrent keep-alive clients for ``seconds``.
Client and server share the machine, so figures are a lower bound on server capacity.
``--engine-provider module:function`` serves with another engine (e.g. the trained one).
Prints one JSON object with p50/p95/p99 latency (ms), throughput and error counts.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from recsys import keys, store
from recsys.context import AppContext
from recsys.settings import Settings

_WORDS = [
    "python",
    "data",
    "design",
    "product",
    "strategy",
    "career",
    "feedback",
    "leadership",
    "communication",
    "planning",
    "roadmap",
    "architecture",
    "testing",
    "cloud",
    "security",
    "analytics",
    "negotiation",
    "sales",
    "finance",
    "hiring",
    "distributed",
    "systems",
    "machine",
    "learning",
    "public",
    "speaking",
    "stakeholder",
    "management",
]
_LANGS = ("en", "de", "fr", "es")


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def _mentor(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "id": f"m{i}", "title": "Engineer", "department": "R&D", "seniority": rng.randint(3, 8),
        "timezone": "Europe/Berlin", "languages": ["en", rng.choice(_LANGS)],
        "skills": rng.sample(_WORDS, 4), "bio": _text(rng, 40), "capacity": rng.randint(0, 4),
        "active": True, "location": None, "group": None,
    }  # fmt: skip


def _mentee(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "id": f"e{i}", "title": "Analyst", "department": "Ops", "seniority": rng.randint(1, 4),
        "timezone": "Europe/Berlin", "languages": ["en"], "skills": rng.sample(_WORDS, 2),
        "goals": _text(rng, 25), "excluded_mentor_ids": [],
    }  # fmt: skip


def seed(home: Path, n_mentors: int, n_mentees: int) -> str:
    ctx = AppContext(Settings(home=home))
    ctx.migrate()
    rng = random.Random(7)
    with store.transaction(ctx.sessions) as s:
        store.upsert_rows(s, "mentors", "bench", [_mentor(rng, i) for i in range(n_mentors)])
        store.upsert_rows(s, "mentees", "bench", [_mentee(rng, i) for i in range(n_mentees)])
        _, key = keys.create_key(s, "bench", "bench", ["admin"])
    ctx.engine.dispose()
    return key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _load_provider(spec: str | None) -> Callable[..., Any] | None:
    if not spec:
        return None
    module, _, name = spec.partition(":")
    provider: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return provider


def _serve(home: str, port: int, provider_spec: str | None) -> None:
    import logging

    from serving.app import serve

    logging.disable(logging.WARNING)  # keep the benchmark output clean
    settings = Settings(home=Path(home), port=port, rate_limit_per_minute=10_000_000)
    serve(settings, engine_provider=_load_provider(provider_spec))


async def _wait_ready(base: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("service did not become ready")


Request = Callable[[random.Random], tuple[str, str, Any]]


def scenarios(n_mentors: int, n_mentees: int) -> dict[str, Request]:
    return {
        "healthz": lambda r: ("GET", "/healthz", None),
        "get_mentor": lambda r: ("GET", f"/v1/mentors/m{r.randrange(n_mentors)}", None),
        "list_mentors": lambda r: ("GET", "/v1/mentors?limit=50", None),
        "recommend_by_id": lambda r: (
            "POST",
            "/v1/recommendations",
            {"mentee_id": f"e{r.randrange(n_mentees)}", "k": 10},
        ),
        "analyze": lambda r: (
            "POST",
            "/v1/feedback/analyze",
            {"text": "We keep cancelling sessions and I am not sure what to discuss."},
        ),
    }


async def run_scenario(
    base: str, key: str, make: Request, *, concurrency: int, seconds: float
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as c:

        async def worker(seed: int) -> None:
            nonlocal errors
            rng = random.Random(seed)
            while time.monotonic() < stop:
                method, path, body = make(rng)
                t0 = time.perf_counter()
                resp = await c.request(method, path, json=body)
                latencies.append(time.perf_counter() - t0)
                if resp.status_code >= 400:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    ms = sorted(x * 1000 for x in latencies)
    q = statistics.quantiles(ms, n=100) if len(ms) >= 2 else ms * 99

    return {
        "requests": len(ms),
        "errors": errors,
        "rps": round(len(ms) / elapsed, 1),
        "p50_ms": round(q[49], 2),
        "p95_ms": round(q[94], 2),
        "p99_ms": round(q[98], 2),
    }


_WRK_SCRIPT = r"""
local bodies = {}
for line in io.lines(os.getenv("BENCH_BODIES")) do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("BENCH_KEY")
request = function()
  i = (i % #bodies) + 1
  return wrk.format(nil, os.getenv("BENCH_PATH"), nil, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_JSON {\"p50\": %f, \"p95\": %f, \"p99\": %f, \"requests\": %d, " ..
    "\"errors\": %d, \"duration_us\": %d}\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, summary.requests,
    e.status + e.connect + e.read + e.write + e.timeout, summary.duration))
end
"""


def wrk_available() -> bool:
    import shutil

    return shutil.which("wrk") is not None


def run_wrk(
    base: str, key: str, path: str, bodies: list[Any], *, concurrency: int, seconds: float
) -> dict[str, Any]:
    """POST ``bodies`` (round robin) to ``path`` with wrk: ``concurrency`` keep-alive
    connections on one wrk thread for ``seconds``. wrk is a C load generator, so the client
    takes far less of the shared CPU than a Python one."""
    import subprocess

    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(_WRK_SCRIPT)
        body_file = Path(tmp) / "bodies.jsonl"
        body_file.write_text("".join(json.dumps(b) + "\n" for b in bodies))
        env = {**os.environ, "BENCH_BODIES": str(body_file), "BENCH_KEY": key, "BENCH_PATH": path}
        out = subprocess.run(
            ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
             "-s", str(script), base],
            env=env, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    raw = json.loads(line.removeprefix("WRK_JSON "))
    elapsed = raw["duration_us"] / 1e6
    return {
        "client": "wrk",
        "requests": raw["requests"],
        "errors": raw["errors"],
        "rps": round(raw["requests"] / elapsed, 1),
        "p50_ms": round(raw["p50"], 2),
        "p95_ms": round(raw["p95"], 2),
        "p99_ms": round(raw["p99"], 2),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentors", type=int, default=2000)
    parser.add_argument("--mentees", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--only", nargs="*", help="scenario names to run (default: all)")
    parser.add_argument("--engine-provider", default=None, help="module:function")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp:
        home = Path(tmp)
        key = seed(home, args.mentors, args.mentees)
        port = _free_port()
        proc = mp.get_context("spawn").Process(
            target=_serve, args=(str(home), port, args.engine_provider), daemon=True
        )
        proc.start()
        base = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(_wait_ready(base))
            results: dict[str, Any] = {}
            for name, make in scenarios(args.mentors, args.mentees).items():
                if args.only and name not in args.only:
                    continue
                results[name] = asyncio.run(
                    run_scenario(
                        base, key, make, concurrency=args.concurrency, seconds=args.seconds
                    )
                )
        finally:
            proc.terminate()
            proc.join(10)
    report = {
        "mentors": args.mentors,
        "mentees": args.mentees,
        "concurrency": args.concurrency,
        "seconds_per_scenario": args.seconds,
        "cpu_count": os.cpu_count(),
        "engine_provider": args.engine_provider or "baseline",
        "scenarios": results,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
