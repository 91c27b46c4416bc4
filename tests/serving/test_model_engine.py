"""``ModelEngine`` with small fakes for the recommender, the registry and the models: threads,
hot reload, catalog refreshes, feedback → signals → alerts, risk, fallbacks."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from serving_helpers import auth, mentee, mentor, pairing
from sqlalchemy import select

from recsys import db, keys, store
from recsys.context import AppContext
from recsys.insights.risk import FEATURE_COLUMNS
from recsys.schemas import FeedbackIn, InteractionIn, MenteeIn, MentorIn, PairingIn
from recsys.settings import Settings
from serving.app import create_app
from serving.engine import BaselineEngine, ServingEngine
from serving.model_engine import ModelEngine, data_stamp, track_record_stamp

ORG = "acme"
DAY = dt.date(2024, 3, 1)


# --------------------------------------------------------------------------- fakes
@dataclass
class Rec:
    mentor_id: str
    rank: int
    score: float
    reasons: list[str]


class FakeRecommender:
    """Ranks the mentors it was told about; records which thread did the work."""

    def __init__(self) -> None:
        self.mentors = ["m1", "m2", "m3"]
        self.ranker = "ranker-a"
        self.threads: list[str] = []
        self.refreshed: list[str] = []
        self.calls: list[dict[str, Any]] = []
        self.refresh_delay = 0.0

    @property
    def model_version(self) -> str:
        return self.ranker

    def recommend(
        self,
        org: str,
        mentees: Sequence[MenteeIn],
        *,
        k: int = 10,
        as_of: dt.date | None = None,
        exclude: Sequence[str] = (),
        cached_text: bool = True,
    ) -> list[list[Any]]:
        self.threads.append(threading.current_thread().name)
        self.calls.append({"org": org, "exclude": list(exclude), "cached_text": cached_text})
        ids = [m for m in self.mentors if m not in exclude][:k]
        return [
            [Rec(m, i, 1.0 / i, [f"reason for {m}"]) for i, m in enumerate(ids, start=1)]
            for _ in mentees
        ]

    def refresh_mentors(self, org: str) -> None:
        time.sleep(self.refresh_delay)
        self.threads.append(threading.current_thread().name)
        self.refreshed.append(org)

    def invalidate(self, org: str | None = None) -> None:
        pass

    def set_ranker(self, ranker: Any) -> None:
        self.ranker = ranker


@dataclass
class Found:
    label: str
    score: float
    evidence: list[str]


class FakeMiner:
    version = "miner-1"

    def analyze(self, texts: Sequence[str]) -> list[list[Found]]:
        out: list[list[Found]] = []
        for t in texts:
            found = []
            if "deadline" in t.lower():
                found.append(Found("time_constraints", 0.8, ["deadlines"]))
            if "confidential" in t:
                found.append(Found("boundary_concern", 0.95, ["keep it confidential"]))
            out.append(found)
        return out


class FakeRisk:
    def __init__(self, risk: float = 0.7) -> None:
        self.risk = risk
        self.feature_names = ["neg_total", "n_notes"]

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.full(len(frame), self.risk)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"neg_total": [1.0] * len(frame), "n_notes": [0.0] * len(frame)})


@dataclass
class FakeLoader:
    runs: dict[str, str | None] = field(
        default_factory=lambda: {"ranker": "r1", "signals": "s1", "risk": "k1"}
    )
    loads: dict[str, int] = field(default_factory=lambda: {"ranker": 0, "signals": 0, "risk": 0})
    with_models: bool = True
    fail: set[str] = field(default_factory=set)

    def _load(self, component: str, model: Any) -> tuple[Any, str | None]:
        if component in self.fail:
            raise RuntimeError("broken bundle")
        self.loads[component] += 1
        run = self.runs[component]
        return (model if run is not None else None), run

    def champion_runs(self) -> dict[str, str | None]:
        return dict(self.runs)

    def load_ranker(self) -> tuple[Any, str | None]:
        _, run = self._load("ranker", None)
        return f"ranker-{run or 'cold'}", run

    def load_miner(self) -> tuple[Any | None, str | None]:
        return self._load("signals", FakeMiner() if self.with_models else None)

    def load_risk(self) -> tuple[Any | None, str | None]:
        return self._load("risk", FakeRisk() if self.with_models else None)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture
def ctx(tmp_path: Path) -> AppContext:
    ctx = AppContext(
        Settings(
            home=tmp_path,
            model_poll_seconds=0.1,
            data_poll_seconds=0.1,
            rate_limit_per_minute=10**6,
        )
    )
    ctx.migrate()
    with store.transaction(ctx.sessions) as s:
        store.ensure_org(s, ORG)
        store.upsert_models(s, "mentors", ORG, [MentorIn(**mentor("m1")), MentorIn(**mentor("m2"))])
        store.upsert_models(s, "mentees", ORG, [MenteeIn(**mentee("e1"))])
        store.upsert_models(s, "pairings", ORG, [PairingIn(**pairing("p1", "m1", "e1"))])
    return ctx


def _engine(ctx: AppContext, loader: FakeLoader | None = None, **kw: Any) -> ModelEngine:
    return ModelEngine(ctx, recommender=FakeRecommender(), loader=loader or FakeLoader(), **kw)


@pytest.fixture
def engine(ctx: AppContext) -> Iterator[ModelEngine]:
    eng = _engine(ctx, background=False).start()
    yield eng
    eng.close()


def _recommender(engine: ModelEngine) -> FakeRecommender:
    rec = engine._recommender
    assert isinstance(rec, FakeRecommender)
    return rec


def _add_feedback(ctx: AppContext, fid: str, text: str, day: str = "2024-02-20") -> None:
    with store.transaction(ctx.sessions) as s:
        row = {"id": fid, "pairing_id": "p1", "author_role": "mentee", "created_at": day}
        store.upsert_models(s, "feedback", ORG, [FeedbackIn.model_validate({**row, "text": text})])


# --------------------------------------------------------------------------- tests
def test_satisfies_the_protocol(engine: ModelEngine) -> None:
    assert isinstance(engine, ServingEngine)
    assert engine.ready


def test_recommend_runs_on_a_recommendation_thread(engine: ModelEngine) -> None:
    profile = MenteeIn.model_validate(mentee("e1"))
    result = asyncio.run(engine.recommend(ORG, profile, k=2, exclude=["m1"], as_of=DAY))
    assert [i.mentor_id for i in result.items] == ["m2", "m3"]
    assert result.items[0].reasons == ["reason for m2"]
    assert result.model_version == "ranker-r1"
    rec = _recommender(engine)
    assert rec.calls[-1] == {"org": ORG, "exclude": ["m1"], "cached_text": False}
    assert rec.threads and all(t.startswith("recsys-recommend_") for t in rec.threads)


class EncodingRecommender(FakeRecommender):
    """Also encodes mentees (``mentee_batch``), recording the thread, and takes the batch."""

    def __init__(self) -> None:
        super().__init__()
        self.encoded: list[tuple[str, bool]] = []
        self.batches: list[Any] = []

    def mentee_batch(self, mentees: Sequence[MenteeIn], *, cached: bool = True) -> Any:
        self.encoded.append((threading.current_thread().name, cached))
        return ("batch", [m.id for m in mentees])

    def recommend(self, org: str, mentees: Sequence[MenteeIn], **kw: Any) -> list[list[Any]]:
        self.batches.append(kw.pop("batch", None))
        return super().recommend(org, mentees, **kw)


@pytest.mark.parametrize("encode_threads", [2, 0])
def test_inline_goals_are_encoded_on_their_own_threads(
    ctx: AppContext, encode_threads: int
) -> None:
    """An inline mentee's goal is encoded on an encode thread, then ranked on a recommendation
    thread with that batch (the two overlap under load); a stored mentee's vectors come from
    the cache on the recommendation thread.
    ``RECSYS_ENCODE_THREADS=0`` keeps both on the recommendation thread."""
    ctx.settings.encode_threads = encode_threads
    rec = EncodingRecommender()
    engine = ModelEngine(ctx, recommender=rec, loader=FakeLoader(), background=False).start()
    try:
        profile = MenteeIn.model_validate(mentee("e1"))
        asyncio.run(engine.recommend(ORG, profile, k=2, exclude=[], as_of=DAY))
        asyncio.run(engine.recommend(ORG, profile, k=2, exclude=[], as_of=DAY, stored=True))
    finally:
        engine.close()
    if encode_threads:
        assert [(t.split("_")[0], cached) for t, cached in rec.encoded] == [
            ("recsys-encode", False)
        ]
        assert rec.batches == [("batch", ["e1"]), None]
    else:
        assert rec.encoded == [] and rec.batches == [None, None]
    assert all(t.startswith("recsys-recommend_") for t in rec.threads)


def test_stored_mentees_may_use_the_embedding_cache(engine: ModelEngine) -> None:
    profile = MenteeIn.model_validate(mentee("e1"))
    asyncio.run(engine.recommend(ORG, profile, k=2, exclude=[], as_of=DAY, stored=True))
    assert _recommender(engine).calls[-1]["cached_text"] is True


def test_recommendations_wait_for_a_queued_refresh_of_their_org(engine: ModelEngine) -> None:
    """Read-your-writes across threads: a pairing write that returned queues a catalog update
    on the model thread; a recommendation asked afterwards (on a recommendation thread)
    sees it (capacity)."""
    rec = _recommender(engine)
    profile = MenteeIn.model_validate(mentee("e1"))
    asyncio.run(engine.recommend(ORG, profile, k=1, exclude=[], as_of=DAY))  # org now served
    rec.refresh_delay = 0.3
    engine.pairings_changed(ORG, ["p1"])
    seen: list[list[str]] = []
    original = rec.recommend

    def recording(*args: Any, **kwargs: Any) -> list[list[Any]]:
        seen.append(list(rec.refreshed))
        return original(*args, **kwargs)

    rec.recommend = recording  # type: ignore[method-assign]
    asyncio.run(engine.recommend(ORG, profile, k=1, exclude=[], as_of=DAY))
    assert seen == [[ORG]]  # the rebuild had finished when the request ran


def test_versions_name_every_component(engine: ModelEngine) -> None:
    assert engine.versions() == {
        "ranker": "ranker-r1", "signals": "s1", "risk": "k1", "encoder": "unknown",
    }  # fmt: skip


def test_without_trained_models_the_baselines_are_named(ctx: AppContext) -> None:
    loader = FakeLoader(runs={"ranker": None, "signals": None, "risk": None}, with_models=False)
    eng = _engine(ctx, loader, background=False).start()
    try:
        versions = eng.versions()
        assert versions["ranker"] == "ranker-cold"
        assert versions["signals"] == BaselineEngine.SIGNALS_VERSION
        assert versions["risk"] == BaselineEngine.RISK_VERSION
    finally:
        eng.close()


def test_reload_swaps_only_what_moved(engine: ModelEngine) -> None:
    loader = engine._loader
    assert isinstance(loader, FakeLoader)
    before = dict(loader.loads)
    loader.runs["signals"] = "s2"
    versions = asyncio.run(engine.reload())
    assert versions["signals"] == "s2"
    assert loader.loads["signals"] == before["signals"] + 1
    assert loader.loads["ranker"] == before["ranker"]
    assert loader.loads["risk"] == before["risk"]


def test_a_broken_new_model_keeps_the_old_one(engine: ModelEngine) -> None:
    loader = engine._loader
    assert isinstance(loader, FakeLoader)
    loader.runs["risk"] = "k2"
    loader.fail.add("risk")
    versions = asyncio.run(engine.reload())
    assert versions["risk"] == "k1"
    assert engine.ready


def test_analyze_uses_the_miner_or_the_rules(ctx: AppContext, engine: ModelEngine) -> None:
    found = asyncio.run(engine.analyze(["Our deadlines ate every session."]))
    assert found == [[{"label": "time_constraints", "score": 0.8, "evidence": ["deadlines"]}]]
    loader = FakeLoader(runs={"ranker": None, "signals": None, "risk": None}, with_models=False)
    rules = _engine(ctx, loader, background=False).start()
    try:
        found = asyncio.run(rules.analyze(["He cancelled twice!"]))
        assert [s["label"] for s in found[0]] == ["low_commitment"]
    finally:
        rules.close()


def test_mentor_changes_are_merged_and_applied_off_the_request_path(
    engine: ModelEngine,
) -> None:
    rec = _recommender(engine)
    engine.settings.mentor_update_delay_s = 0.3
    engine.mentors_changed(ORG, ["m1"])  # org not served yet: nothing cached, nothing to do
    assert rec.refreshed == [] and not engine._pending_mentors
    engine._call(engine._recommend, ORG, MenteeIn.model_validate(mentee("e1")), 1, [], DAY)
    engine.mentors_changed(ORG, ["m1"])
    engine.mentors_changed(ORG, ["m2"])  # within the delay: the same update
    rec.refresh_delay = 0.5
    t0 = time.monotonic()
    engine._call(engine._recommend, ORG, MenteeIn.model_validate(mentee("e1")), 1, [], DAY)
    assert rec.refreshed == [] and time.monotonic() - t0 < 0.25  # the request did not wait
    assert engine._pending_mentors == {ORG: {"m1", "m2"}}
    assert _wait_for(lambda: rec.refreshed == [ORG])  # applied after the delay, once
    engine.mentors_changed(ORG, ["m3"])
    engine.wait_for_updates(ORG, mentors=True)  # read-your-writes on demand: no delay
    assert rec.refreshed == [ORG, ORG]
    assert set(rec.threads) == {"recsys-model_0"}  # updates run on the model thread


def test_pairing_writes_over_http_refresh_the_catalog(ctx: AppContext, engine: ModelEngine) -> None:
    with store.transaction(ctx.sessions) as s:
        _, key = keys.create_key(s, ORG, "t", ["app"])
    engine._call(engine._recommend, ORG, MenteeIn.model_validate(mentee("e1")), 1, [], DAY)
    with TestClient(create_app(ctx, engine=engine)) as client:
        resp = client.post("/v1/pairings", json=pairing("p2", "m2", "e1"), headers=auth(key))
        assert resp.status_code == 201, resp.text
        engine._call(lambda: None)  # wait for the queued refresh
        assert _recommender(engine).refreshed == [ORG]
        resp = client.delete("/v1/pairings/p2", headers=auth(key))
        assert resp.status_code == 204
        engine._call(lambda: None)
        assert _recommender(engine).refreshed == [ORG, ORG]


def _real_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ModelEngine]:
    """A ModelEngine over a real RecommendationEngine (hashing encoder, cold-start ranker)."""
    from evaluation.matching_eval import synthetic_engine

    rec, _ = synthetic_engine(tmp_path, n_mentors=40, n_mentees=100, seed=2, org=ORG)
    rec.settings.mentor_update_delay_s = 0.2
    loader = FakeLoader()
    monkeypatch.setattr(loader, "load_ranker", lambda: (rec.ranker, "r1"))
    engine = ModelEngine(rec.ctx, recommender=rec, loader=loader, background=False)
    return rec, engine.start(warm_orgs=[ORG])


def test_cohort_matching_waits_for_the_pairings_just_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Matching reads the shared catalog directly: a mentor filled by pairings posted just
    before is full for it too, however long the queued update takes."""
    from recsys.snapshot import load_mentees

    rec, engine = _real_engine(tmp_path, monkeypatch)
    refresh_history = rec.refresh_history

    def slow_refresh(org: str) -> bool:
        time.sleep(0.3)
        return refresh_history(org)

    monkeypatch.setattr(rec, "refresh_history", slow_refresh)
    with store.transaction(rec.ctx.sessions) as s:
        _, key = keys.create_key(s, ORG, "t", ["app", "coordinator"])
        mentees = load_mentees(s, ORG)
    someone = mentees[0]
    fit = mentor("just-joined", bio=someone.goals, languages=someone.languages, capacity=2)
    cohort = {"mentee_ids": [someone.id], "as_of": "2026-10-01"}
    try:
        with TestClient(create_app(rec.ctx, engine=engine)) as client:
            assert client.put("/v1/mentors/just-joined", json=fit, headers=auth(key)).is_success
            engine.wait_for_updates(ORG, mentors=True)
            draft = client.post("/v1/matching/cohort", json=cohort, headers=auth(key)).json()
            assert draft["items"][0]["mentor_id"] == "just-joined"  # the best fit, free
            client.delete(f"/v1/matching/drafts/{draft['id']}", headers=auth(key))
            for i, other in enumerate(mentees[1:3]):
                busy = pairing(f"p-full-{i}", "just-joined", other.id, started_at="2026-09-01")
                assert client.put(f"/v1/pairings/p-full-{i}", json=busy,
                                  headers=auth(key)).is_success  # fmt: skip
            draft = client.post("/v1/matching/cohort", json=cohort, headers=auth(key)).json()
            assert draft["items"][0]["mentor_id"] not in (None, "just-joined")
    finally:
        engine.close()


