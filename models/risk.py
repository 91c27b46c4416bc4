"""The pairing risk model: P(pairing ends early | features as of a date).

Two kinds behind one interface:

* ``lightgbm``: a gradient-boosted binary classifier; per-feature contributions come from
  LightGBM's exact TreeSHAP (``pred_contrib=True``);
* ``logistic``: L2-regularised logistic regression on standardised, median-imputed features;
  the contribution of a feature is ``coef * z`` (log-odds relative to an average pairing).

Both save to a directory: ``manifest.json`` (kind, feature names, parameters, versions, metrics)
plus ``model.txt`` (LightGBM's text format) or ``logistic.json`` — no pickles, so a saved model
is portable and safe to load.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

RiskKind = Literal["lightgbm", "logistic"]
MANIFEST = "manifest.json"
FORMAT_VERSION = 1

DEFAULT_LGBM_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 0,  # 0: one thread below SMALL_DATA_ROWS rows, else two
    "verbosity": -1,
    "seed": 0,
    "deterministic": True,
    "force_col_wise": True,
}
DEFAULT_NUM_ROUNDS = 300
# OpenMP threads cost more than they save on small data, and on a busy host they spin-wait:
# measured 2 s (1 thread) vs 40 s (2 threads) for 400 rounds on 600 rows under load.
SMALL_DATA_ROWS = 100_000
DEFAULT_LOGISTIC_C = 1.0


class RiskModel:
    """Fit / predict_proba / contributions / save / load for the risk classifier."""

    def __init__(
        self,
        kind: RiskKind = "lightgbm",
        *,
        params: Mapping[str, Any] | None = None,
        num_rounds: int = DEFAULT_NUM_ROUNDS,
    ) -> None:
        if kind not in ("lightgbm", "logistic"):
            raise ValueError(f"unknown risk model kind {kind!r}")
        self.kind: RiskKind = kind
        self.params: dict[str, Any] = dict(params or {})
        self.num_rounds = num_rounds
        self.feature_names: list[str] = []
        self.metadata: dict[str, Any] = {}
        self._booster: Any = None
        self._logistic: dict[str, Any] | None = None

    # ------------------------------------------------------------------ fitting
    @property
    def is_fitted(self) -> bool:
        return self._booster is not None or self._logistic is not None

    def fit(
        self,
        x: pd.DataFrame,
        y: Sequence[int] | np.ndarray,
        *,
        x_valid: pd.DataFrame | None = None,
        y_valid: Sequence[int] | np.ndarray | None = None,
        early_stopping_rounds: int = 50,
    ) -> RiskModel:
        """Fit on ``x`` (columns = features) and binary labels ``y`` (1 = ended early).

        For LightGBM, a validation set enables early stopping; the number of rounds actually
        used is recorded in ``params["num_rounds"]`` for a later refit on all data.
        """
        labels = np.asarray(y, dtype=np.float64)
        if len(labels) != len(x):
            raise ValueError("x and y have different lengths")
        if len(np.unique(labels)) < 2:
            raise ValueError("training data needs both outcomes (ended early and completed)")
        self.feature_names = [str(c) for c in x.columns]
        matrix = _matrix(x, self.feature_names)
        if self.kind == "lightgbm":
            self._fit_lightgbm(matrix, labels, x_valid, y_valid, early_stopping_rounds)
        else:
            self._fit_logistic(matrix, labels)
        self.metadata = {
            "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "n_train": len(labels),
            "positive_rate": float(labels.mean()),
        }
        return self

    def _fit_lightgbm(
        self,
        matrix: np.ndarray,
        labels: np.ndarray,
        x_valid: pd.DataFrame | None,
        y_valid: Sequence[int] | np.ndarray | None,
        early_stopping_rounds: int,
    ) -> None:
        import lightgbm as lgb

        params = {
            **DEFAULT_LGBM_PARAMS,
            **{k: v for k, v in self.params.items() if k != "num_rounds"},
        }
        # Small programmes: keep leaves fillable, or LightGBM silently learns nothing.
        params["min_data_in_leaf"] = max(1, min(int(params["min_data_in_leaf"]), len(labels) // 10))
        if not params["num_threads"]:
            params["num_threads"] = 1 if len(labels) < SMALL_DATA_ROWS else 2
        rounds = int(self.params.get("num_rounds", self.num_rounds))
        train = lgb.Dataset(matrix, labels, feature_name=self.feature_names, free_raw_data=False)
        callbacks: list[Any] = []
        valid_sets: list[Any] = []
        if x_valid is not None and y_valid is not None and len(np.unique(y_valid)) == 2:
            valid = lgb.Dataset(
                _matrix(x_valid, self.feature_names), np.asarray(y_valid, np.float64),
                reference=train,
            )  # fmt: skip
            valid_sets = [valid]
            params["metric"] = "average_precision"
            callbacks = [lgb.early_stopping(early_stopping_rounds, verbose=False)]
        booster = lgb.train(
            params, train, num_boost_round=rounds, valid_sets=valid_sets, callbacks=callbacks
        )
        if valid_sets and booster.best_iteration > 0:
            rounds = int(booster.best_iteration)  # predictions and refits use this many
        self._booster = booster
        self.params = {**params, "num_rounds": rounds}

    def _fit_logistic(self, matrix: np.ndarray, labels: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression

        medians = np.nanmedian(np.where(np.isfinite(matrix), matrix, np.nan), axis=0)
        medians = np.where(np.isfinite(medians), medians, 0.0)
        filled = _impute(matrix, medians)
        mean = filled.mean(axis=0)
        scale = filled.std(axis=0)
        scale = np.where(scale > 1e-12, scale, 1.0)
        c = float(self.params.get("C", DEFAULT_LOGISTIC_C))
        clf = LogisticRegression(C=c, max_iter=2000, class_weight=self.params.get("class_weight"))
        clf.fit((filled - mean) / scale, labels)
        self._logistic = {
            "median": medians.tolist(),
            "mean": mean.tolist(),
            "scale": scale.tolist(),
            "coef": clf.coef_[0].tolist(),
            "intercept": float(clf.intercept_[0]),
        }
        self.params = {"C": c, "class_weight": self.params.get("class_weight")}

    # ------------------------------------------------------------------ inference
    def _check(self) -> None:
        if not self.is_fitted:
            raise RuntimeError("the risk model is not fitted")

    def _z(self, matrix: np.ndarray) -> np.ndarray:
        assert self._logistic is not None
        lg = self._logistic
        filled = _impute(matrix, np.asarray(lg["median"]))
        return (filled - np.asarray(lg["mean"])) / np.asarray(lg["scale"])

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        """Probability of ending early, one value per row of ``x`` (missing columns are NaN)."""
        self._check()
        matrix = _matrix(x, self.feature_names)
        if len(matrix) == 0:
            return np.zeros(0)
        if self._booster is not None:
            n = int(self.params.get("num_rounds", 0)) or None
            return np.asarray(self._booster.predict(matrix, num_iteration=n), dtype=np.float64)
        assert self._logistic is not None
        z = self._z(matrix)
        logit = z @ np.asarray(self._logistic["coef"]) + self._logistic["intercept"]
        return np.asarray(1.0 / (1.0 + np.exp(-logit)), dtype=np.float64)

    def contributions(self, x: pd.DataFrame) -> pd.DataFrame:
        """Per-feature log-odds contributions (+ ``bias``); each row sums to the prediction's logit."""
        self._check()
        matrix = _matrix(x, self.feature_names)
        columns = [*self.feature_names, "bias"]
        if len(matrix) == 0:
            return pd.DataFrame(columns=columns)
        if self._booster is not None:
            n = int(self.params.get("num_rounds", 0)) or None
            values = self._booster.predict(matrix, num_iteration=n, pred_contrib=True)
        else:
            assert self._logistic is not None
            parts = self._z(matrix) * np.asarray(self._logistic["coef"])
            bias = np.full((len(matrix), 1), self._logistic["intercept"])
            values = np.hstack([parts, bias])
        return pd.DataFrame(np.asarray(values, dtype=np.float64), columns=columns, index=x.index)

    def feature_importance(self) -> dict[str, float]:
        """Gain importance (LightGBM) or |coefficient| (logistic), normalised to sum to 1."""
        self._check()
        if self._booster is not None:
            raw = np.asarray(self._booster.feature_importance("gain"), dtype=np.float64)
        else:
            assert self._logistic is not None
            raw = np.abs(np.asarray(self._logistic["coef"]))
        total = raw.sum() or 1.0
        return {f: float(v / total) for f, v in zip(self.feature_names, raw, strict=True)}

    # ------------------------------------------------------------------ persistence
    @property
    def version(self) -> str:
        """Content hash of the fitted model (stable across save / load)."""
        self._check()
        h = hashlib.sha256(self.kind.encode())
        h.update(json.dumps(self.feature_names).encode())
        h.update(self._payload().encode())
        return h.hexdigest()[:16]

    def _payload(self) -> str:
        if self._booster is not None:
            return str(self._booster.model_to_string())
        return json.dumps(self._logistic, sort_keys=True)

    @property
    def manifest(self) -> dict[str, Any]:
        import lightgbm

        return {
            "format_version": FORMAT_VERSION,
            "kind": self.kind,
            "version": self.version,
            "feature_names": self.feature_names,
            "params": self.params,
            "lightgbm_version": lightgbm.__version__ if self.kind == "lightgbm" else None,
            **self.metadata,
        }

    def save(self, directory: Path | str) -> Path:
        self._check()
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        name = "model.txt" if self._booster is not None else "logistic.json"
        (path / name).write_text(self._payload(), encoding="utf-8")
        (path / MANIFEST).write_text(
            json.dumps(self.manifest, indent=2, sort_keys=True, default=str), encoding="utf-8"
        )
        return path

    @classmethod
    def load(cls, directory: Path | str) -> RiskModel:
        path = Path(directory)
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported risk model format {manifest.get('format_version')!r}")
        model = cls(manifest["kind"], params=manifest.get("params") or {})
        model.feature_names = list(manifest["feature_names"])
        model.metadata = {
            k: v
            for k, v in manifest.items()
            if k not in {"format_version", "kind", "version", "feature_names", "params"}
            and k != "lightgbm_version"
        }
        if model.kind == "lightgbm":
            import lightgbm as lgb

            text = (path / "model.txt").read_text(encoding="utf-8")
            model._booster = lgb.Booster(model_str=text)
        else:
            model._logistic = json.loads((path / "logistic.json").read_text(encoding="utf-8"))
        if model.version != manifest["version"]:
            raise ValueError(f"risk model in {path} does not match its manifest version")
        return model


def _matrix(x: pd.DataFrame, names: Sequence[str]) -> np.ndarray:
    """Features in ``names`` order as float64; absent columns become NaN (treated as missing)."""
    return x.reindex(columns=list(names)).to_numpy(dtype=np.float64, na_value=np.nan)


def _impute(matrix: np.ndarray, medians: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(matrix), matrix, medians[None, :])
