"""Encoder speed and fidelity per backend (torch fp32, ONNX fp32, ONNX int8).

    .venv/bin/python -m evaluation.benchmarks.bench_encode
    .venv/bin/python -m evaluation.benchmarks.bench_encode --texts 512 --singles 200 --threads 2

For each backend: batched throughput (texts/s) on paragraph-length mentor bios and mentee
goals, latency of one short text via ``encode_one`` (the serving path: p50/p99 ms), latency of
one request's goal sentences as a small batch (the catalog encodes up to 4 sentences per
text), and the mean / minimum cosine between the backend's vectors and torch fp32 vectors of
the same texts. Backends are timed round-robin so that load from other processes on a shared
host affects each alike; the 1-minute load average is printed with the figures. Texts come from ``recsys.synthetic.generate_programme`` when available,
otherwise from the composer in this module. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.embedder import BACKENDS, Embedder

# ------------------------------------------------------------------------------------------
# realistic mentoring texts (fallback when the synthetic programme generator is unavailable)

_DEPARTMENTS = (
    "Engineering", "Data Science", "Product", "Design", "Finance", "Sales", "Marketing",
    "People & Culture", "Legal", "Customer Success", "Operations", "Security", "Research",
    "Supply Chain", "Infrastructure", "Quality Assurance",
)  # fmt: skip
_TITLES = (
    "Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager",
    "Data Scientist", "ML Engineer", "Product Manager", "Senior Product Manager",
    "UX Designer", "Design Lead", "Financial Analyst", "Finance Director", "Account Executive",
    "Sales Manager", "Marketing Lead", "HR Business Partner", "Counsel", "Support Lead",
    "Operations Manager", "Security Engineer", "Research Scientist", "Director of Engineering",
    "VP Product", "Programme Manager", "QA Engineer", "Site Reliability Engineer",
)  # fmt: skip
_TOPICS = {
    "backend": ("designing distributed services", "API design and versioning",
                "scaling databases under heavy load", "event-driven architectures"),
    "data": ("building reliable data pipelines", "data modelling for analytics",
             "streaming with Kafka", "data quality and lineage"),
    "ml": ("taking machine learning models to production", "experiment design and A/B testing",
           "feature engineering", "recommendation systems"),
    "leadership": ("growing into a first management role", "running effective one-on-ones",
                   "hiring and building teams", "leading through reorganisations"),
    "product": ("product discovery and customer interviews", "writing roadmaps people trust",
                "prioritising with limited engineering capacity", "pricing and packaging"),
    "design": ("design systems", "usability research", "accessibility",
               "presenting design work to executives"),
    "finance": ("budgeting and forecasting", "building financial models",
                "explaining numbers to non-finance colleagues", "month-end close"),
    "sales": ("enterprise deal strategy", "negotiation", "territory planning",
              "managing a sales pipeline"),
    "career": ("navigating a career change", "preparing for a promotion case",
               "finding a niche as a specialist", "returning to work after leave"),
    "communication": ("public speaking", "giving hard feedback", "writing clear documents",
                      "influencing without authority"),
    "security": ("threat modelling", "incident response", "secure code review",
                 "compliance audits"),
    "ops": ("on-call practices", "observability and alerting", "cost optimisation in the cloud",
            "capacity planning"),
    "wellbeing": ("avoiding burnout", "setting boundaries at work", "managing stress",
                  "building confidence as an introvert"),
    "people": ("performance reviews", "compensation conversations", "employee relations",
               "inclusive hiring"),
}  # fmt: skip
_BACKGROUND = (
    "I'm a {title} in {dept} with {years} years of experience.",
    "I have spent {years} years in {dept}, most recently as {title}.",
    "Before joining {dept} as {title}, I worked at two start-ups and a consultancy.",
    "I joined the company {years} years ago and have been a {title} in {dept} since.",
    "{title}, {dept}. {years} years in the industry, the last few leading small teams.",
    "I moved into {dept} from a very different field and am now a {title}.",
)
_EXPERTISE = (
    "Most of my work is about {x}.",
    "I can help with {x}; I've done a lot of it.",
    "People usually come to me for advice on {x}.",
    "My strongest area is {x}, and I enjoy teaching it.",
    "Happy to go deep on {x}.",
)
_STYLE = (
    "I prefer structured sessions with clear goals and notes.",
    "I like informal chats over coffee and letting the agenda emerge.",
    "I mentor remotely and am flexible on time zones.",
    "I ask a lot of questions rather than handing out answers.",
    "I share the mistakes I made so you can skip them.",
    "Expect homework between sessions: small, concrete experiments.",
    "I'm direct and will give candid feedback.",
    "I meet every two weeks and keep sessions to forty-five minutes.",
    "I learn as much from my mentees as they learn from me.",
)
_GOAL_INTRO = (
    "I've been a {title} in {dept} for {months} months.",
    "I recently moved into {dept} as a {title}.",
    "As a {title} I'm at a point where I need outside perspective.",
    "",
)
_GOAL_PROBLEM = (
    "I want to get better at {x}.",
    "I'm struggling with {x} and would like guidance.",
    "My manager suggested I find a mentor for {x}.",
    "I'd like to learn {x} from someone who has done it.",
    "I keep getting stuck on {x}.",
)
_GOAL_OUTCOME = (
    "By the end of the programme I'd like to lead a project on my own.",
    "I'm hoping to build a plan for the next two years of my career.",
    "I prefer someone who can meet in person now and then.",
    "I'd value regular, structured sessions with accountability.",
    "Ideally my mentor is outside my own department.",
    "",
)


def compose_bio(rng: random.Random) -> str:
    title, dept = rng.choice(_TITLES), rng.choice(_DEPARTMENTS)
    topics = rng.sample(sorted(_TOPICS), k=rng.choice((1, 2, 2, 3)))
    parts = [rng.choice(_BACKGROUND).format(title=title, dept=dept, years=rng.randint(2, 30))]
    parts += [rng.choice(_EXPERTISE).format(x=rng.choice(_TOPICS[t])) for t in topics]
    parts.append(rng.choice(_STYLE))
    return " ".join(parts)


def compose_goals(rng: random.Random) -> str:
    title, dept = rng.choice(_TITLES), rng.choice(_DEPARTMENTS)
    topics = rng.sample(sorted(_TOPICS), k=rng.choice((1, 1, 2)))
    parts = [rng.choice(_GOAL_INTRO).format(title=title, dept=dept, months=rng.randint(2, 30))]
    parts += [rng.choice(_GOAL_PROBLEM).format(x=rng.choice(_TOPICS[t])) for t in topics]
    parts.append(rng.choice(_GOAL_OUTCOME))
    return " ".join(p for p in parts if p)


def programme_texts(n_bios: int, n_goals: int, seed: int) -> tuple[list[str], list[str]]:
    """Bios and goals from the project's synthetic programme generator (written to files)."""
    from recsys.synthetic import generate_programme

    with tempfile.TemporaryDirectory(prefix="bench-programme-") as tmp:
        generate_programme(
            Path(tmp),
            n_mentors=max(n_bios, 1),
            n_mentees=max(n_goals, 2),
            n_pairings=0,
            seed=seed,
            feedback_rate=0.0,
            heldout_fraction=0.0,
        )
        bios = [json.loads(line)["bio"] for line in (Path(tmp) / "mentors.jsonl").open()]
        goals = [json.loads(line)["goals"] for line in (Path(tmp) / "mentees.jsonl").open()]
    return bios[:n_bios], goals[:n_goals]


