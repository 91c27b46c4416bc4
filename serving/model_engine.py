"""The trained-model engine of the service: recommender, signal miner and risk model.

:class:`ModelEngine` implements :class:`serving.engine.ServingEngine` on top of
:class:`recsys.engine.RecommendationEngine` (encoder, embedding cache, per-organisation mentor
catalog + FAISS index, ranker) and the ``@champion`` signal miner and risk model from MLflow.

Threads, and why:

* **one model thread** (``recsys-model``) runs every piece of model work that writes or
  rebuilds: signal mining of stored feedback, risk scoring, alerts, catalog rebuilds. Jobs run
  in submission order. torch / FAISS / LightGBM get ``settings.threads`` threads each once, on
  their own long-lived threads; running them from the shared threadpool instead made
  inference about 2x slower here (thread churn, oversubscription), and the event loop never
  blocks on inference.
* **recommendation threads** (``recsys-recommend``, ``settings.recommend_threads``, default 2)
  answer recommendation requests, which only read the catalogs and models: with two, one
  request's candidate search and ranking overlap another's goal encoding, and the service went
  from 101 to 114 req/s (stored mentees) and from 45 to 62 req/s (inline profiles) at c=8 on
  2 cores (``bench_recommend --http``). A recommendation first waits for a catalog update
  queued for its organisation by a pairing write that returned before it was asked
  (read-your-writes for capacity; mentor writes apply within seconds, see below).
* **encode threads** (``recsys-encode``, ``settings.encode_threads``, default 2) encode an
  inline mentee's goal before a recommendation thread takes the request. The int8 encoder
  (ONNX Runtime, GIL-free) is about half of an inline request's CPU and the rest is mostly
  Python: as separate stages, one request's encoding overlaps others' search and ranking
  without adding Python threads that fight over the GIL. Inline c=8 at 100k mentors over
  six interleaved pairs of runs: median 69.1 -> 73.9 req/s (per pair -10% to +16% on this
  shared VM), the server using 1.74 instead of 1.66 cores (every pair), CPU per request
  ~2% higher; stored-mentee requests (nothing to encode) unchanged. A third recommendation
  thread instead had raised inline throughput ~10% but cost stored-mentee requests ~9%.
* **one loader thread** (``recsys-loader``) serves ``POST /v1/models/reload``; a
  **maintenance thread** polls the registry every ``settings.model_poll_seconds`` (reloading a
  component whose ``@champion`` alias moved), notices data written behind this process's back
  (another ``--workers`` process, ``recsys ingest`` while it runs) every
  ``settings.data_poll_seconds`` and delivers due outbox messages. New models are loaded
  off the model thread and swapped in with single assignments: in-flight requests finish with
  the models they started with; none is dropped.

Catalog updates: the mentor writes of a ``settings.mentor_update_delay_s`` window (5 s) are
applied, on the model thread, as one update of just those mentors in the loaded catalog
(``RecommendationEngine.update_mentors``: their texts encoded, arrays copied with their rows
replaced, appended or dropped, the FAISS index upserted, no rebuild); requests do not wait for
it (``mentors_changed`` says why; ``wait_for_updates(org, mentors=True)`` applies them at
once). A pairing write (``pairings_changed``) reads the track record again
(``refresh_history``), and requests asked after it wait for that, so capacity is never read
stale. At 100k mentors a bio edit costs ~0.6 s and a pairing ~0.16 s, where rebuilding cost
65 s and 18 s (``bench_updates``). Requests in flight finish on the catalog they started with;
updated indexes are saved every poll and at shutdown. Writes behind the service's back
(``recsys ingest`` while it runs, another process) are found by the maintenance poll, which
compares the store's mentor row versions with the catalog's, and applied the same way: only
a change to more than a fifth of the mentors rebuilds the catalog.

Fallbacks when nothing is trained yet: the ranker falls back to the cold-start scorer (inside
:class:`RecommendationEngine`); without a signal model, signals come from the keyword rules
of :func:`serving.engine.detect_signals` (version ``baseline-rules-1``); without a risk model,
risk is the noisy-or of stored signals (:func:`serving.engine.risk_from_signals`, version
``baseline-noisy-or-1``). ``versions()`` says which is in use, so nothing is silent.

Feedback written through the API is mined at once, and its pairing is scored and passed to
:func:`recsys.insights.alerts.scan` (dated the note's day), so a boundary concern or a risk
over the threshold opens an alert without waiting for the next scheduled scan.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, Protocol, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recsys import db, store
from recsys.context import AppContext
from recsys.insights.risk import (
    FEATURE_COLUMNS,
    MIN_SIGNAL_SCORE,
    PairingRisk,
    RiskModelLike,
    explain,
    load_notes,
    risk_features,
    summarise_signals,
)
from recsys.schemas import ANSWER_EVENTS, DeclineReason, MenteeIn, Signal
from recsys.settings import Settings
from serving.engine import (
    BaselineEngine,
    DetectedSignal,
    RecommendResult,
    ScoredMentor,
    detect_signals,
    risk_from_signals,
)

log = logging.getLogger("recsys.serving.models")

T = TypeVar("T")
COMPONENTS = ("ranker", "signals", "risk")
DELIVERY_INTERVAL_S = 15.0
REMATCH_SUGGESTIONS = 3
RematchFn = Callable[[str], list[dict[str, Any]]]


# --------------------------------------------------------------------------- seams
class Recommender(Protocol):
    """What the engine needs from :class:`recsys.engine.RecommendationEngine`."""

    @property
    def model_version(self) -> str: ...

    def recommend(
        self,
        org: str,
        mentees: Sequence[MenteeIn],
        *,
        k: int = 10,
        as_of: dt.date | None = None,
        exclude: Sequence[str] = (),
        cached_text: bool = True,
    ) -> list[list[Any]]: ...

    def refresh_mentors(self, org: str) -> None: ...

    def invalidate(self, org: str | None = None) -> None: ...

    def set_ranker(self, ranker: Any) -> None: ...


class ModelLoader(Protocol):
    """Resolves and loads the champion of each model kind (MLflow in production)."""

    def champion_runs(self) -> dict[str, str | None]:
        """Component → run id behind the champion alias (None: nothing registered)."""
        ...

    def load_ranker(self) -> tuple[Any, str | None]:
        """(ranker, run id it came from); the cold-start scorer and None when none usable."""
        ...

    def load_miner(self) -> tuple[Any | None, str | None]: ...

    def load_risk(self) -> tuple[RiskModelLike | None, str | None]: ...


class MlflowModelLoader:
    """Champions from the MLflow registry (bundles cached under ``RECSYS_HOME/models``)."""

    def __init__(self, settings: Settings, encoder_id: Callable[[], str]) -> None:
        self.settings = settings
        self._encoder_id = encoder_id

    def _names(self) -> dict[str, str]:
        s = self.settings
        return {
            "ranker": s.ranker_model_name,
            "signals": s.signals_model_name,
            "risk": s.risk_model_name,
        }

    def champion_runs(self) -> dict[str, str | None]:
        from training.tracking import champion, setup_mlflow

        client = setup_mlflow(self.settings)
        out: dict[str, str | None] = {}
        for component, name in self._names().items():
            mv = champion(client, name, self.settings.model_alias)
            out[component] = None if mv is None else str(mv.run_id)
        return out

    def load_ranker(self) -> tuple[Any, str | None]:
        from models.ranker import ModelMismatchError, RankerModel
        from training.tracking import download_bundle

        encoder_id = self._encoder_id()
        found = download_bundle(self.settings, self.settings.ranker_model_name)
        if found is None:
            return RankerModel.cold_start(encoder_id), None
        path, mv = found
        try:
            model = RankerModel.load(path, expected_encoder_id=encoder_id)
        except ModelMismatchError as exc:
            # Remember the run anyway, so the poll does not retry an unusable model forever.
            log.warning("champion ranker %s unusable (%s): cold-start scorer", mv.run_id, exc)
            return RankerModel.cold_start(encoder_id), str(mv.run_id)
        model.manifest.run_id = mv.run_id
        return model, str(mv.run_id)

    def load_miner(self) -> tuple[Any | None, str | None]:
        from models.signals import SignalMiner
        from training.tracking import download_bundle

        found = download_bundle(self.settings, self.settings.signals_model_name)
        if found is None:
            return None, None
        path, mv = found
        miner = SignalMiner.load(path)
        miner.manifest["run_id"] = mv.run_id
        return miner, str(mv.run_id)

    def load_risk(self) -> tuple[RiskModelLike | None, str | None]:
        from models.risk import RiskModel
        from training.tracking import download_bundle

        found = download_bundle(self.settings, self.settings.risk_model_name)
        if found is None:
            return None, None
        path, mv = found
        return RiskModel.load(path), str(mv.run_id)


# --------------------------------------------------------------------------- helpers
def signal_dicts(found: Sequence[Any]) -> list[DetectedSignal]:
    """Miner output (objects with label / score / evidence) as the API's plain dicts."""
    return [
        {
            "label": str(getattr(s.label, "value", s.label)),
            "score": round(float(min(max(s.score, 0.0), 1.0)), 4),
            "evidence": [str(e) for e in s.evidence],
        }
        for s in found
    ]


