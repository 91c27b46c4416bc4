"""The whole system once, as a user runs it: synthetic programme → ingest (embeds) → train every
model (MLflow, champion alias) → the real service in a child process (``recsys serve``) →
recommendations, feedback signals, risk and alerts over HTTP."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from recsys import keys, store
from recsys.context import AppContext
from recsys.settings import Settings

ORG = "e2e"
N_MENTORS, N_MENTEES = 150, 400
BOUNDARY_NOTE = (
    "We had to cancel twice this month because of my release deadlines. He also asked me to "
    "keep his comments about a colleague's performance review confidential, which made me "
    "uncomfortable."
)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_demo_flow_over_http(tmp_path: Path) -> None:
    from recsys.commands.insights import scan_alerts
    from recsys.commands.service import running_service
    from recsys.engine import RecommendationEngine
    from recsys.ingest import ingest_dir
    from recsys.snapshot import load_mentees
    from recsys.synthetic import generate_programme
    from training.pipeline import train_ranker, train_risk, train_signals

    timings: dict[str, float] = {}
    t0 = time.monotonic()
    settings = Settings(home=tmp_path / "home", org=ORG, rate_limit_per_minute=1_000_000)
    ctx = AppContext(settings)
    ctx.migrate()
    data = tmp_path / "data"
    generate_programme(data, n_mentors=N_MENTORS, n_mentees=N_MENTEES, seed=11)
    ingest_dir(ctx.sessions, data, org=ORG)
    engine = RecommendationEngine(ctx)  # embed and index, as `recsys ingest` does
    assert len(engine.catalog(ORG)) == N_MENTORS
    with ctx.sessions() as session:
        engine.mentee_batch(load_mentees(session, ORG))
    timings["ingest"] = time.monotonic() - t0

    signals_run = train_signals(ctx)
    ranker_run = train_ranker(ctx, org=ORG, engine=engine)
    risk_run = train_risk(ctx, org=ORG)
    assert signals_run.promoted and ranker_run.registered.promoted and risk_run.promoted
    # the run carries how well its encoder's style detector reads the held-out statements
    assert ranker_run.metrics["style_accuracy"] >= 0.8
    assert ranker_run.metrics["style_false_style"] <= 0.05
    timings["train"] = time.monotonic() - t0 - timings["ingest"]

    meta = json.loads((data / "ground_truth" / "model.json").read_text())
    as_of = dt.date.fromisoformat(meta["as_of"])
    heldout = meta["heldout_mentee_ids"][0]
    mentees = {m["id"]: m for m in _jsonl(data / "mentees.jsonl")}
    with_exclusions = next(m for m in mentees.values() if m.get("excluded_mentor_ids"))
    with store.transaction(ctx.sessions) as session:
        _, key = keys.create_key(session, ORG, "e2e", ["app", "coordinator"])
        active = store.active_pairings(session, ORG, as_of)[0]
        pairing_id, pairing_mentor = active.id, active.mentor_id

    with running_service(settings, log=tmp_path / "service.log", ready_timeout=300) as (base, _):
        timings["start"] = time.monotonic() - t0 - timings["ingest"] - timings["train"]
        client = httpx.Client(base_url=base, headers={"X-API-Key": key}, timeout=120)
        versions = client.get("/readyz").raise_for_status().json()["versions"]
        assert versions["ranker"] == ranker_run.registered.run_id
        assert versions["signals"] == signals_run.run_id
        assert versions["risk"] == risk_run.run_id

        # recommendations: k mentors with reasons; exclusions (request and profile) honoured
        body = {"mentee_id": heldout, "k": 5, "as_of": as_of.isoformat()}
        first = client.post("/v1/recommendations", json=body).raise_for_status().json()
        assert first["model_version"] == ranker_run.registered.run_id
        recs = first["recommendations"]
        assert [r["rank"] for r in recs] == [1, 2, 3, 4, 5]
        assert all(r["reasons"] for r in recs)
        top = recs[0]["mentor_id"]
        again = client.post("/v1/recommendations", json={**body, "exclude_mentor_ids": [top]})
        assert top not in [
            r["mentor_id"] for r in again.raise_for_status().json()["recommendations"]
        ]
        excluded = set(with_exclusions["excluded_mentor_ids"])
        body = {"mentee_id": with_exclusions["id"], "k": 50, "as_of": as_of.isoformat()}
        resp = client.post("/v1/recommendations", json=body).raise_for_status().json()
        assert resp["recommendations"]
        assert not excluded & {r["mentor_id"] for r in resp["recommendations"]}
        inline = {**mentees[heldout], "id": "walk-in"}
        resp = client.post("/v1/recommendations", json={"mentee": inline, "k": 3})
        assert len(resp.raise_for_status().json()["recommendations"]) == 3

        # feedback → signals with evidence → an alert (boundary concerns always raise one)
        note = {
            "id": "e2e-note", "pairing_id": pairing_id, "author_role": "mentee",
            "created_at": as_of.isoformat(), "text": BOUNDARY_NOTE,
        }  # fmt: skip
        stored = client.post("/v1/feedback", json=note).raise_for_status().json()
        by_label = {s["label"]: s for s in stored["signals"]}
        assert "boundary_concern" in by_label, stored["signals"]
        assert all(e in BOUNDARY_NOTE for e in by_label["boundary_concern"]["evidence"])

        risk = client.get(f"/v1/pairings/{pairing_id}/risk", params={"as_of": as_of.isoformat()})
        risk_body = risk.raise_for_status().json()
        assert 0.0 <= risk_body["risk"] <= 1.0
        assert risk_body["model_version"] == risk_run.run_id
        assert "boundary_concern" in risk_body["signals"]

        report = scan_alerts(ctx, ORG, as_of)
        assert report.scanned > 0
        alerts = client.get("/v1/alerts", params={"status": "open"}).raise_for_status().json()
        mine = [a for a in alerts["items"] if a["pairing_id"] == pairing_id]
        assert len(mine) == 1
        alert = mine[0]
        assert "boundary_concern" in alert["signals"]
        assert alert["reasons"][0].startswith("a boundary concern was raised")
        assert any(e["feedback_id"] == "e2e-note" for e in alert["evidence"])
        assert {a["type"] for a in alert["actions"]} >= {"escalate"}
        for action in alert["actions"]:  # re-match suggestions never propose the current mentor
            for suggestion in action.get("suggestions", []):
                assert suggestion["mentor_id"] != pairing_mentor
    timings["http"] = time.monotonic() - t0 - sum(timings.values())
    print("end-to-end timings (s):", {k: round(v, 1) for k, v in timings.items()})
