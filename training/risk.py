"""Train and evaluate the pairing risk model from past pairings in the store.

Dataset
    Every ended pairing (``completed`` = 0, ``ended_early`` = 1) contributes snapshots taken at
    fixed ages (day ``first_snapshot_days``, then every ``snapshot_every_days``) while it was
    still running, up to ``max_snapshots``. Each snapshot's features use only feedback dated on
    or before the snapshot (:func:`recsys.insights.risk.risk_features`). Fixed ages, rather
    than fractions of the pairing's length, matter: a snapshot at "half of the duration" would
    tell the model how long the pairing lasted, which is the answer.

Split
    Time-based: pick a cutoff date ``T`` (a quantile of end dates). Training = snapshots of the
    pairings that had ended by ``T`` (what was known on ``T``); validation = snapshots dated
    after ``T``. No pairing is in both.

Evaluation
    ROC-AUC, PR-AUC (primary), precision / recall / F1 at the alert threshold, next to the rule
    baseline "count of challenge signals so far" (alerting at ``baseline_min_signals``).

MLflow stays out of this module: :func:`train_risk` returns params, metrics and artifact paths
for the caller to log.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from models.risk import RiskKind, RiskModel
from recsys import db
from recsys.insights.risk import BASELINE_FEATURE, FEATURE_COLUMNS, risk_features
from recsys.schemas import PairingStatus

log = logging.getLogger(__name__)

PRIMARY_METRIC = "pr_auc"
LABEL = "ended_early"


@dataclass(frozen=True)
class SnapshotPlan:
    first_snapshot_days: int = 14
    snapshot_every_days: int = 30
    max_snapshots: int = 6


def snapshot_dates(
    started_at: dt.date, ended_at: dt.date, plan: SnapshotPlan = SnapshotPlan()
) -> list[dt.date]:
    """Snapshot dates strictly before ``ended_at``, at fixed ages from ``started_at``."""
    out: list[dt.date] = []
    age = plan.first_snapshot_days
    while len(out) < plan.max_snapshots:
        day = started_at + dt.timedelta(days=age)
        if day >= ended_at:
            break
        out.append(day)
        age += plan.snapshot_every_days
    return out


def build_risk_dataset(
    session: Session, org: str, *, plan: SnapshotPlan = SnapshotPlan()
) -> pd.DataFrame:
    """Snapshots of ended pairings: ``pairing_id``, ``as_of``, ``ended_at``, label + features."""
    p = db.Pairing
    stmt = select(p.id, p.started_at, p.ended_at, p.status).where(
        p.org_id == org,
        p.ended_at.is_not(None),
        p.status.in_([PairingStatus.completed.value, PairingStatus.ended_early.value]),
    )
    requests: list[tuple[str, dt.date]] = []
    outcome: dict[str, tuple[dt.date, int]] = {}
    for pid, started, ended, status in session.execute(stmt.order_by(p.id)):
        assert ended is not None  # filtered in the query
        outcome[pid] = (ended, int(status == PairingStatus.ended_early.value))
        requests.extend((pid, d) for d in snapshot_dates(started, ended, plan))
    frame = risk_features(session, org, requests)
    frame.insert(2, "ended_at", [outcome[pid][0] for pid in frame["pairing_id"]])
    frame.insert(3, LABEL, np.asarray([outcome[pid][1] for pid in frame["pairing_id"]], np.int64))
    return frame


@dataclass(frozen=True)
class Split:
    cutoff: dt.date
    train: np.ndarray  # boolean masks over the dataset rows
    valid: np.ndarray


def time_split(frame: pd.DataFrame, *, valid_fraction: float = 0.25) -> Split:
    """Train on pairings ended by a cutoff date, validate on snapshots after it.

    The cutoff is the ``1 - valid_fraction`` quantile of the pairings' end dates. Raises
    ``ValueError`` when either side lacks one of the two outcomes.
    """
    if frame.empty:
        raise ValueError("no ended pairings with snapshots: nothing to train on")
    ends = frame.drop_duplicates("pairing_id")["ended_at"].sort_values().to_numpy()
    cutoff: dt.date = ends[min(int(len(ends) * (1 - valid_fraction)), len(ends) - 1)]
    ended = frame["ended_at"].to_numpy()
    as_of = frame["as_of"].to_numpy()
    train = np.asarray([e <= cutoff for e in ended])
    valid = np.asarray([a > cutoff for a in as_of])
    for name, mask in (("training", train), ("validation", valid)):
        labels = frame.loc[mask, LABEL]
        if labels.nunique() < 2:
            raise ValueError(
                f"the {name} period (cutoff {cutoff}) lacks one outcome: need pairings that "
                "completed and pairings that ended early on both sides of the cutoff"
            )
    return Split(cutoff=cutoff, train=train, valid=valid)


def evaluate_scores(
    y_true: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    threshold: float,
) -> dict[str, float]:
    """ROC-AUC, PR-AUC (primary), precision / recall / F1 of ``scores >= threshold``."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y_true, dtype=np.int64)
    s = np.asarray(scores, dtype=np.float64)
    flagged = s >= threshold
    tp = int((flagged & (y == 1)).sum())
    precision = tp / int(flagged.sum()) if flagged.any() else 0.0
    recall = tp / int((y == 1).sum()) if (y == 1).any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    both = len(np.unique(y)) == 2
    return {
        "pr_auc": float(average_precision_score(y, s)) if both else float("nan"),
        "roc_auc": float(roc_auc_score(y, s)) if both else float("nan"),
        "precision_at_threshold": precision,
        "recall_at_threshold": recall,
        "f1_at_threshold": f1,
        "flagged_rate": float(flagged.mean()) if len(s) else 0.0,
        "positive_rate": float(y.mean()) if len(y) else 0.0,
        "n": float(len(y)),
    }


