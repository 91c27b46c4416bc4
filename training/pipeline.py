"""`recsys train`: read the store, fit each model, log to MLflow, promote by alias."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recsys.context import AppContext
from training.tracking import RegisteredRun, log_training_run

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]


@dataclass
class RankerRun:
    registered: RegisteredRun
    metrics: dict[str, float]
    objective: str


def train_ranker(
    ctx: AppContext,
    *,
    org: str,
    objective: str = "blend",
    force: bool = False,
    seed: int = 0,
    progress: Progress | None = None,
    engine: Any = None,
    log_weight: float | None = None,
    members: int | None = None,
) -> RankerRun:
    import mlflow.lightgbm

    from evaluation.report import plot_calibration, plot_feature_importance
    from evaluation.style_detection import score_style_detector
    from features.labels import TRAINING_LABELS_VERSION
    from recsys.engine import RecommendationEngine
    from training.ranker import (
        LOG_WEIGHT,
        MEMBERS,
        PRIMARY_METRIC,
        bundle_dir,
        fit_ranker,
        signature_for,
    )

    engine = engine or RecommendationEngine(ctx)
    ds, catalog, mentees = _ranking_inputs(ctx, engine, org=org, seed=seed, progress=progress)
    result = fit_ranker(
        ds, encoder_id=engine.embedder.encoder_id, objective=objective,  # type: ignore[arg-type]
        threads=ctx.settings.threads, seed=seed,
        log_weight=LOG_WEIGHT if log_weight is None else log_weight,
        members=MEMBERS if members is None else members,
    )  # fmt: skip
    booster = result.model.booster
    plots = Path(tempfile.mkdtemp(prefix="recsys-ranker-plots-"))
    plot_feature_importance(
        result.importance,
        plots / "feature_importance.png",
        title="Ranker feature importance (gain)",
    )
    probs, observed = result.calibration_points
    if len(observed):
        plot_calibration(
            observed, probs, plots / "calibration.png", title="P(success) calibration (validation)"
        )
    params = {
        "objective": objective,
        "encoder_id": engine.embedder.encoder_id,
        "encoder_backend": ctx.settings.encoder_backend,
        "feature_version": result.model.manifest.feature_version,
        "training_labels": TRAINING_LABELS_VERSION,
        "features": ",".join(result.model.manifest.feature_names),
        "dataset_fingerprint": result.model.manifest.dataset_fingerprint,
        "split_cutoff": result.cutoff.isoformat(),
        "org": org,
        **{f"lgb_{k}": v for k, v in result.params.items()},
        **{f"text_projection_{k}": v
           for k, v in (result.model.manifest.text_projection or {"fitted": False}).items()},
        **{f"goal_tags_{k}": v
           for k, v in (result.model.manifest.goal_tags or {"fitted": False}).items()},
    }  # fmt: skip
    sig = signature_for(ds.x)
    # the working-style detector is part of the feature version: how well this encoder's fit
    # reads held-out statements goes with the run (style_accuracy, style_false_style, ...)
    style = score_style_detector(engine.embedder.encode, engine.embedder.encoder_id)
    metrics = result.metrics | {f"style_{k}": v for k, v in style.items()}

    def log_model(name: str) -> Any:
        return mlflow.lightgbm.log_model(
            booster, name="model", signature=sig, registered_model_name=name
        )

    registered = log_training_run(
        ctx.settings,
        model_name=ctx.settings.ranker_model_name,
        run_name=f"ranker-{objective}",
        params=params,
        metrics=metrics,
        primary_metric=PRIMARY_METRIC,
        bundle_dir=bundle_dir(result),
        log_model=log_model,
        artifacts={"plots": plots},
        tags={
            "recsys.kind": "ranker",
            "recsys.dataset_fingerprint": result.model.manifest.dataset_fingerprint,
        },
        force=force,
        # another feature list, label definition or encoder: metrics on other terms
        comparable_on=("feature_version", "training_labels", "encoder_id"),
        rescore_champion=lambda mv: _champion_on(ctx, engine, mv, ds, catalog, mentees),
    )
    return RankerRun(registered, metrics, objective)


def _champion_on(
    ctx: AppContext, engine: Any, mv: Any, ds: Any, catalog: Any, mentees: Any
) -> float | None:
    """The champion version ``mv``'s val_ndcg@10 on this run's validation rows (None when its
    bundle cannot be loaded by this code)."""
    from models.ranker import ModelMismatchError, RankerModel
    from training.ranker import validation_ndcg
    from training.tracking import download_bundle

    found = download_bundle(ctx.settings, ctx.settings.ranker_model_name, str(mv.version))
    if found is None:
        return None
    try:
        model = RankerModel.load(found[0], expected_encoder_id=engine.embedder.encoder_id)
    except ModelMismatchError:
        return None
    return validation_ndcg(model, ds, catalog, mentees)


def ranking_dataset(
    ctx: AppContext, engine: Any, *, org: str, seed: int = 0, progress: Progress | None = None
) -> Any:
    """Examples, labels and features from the store (see :mod:`training.ranker`)."""
    return _ranking_inputs(ctx, engine, org=org, seed=seed, progress=progress)[0]


def _ranking_inputs(
    ctx: AppContext, engine: Any, *, org: str, seed: int = 0, progress: Progress | None = None
) -> tuple[Any, Any, Any]:
    """(dataset, the mentor catalog and the mentee batch its rows index)."""
    from recsys.catalog import MenteeBatch
    from recsys.snapshot import interaction_frame, load_catalog, load_mentees, pairing_frame
    from training.ranker import build_examples, featurise

    # the mentors' note history (hist_low_commitment_rate) reads the stored signals
    analyze_pending_feedback(ctx, org)
    with ctx.sessions() as session:
        catalog = load_catalog(session, org, engine.encode_bulk, engine.embedder.encoder_id)
        ds, mentee_ids = build_examples(
            pairing_frame(session, org),
            interaction_frame(session, org, engaged_lists_only=True),
            catalog,
            seed=seed,
        )
        mentees = load_mentees(session, org, mentee_ids)
    batch = MenteeBatch.build(mentees, engine.encode_bulk, engine.embedder.encoder_id)
    featurise(ds, catalog, batch, progress, seed=seed)
    return ds, catalog, batch


def fit_in_memory(ctx: AppContext, engine: Any, *, org: str, objective: str, seed: int = 0) -> Any:
    """Train a ranker without logging it (for side-by-side evaluation of objectives)."""
    from training.ranker import fit_ranker

    ds = ranking_dataset(ctx, engine, org=org, seed=seed)
    return fit_ranker(
        ds,
        encoder_id=engine.embedder.encoder_id,
        objective=objective,  # type: ignore[arg-type]
        threads=ctx.settings.threads,
        seed=seed,
    ).model


# --------------------------------------------------------------------------- signals
def train_signals(ctx: AppContext, *, force: bool = False, seed: int = 0) -> RegisteredRun:
    """Train the spaCy signal miner on the shipped corpus; thresholds tuned on validation."""
    import mlflow.pyfunc
    import pandas as pd

    from models.pyfunc import SignalMinerPyfunc
    from training.signals import train_signal_pipeline

    out = Path(tempfile.mkdtemp(prefix="recsys-signals-"))
    result = train_signal_pipeline(out / "bundle", seed=seed)
    metrics = {f"val_{k}": v for k, v in result.validation_metrics.items()}
    metrics |= {f"test_{k}": v for k, v in result.test_metrics.items()}
    metrics["training_seconds"] = result.training_seconds
    params = {**result.params, "seed": seed, "data_fingerprint": result.data_fingerprint}
    params |= {f"threshold_{k}": round(v, 4) for k, v in result.thresholds.items()}

    def log_model(name: str) -> Any:
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=SignalMinerPyfunc(),
            artifacts={"bundle": str(result.pipeline_path)},
            input_example=pd.DataFrame({"text": ["We keep rescheduling; she seems too busy."]}),
            registered_model_name=name,
        )

    return log_training_run(
        ctx.settings,
        model_name=ctx.settings.signals_model_name,
        run_name="signals",
        params=params,
        metrics=metrics,
        primary_metric=f"val_{result.primary_metric}",
        bundle_dir=result.pipeline_path,
        log_model=log_model,
        tags={"recsys.kind": "signals", "recsys.dataset_fingerprint": result.data_fingerprint},
        force=force,
    )


def analyze_pending_feedback(ctx: AppContext, org: str) -> int | None:
    """Mine signals for feedback not yet analysed by the champion signal model; the number of
    notes analysed, None when no signal model has been trained yet."""
    from recsys.insights.signals_store import analyze_pending

    miner = load_signal_miner(ctx.settings)
    if miner is None:
        return None
    with ctx.sessions() as session, session.begin():
        return analyze_pending(session, org, miner)


def load_signal_miner(settings: Any) -> Any | None:
    """The champion signal miner, or None when none has been trained yet."""
    from models.signals import SignalMiner
    from training.tracking import download_bundle

    found = download_bundle(settings, settings.signals_model_name)
    if found is None:
        return None
    path, mv = found
    miner = SignalMiner.load(path)
    miner.manifest.setdefault("run_id", mv.run_id)
    return miner


# --------------------------------------------------------------------------- risk
def train_risk(ctx: AppContext, *, org: str, force: bool = False, seed: int = 0) -> RegisteredRun:
    """Mine signals of stored feedback with the champion miner, then fit the risk model."""
    import mlflow.pyfunc

    from models.pyfunc import RiskModelPyfunc
    from training.risk import PRIMARY_METRIC
    from training.risk import train_risk as fit_risk

    if analyze_pending_feedback(ctx, org) is None:
        raise ValueError("no signal model yet: run `recsys train signals` first")
    out = Path(tempfile.mkdtemp(prefix="recsys-risk-"))
    with ctx.sessions() as session:
        result = fit_risk(session, org, threshold=ctx.settings.alert_threshold, out_dir=out)
    bundle = result.model.save(out / "bundle")

    def log_model(name: str) -> Any:
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=RiskModelPyfunc(),
            artifacts={"bundle": str(bundle)},
            registered_model_name=name,
        )

    artifacts = {k: v for k, v in result.artifacts.items() if Path(v).exists() and k != "model"}
    return log_training_run(
        ctx.settings,
        model_name=ctx.settings.risk_model_name,
        run_name=f"risk-{result.model.kind}",
        params={**result.params, "org": org, "seed": seed},
        metrics=result.metrics,
        primary_metric=f"val_{PRIMARY_METRIC}",
        bundle_dir=bundle,
        log_model=log_model,
        artifacts={k: Path(v) for k, v in artifacts.items()},
        tags={"recsys.kind": "risk"},
        force=force,
    )


def load_risk_model(settings: Any) -> Any | None:
    from models.risk import RiskModel
    from training.tracking import download_bundle

    found = download_bundle(settings, settings.risk_model_name)
    return None if found is None else RiskModel.load(found[0])
