"""MLflow plumbing shared by every training pipeline: runs, registry, champion alias.

Each model kind (ranker, signals, risk) is logged as (1) an MLflow model registered under its
name (LightGBM ``Booster`` with a signature, or a pyfunc for the spaCy pipeline) and (2) its
bundle directory (files + manifest) as run artifacts under ``bundle/``. Serving resolves
``models:/NAME@champion`` to a run and loads that bundle; the run id is the model version.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recsys.settings import Settings

log = logging.getLogger(__name__)
BUNDLE_PATH = "bundle"
PRIMARY_METRIC_TAG = "recsys.primary_metric"


@dataclass
class RegisteredRun:
    run_id: str
    version: str
    promoted: bool
    decision: str  # why the alias moved or not
    metrics: dict[str, float]


def metric_key(name: str) -> str:
    """MLflow metric names allow no '@': ``ndcg@10`` is logged as ``ndcg_at_10``."""
    return name.replace("@", "_at_")


def setup_mlflow(settings: Settings) -> Any:
    """Point MLflow at the configured store; create the experiment with artifacts in RECSYS_HOME."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    import mlflow

    uri = settings.resolved_mlflow_uri
    if uri.startswith("sqlite:"):
        settings.ensure_home()
    # mlflow.set_tracking_uri also exports MLFLOW_TRACKING_URI into os.environ, which
    # Settings reads as the user's choice: a second home in the same process (tests, the
    # demo's trainer) would then silently use the first one's store. Keep the environment as
    # the user set it.
    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    client = mlflow.MlflowClient()
    if client.get_experiment_by_name(settings.mlflow_experiment) is None:
        location = None
        if not uri.startswith(("http://", "https://", "databricks")):
            settings.mlflow_artifact_dir.mkdir(parents=True, exist_ok=True)
            location = settings.mlflow_artifact_dir.as_uri()
        client.create_experiment(settings.mlflow_experiment, artifact_location=location)
    mlflow.set_experiment(settings.mlflow_experiment)
    return client


def champion(client: Any, name: str, alias: str) -> Any | None:
    try:
        return client.get_model_version_by_alias(name, alias)
    except Exception:  # no registered model or no alias yet
        return None


def run_metric(client: Any, run_id: str, metric: str) -> float | None:
    value = client.get_run(run_id).data.metrics.get(metric)
    return None if value is None else float(value)


def log_training_run(
    settings: Settings,
    *,
    model_name: str,
    run_name: str,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    primary_metric: str,
    bundle_dir: Path,
    log_model: Callable[[str], Any],
    artifacts: Mapping[str, Path] | None = None,
    tags: Mapping[str, str] | None = None,
    higher_is_better: bool = True,
    force: bool = False,
    comparable_on: Sequence[str] = (),
    rescore_champion: Callable[[Any], float | None] | None = None,
) -> RegisteredRun:
    """Log a run, register its model, and move the champion alias only if it is better.

    ``log_model(registered_model_name)`` logs the model inside the active run and returns the
    ``ModelInfo``. The new version becomes champion when there is none, when ``force`` is set,
    when the champion's run logged other values of the ``comparable_on`` params (say another
    feature list or label definition: its metric was measured on other terms, and a ranker
    of another feature list cannot even be served by this code), or when it beats the
    champion on ``primary_metric`` (validation data). ``rescore_champion(model_version)``,
    when given, measures the champion on this run's validation data (None: it cannot), so the
    two are compared on the same rows rather than on the metric each logged on its own,
    later or earlier, validation window.
    """
    import mlflow

    client = setup_mlflow(settings)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.set_tags({PRIMARY_METRIC_TAG: metric_key(primary_metric), **(tags or {})})
        mlflow.log_params({k: _param(v) for k, v in params.items()})
        mlflow.log_metrics({metric_key(k): float(v) for k, v in metrics.items() if v == v})
        mlflow.log_artifacts(str(bundle_dir), artifact_path=BUNDLE_PATH)
        for name, path in (artifacts or {}).items():
            if path.is_dir():
                mlflow.log_artifacts(str(path), artifact_path=name)
            else:
                mlflow.log_artifact(str(path), artifact_path=name)
        info = log_model(model_name)
        run_id = run.info.run_id
    version = str(
        getattr(info, "registered_model_version", None)
        or _latest_version(client, model_name, run_id)
    )
    current = champion(client, model_name, settings.model_alias)
    new_value = float(metrics[primary_metric])
    if current is None:
        promoted, decision = True, "no champion yet"
    elif force:
        promoted, decision = True, "forced"
    else:
        changed = _changed_params(client, current.run_id, params, comparable_on)
        here = old_value = None
        if not changed:
            here = None if rescore_champion is None else rescore_champion(current)
            old_value = (
                here
                if here is not None
                else run_metric(client, current.run_id, metric_key(primary_metric))
            )
        if changed:
            promoted, decision = (
                True,
                (
                    f"champion v{current.version} was trained with {changed}: its "
                    f"{primary_metric} is not comparable, promoted"
                ),
            )
        elif old_value is None:
            promoted, decision = True, f"champion has no {primary_metric}"
        else:
            better = new_value > old_value if higher_is_better else new_value < old_value
            promoted = better
            decision = (
                f"{primary_metric} {new_value:.4f} vs champion v{current.version} {old_value:.4f}"
                + (" on this run's validation data" if here is not None else " (as logged)")
                + (": promoted" if better else ": kept champion")
            )
    if promoted:
        if current is not None:
            client.set_registered_model_tag(model_name, "recsys.previous_champion", current.version)
        client.set_registered_model_alias(model_name, settings.model_alias, version)
    client.set_model_version_tag(model_name, version, "recsys.decision", decision)
    return RegisteredRun(run_id, version, promoted, decision, dict(metrics))