def test_writes_over_http_update_the_real_catalog_without_rebuilding_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mentor and pairing writes reach the next request through ``update_mentors`` /
    ``refresh_history`` of the real engine: no full rebuild (15-60 s at 100k mentors)."""
    from recsys.snapshot import load_mentees

    rec, engine = _real_engine(tmp_path, monkeypatch)
    rebuilds: list[str] = []
    monkeypatch.setattr(rec, "refresh_mentors", rebuilds.append)
    with store.transaction(rec.ctx.sessions) as s:
        _, key = keys.create_key(s, ORG, "t", ["app"])
        someone = load_mentees(s, ORG)[0]
    index = rec.catalog(ORG).index
    fit = mentor("just-joined", bio=someone.goals, languages=someone.languages, capacity=3)
    body = {"mentee_id": someone.id, "k": 100, "as_of": "2026-10-01"}

    def recommended(client: TestClient) -> list[str]:
        resp = client.post("/v1/recommendations", json=body, headers=auth(key))
        return [r["mentor_id"] for r in resp.raise_for_status().json()["recommendations"]]

    try:
        with TestClient(create_app(rec.ctx, engine=engine)) as client:
            assert "just-joined" not in recommended(client)
            put = client.put("/v1/mentors/just-joined?wait=true", json=fit, headers=auth(key))
            assert put.is_success  # answered once recommendations see it
            assert "just-joined" in recommended(client)
            assert "just-joined" in index  # upserted into the index in use
            done = pairing("p-new", "just-joined", someone.id, started_at="2026-09-01",
                           ended_at="2026-09-20", status="completed")  # fmt: skip
            assert client.put("/v1/pairings/p-new", json=done, headers=auth(key)).is_success
            assert "just-joined" in recommended(client)
            row = rec.catalog(ORG).row_of["just-joined"]
            assert rec.catalog(ORG).history.features(np.array([row]), np.array(
                ["2026-10-01"], dtype="datetime64[D]"))["hist_n"][0] == 1  # fmt: skip
            ask = {"mentee_id": someone.id, "mentor_id": "just-joined", "at": "2026-09-25",
                   "event": "requested"}  # fmt: skip
            assert client.post("/v1/interactions", json=ask, headers=auth(key)).status_code == 201

            def requests_seen() -> float:
                cat = rec.catalog(ORG)
                return float(cat.history.features(np.array([cat.row_of["just-joined"]]), np.array(
                    ["2026-10-01"], dtype="datetime64[D]"))["hist_requests"][0])  # fmt: skip

            assert _wait_for(lambda: requests_seen() == 1)  # the track record, read lazily
            assert client.delete("/v1/pairings/p-new", headers=auth(key)).status_code == 204
            assert client.delete("/v1/mentors/just-joined", headers=auth(key)).status_code == 204
            assert "just-joined" in index  # not waited for: applied with the delay
            assert _wait_for(lambda: "just-joined" not in index)
            assert "just-joined" not in recommended(client)
            assert "just-joined" not in index
            assert rec.catalog(ORG).index is index
        assert rebuilds == []
        engine.close()  # saves the updated index: a restart loads it instead of building it
        saved = rec.settings.index_dir / ORG
        assert (saved / "catalog.fingerprint").read_text() == rec.catalog(ORG).fingerprint
        assert None in json.loads((saved / "ids.json").read_text())  # just-joined's old slot
    finally:
        engine.close()


def test_writes_behind_its_back_are_applied_by_the_poll_without_a_rebuild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``recsys ingest`` while serving: the poll finds the mentors whose stored version moved
    and applies just them; a pairing stored outside re-reads the track record; API writes,
    already applied, are not applied twice."""
    from recsys.snapshot import load_mentees, load_mentors

    rec, engine = _real_engine(tmp_path, monkeypatch)
    rebuilds: list[str] = []
    updates: list[list[str]] = []
    histories: list[str] = []
    update_mentors, refresh_history = rec.update_mentors, rec.refresh_history
    monkeypatch.setattr(rec, "refresh_mentors", rebuilds.append)
    monkeypatch.setattr(
        rec,
        "update_mentors",
        lambda org, ids: updates.append(sorted(ids)) or update_mentors(org, ids),
    )
    monkeypatch.setattr(
        rec, "refresh_history", lambda org: histories.append(org) or refresh_history(org)
    )

    def poll() -> None:
        engine._check_data()
        engine._call(lambda: None)  # the work it queued on the model thread is done
        engine.wait_for_updates(ORG)

    try:
        with rec.ctx.sessions() as s:
            mentors = load_mentors(s, ORG)
            someone = load_mentees(s, ORG)[0]
        poll()
        assert (updates, histories) == ([], [])  # nothing changed
        joined = mentors[0].model_copy(update={"id": "joined", "bio": someone.goals})
        with store.transaction(rec.ctx.sessions) as s:  # an ingest: one new, one edited
            store.upsert_models(s, "mentors", ORG, [*mentors[1:], joined])
            store.upsert_models(s, "mentors", ORG, [mentors[1].model_copy(update={"capacity": 0})])
        poll()
        assert updates == [sorted(["joined", mentors[1].id])] and histories == []
        assert "joined" in rec.catalog(ORG).index and "joined" in rec.catalog(ORG).row_of
        assert rec.catalog(ORG).capacity[rec.catalog(ORG).row_of[mentors[1].id]] == 0
        with store.transaction(rec.ctx.sessions) as s:
            store.upsert_models(s, "pairings", ORG, [PairingIn(**pairing(
                "p-outside", "joined", someone.id, started_at="2026-09-01"))])  # fmt: skip
        poll()
        assert histories == [ORG] and len(updates) == 1
        row = rec.catalog(ORG).row_of["joined"]
        assert rec.catalog(ORG).load(np.array([row]), dt.date(2026, 10, 1))[0] == 1
        with store.transaction(rec.ctx.sessions) as s:  # an answer ingested: "I am full"
            store.upsert_models(s, "interactions", ORG, [InteractionIn(
                mentee_id=someone.id, mentor_id=mentors[3].id, at="2026-09-20",
                event="declined", decline_reason="no_capacity")])  # fmt: skip
        poll()
        assert histories == [ORG, ORG] and len(updates) == 1
        said_full = rec.catalog(ORG).history.said_full
        full_row = rec.catalog(ORG).row_of[mentors[3].id]
        assert said_full(np.array([full_row]), np.array(["2026-09-21"], "datetime64[D]"), 14)[0]
        poll()
        assert histories == [ORG, ORG]  # the poll does not re-read what it has read
        with store.transaction(rec.ctx.sessions) as s:  # an API write: applied once
            store.upsert_models(s, "mentors", ORG, [mentors[2].model_copy(update={"bio": "New."})])
        rec.settings.mentor_update_delay_s = 60  # the update waits until asked for below
        engine.mentors_changed(ORG, [mentors[2].id])
        poll()  # while its update waits for the delay: left to that update
        assert updates[1:] == []
        engine.wait_for_updates(ORG, mentors=True)
        poll()
        assert updates[1:] == [[mentors[2].id]]
        with store.transaction(rec.ctx.sessions) as s:  # another worker's answer: no capacity
            store.upsert_models(s, "interactions", ORG, [InteractionIn(  # change in it
                mentee_id=someone.id, mentor_id=mentors[4].id, at="2026-09-22",
                event="requested")])  # fmt: skip
        poll()  # requests do not wait for it: left to the next update window
        assert histories == [ORG, ORG] and ORG in engine._history_later
        engine.wait_for_updates(ORG, mentors=True)
        assert histories == [ORG, ORG, ORG]
        poll()
        assert histories == [ORG, ORG, ORG] and len(updates) == 2
        assert rebuilds == []
    finally:
        engine.close()