def realistic_texts(n_bios: int, n_goals: int, seed: int = 0) -> tuple[list[str], list[str], str]:
    """(bios, goals, source): the synthetic programme's texts if importable, else composed."""
    try:
        bios, goals = programme_texts(n_bios, n_goals, seed)
        if len(bios) == n_bios and len(goals) == n_goals:
            return bios, goals, "recsys.synthetic.generate_programme"
    except Exception:  # generator missing or its interface differs: compose our own
        pass
    rng = random.Random(seed)
    bios = [compose_bio(rng) for _ in range(n_bios)]
    goals = [compose_goals(rng) for _ in range(n_goals)]
    return bios, goals, "evaluation.benchmarks.bench_encode composer"


def split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


# ------------------------------------------------------------------------------------------
# measurement


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def bench_backends(
    embedders: dict[str, Embedder],
    texts: Sequence[str],
    singles: Sequence[str],
    requests: Sequence[list[str]],
    batch_size: int,
) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """Time all backends round-robin, so background load on a shared host hits each equally."""
    for embedder in embedders.values():  # warm-up: allocations, thread pools, kernel choice
        embedder.encode(texts[:batch_size], batch_size=batch_size)
        for text in singles[:10]:
            embedder.encode_one(text)
    batch_s = dict.fromkeys(embedders, 0.0)
    parts: dict[str, list[np.ndarray]] = {name: [] for name in embedders}
    for start in range(0, len(texts), batch_size):
        chunk = texts[start : start + batch_size]
        for name, embedder in embedders.items():
            t0 = time.perf_counter()
            parts[name].append(embedder.encode(chunk, batch_size=batch_size))
            batch_s[name] += time.perf_counter() - t0
    single_ms: dict[str, list[float]] = {name: [] for name in embedders}
    request_ms: dict[str, list[float]] = {name: [] for name in embedders}
    for text, sentences in zip(singles, requests, strict=True):
        for name, embedder in embedders.items():
            t0 = time.perf_counter()
            embedder.encode_one(text)
            single_ms[name].append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            embedder.encode(sentences)
            request_ms[name].append((time.perf_counter() - t0) * 1000)
    figures = {
        name: {
            "texts_per_s": round(len(texts) / batch_s[name], 1),
            "single_ms_min": round(min(single_ms[name]), 2),
            "single_ms_p50": round(statistics.median(single_ms[name]), 2),
            "single_ms_p99": round(_percentile(single_ms[name], 99), 2),
            "request_sentences_ms_p50": round(statistics.median(request_ms[name]), 2),
            "request_sentences_ms_p99": round(_percentile(request_ms[name], 99), 2),
        }
        for name in embedders
    }
    return figures, {name: np.vstack(chunks) for name, chunks in parts.items()}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=512, help="texts for batched throughput")
    parser.add_argument("--singles", type=int, default=200, help="single-text latency samples")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--home", type=Path, default=Path(".recsys"))
    parser.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    args = parser.parse_args(argv)

    half = args.texts // 2
    bios, goals, source = realistic_texts(args.texts - half, half, seed=7)
    texts = [t for pair in zip(bios, goals, strict=False) for t in pair] + bios[len(goals) :]
    _, single_goals, _ = realistic_texts(0, args.singles, seed=8)
    requests = [split_sentences(g)[:4] or [g] for g in single_goals]
    # A single short text: one goal sentence, the typical unit the catalog encodes.
    singles = [r[min(1, len(r) - 1)] for r in requests]
    words = [len(t.split()) for t in texts]

    results: dict[str, Any] = {
        "text_source": source,
        "texts": len(texts),
        "words_per_text_mean": round(statistics.mean(words), 1),
        "threads": args.threads,
        "batch_size": args.batch_size,
        "backends": {},
    }
    embedders: dict[str, Embedder] = {}
    load_s: dict[str, float] = {}
    for backend in args.backends:
        t0 = time.perf_counter()
        embedders[backend] = Embedder.load(backend=backend, threads=args.threads, home=args.home)
        load_s[backend] = round(time.perf_counter() - t0, 2)
    figures, vectors = bench_backends(embedders, texts, singles, requests, args.batch_size)
    reference = vectors.get("torch")
    if reference is None:
        reference = Embedder.load(threads=args.threads, home=args.home).encode(texts)
    for backend, embedder in embedders.items():
        cosines = np.sum(vectors[backend] * reference, axis=1)
        results["backends"][backend] = {
            **figures[backend],
            "cosine_to_torch_mean": round(float(cosines.mean()), 5),
            "cosine_to_torch_min": round(float(cosines.min()), 5),
            "load_s": load_s[backend],
            "encoder_id": embedder.encoder_id,
        }
    results["load_average_1m"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