def data_stamp(session: Session, org: str) -> tuple[Any, ...]:
    """A cheap summary that changes when ``org``'s mentors or track record change (for
    stand-in recommenders; the real engine compares mentors' row versions, see
    ``_check_data``). Mentor upserts bump ``updated_at``."""
    m = db.Mentor
    mentors = session.execute(
        select(func.count(), func.max(m.updated_at)).where(m.org_id == org)
    ).one()
    return (*mentors, *track_record_stamp(session, org))


class TrackRecordStamp(NamedTuple):
    """What :func:`track_record_stamp` summarises, field by field."""

    pairings: int
    open_pairings: int
    latest_start: dt.date | None
    latest_end: dt.date | None
    answers: int
    latest_answer: int | None
    no_capacity_declines: int
    analysed_notes: int
    low_commitment_flags: int

    def capacity(self) -> tuple[Any, ...]:
        """The part hard constraints read: pairings (a mentor's load) and "no capacity"
        declines. A change here is applied before the next request; answers and notes only
        move ranking features, and are read with the next update window."""
        return (*self[:4], self.no_capacity_declines)


def track_record_stamp(session: Session, org: str) -> TrackRecordStamp:
    """A cheap summary that changes when what ``org``'s track record is read from changes:
    pairings (count, still open, latest start and end: they have no version column), request
    answers (count, latest row, "no capacity" declines; served-list rows are skipped by
    ``ix_interactions_event``, there are ten per request) and analysed check-in notes (count,
    low-commitment flags)."""
    p, i, fb, fs = db.Pairing, db.Interaction, db.Feedback, db.FeedbackSignal
    pairings = session.execute(
        select(
            func.count(),
            func.count().filter(p.ended_at.is_(None)),
            func.max(p.started_at),
            func.max(p.ended_at),
        ).where(p.org_id == org)
    ).one()
    answers = session.execute(
        select(
            func.count(),
            func.max(i.pk),
            func.count().filter(i.decline_reason == DeclineReason.no_capacity.value),
        ).where(i.org_id == org, i.event.in_(ANSWER_EVENTS))
    ).one()
    notes = session.scalar(
        select(func.count()).where(fb.org_id == org, fb.signals_version.is_not(None))
    )
    flags = session.scalar(
        select(func.count()).where(fs.org_id == org, fs.label == Signal.low_commitment.value)
    )
    return TrackRecordStamp(*pairings, *answers, notes or 0, flags or 0)