def test_feedback_is_mined_stored_and_raises_boundary_alerts(
    ctx: AppContext, engine: ModelEngine
) -> None:
    _add_feedback(ctx, "f1", "Deadlines again. He asked me to keep it confidential.")
    _add_feedback(ctx, "f2", "All good.")
    signals = engine.feedback_stored(ORG, ["f1", "f2", "missing"])
    assert [s["label"] for s in signals[0]] == ["time_constraints", "boundary_concern"]
    assert signals[1:] == [[], []]
    with ctx.sessions() as s:
        stored = s.scalars(select(db.FeedbackSignal).where(db.FeedbackSignal.org_id == ORG))
        assert {(r.feedback_id, r.label) for r in stored} == {
            ("f1", "time_constraints"), ("f1", "boundary_concern"),
        }  # fmt: skip
        assert s.get(db.Feedback, (ORG, "f1")).signals_version == "miner-1"  # type: ignore[union-attr]
        alerts = list(s.scalars(select(db.Alert).where(db.Alert.org_id == ORG)))
    assert len(alerts) == 1
    assert alerts[0].pairing_id == "p1"
    assert "boundary_concern" in alerts[0].signals
    assert alerts[0].as_of == dt.date(2024, 2, 20)


def test_feedback_without_a_miner_uses_the_rules(ctx: AppContext) -> None:
    loader = FakeLoader(runs={"ranker": None, "signals": None, "risk": None}, with_models=False)
    eng = _engine(ctx, loader, background=False).start()
    try:
        _add_feedback(ctx, "f1", "He cancelled twice!")
        assert [s["label"] for s in eng.feedback_stored(ORG, ["f1"])[0]] == ["low_commitment"]
        with ctx.sessions() as s:
            row = s.get(db.Feedback, (ORG, "f1"))
            assert row is not None and row.signals_version == BaselineEngine.SIGNALS_VERSION
    finally:
        eng.close()


