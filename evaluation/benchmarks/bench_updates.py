"""What a write costs the service at catalog scale: mentor and pairing writes applied to the
loaded catalog, against reading it all again.

    .venv/bin/python -m evaluation.benchmarks.bench_updates --mentors 10000 --compose-to 100000 \\
        --home .recsys-bench/100k        # the store of bench_recommend, reused

Set-up as :mod:`evaluation.benchmarks.bench_recommend` (not timed; reuses ``--home``). Then,
on one :class:`recsys.engine.RecommendationEngine` with the champion ranker, timed (seconds):

- ``full_refresh``: the catalog read and built from the store (start-up, or a write behind the
  service's back: ``recsys ingest`` while it runs);
- ``bio_edit`` / ``capacity_edit``: one mentor upserted, then ``update_mentors`` for it (what
  ``PUT /v1/mentors/{id}`` queues); ``new_mentors``: 100 new mentors in one bulk write;
  ``delete``: one mentor deleted;
- ``pairing``: one pairing written, then ``refresh_history`` (``POST /v1/pairings``);
- ``next_request_ms``: the recommendation (stored mentee) right after each write, which the
  service answers once the write is applied (read-your-writes);
- ``full_rebuild_after_bio_edit``: what a bio edit cost before updates were applied in place
  (a full read plus a new FAISS index; skipped with ``--skip-rebuild``: ~60 s at 100k);
- ``outside_*``: writes behind the service's back (``recsys ingest`` while it runs), found
  and applied by ``sync_mentors`` (what the service's poll runs): ``outside_scan`` the
  version scan when nothing changed (every poll pays it), ``outside_unchanged_roster`` after
  every mentor was upserted again unchanged, ``outside_edits_500`` after 500 edited bios;
- ``save_index`` and ``restart``: the index persisted after the updates, and a new engine
  reading the store and loading that index.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evaluation.benchmarks.bench_recommend import ORG, setup


def _summary(seconds: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(seconds), 3),
        "max": round(max(seconds), 3),
        "runs": len(seconds),
    }


def bench_updates(ctx: Any, repeats: int, skip_rebuild: bool) -> dict[str, Any]:
    from recsys import db, store
    from recsys.engine import RecommendationEngine
    from recsys.runtime import configure_threads
    from recsys.schemas import PairingIn
    from recsys.snapshot import load_mentees, load_mentors

    configure_threads(ctx.settings.threads)
    engine = RecommendationEngine(ctx)
    engine.set_ranker(engine.load_champion_ranker())
    t0 = time.perf_counter()
    engine.refresh_mentors(ORG)
    out: dict[str, Any] = {"full_refresh": round(time.perf_counter() - t0, 2)}
    catalog = engine.catalog(ORG)
    out["mentors"] = len(catalog)
    out["index"] = catalog.index.index_type
    with ctx.sessions() as session:
        mentors = load_mentors(session, ORG, catalog.ids[-(3 * repeats + 1) :])
        mentees = load_mentees(session, ORG)[:repeats]
        busy = set(session.scalars(db.Pairing.__table__.select().with_only_columns(
            db.Pairing.mentor_id)))  # fmt: skip
    as_of = dt.date.today()  # what the service uses when a request names no date
    next_ms: list[float] = []

    def timed(write: Callable[[Any], Any], apply: Callable[[], Any]) -> float:
        with store.transaction(ctx.sessions) as session:
            write(session)
        t = time.perf_counter()
        apply()
        took = time.perf_counter() - t
        t = time.perf_counter()
        engine.recommend(ORG, [mentees[len(next_ms) % len(mentees)]], k=10, as_of=as_of)
        next_ms.append((time.perf_counter() - t) * 1000)
        return took

    def upsert(items: list[Any]) -> Callable[[Any], Any]:
        return lambda session: store.upsert_models(session, "mentors", ORG, items)

    def mentor_write(mentor: Any) -> float:
        return timed(upsert([mentor]), lambda: engine.update_mentors(ORG, [mentor.id]))

    def pairing_write(p: PairingIn) -> float:
        return timed(lambda s: store.upsert_models(s, "pairings", ORG, [p]),
                     lambda: engine.refresh_history(ORG))  # fmt: skip

    bio, capacity, pairing = [], [], []
    for i in range(repeats):
        m = mentors[i]
        bio.append(mentor_write(m.model_copy(update={"bio": m.bio + f" Negotiation ({i})."})))
        capacity.append(mentor_write(mentors[repeats + i].model_copy(update={"capacity": 0})))
        pairing.append(pairing_write(PairingIn.model_validate({
            "id": f"bench-updates-{os.getpid()}-{i}", "mentor_id": mentors[2 * repeats + i].id,
            "mentee_id": mentees[i].id, "started_at": as_of, "status": "active",
        })))  # fmt: skip
    base = mentors[0]
    new = [base.model_copy(update={"id": f"bench-new-{os.getpid()}-{i}",
                                   "bio": f"New here ({i}). Pricing, growth and hiring."})
           for i in range(100)]  # fmt: skip
    out["new_mentors_100"] = round(
        timed(upsert(new), lambda: engine.update_mentors(ORG, [m.id for m in new])), 3
    )
    gone = next(m.id for m in new if m.id not in busy)
    out["delete"] = round(timed(lambda s: store.delete_row(s, db.Mentor, ORG, gone),
                                lambda: engine.update_mentors(ORG, [gone])), 3)  # fmt: skip
    outside_scan = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        assert engine.sync_mentors(ORG) == 0
        outside_scan.append(time.perf_counter() - t0)
    out["outside_scan"] = _summary(outside_scan)
    with ctx.sessions() as session:
        roster = load_mentors(session, ORG)
    t0 = time.perf_counter()
    with store.transaction(ctx.sessions) as session:
        upsert(roster)(session)
    out["outside_unchanged_roster_ingest"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    changed = engine.sync_mentors(ORG)
    out["outside_unchanged_roster"] = {"seconds": round(time.perf_counter() - t0, 3),
                                       "applied": changed}  # fmt: skip
    edits = [m.model_copy(update={"bio": m.bio + " Also: interviewing."}) for m in roster[:500]]
    out["outside_edits_500"] = round(timed(upsert(edits), lambda: engine.sync_mentors(ORG)), 3)
    out["bio_edit"] = _summary(bio)
    out["capacity_edit"] = _summary(capacity)
    out["pairing"] = _summary(pairing)
    out["next_request_ms"] = _summary(next_ms)
    t0 = time.perf_counter()
    engine.save_index(ORG)
    out["save_index"] = round(time.perf_counter() - t0, 2)
    restarted = RecommendationEngine(ctx, ranker=engine.ranker)
    restarted.__dict__["embedder"] = engine.embedder
    t0 = time.perf_counter()
    restarted.refresh_mentors(ORG)
    out["restart"] = round(time.perf_counter() - t0, 2)
    if not skip_rebuild:  # the pre-update behaviour: every write read everything again
        m = mentors[-1].model_copy(update={"bio": mentors[-1].bio + " And pricing."})
        with store.transaction(ctx.sessions) as session:
            upsert([m])(session)
        t0 = time.perf_counter()
        restarted.refresh_mentors(ORG)
        out["full_rebuild_after_bio_edit"] = round(time.perf_counter() - t0, 2)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mentors", type=int, default=10_000)
    parser.add_argument("--mentees", type=int, default=1000)
    parser.add_argument("--compose-to", type=int, default=None)
    parser.add_argument("--home", type=Path, default=None, help="Keep the store here (reuse)")
    parser.add_argument("--repeats", type=int, default=5, help="Writes of each kind")
    parser.add_argument("--skip-rebuild", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    def log(msg: str) -> None:
        print(f"[bench_updates] {msg}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        home = (args.home or Path(tmp)).resolve()
        home.mkdir(parents=True, exist_ok=True)
        ctx = setup(home, args.mentors, args.mentees, log, args.compose_to)
        report = {
            "cpu_count": os.cpu_count(),
            **bench_updates(ctx, args.repeats, args.skip_rebuild),
        }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