def rematch_suggestions(
    recommender: Recommender,
    session: Session,
    org: str,
    as_of: dt.date,
    *,
    k: int = REMATCH_SUGGESTIONS,
) -> Any:
    """The ``rematch`` callback of :func:`recsys.insights.alerts.scan`: replacement mentors for
    the pairing's mentee, never the current mentor, with the challenge as a constraint
    (:mod:`recsys.rematch`, the same machinery as cohort matching)."""
    from recsys.rematch import rematch_callback

    return rematch_callback(session, recommender, org, as_of, k=k)  # type: ignore[arg-type]


def score_pairing(
    session: Session, org: str, pairing: db.Pairing, as_of: dt.date, model: RiskModelLike | None
) -> tuple[PairingRisk, str]:
    """Risk of one pairing as of ``as_of`` (same features and reasons as
    :func:`recsys.insights.risk.score_active_pairings`); without a model, the noisy-or of its
    stored signals. Returns the risk and how it was computed ("model" or "baseline")."""
    notes = load_notes(session, org, [pairing.id], as_of=as_of)[pairing.id]
    signals, evidence = summarise_signals(notes, as_of)
    features: dict[str, float] = {}
    if model is not None:
        frame = risk_features(session, org, [(pairing.id, as_of)])
        x = frame[list(model.feature_names)]
        risk = float(model.predict_proba(x)[0])
        features = {k: float(v) for k, v in frame.iloc[0][list(FEATURE_COLUMNS)].items()}
        contrib = {
            str(k): float(v) for k, v in model.contributions(x).iloc[0].items() if k in features
        }
        reasons, how = explain(features, contrib), "model"
    else:
        detected: list[DetectedSignal] = [
            {"label": label, "score": score, "evidence": []} for label, score in signals.items()
        ]
        risk, reasons = risk_from_signals(detected)
        how = "baseline"
    result = PairingRisk(
        pairing_id=pairing.id,
        risk=min(max(risk, 0.0), 1.0),
        reasons=reasons,
        signals=signals,
        evidence=evidence,
        mentor_id=pairing.mentor_id,
        mentee_id=pairing.mentee_id,
        as_of=as_of,
        features=features,
    )
    return result, how


@dataclass(frozen=True)
class _Models:
    """The signal miner and risk model in use, swapped as one value."""

    miner: Any | None = None
    risk: RiskModelLike | None = None
    runs: dict[str, str | None] = field(default_factory=dict)  # component → champion run seen


