"""The mentor ranker: a LightGBM ``Booster`` plus its manifest, or the cold-start scorer.

Scores are raw ranking scores; :meth:`RankerModel.success_probability` maps them to the
probability that the pairing succeeds (Platt scaling fitted on validation outcomes), which is
what cohort matching adds up. Per-feature contributions (``pred_contrib``) drive the reasons.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from features.pairs import FEATURE_NAMES, FEATURE_VERSION
from models.text_projection import TextProjection

MODEL_FILE = "ranker.txt"
MANIFEST_FILE = "manifest.json"


class ModelMismatchError(RuntimeError):
    """The stored model was trained on another feature list or encoder."""


@dataclass
class RankerManifest:
    feature_names: list[str]
    feature_version: str
    encoder_id: str
    objective: str
    # Platt scaling: P(success) = 1 / (1 + exp(-(a * score + b)))
    calibration: tuple[float, float] = (1.0, 0.0)
    # The boosted trees learn a correction on top of the cold-start prior (init_score):
    # score = trees(x) + prior_weight * cold_start(x). 0 = trees alone.
    prior_weight: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    dataset_fingerprint: str = ""
    run_id: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    # how the bundle's text projection was fitted (None: no projection, text_adapted is NaN)
    text_projection: dict[str, Any] | None = None

    @staticmethod
    def library_versions() -> dict[str, str]:
        import lightgbm

        out = {"python": platform.python_version(), "lightgbm": lightgbm.__version__}
        for mod in ("sentence_transformers", "faiss", "numpy", "torch"):
            try:
                out[mod] = __import__(mod).__version__
            except Exception:  # pragma: no cover - optional in some installs
                continue
        return out


# Cold start: no trained ranker yet. Weights over features chosen by hand from what mentoring
# research and the vendors' forms agree on: the goal must match the mentor's expertise (text
# similarity dominates), then time-zone overlap, a mentor a little more senior, and free
# capacity. Evaluated like any model in `recsys evaluate` (strategy "cold_start").
COLD_START_WEIGHTS: dict[str, float] = {
    "text_mean_best_sentence": 1.0,
    "text_goal_bio": 0.6,
    "text_goal_skills": 0.4,
    "shared_hours": 0.03,  # per shared hour, so 8 h ≈ 0.24
    "mentor_free_capacity": 0.02,
}


def _cold_start_matrix(x: np.ndarray) -> np.ndarray:
    """Per-feature contributions of the cold-start scorer (columns of FEATURE_NAMES + bias)."""
    contrib = np.zeros((len(x), len(FEATURE_NAMES) + 1), dtype=np.float32)
    for name, w in COLD_START_WEIGHTS.items():
        j = FEATURE_NAMES.index(name)
        contrib[:, j] = w * np.nan_to_num(x[:, j])
    gap = x[:, FEATURE_NAMES.index("seniority_gap")]
    j = FEATURE_NAMES.index("seniority_gap")
    # a mentor 1–3 levels up is the sweet spot; below the mentee is a poor fit
    contrib[:, j] = np.where((gap >= 1) & (gap <= 3), 0.1, np.where(gap < 0, -0.2, 0.0))
    return contrib


def cold_start_scores(x: np.ndarray) -> np.ndarray:
    return _cold_start_matrix(x).sum(axis=1).astype(np.float64)


class RankerModel:
    def __init__(
        self,
        booster: Any | None,
        manifest: RankerManifest,
        text_projection: TextProjection | None = None,
    ):
        self.booster = booster
        self.manifest = manifest
        self.text_projection = text_projection

    @property
    def text_maps(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The (goal, bio) maps ``pair_inputs`` needs for ``text_adapted`` (None: NaN)."""
        return None if self.text_projection is None else self.text_projection.maps

    @property
    def is_cold_start(self) -> bool:
        return self.booster is None

    @property
    def version(self) -> str:
        if self.is_cold_start:
            return "cold-start"
        return self.manifest.run_id or f"local-{self.manifest.dataset_fingerprint[:8]}"

    @classmethod
    def cold_start(cls, encoder_id: str) -> RankerModel:
        return cls(
            None,
            RankerManifest(
                feature_names=list(FEATURE_NAMES), feature_version=FEATURE_VERSION,
                encoder_id=encoder_id, objective="cold_start", calibration=(4.0, -2.0),
            ),
        )  # fmt: skip

    def score(self, x: np.ndarray) -> np.ndarray:
        prior = cold_start_scores(x)
        if self.booster is None:
            return prior
        trees = np.asarray(self.booster.predict(x, num_threads=1), dtype=np.float64)
        return trees + self.manifest.prior_weight * prior

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """(n, n_features + 1) additive contributions in score units; last column is the bias."""
        prior = _cold_start_matrix(x).astype(np.float64)
        if self.booster is None:
            return prior
        trees = np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=1))
        return trees + self.manifest.prior_weight * prior

    def success_probability(self, scores: np.ndarray) -> np.ndarray:
        a, b = self.manifest.calibration
        return 1.0 / (1.0 + np.exp(-(a * np.asarray(scores, dtype=np.float64) + b)))

    # ------------------------------------------------------------------ persistence
    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        if self.booster is not None:
            self.booster.save_model(str(directory / MODEL_FILE))
        if self.text_projection is not None:
            self.text_projection.save(directory)
        data = asdict(self.manifest)
        data["calibration"] = list(self.manifest.calibration)
        (directory / MANIFEST_FILE).write_text(json.dumps(data, indent=2, sort_keys=True))
        return directory

    @classmethod
    def load(cls, directory: Path, *, expected_encoder_id: str | None = None) -> RankerModel:
        import lightgbm as lgb

        raw = json.loads((directory / MANIFEST_FILE).read_text())
        raw["calibration"] = tuple(raw.get("calibration", (1.0, 0.0)))
        manifest = RankerManifest(**raw)
        if manifest.feature_version != FEATURE_VERSION:
            raise ModelMismatchError(
                f"ranker in {directory} was trained on feature list {manifest.feature_version}, "
                f"this code computes {FEATURE_VERSION}: retrain with `recsys train ranker`"
            )
        if expected_encoder_id and manifest.encoder_id != expected_encoder_id:
            raise ModelMismatchError(
                f"ranker was trained with encoder {manifest.encoder_id!r}, serving uses "
                f"{expected_encoder_id!r}: retrain or set RECSYS_ENCODER"
            )
        path = directory / MODEL_FILE
        booster = lgb.Booster(model_file=str(path)) if path.exists() else None
        return cls(booster, manifest, TextProjection.load(directory))