def baseline_scores(frame: pd.DataFrame) -> np.ndarray:
    """The rule baseline: how many challenge signals the pairing's notes carried so far."""
    return frame[BASELINE_FEATURE].to_numpy(dtype=np.float64)


@dataclass
class RiskTrainingResult:
    model: RiskModel
    params: dict[str, Any]
    metrics: dict[str, float]
    artifacts: dict[str, Path] = field(default_factory=dict)


def train_risk(
    session: Session,
    org: str,
    *,
    kind: RiskKind | Literal["auto"] = "auto",
    threshold: float = 0.5,
    baseline_min_signals: int = 2,
    valid_fraction: float = 0.25,
    plan: SnapshotPlan = SnapshotPlan(),
    lgbm_params: Mapping[str, Any] | None = None,
    refit_full: bool = True,
    out_dir: Path | None = None,
) -> RiskTrainingResult:
    """Build the dataset, split by time, fit, evaluate against the rule baseline.

    ``kind="auto"`` fits both LightGBM and logistic regression and keeps the one with the
    higher validation PR-AUC (both are reported). With ``refit_full`` the chosen kind is refit
    on all snapshots (LightGBM with the early-stopped number of rounds) before it is returned;
    the metrics are always those of the held-out period. Metric keys: ``val_<metric>`` for the
    chosen model, ``val_<kind>_<metric>`` for each candidate, ``baseline_val_<metric>``.
    """
    frame = build_risk_dataset(session, org, plan=plan)
    split = time_split(frame, valid_fraction=valid_fraction)
    features = list(FEATURE_COLUMNS)
    x_train, y_train = frame.loc[split.train, features], frame.loc[split.train, LABEL].to_numpy()
    x_valid, y_valid = frame.loc[split.valid, features], frame.loc[split.valid, LABEL].to_numpy()
    kinds: list[RiskKind] = ["lightgbm", "logistic"] if kind == "auto" else [kind]

    metrics: dict[str, float] = {}
    candidates: dict[str, RiskModel] = {}
    for k in kinds:
        model = RiskModel(k, params=lgbm_params if k == "lightgbm" else None)
        model.fit(x_train, y_train, x_valid=x_valid, y_valid=y_valid)
        scores = evaluate_scores(y_valid, model.predict_proba(x_valid), threshold=threshold)
        metrics.update({f"val_{k}_{m}": v for m, v in scores.items()})
        candidates[k] = model
    best_kind = max(kinds, key=lambda k: metrics[f"val_{k}_{PRIMARY_METRIC}"])
    prefix = f"val_{best_kind}_"
    metrics.update(
        {"val_" + m.removeprefix(prefix): v for m, v in metrics.items() if m.startswith(prefix)}
    )
    base = evaluate_scores(
        y_valid, baseline_scores(frame.loc[split.valid]), threshold=baseline_min_signals
    )
    metrics.update({f"baseline_val_{m}": v for m, v in base.items()})
    metrics["val_pr_auc_lift_over_baseline"] = metrics["val_pr_auc"] - base["pr_auc"]

    chosen = candidates[best_kind]
    if refit_full:
        params = dict(chosen.params)
        final = RiskModel(best_kind, params=params)
        final.fit(frame[features], frame[LABEL].to_numpy())
    else:
        final = chosen
    final.metadata.update(
        {
            "metrics": metrics,
            "threshold": threshold,
            "cutoff": split.cutoff.isoformat(),
            "org": org,
        }
    )
    params_out: dict[str, Any] = {
        "kind": best_kind,
        "candidates": ",".join(kinds),
        "threshold": threshold,
        "baseline_min_signals": baseline_min_signals,
        "valid_fraction": valid_fraction,
        "cutoff": split.cutoff.isoformat(),
        "first_snapshot_days": plan.first_snapshot_days,
        "snapshot_every_days": plan.snapshot_every_days,
        "max_snapshots": plan.max_snapshots,
        "refit_full": refit_full,
        "n_features": len(features),
        "n_pairings": int(frame["pairing_id"].nunique()),
        "n_train": int(split.train.sum()),
        "n_valid": int(split.valid.sum()),
        **{f"model_{k}": v for k, v in final.params.items()},
    }
    artifacts: dict[str, Path] = {}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        artifacts["model"] = final.save(out_dir / "risk_model")
        importance = out_dir / "feature_importance.json"
        importance.write_text(json.dumps(final.feature_importance(), indent=2, sort_keys=True))
        artifacts["feature_importance"] = importance
        curve = out_dir / "pr_curve.png"
        chosen_scores = chosen.predict_proba(x_valid)
        _plot_pr(curve, y_valid, chosen_scores, baseline_scores(frame.loc[split.valid]))
        artifacts["pr_curve"] = curve
    log.info(
        "risk model (%s): validation PR-AUC %.3f vs baseline %.3f (%d train / %d valid snapshots)",
        best_kind, metrics["val_pr_auc"], base["pr_auc"], split.train.sum(), split.valid.sum(),
    )  # fmt: skip
    return RiskTrainingResult(model=final, params=params_out, metrics=metrics, artifacts=artifacts)


def _plot_pr(path: Path, y: np.ndarray, scores: np.ndarray, base_scores: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    fig, ax = plt.subplots(figsize=(5, 4))
    for name, s in (("risk model", scores), ("baseline (signal count)", base_scores)):
        precision, recall, _ = precision_recall_curve(y, s)
        ax.plot(recall, precision, label=name)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title("Ended early: validation period")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
