"""The mentor ranker: a LightGBM ``Booster`` plus its manifest, or the cold-start scorer.

Scores are raw ranking scores; :meth:`RankerModel.success_probability` maps them to the
probability that the pairing succeeds (Platt scaling fitted on validation outcomes), which is
what cohort matching adds up. Per-feature contributions drive the reasons:

- ``path`` (default): each tree's change of expected value along the row's decision path,
  credited to the split feature (Saabas; ``treeinterpreter``). Additive and exact like SHAP
  (the same bias, and bias + contributions = score). With three-leaf trees every tree reads
  at most two features, and both the score and these contributions come from lookup tables
  over one or two features (:mod:`models.tree_tables`), whatever the number of trees.
  On 2,000 recommended mentors at 100k (200 mentees, a 90-tree ranker, ad hoc) it gave the
  same first reason as SHAP for 98.6%, the same reasons for 87.9% (in the same order for 67%),
  and took rank + reasons from 3.0 to 1.45 ms per request.
- ``shap``: LightGBM's path-dependent TreeSHAP (``pred_contrib``), 0.2 ms per row on a
  90-tree model, 2 ms of a 15 ms recommendation at 100k mentors (``RECSYS_REASON_ATTRIBUTION``).
  Its cost grows with the trees, and the default ranker averages several fits
  (``training.ranker.MEMBERS``), so it is for audits rather than serving.
"""

from __future__ import annotations

import json
import logging
import platform
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from features.pairs import FEATURE_NAMES, FEATURE_VERSION, SENTENCE_FEATURES
from models.goal_tags import GoalTagModel
from models.text_projection import TextProjection
from models.tree_tables import NotCompilable, TreeTables

log = logging.getLogger(__name__)
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
    # how the bundle's goal-to-tag model was fitted (None: no model, text_goal_tags is NaN)
    goal_tags: dict[str, Any] | None = None

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


def path_contribution_table(booster: Any) -> np.ndarray:
    """(trees, leaves, features + 1): for each leaf of each tree, the change in the tree's
    expected value at each split on the way from the root, summed per split feature; the last
    column holds the root's expected value (the bias, as TreeSHAP's). Expected values are the
    training-count-weighted means of the leaves below (LightGBM's ``internal_value`` is a
    gradient statistic, not that mean). A row's path contributions are the sum over trees of
    its leaves' rows, and add up to the booster's raw score."""
    trees = booster.dump_model()["tree_info"]
    n_features = booster.num_feature()
    width = max((t["num_leaves"] for t in trees), default=1)
    table = np.zeros((len(trees), width, n_features + 1), np.float64)

    def expected(node: dict[str, Any]) -> tuple[float, float]:
        """(expected value, training count) of ``node``, memoised on the node."""
        if "leaf_value" in node:
            node["_ev"] = float(node["leaf_value"])
            return node["_ev"], float(node.get("leaf_count", 1)) or 1.0
        left, n_left = expected(node["left_child"])
        right, n_right = expected(node["right_child"])
        node["_ev"] = (left * n_left + right * n_right) / (n_left + n_right)
        return node["_ev"], n_left + n_right

    for t, tree in enumerate(trees):
        root = tree["tree_structure"]
        bias, _ = expected(root)
        stack: list[tuple[dict[str, Any], np.ndarray]] = [(root, np.zeros(n_features + 1))]
        while stack:
            node, path = stack.pop()
            if "leaf_value" in node:
                leaf = int(node.get("leaf_index", 0))
                table[t, leaf, :] = path
                table[t, leaf, -1] = bias
                continue
            feature = int(node["split_feature"])
            for side in ("left_child", "right_child"):
                step = path.copy()
                step[feature] += node[side]["_ev"] - node["_ev"]
                stack.append((node[side], step))
    return table


ATTRIBUTIONS = ("path", "shap")