# --------------------------------------------------------------------------- the engine
class ModelEngine:
    """The trained-model :class:`~serving.engine.ServingEngine` (see the module doc)."""

    def __init__(
        self,
        ctx: AppContext,
        *,
        recommender: Recommender | None = None,
        loader: ModelLoader | None = None,
        background: bool = True,
    ) -> None:
        from recsys.runtime import init_worker_thread, name_os_thread

        self.ctx = ctx
        self.settings = ctx.settings
        self.ready = False
        if recommender is None:
            from recsys.engine import RecommendationEngine

            engine = RecommendationEngine(ctx)
            recommender = engine
            self._encoder_id: Callable[[], str] = lambda: str(engine.embedder.encoder_id)
        else:
            self._encoder_id = lambda: str(
                getattr(getattr(recommender, "embedder", None), "encoder_id", "unknown")
            )
        self._recommender = recommender
        self._loader = loader or MlflowModelLoader(self.settings, self._encoder_id)
        self._baseline = BaselineEngine(ctx.sessions, self.settings.capacity_decline_days)
        self._models = _Models()
        self._background = background
        self._model_thread = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="recsys-model",
            initializer=init_worker_thread,
            initargs=(self.settings.threads,),
        )
        self._recommend_threads = ThreadPoolExecutor(
            max_workers=self.settings.recommend_threads,
            thread_name_prefix="recsys-recommend",
            initializer=init_worker_thread,
            initargs=(self.settings.threads,),
        )
        self._encode_threads = (
            ThreadPoolExecutor(
                max_workers=self.settings.encode_threads,
                thread_name_prefix="recsys-encode",
                initializer=init_worker_thread,
                initargs=(self.settings.threads,),
            )
            if self.settings.encode_threads
            else None
        )
        self._refresh_futures: dict[str, Future[None]] = {}
        self._loader_thread = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="recsys-loader", initializer=name_os_thread
        )
        self._reload_lock = threading.Lock()
        self._orgs_lock = threading.Lock()
        self._known_orgs: dict[str, tuple[Any, ...]] = {}  # org → data stamp of its catalog
        # org → a queued catalog job for pairing (False) or outside (True: full rebuild) writes
        self._pending_refresh: dict[str, bool] = {}
        # mentor writes not yet applied (org → ids), the timer that submits their update, and
        # the update's future (not waited for by requests, see mentors_changed)
        self._pending_mentors: dict[str, set[str]] = {}
        self._mentor_timers: dict[str, threading.Timer] = {}
        self._mentor_futures: dict[str, Future[None]] = {}
        self._unsaved_indexes: set[str] = set()  # orgs whose updated index is not on disk yet
        self._history_later: set[str] = set()  # orgs whose track record changed (lazily read)
        self._stop = threading.Event()
        self._maintenance: threading.Thread | None = None
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    @property
    def recommendation_engine(self) -> Any:
        """The wrapped :class:`RecommendationEngine` (cohort matching shares its models and
        catalogs instead of loading a second copy); None with a stand-in recommender."""
        from recsys.engine import RecommendationEngine

        return self._recommender if isinstance(self._recommender, RecommendationEngine) else None

    def start(self, warm_orgs: Sequence[str] = ()) -> ModelEngine:
        """Load every model, build the catalogs of ``warm_orgs``, start background work."""
        from recsys.runtime import configure_threads

        configure_threads(self.settings.threads)
        self._reload_sync(force=True)
        self._call(self._warm, list(warm_orgs))
        if self._background:
            self._maintenance = threading.Thread(
                target=self._maintain, name="recsys-maintenance", daemon=True
            )
            self._maintenance.start()
        self.ready = True
        log.info("model engine ready: %s", self.versions())
        return self

    def close(self) -> None:
        """Stop background work and the threads (queued jobs are cancelled)."""
        if self._closed:
            return
        self._closed = True
        self.ready = False
        self._stop.set()
        with self._orgs_lock:
            timers = list(self._mentor_timers.values())
        for timer in timers:
            timer.cancel()
        self._guard(lambda: self._model_thread.submit(self._flush_updates).result())
        if self._maintenance is not None:
            self._maintenance.join(timeout=30)
        self._loader_thread.shutdown(wait=True, cancel_futures=True)
        self._recommend_threads.shutdown(wait=True, cancel_futures=True)
        if self._encode_threads is not None:
            self._encode_threads.shutdown(wait=True, cancel_futures=True)
        self._model_thread.shutdown(wait=True, cancel_futures=True)

    def _warm(self, orgs: list[str]) -> None:
        encode = getattr(self._recommender, "encode_fresh", None)
        if encode is not None:
            encode(["warm-up"])  # first call pays graph set-up; not a request
        for org in orgs:
            self._track(org)
            self._recommender.refresh_mentors(org)

    # ------------------------------------------------------------------ threads
    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.wrap_future(self._model_thread.submit(fn, *args))

    def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the model thread and wait (for sync callers: threadpool routes)."""
        return self._model_thread.submit(fn, *args).result()

    # ------------------------------------------------------------------ versions / reload
    def versions(self) -> dict[str, str | None]:
        models = self._models
        return {
            "ranker": self._recommender.model_version,
            "signals": models.runs.get("signals") if models.miner is not None
            else BaselineEngine.SIGNALS_VERSION,
            "risk": models.runs.get("risk") if models.risk is not None
            else BaselineEngine.RISK_VERSION,
            "encoder": self._encoder_id(),
        }  # fmt: skip

    async def reload(self) -> dict[str, str | None]:
        return await asyncio.wrap_future(self._loader_thread.submit(self._reload_sync))

    def _reload_sync(self, force: bool = False) -> dict[str, str | None]:
        """Load the components whose champion moved (all with ``force``) and swap them in.

        A component that fails to load keeps its current model (logged), so a broken
        registration never takes the service down.
        """
        with self._reload_lock:
            current = self._models
            runs = dict(current.runs)
            try:
                champions = self._loader.champion_runs()
            except Exception:
                if not force:
                    log.exception("cannot read the model registry; keeping the models in use")
                    return self.versions()
                champions = {}
            stale = {c for c in COMPONENTS if force or champions.get(c) != runs.get(c)}
            miner, risk = current.miner, current.risk
            if "ranker" in stale:
                try:
                    ranker, runs["ranker"] = self._loader.load_ranker()
                    self._recommender.set_ranker(ranker)
                except Exception:
                    log.exception("loading the champion ranker failed; keeping the current one")
            if "signals" in stale:
                try:
                    miner, runs["signals"] = self._loader.load_miner()
                except Exception:
                    log.exception("loading the champion signal model failed; keeping the current")
            if "risk" in stale:
                try:
                    risk, runs["risk"] = self._loader.load_risk()
                except Exception:
                    log.exception("loading the champion risk model failed; keeping the current")
            self._models = replace(current, miner=miner, risk=risk, runs=runs)
            if stale and not force:
                log.info("reloaded %s: %s", ", ".join(sorted(stale)), self.versions())
        return self.versions()

    # ------------------------------------------------------------------ background
    def _maintain(self) -> None:
        from recsys.runtime import name_os_thread

        name_os_thread()
        poll = max(float(self.settings.model_poll_seconds), 0.1)
        data_poll = max(float(self.settings.data_poll_seconds), 0.1)
        next_poll = time.monotonic() + poll
        next_data = time.monotonic() + data_poll
        next_delivery = time.monotonic() + DELIVERY_INTERVAL_S
        while not self._stop.wait(
            max(min(next_poll, next_data, next_delivery) - time.monotonic(), 0.05)
        ):
            now = time.monotonic()
            if now >= next_poll:
                next_poll = now + poll
                self._guard(self._reload_sync)
                self._model_thread.submit(self._guard, self._save_indexes)
            if now >= next_data:
                # often: another worker's writes (capacity among them) land here; the check
                # is a few indexed counts, ~11 ms at 100k mentors when nothing changed
                next_data = now + data_poll
                self._guard(self._check_data)
            if now >= next_delivery:
                next_delivery = now + DELIVERY_INTERVAL_S
                self._guard(self.deliver_outbox)

    @staticmethod
    def _guard(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except Exception:  # background work must survive one bad round
            log.exception("background task %s failed", getattr(fn, "__name__", fn))

    def deliver_outbox(self) -> Any:
        """Send due alert notifications (also run by ``recsys alerts deliver``)."""
        from recsys.insights.delivery import deliver_due

        return deliver_due(self.ctx.sessions, self.settings)

    def _check_data(self) -> None:
        """Apply writes made behind the service's back (another worker, ``recsys ingest``
        while serving, another process) to the loaded catalogs (maintenance thread, every
        ``data_poll_seconds``).

        Mentors: the real engine compares the store's row versions with its catalog's and
        applies just the changed mentors (``sync_mentors``, on the model thread: a count and
        sum of versions, 8 ms at 100k mentors, and only if they differ a read of every
        version and an update like an API write's); writes
        through the API are already applied and so find nothing to do. Track record: a changed
        :func:`track_record_stamp` (pairings, request answers, analysed notes; 3 ms with a
        million served-list rows) re-reads it (0.2 s at 100k mentors): before the next
        request when pairings or "no capacity" declines moved (capacity), with the next update
        window when only answers or notes did. A stand-in recommender without versions is
        rebuilt when the stamp of either changes."""
        sync = getattr(self._recommender, "sync_mentors", None)
        with self._orgs_lock:
            known = dict(self._known_orgs)
        for org, stamp in known.items():
            if sync is not None:
                self._model_thread.submit(self._sync_mentors, org, sync)
            with self._orgs_lock:
                queued = org in self._pending_refresh
            if queued:  # that work records the stamp when it runs
                continue
            with self.ctx.sessions() as session:
                now = self._stamp(session, org)
            if now == stamp:
                continue
            if (
                isinstance(now, TrackRecordStamp)
                and isinstance(stamp, TrackRecordStamp)
                and now.capacity() == stamp.capacity()
            ):
                # answers or notes only (another worker's, at every poll under traffic): read
                # with the next update window, as this worker's own are, so requests do not
                # wait for the re-read (0.16 s at 100k mentors) every few seconds
                self.track_record_changed(org)
            else:
                self._schedule_refresh(org, full=sync is None)

    def _sync_mentors(self, org: str, sync: Callable[[str], int | None]) -> None:
        """Apply mentors changed in the store that the catalog has not seen (model thread).
        Not while API writes of ``org`` wait for their update: they would be applied twice;
        the next poll finds whatever else changed."""
        with self._orgs_lock:
            if org in self._pending_mentors:
                return
        try:
            if sync(org):
                with self._orgs_lock:
                    self._unsaved_indexes.add(org)
        except Exception:
            log.exception("updating the mentor catalog of %s failed; rebuilt on next use", org)
            self._recommender.invalidate(org)

    # ------------------------------------------------------------------ catalogs
    def _stamp(self, session: Session, org: str) -> tuple[Any, ...]:
        if hasattr(self._recommender, "sync_mentors"):
            return track_record_stamp(session, org)
        return data_stamp(session, org)

    def _track(self, org: str) -> None:
        """Remember ``org``'s data stamp before its catalog is (re)built (model thread)."""
        with self.ctx.sessions() as session:
            stamp = self._stamp(session, org)
        with self._orgs_lock:
            self._known_orgs[org] = stamp

    def _schedule_refresh(self, org: str, *, full: bool = False) -> None:
        """Queue the catalog work for a pairing write (the track record) or, with ``full``, an
        outside write (everything); requests wait for it. Writes arriving before it runs are
        merged into one job (the job reads the store when it runs)."""
        with self._orgs_lock:
            if org not in self._known_orgs:
                return  # never built (nothing cached): the first use reads the store
            if org not in self._pending_refresh:
                self._refresh_futures[org] = self._model_thread.submit(self._refresh, org)
            self._pending_refresh[org] = self._pending_refresh.get(org, False) or full

    def _refresh(self, org: str) -> None:
        with self._orgs_lock:
            full = self._pending_refresh.pop(org, True)
        recommender = self._recommender
        try:
            self._track(org)
            applied = False
            if not full and hasattr(recommender, "refresh_history"):
                applied = recommender.refresh_history(org)
            if not applied:
                recommender.refresh_mentors(org)
        except Exception:
            log.exception("updating the mentor catalog of %s failed; rebuilt on next use", org)
            recommender.invalidate(org)

    def _flush_updates(self) -> None:
        """At shutdown: apply pending mentor writes, then save the indexes they changed (a
        restart then finds the index it needs)."""
        with self._orgs_lock:
            orgs = [org for org, ids in self._pending_mentors.items() if ids]
        for org in orgs:
            self._update_mentors(org)
        self._save_indexes()

    def _save_indexes(self) -> None:
        """Persist the indexes that mentor updates changed (model thread; every poll and at
        shutdown), so a restart loads them instead of building them (65 s at 100k mentors).
        Not after each update: an HNSW index of 100k mentors is ~1 s and 200 MB to write."""
        with self._orgs_lock:
            orgs, self._unsaved_indexes = self._unsaved_indexes, set()
        save = getattr(self._recommender, "save_index", None)
        if save is not None:
            for org in sorted(orgs):
                save(org)

    def _submit_mentor_update(self, org: str) -> None:
        with self._orgs_lock:
            self._mentor_timers.pop(org, None)
            if self._closed or org not in self._pending_mentors:
                return
            self._mentor_futures[org] = self._model_thread.submit(self._update_mentors, org)

    def _update_mentors(self, org: str) -> None:
        with self._orgs_lock:
            ids = self._pending_mentors.pop(org, None)
            history = org in self._history_later
            self._history_later.discard(org)
        if not ids and not history:
            return
        recommender = self._recommender
        try:
            self._track(org)
            if ids:  # reads the track record too
                update = getattr(recommender, "update_mentors", None)
                if update is not None and update(org, ids):
                    with self._orgs_lock:
                        self._unsaved_indexes.add(org)
                    return
            else:
                refresh = getattr(recommender, "refresh_history", None)
                if refresh is not None and refresh(org):
                    return
            recommender.refresh_mentors(org)  # nothing loaded to update, or no such method
        except Exception:
            log.exception("updating the mentor catalog of %s failed; rebuilt on next use", org)
            recommender.invalidate(org)

    def wait_for_updates(self, org: str, *, mentors: bool = False) -> None:
        """Wait until the catalog work queued for ``org``'s pairing and outside writes so far
        is done (it logs its own errors); with ``mentors``, also apply pending mentor writes
        now, without their delay, and wait for them (read-your-writes for mentor profiles)."""
        if mentors:
            with self._orgs_lock:
                timer = self._mentor_timers.get(org)
            if timer is not None:
                timer.cancel()
                self._submit_mentor_update(org)
        with self._orgs_lock:
            futures = [self._refresh_futures.get(org)]
            if mentors:
                futures.append(self._mentor_futures.get(org))
        for future in futures:
            if future is not None and not future.done():
                future.result()

    def mentors_changed(self, org: str, mentor_ids: Sequence[str]) -> None:
        """Mentors upserted or deleted: after ``settings.mentor_update_delay_s`` (5 s), the
        writes of that window are applied to the catalog and index as a change of just those
        mentors (``RecommendationEngine.update_mentors``: ~0.5 s of CPU at 100k mentors,
        against a 15-65 s rebuild). Requests do not wait for it, as a search engine's refresh
        interval works: with each write applied before the next request, two writes a second
        at 100k mentors took stored-mentee throughput at c=8 from 111 to 1.1 req/s; applied
        off the request path every 1 s, 48-64 req/s; every 5 s, 91 req/s, against 105
        without writes (``bench_recommend --http --mentor-writes 2``). Pairing writes, which
        decide capacity, are still applied before the next request."""
        if mentor_ids:
            self._queue_update(org, mentor_ids)

    def track_record_changed(self, org: str) -> None:
        """Request answers (``POST /v1/interactions``) or analysed check-in notes changed the
        mentors' track record (decline rate, note share): read again with the next mentor
        update window (``mentor_update_delay_s``), off the request path. Before, they counted
        only from the next catalog rebuild."""
        self._queue_update(org, (), history=True)

    def _queue_update(self, org: str, mentor_ids: Sequence[str], history: bool = False) -> None:
        with self._orgs_lock:
            if org not in self._known_orgs:
                return  # never built (nothing cached): the first use reads the store
            if history:
                self._history_later.add(org)
            pending = self._pending_mentors.get(org)
            if pending is None:
                pending = self._pending_mentors[org] = set()
                timer = threading.Timer(
                    self.settings.mentor_update_delay_s, self._submit_mentor_update, (org,)
                )
                timer.daemon = True
                self._mentor_timers[org] = timer
                timer.start()
            pending.update(mentor_ids)

    def capacity_declined(self, org: str, mentor_id: str, day: dt.date) -> None:
        """A mentor declined for ``no_capacity``: not recommended for a while (see
        :class:`recsys.recommend.FeasibilityCache`), from the next request on."""
        hook = getattr(self._recommender, "capacity_declined", None)
        if hook is not None:
            hook(org, mentor_id, day)

    def pairings_changed(self, org: str, pairing_ids: Sequence[str]) -> None:
        """Pairings count against capacity and feed history features: the track record is
        read again, profiles and indexes stay (``RecommendationEngine.refresh_history``)."""
        self._schedule_refresh(org)

    # ------------------------------------------------------------------ recommendations
    async def recommend(
        self,
        org: str,
        mentee: MenteeIn,
        *,
        k: int,
        exclude: Sequence[str],
        as_of: dt.date,
        stored: bool = False,
    ) -> RecommendResult:
        batch = None
        prepare = getattr(self._recommender, "mentee_batch", None)
        if not stored and prepare is not None and self._encode_threads is not None:
            # An inline goal is encoded (GIL-free ONNX, ~half a request's CPU) on its own
            # threads first, so the recommendation threads' Python work overlaps it
            batch = await asyncio.wrap_future(
                self._encode_threads.submit(prepare, [mentee], cached=False)
            )
        future = self._recommend_threads.submit(
            self._recommend, org, mentee, k, list(exclude), as_of, stored, batch
        )
        return await asyncio.wrap_future(future)

    def _recommend(
        self,
        org: str,
        mentee: MenteeIn,
        k: int,
        exclude: list[str],
        as_of: dt.date,
        stored: bool = False,
        batch: Any = None,
    ) -> RecommendResult:
        self.wait_for_updates(org)
        with self._orgs_lock:
            known = org in self._known_orgs
        if not known:
            self._track(org)
        version = self._recommender.model_version
        extra = {} if batch is None else {"batch": batch}
        recs = self._recommender.recommend(
            org, [mentee], k=k, as_of=as_of, exclude=exclude, cached_text=stored, **extra
        )[0]
        items = [ScoredMentor(r.mentor_id, round(float(r.score), 6), list(r.reasons)) for r in recs]
        return RecommendResult(version, items)

    # ------------------------------------------------------------------ signals
    async def analyze(self, texts: Sequence[str]) -> list[list[DetectedSignal]]:
        miner = self._models.miner
        if miner is None:
            return [detect_signals(t) for t in texts]
        return await self._run(lambda: [signal_dicts(f) for f in miner.analyze(list(texts))])

    def feedback_stored(self, org: str, feedback_ids: Sequence[str]) -> list[list[DetectedSignal]]:
        return self._call(self._feedback_stored, org, list(feedback_ids))

    def _feedback_stored(self, org: str, ids: list[str]) -> list[list[DetectedSignal]]:
        from recsys.insights.signals_store import analyze_and_store

        models = self._models
        touched: dict[str, dt.date] = {}
        if models.miner is None:
            per_id = dict(zip(ids, self._baseline.feedback_stored(org, ids), strict=True))
            with self.ctx.sessions() as session:
                rows = self._feedback_rows(session, org, ids)
                touched = self._pairing_days(rows)
        else:
            with store.transaction(self.ctx.sessions) as session:
                rows = self._feedback_rows(session, org, ids)
                found = analyze_and_store(session, org, rows, models.miner)
                per_id = {fid: signal_dicts(sigs) for fid, sigs in found.items()}
                touched = self._pairing_days(rows)
        try:
            self._alert_pairings(org, touched, models)
        except Exception:  # the note and its signals are stored; the next scan raises alerts
            log.exception("alert scan after feedback for org %s failed", org)
        self.track_record_changed(org)  # the mentors' share of low-commitment notes
        return [per_id.get(fid, []) for fid in ids]

    @staticmethod
    def _feedback_rows(session: Session, org: str, ids: list[str]) -> list[db.Feedback]:
        fb = db.Feedback
        return list(session.scalars(select(fb).where(fb.org_id == org, fb.id.in_(ids))))

    @staticmethod
    def _pairing_days(rows: Sequence[db.Feedback]) -> dict[str, dt.date]:
        days: dict[str, dt.date] = {}
        for r in rows:
            days[r.pairing_id] = max(days.get(r.pairing_id, r.created_at), r.created_at)
        return days

    def _alert_pairings(self, org: str, days: dict[str, dt.date], models: _Models) -> None:
        """Score the pairings that just got feedback and open / update their alerts."""
        from recsys.insights import alerts

        by_day: dict[dt.date, list[str]] = {}
        for pid, day in days.items():
            by_day.setdefault(day, []).append(pid)
        for day, pids in sorted(by_day.items()):
            with store.transaction(self.ctx.sessions) as session:
                risks = []
                for pid in pids:
                    pairing = store.get_row(session, db.Pairing, org, pid)
                    if pairing is not None:
                        risks.append(score_pairing(session, org, pairing, day, models.risk)[0])
                alerts.scan(
                    session, org, day, risks,
                    threshold=self.settings.alert_threshold,
                    rematch=rematch_suggestions(self._recommender, session, org, day),
                    settings=self.settings,
                )  # fmt: skip

    # ------------------------------------------------------------------ risk
    async def pairing_risk(
        self, org: str, pairing_id: str, as_of: dt.date
    ) -> dict[str, Any] | None:
        return await self._run(self._pairing_risk, org, pairing_id, as_of)

    def _pairing_risk(self, org: str, pairing_id: str, as_of: dt.date) -> dict[str, Any] | None:
        from recsys.insights.signals_store import analyze_and_store, miner_version

        models = self._models
        mined_by = None if models.miner is None else miner_version(models.miner)
        with store.transaction(self.ctx.sessions) as session:
            pairing = store.get_row(session, db.Pairing, org, pairing_id)
            if pairing is None:
                return None
            if models.miner is not None:
                # Notes of this pairing not yet mined by the current miner (e.g. after a
                # reload, or ingested without a model): mine them first.
                fb = db.Feedback
                stale = list(
                    session.scalars(
                        select(fb).where(
                            fb.org_id == org,
                            fb.pairing_id == pairing_id,
                            fb.text.is_not(None),
                            (fb.signals_version.is_(None)) | (fb.signals_version != mined_by),
                        )
                    )
                )
                if stale:
                    analyze_and_store(session, org, stale, models.miner)
            risk, how = score_pairing(session, org, pairing, as_of, models.risk)
        risk_version = (models.runs.get("risk") if how == "model" else None) or (
            BaselineEngine.RISK_VERSION
        )
        return {
            "pairing_id": pairing_id,
            "as_of": as_of,
            "risk": round(risk.risk, 4),
            "reasons": risk.reasons,
            "signals": sorted(k for k, v in risk.signals.items() if v >= MIN_SIGNAL_SCORE),
            "evidence": risk.evidence,
            "model_version": risk_version,
        }


def model_engine_provider(ctx: AppContext) -> ModelEngine:
    """``engine_provider`` for :func:`serving.app.create_app`: loads the champions in the
    serving process and builds the catalog and index of every organisation that has mentors
    before ``/readyz`` reports ready (the first request must not pay for it)."""
    with ctx.sessions() as session:
        warm = list(session.scalars(select(db.Mentor.org_id).distinct().order_by(db.Mentor.org_id)))
    return ModelEngine(ctx).start(warm_orgs=warm)
