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
    objective: str = "lambdarank",
    force: bool = False,
    seed: int = 0,
    progress: Progress | None = None,
    engine: Any = None,
) -> RankerRun:
    import mlflow.lightgbm

    from evaluation.report import plot_calibration, plot_feature_importance
    from recsys.engine import RecommendationEngine
    from training.ranker import (
        PRIMARY_METRIC,
        bundle_dir,
        fit_ranker,
        signature_for,
    )

    engine = engine or RecommendationEngine(ctx)
    ds = ranking_dataset(ctx, engine, org=org, seed=seed, progress=progress)
    result = fit_ranker(
        ds, encoder_id=engine.embedder.encoder_id, objective=objective,  # type: ignore[arg-type]
        threads=ctx.settings.threads, seed=seed,
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
        "features": ",".join(result.model.manifest.feature_names),
        "dataset_fingerprint": result.model.manifest.dataset_fingerprint,
        "split_cutoff": result.cutoff.isoformat(),
        "org": org,
        **{f"lgb_{k}": v for k, v in result.params.items()},
    }
    sig = signature_for(ds.x)

    def log_model(name: str) -> Any:
        return mlflow.lightgbm.log_model(
            booster, name="model", signature=sig, registered_model_name=name
        )

    registered = log_training_run(
        ctx.settings,
        model_name=ctx.settings.ranker_model_name,
        run_name=f"ranker-{objective}",
        params=params,
        metrics=result.metrics,
        primary_metric=PRIMARY_METRIC,
        bundle_dir=bundle_dir(result),
        log_model=log_model,
        artifacts={"plots": plots},
        tags={
            "recsys.kind": "ranker",
            "recsys.dataset_fingerprint": result.model.manifest.dataset_fingerprint,
        },
        force=force,
    )
    return RankerRun(registered, result.metrics, objective)


def ranking_dataset(
    ctx: AppContext, engine: Any, *, org: str, seed: int = 0, progress: Progress | None = None
) -> Any:
    """Examples, labels and features from the store (see :mod:`training.ranker`)."""
    from recsys.catalog import MenteeBatch
    from recsys.snapshot import interaction_frame, load_catalog, load_mentees, pairing_frame
    from training.ranker import build_examples, featurise

    with ctx.sessions() as session:
        catalog = load_catalog(session, org, engine.encode_cached, engine.embedder.encoder_id)
        ds, mentee_ids = build_examples(
            pairing_frame(session, org), interaction_frame(session, org), catalog, seed=seed
        )
        mentees = load_mentees(session, org, mentee_ids)
    featurise(ds, catalog, MenteeBatch.build(mentees, engine.encode_cached), progress)
    return ds


def fit_in_memory(ctx: AppContext, engine: Any, *, org: str, objective: str, seed: int = 0) -> Any:
    """Train a ranker without logging it (for side-by-side evaluation of objectives)."""
    from training.ranker import fit_ranker

    ds = ranking_dataset(ctx, engine, org=org, seed=seed)
    return fit_ranker(
        ds,
        encoder_id=engine.embedder.encoder_id,
        objective=objective,
        threads=ctx.settings.threads,
        seed=seed,
    ).model