class RankerModel:
    def __init__(
        self,
        booster: Any | None,
        manifest: RankerManifest,
        text_projection: TextProjection | None = None,
        attribution: str = "path",
        goal_tags: GoalTagModel | None = None,
    ):
        self.booster = booster
        self.manifest = manifest
        self.text_projection = text_projection
        self.goal_tags = goal_tags  # the goal-to-tag model behind text_goal_tags (None: NaN)
        if attribution not in ATTRIBUTIONS:
            raise ValueError(f"attribution must be one of {ATTRIBUTIONS}, not {attribution!r}")
        self.attribution = attribution  # how contributions() credits features (module doc)
        self._path_table: np.ndarray | None = None
        # the booster as lookup tables (models.tree_tables); False: not compilable
        self._tables: TreeTables | bool | None = None
        self._pool_tables: TreeTables | None = None

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
        tables = self.tables()
        trees = (
            tables.score(x)
            if tables is not None
            else np.asarray(self.booster.predict(x, num_threads=1), dtype=np.float64)
        )
        return trees + self.manifest.prior_weight * prior

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """(n, n_features + 1) additive contributions in score units; last column is the bias."""
        prior = _cold_start_matrix(x).astype(np.float64)
        if self.booster is None:
            return prior
        tables = self.tables()
        if self.attribution == "shap":
            trees = np.asarray(self.booster.predict(x, pred_contrib=True, num_threads=1))
        elif tables is not None:
            trees = tables.contributions(x)
        else:
            table = self.path_table()
            leaves = np.asarray(self.booster.predict(x, pred_leaf=True, num_threads=1), np.int64)
            leaves = leaves.reshape(len(x), -1)  # the trees predict() uses (best iteration)
            n_trees, n_leaves, width = table.shape
            # each row's leaves as a one-hot over (tree, leaf), times the table: one matrix
            # product instead of gathering an (n, trees, features) block and summing it
            # (seed 3's champion, 564 trees, 10 rows: 0.05 ms against 0.18 ms)
            reached = np.zeros((len(x), n_trees * n_leaves))
            slots = np.arange(leaves.shape[1])[None, :] * n_leaves + leaves
            np.put_along_axis(reached, slots, 1.0, axis=1)
            trees = reached @ table.reshape(n_trees * n_leaves, width)
        return trees + self.manifest.prior_weight * prior

    def path_table(self) -> np.ndarray:
        """The booster's :func:`path_contribution_table`, built once (a racing second build
        is harmless); call it at load so no request pays for it."""
        if self._path_table is None and self.booster is not None:
            self._path_table = path_contribution_table(self.booster)
        return self._path_table if self._path_table is not None else np.zeros((0, 1, 1))

    def tables(self) -> TreeTables | None:
        """The booster compiled to lookup tables (:mod:`models.tree_tables`), built once with
        the path table; None where it does not compile (LightGBM then walks the trees)."""
        if self._tables is None and self.booster is not None:
            try:
                self._tables = TreeTables.compile(self.booster, self.path_table())
            except NotCompilable as exc:
                log.info("ranker served by LightGBM, not lookup tables: %s", exc)
                self._tables = False
        return self._tables if isinstance(self._tables, TreeTables) else None

    @property
    def scores_pools(self) -> bool:
        """Whether :meth:`pool_score` can rank the first stage's pool (compiled tables)."""
        return self.tables() is not None

    def pool_score(self, x: np.ndarray) -> np.ndarray:
        """The ranker's score of rows whose ``SENTENCE_FEATURES`` columns are not computed:
        the tables that read none of them (:meth:`TreeTables.without`) plus the prior with
        those columns at 0. The first stage ranks its wide pool by it
        (``recsys.recommend.ranked_cut``); requires :attr:`scores_pools`."""
        tables = self.tables()
        if tables is None:
            raise ValueError("pool_score needs a ranker compiled to lookup tables")
        if self._pool_tables is None:
            self._pool_tables = tables.without(
                [self.manifest.feature_names.index(n) for n in SENTENCE_FEATURES]
            )
        return self._pool_tables.score(x) + self.manifest.prior_weight * cold_start_scores(x)

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
        if self.goal_tags is not None:
            self.goal_tags.save(directory)
        data = asdict(self.manifest)
        data["calibration"] = list(self.manifest.calibration)
        (directory / MANIFEST_FILE).write_text(json.dumps(data, indent=2, sort_keys=True))
        return directory

    @classmethod
    def load(cls, directory: Path, *, expected_encoder_id: str | None = None) -> RankerModel:
        import lightgbm as lgb

        raw = json.loads((directory / MANIFEST_FILE).read_text())
        raw["calibration"] = tuple(raw.get("calibration", (1.0, 0.0)))
        # fields a newer release added are dropped, so its bundle is refused below with the
        # feature-version message rather than a TypeError
        known = {f.name for f in fields(RankerManifest)}
        manifest = RankerManifest(**{k: v for k, v in raw.items() if k in known})
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
        return cls(
            booster, manifest, TextProjection.load(directory),
            goal_tags=GoalTagModel.load(directory),
        )  # fmt: skip