def test_pairing_risk_scores_one_pairing(ctx: AppContext, engine: ModelEngine) -> None:
    _add_feedback(ctx, "f1", "Deadlines everywhere.")  # stored, not yet mined: mined first
    assert asyncio.run(engine.pairing_risk(ORG, "nope", DAY)) is None
    assert asyncio.run(engine.pairing_risk("other-org", "p1", DAY)) is None
    risk = asyncio.run(engine.pairing_risk(ORG, "p1", DAY))
    assert risk is not None
    assert risk["risk"] == 0.7
    assert risk["model_version"] == "k1"
    assert risk["signals"] == ["time_constraints"]
    assert risk["reasons"] == ["1 note about time constraints in the last 30 days"]
    assert set(FakeRisk().feature_names) <= set(FEATURE_COLUMNS)


def test_pairing_risk_without_a_model_is_the_noisy_or(ctx: AppContext) -> None:
    loader = FakeLoader(runs={"ranker": None, "signals": None, "risk": None}, with_models=False)
    eng = _engine(ctx, loader, background=False).start()
    try:
        _add_feedback(ctx, "f1", "He cancelled twice!")
        eng.feedback_stored(ORG, ["f1"])
        risk = asyncio.run(eng.pairing_risk(ORG, "p1", DAY))
        assert risk is not None
        assert risk["model_version"] == BaselineEngine.RISK_VERSION
        assert risk["risk"] == 0.75
        assert risk["signals"] == ["low_commitment"]
    finally:
        eng.close()