def _changed_params(
    client: Any, run_id: str, params: Mapping[str, Any], keys: Sequence[str]
) -> str:
    """``key=old (now new)`` for each of ``keys`` the run logged otherwise ('' if none)."""
    if not keys:
        return ""
    logged = client.get_run(run_id).data.params
    return ", ".join(
        f"{k}={logged.get(k)} (now {_param(params.get(k))})"
        for k in keys
        if logged.get(k) != str(_param(params.get(k)))
    )


def _param(v: Any) -> Any:
    s = str(v)
    return s if len(s) <= 500 else s[:497] + "..."


def _latest_version(client: Any, name: str, run_id: str) -> str:
    versions = client.search_model_versions(f"name='{name}' and run_id='{run_id}'")
    if not versions:
        raise RuntimeError(f"model {name} was not registered for run {run_id}")
    return str(max(int(v.version) for v in versions))


# --------------------------------------------------------------------------- loading / admin
def download_bundle(
    settings: Settings, model_name: str, ref: str | None = None
) -> tuple[Path, Any] | None:
    """Local copy of the bundle of ``model_name@alias`` (or version ``ref``); None if none.

    Bundles are cached in RECSYS_HOME/models/<name>/<run id>, so a restart does not re-download.
    """
    import mlflow

    client = setup_mlflow(settings)
    if ref is None:
        mv = champion(client, model_name, settings.model_alias)
    else:
        mv = client.get_model_version(model_name, ref)
    if mv is None:
        return None
    target = settings.models_dir / model_name / mv.run_id
    if not (target / BUNDLE_PATH).exists():
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target) as tmp:
            mlflow.artifacts.download_artifacts(
                run_id=mv.run_id, artifact_path=BUNDLE_PATH, dst_path=tmp
            )
            os.replace(Path(tmp) / BUNDLE_PATH, target / BUNDLE_PATH)
    return target / BUNDLE_PATH, mv


def list_versions(settings: Settings, model_name: str) -> list[dict[str, Any]]:
    client = setup_mlflow(settings)
    try:
        versions = client.search_model_versions(f"name='{model_name}'")
    except Exception:
        return []
    current = champion(client, model_name, settings.model_alias)
    rows = []
    for v in sorted(versions, key=lambda v: int(v.version)):
        run = client.get_run(v.run_id)
        primary = run.data.tags.get(PRIMARY_METRIC_TAG)
        rows.append(
            {
                "model": model_name,
                "version": v.version,
                "run_id": v.run_id,
                "champion": current is not None and str(current.version) == str(v.version),
                "primary_metric": primary,
                "value": run.data.metrics.get(primary) if primary else None,
                "created": v.creation_timestamp,
                "decision": (v.tags or {}).get("recsys.decision", ""),
            }
        )
    return rows


def promote(settings: Settings, model_name: str, version: str) -> str:
    client = setup_mlflow(settings)
    client.get_model_version(model_name, version)  # raises if unknown
    previous = champion(client, model_name, settings.model_alias)
    if previous is not None:
        client.set_registered_model_tag(model_name, "recsys.previous_champion", previous.version)
    client.set_registered_model_alias(model_name, settings.model_alias, version)
    return version


def rollback(settings: Settings, model_name: str) -> str:
    """Move the alias back to the version that was champion before the last promotion, or
    else to the newest version older than the current champion."""
    client = setup_mlflow(settings)
    current = champion(client, model_name, settings.model_alias)
    if current is None:
        raise LookupError(f"{model_name} has no {settings.model_alias} to roll back")
    previous = client.get_registered_model(model_name).tags.get("recsys.previous_champion")
    if previous is None or str(previous) == str(current.version):
        older = [
            int(v.version)
            for v in client.search_model_versions(f"name='{model_name}'")
            if int(v.version) < int(current.version)
        ]
        if not older:
            raise LookupError(f"{model_name} v{current.version} is the oldest version")
        previous = str(max(older))
    client.set_registered_model_alias(model_name, settings.model_alias, previous)
    client.set_registered_model_tag(model_name, "recsys.previous_champion", current.version)
    return previous