def _wait_for(check: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_background_poll_reloads_moved_aliases_and_notices_ingests(ctx: AppContext) -> None:
    loader = FakeLoader()
    eng = _engine(ctx, loader).start(warm_orgs=[ORG])
    try:
        rec = _recommender(eng)
        assert rec.refreshed == [ORG]
        loader.runs["ranker"] = "r2"
        assert _wait_for(lambda: eng.versions()["ranker"] == "ranker-r2")
        with store.transaction(ctx.sessions) as s:  # e.g. `recsys ingest` while serving
            store.upsert_models(s, "mentors", ORG, [MentorIn(**mentor("m9"))])
        assert _wait_for(lambda: rec.refreshed == [ORG, ORG])
    finally:
        eng.close()
    assert eng._maintenance is not None and not eng._maintenance.is_alive()


def test_other_workers_writes_are_polled_apart_from_the_registry(ctx: AppContext) -> None:
    """Another ``--workers`` process's writes are looked for every ``data_poll_seconds``, not
    at the registry's pace: a pairing it stores (capacity) reaches this process's track
    record long before the next registry poll."""
    loader = FakeLoader()
    settings = ctx.settings.model_copy(update={"model_poll_seconds": 3600.0})
    eng = _engine(AppContext(settings), loader).start(warm_orgs=[ORG])
    try:
        rec = _recommender(eng)
        loader.runs["ranker"] = "r2"
        with store.transaction(ctx.sessions) as s:  # the other worker's API write
            store.upsert_models(s, "pairings", ORG, [PairingIn(**pairing("p2", "m2", "e1"))])
        assert _wait_for(lambda: rec.refreshed == [ORG, ORG])
        assert eng.versions()["ranker"] != "ranker-r2"  # the registry waits for its own poll
    finally:
        eng.close()


def test_data_stamp_changes_with_mentors_and_pairings(ctx: AppContext) -> None:
    with ctx.sessions() as s:
        first = data_stamp(s, ORG)
    with store.transaction(ctx.sessions) as s:
        ended = pairing("p1", "m1", "e1", status="completed", ended_at="2024-02-01")
        store.upsert_models(s, "pairings", ORG, [PairingIn(**ended)])
    with ctx.sessions() as s:
        second = data_stamp(s, ORG)
        assert second != first
        assert data_stamp(s, "empty-org") == (0, None, 0, 0, None, None, 0, None, 0, 0, 0)


def test_track_record_stamp_moves_with_answers_and_notes_not_served_lists(
    ctx: AppContext,
) -> None:
    """What the track record reads besides pairings: request answers (a served list's rows
    are not answers) and analysed check-in notes with their low-commitment flags."""

    def stamp() -> tuple[Any, ...]:
        with ctx.sessions() as s:
            return track_record_stamp(s, ORG)

    def answer(event: str, **kw: Any) -> None:
        with store.transaction(ctx.sessions) as s:
            store.upsert_models(s, "interactions", ORG, [InteractionIn(
                mentee_id="e1", mentor_id="m2", at="2024-03-01", event=event, **kw)])  # fmt: skip

    seen = [stamp()]
    answer("shown", position=1)
    assert stamp() == seen[-1]  # ten rows per served list: not part of the track record
    answer("declined")
    seen.append(stamp())
    answer("declined", decline_reason="no_capacity")  # the same row, now with its reason
    seen.append(stamp())
    with store.transaction(ctx.sessions) as s:
        s.add(db.Feedback(org_id=ORG, id="f1", pairing_id="p1", author_role="mentee",
                          created_at=dt.date(2024, 3, 2), text="Too busy to meet."))  # fmt: skip
    assert stamp() == seen[-1]  # not analysed yet: no signals to read
    with store.transaction(ctx.sessions) as s:
        s.get_one(db.Feedback, (ORG, "f1")).signals_version = "miner-1"
    seen.append(stamp())
    with store.transaction(ctx.sessions) as s:
        s.add(db.FeedbackSignal(org_id=ORG, feedback_id="f1", label="low_commitment",
                                score=0.9, evidence=["too busy"]))  # fmt: skip
    seen.append(stamp())
    assert len(set(seen)) == len(seen)
