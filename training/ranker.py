"""Train the mentor ranker on past outcomes.

Examples and labels (graded relevance, :mod:`features.labels`):
- the recommendation log: every list shown to a mentee is a query group; a mentor shown but
  not chosen, or who declined, is 0; an accepted request carries the outcome of the pairing
  that followed (ended early 1 < completed, low rating 2 < completed, high rating or goals met 3).
  A decline is 0 whatever its ``decline_reason``: taking ``no_capacity`` declines out of the
  groups (they say when a mentor was free, not how the pair would go) moved NDCG@10 against
  the generator's truth by -0.009 and +0.002 on seeds 3 and 5 (within the run-to-run spread);
  as 0s they also teach that busy mentors do worse, which the outcomes bear out. These groups
  train at ``LOG_WEIGHT`` (0 by default: picks are not outcomes; see there);
- pairings with no logged list (a single outcome per mentee): a group of one teaches
  lambdarank nothing, so they are grouped with the other single-outcome pairings that started
  in the same month (chunks of ``PSEUDO_GROUP_SIZE``). Within such a group the ranker learns
  which pair features went with better outcomes among pairings formed under the same
  conditions; mentee-level effects cancel in expectation because a mentee's own features
  enter every comparison symmetrically.
Groups without any positive label are dropped (LightGBM scores them NDCG 1, which would
inflate validation). The split is by time: the latest ``VALID_FRACTION`` of groups validate,
and at least ``MIN_VALID_GROUPS`` outcome groups (:func:`time_split`).

``objective="blend"`` (the default) fits lambdarank and a regression on the same rows and
merges them into one Booster, weighted so both have the same spread (:func:`blend_weights`,
:func:`merge_boosters`); ``"lambdarank"`` or ``"pointwise"`` trains either alone. `recsys
evaluate --compare-objectives` scores the three against the generator's ground truth (README).
The served Booster is the mean of ``MEMBERS`` such fits that differ only in their seed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from features.labels import COMPLETED_HIGH, NOT_CHOSEN, training_relevance
from features.pairs import FEATURE_NAMES, FEATURE_VERSION, compute_pair_features
from features.style import STYLE_FEATURES
from models.goal_tags import GoalTagModel
from models.ranker import RankerManifest, RankerModel
from models.text_projection import TextProjection
from recsys.catalog import MenteeBatch, MentorCatalog, pair_inputs

log = logging.getLogger(__name__)
Objective = Literal["blend", "lambdarank", "pointwise"]
OBJECTIVES: tuple[str, ...] = ("blend", "lambdarank", "pointwise")
DEFAULT_OBJECTIVE: Objective = "blend"
PSEUDO_GROUP_SIZE = 24
VALID_FRACTION = 0.2
MIN_VALID_GROUPS = 30  # outcome groups validating (see time_split)
FEATURE_CHUNK = 20_000
PRIMARY_METRIC = "val_ndcg@10"
# Scale of the cold-start prior the trees start from (init_score). The prior carries what every
# programme shares (goals must match expertise; overlap of working hours) and extrapolates
# beyond the historical pairs; the trees learn this programme's corrections from outcomes.
PRIOR_WEIGHT = 1.0
# Weight of logged lists (shown / declined vs the accepted outcome) relative to outcome groups
# (`recsys train ranker --log-weight`). A pick among a matcher's suggestions says which bio
# read best to the mentee, not how the pairing went: on generated programmes every weight
# above 0 lowered NDCG@10 against the ground truth (seeds 3 / 5 / 7 / 11, with the small trees
# below: weight 0 0.896 / 0.892 / 0.882 / 0.891, 0.03 0.884 / 0.892 / 0.876 / 0.880, 0.1 0.884 /
# 0.884 / 0.861 / 0.874; keeping only the requests, accepted against declined, 0.894 / 0.890 /
# 0.878 / 0.862; session 25), and weight 1 had cost 0.09. The lists were also what pulled
# the ranker towards topic over seniority: at weight 0.1 its lists over-bought topic by
# 0.15-0.27 log-odds and lost 0.10-0.18 on seniority against the ideal lists; at 0, within
# 0.02 on topic and 0.01-0.09 on seniority. So by default the ranker learns from outcomes
# only; the logged lists still build the dataset and are scored (val_ndcg@10_log_lists), a
# mentor's requests train the learned text space (training.text_adapter) and answers to them
# give the decline rate (hist_decline_rate). A programme whose mentees' picks do track how
# pairings go can set a weight. Validation (early stopping, the primary metric) uses outcome
# groups only: outcomes are what the ranker is for.
LOG_WEIGHT = 0.0
# Boosting stops once the primary metric (val_ndcg@10, the one that gates @champion) has not
# improved for this many rounds (and keeps the rounds PLATEAU_WINDOW says). Validation NDCG
# over a few dozen outcome groups is noisy, and 50 rounds (watching LightGBM's own NDCG@5
# and @10) stopped at the first bump: NDCG@10 against the generator's truth, seeds 3 / 5 /
# 7 / 11, went from 0.816 / 0.807 / 0.812 / 0.818 to 0.828 / 0.822 / 0.811 / 0.820 (best
# rounds 59 / 28 / 103 / 44 -> 120 / 152 / 112 / 55; session 20).
EARLY_STOPPING_ROUNDS = 200
# The rounds kept are the centre of the best 25 consecutive rounds of the validation curve
# (:func:`plateau_iteration`), not its best single round: a noisy curve's early spike had
# stopped some fits at 92 rounds, with the lists over-buying topic (the prior's main term).
# NDCG@10 against the ground truth over training seeds 0 / 1 / 2: seed 7 0.882 / 0.863 / 0.882
# -> 0.882 / 0.876 / 0.882, seed 3 0.896 / 0.892 / 0.893 -> 0.896 / 0.894 / 0.893 (session 25).
PLATEAU_WINDOW = 25
# The served booster averages this many fits that differ only in their random seed (the
# random thresholds, row and feature sampling below), each with its own early stopping.
# One fit's NDCG@10 against the generator's truth moves by up to 0.005 with the seed alone;
# the average is steadier and better than a typical member. Serving cost does not grow with
# the trees: the booster is scored from lookup tables (models.tree_tables). Figures: README,
# *The ranker*.
MEMBERS = 5
# Random split thresholds (LightGBM's extra_trees) only from this many outcome rows before the
# cut-off. They regularise a programme with thousands of outcomes, but each tree then learns
# little, and on a small one the noisy validation curve stops boosting before the prior is
# corrected. Session 25, NDCG@10 against the ground truth: `make demo`'s programme (400 mentors,
# 1,200 mentees; 1,155 outcome rows) 0.738 with random thresholds (18 rounds) against 0.784
# without (36; 0.785 with session 24's 31-leaf trees); at 1,500 / 6,000 (~5,460 outcome rows),
# seeds 3 / 5 / 7 / 11, 0.896 / 0.892 / 0.882 / 0.891 with them against 0.878 / 0.897 / 0.866 /
# 0.876 without. Two programme sizes are all the evidence: the cut sits between them.
EXTRA_TREES_MIN_ROWS = 3000
# Directions the model may not reverse: more shared hours, a better track record or free
# capacity never make a mentor worse. Guards against noise in small programmes.
MONOTONE: dict[str, int] = {
    "text_goal_bio": 1,
    "text_best_sentence": 1,
    "text_mean_best_sentence": 1,
    "text_goal_skills": 1,
    "text_adapted": 1,
    "text_goal_tags": 1,
    "shared_hours": 1,
    "shared_languages": 1,
    # agreeing on working style never hurts a pairing
    **{name: 1 for name in STYLE_FEATURES},
    "mentor_load": -1,
    "mentor_free_capacity": 1,
    "hist_success_rate": 1,
    "hist_early_rate": -1,
    "hist_mean_rating": 1,
    "hist_goals_met_rate": 1,
    "hist_decline_rate": -1,
    "hist_low_commitment_rate": -1,
}


@dataclass
class RankingDataset:
    mentee_ids: np.ndarray  # per row
    mentor_rows: np.ndarray  # catalog rows
    mentee_rows: np.ndarray  # MenteeBatch rows
    dates: np.ndarray  # datetime64[D]
    labels: np.ndarray  # int graded relevance
    group: np.ndarray  # group id per row; rows of a group are contiguous
    exclude_self: np.ndarray  # the row's own pairing is running on its date
    from_log: np.ndarray  # bool: row comes from a logged list
    weight: np.ndarray | None = None  # per-row training weight (set by fit_ranker)
    # bool per row: the mentee asked for this mentor from a logged list (None: not recorded)
    requested: np.ndarray | None = None
    x: np.ndarray = field(default_factory=lambda: np.zeros((0, len(FEATURE_NAMES)), np.float32))
    # the learned text projection behind the text_adapted column (training.text_adapter)
    text_projection: TextProjection | None = None
    text_projection_info: dict[str, Any] | None = None
    # the goal-to-tag model behind the text_goal_tags column (training.goal_tags)
    goal_tags: GoalTagModel | None = None
    goal_tags_info: dict[str, Any] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for a in (
            self.mentee_ids.astype(str),
            self.mentor_rows,
            self.dates.astype(str),
            self.labels,
        ):
            h.update(
                np.ascontiguousarray(a).tobytes() if a.dtype != object else "|".join(a).encode()
            )
        return h.hexdigest()[:16]


def build_examples(
    pairings: dict[str, np.ndarray],
    interactions: dict[str, np.ndarray],
    catalog: MentorCatalog,
    *,
    seed: int = 0,
) -> tuple[RankingDataset, list[str]]:
    """Rows and labels from the store's pairings and recommendation log (no features yet).

    Returns the dataset and the mentee ids it needs (for :class:`MenteeBatch`).
    """
    rng = np.random.default_rng(seed)
    grades = training_relevance(pairings["status"], pairings["rating"], pairings["goals_met"])
    pair_key = {
        (e, m): (int(g), s)
        for e, m, g, s in zip(
            pairings["mentee_id"],
            pairings["mentor_id"],
            grades,
            pairings["started_at"],
            strict=True,
        )
    }
    rows: dict[str, list[Any]] = {
        k: [] for k in ("mentee", "mentor", "date", "label", "group", "log", "requested")
    }
    gid = 0

    # 1) logged lists: (mentee, date) -> shown mentors with what happened next
    ev = interactions["event"]
    outcome_events: dict[tuple[str, str], set[str]] = {}
    for e, m, kind in zip(interactions["mentee_id"], interactions["mentor_id"], ev, strict=True):
        if kind != "shown":
            outcome_events.setdefault((e, m), set()).add(kind)
    shown = ev == "shown"
    lists: dict[tuple[str, Any], list[str]] = {}
    for e, m, at in zip(
        interactions["mentee_id"][shown],
        interactions["mentor_id"][shown],
        interactions["at"][shown],
        strict=True,
    ):
        lists.setdefault((e, at), []).append(m)
    for (mentee, at), mentors in lists.items():
        labels = []
        for m in mentors:
            events = outcome_events.get((mentee, m), set())
            grade, _ = pair_key.get((mentee, m), (-1, None))
            if "accepted" in events or (grade >= 0 and "declined" not in events):
                labels.append(grade)  # -1: pairing still running, outcome unknown
            else:
                labels.append(NOT_CHOSEN)
        keep = [i for i, lab in enumerate(labels) if lab >= 0]
        if len(keep) < 2 or max(labels[i] for i in keep) <= 0:
            continue
        for i in keep:
            rows["mentee"].append(mentee)
            rows["mentor"].append(mentors[i])
            rows["date"].append(at)
            rows["label"].append(labels[i])
            rows["group"].append(gid)
            rows["log"].append(True)
            rows["requested"].append("requested" in outcome_events.get((mentee, mentors[i]), ()))
        gid += 1

    # 2) single-outcome pairings: pseudo-groups by start month
    known = grades >= 0
    # Every pairing with a known outcome joins a same-month group, also those already in a
    # logged list: outcomes are the signal that matters most, logged choices add to it.
    idx = np.flatnonzero(known)
    months = pairings["started_at"][idx].astype("datetime64[M]")
    for month in np.unique(months):
        members = idx[months == month]
        members = members[rng.permutation(len(members))]
        for start in range(0, len(members), PSEUDO_GROUP_SIZE):
            chunk = members[start : start + PSEUDO_GROUP_SIZE]
            if len(chunk) < 2 or grades[chunk].max() == grades[chunk].min():
                continue  # no preference to learn
            for p in chunk:
                rows["mentee"].append(pairings["mentee_id"][p])
                rows["mentor"].append(pairings["mentor_id"][p])
                rows["date"].append(pairings["started_at"][p])
                rows["label"].append(int(grades[p]))
                rows["group"].append(gid)
                rows["log"].append(False)
                rows["requested"].append(False)
            gid += 1

    mentee_ids = np.array(rows["mentee"], dtype=object)
    needed = list(dict.fromkeys(mentee_ids.tolist()))
    mentee_row = {m: i for i, m in enumerate(needed)}
    mentor_rows = np.fromiter((catalog.row_of.get(m, -1) for m in rows["mentor"]), np.int64)
    dates = np.array(rows["date"], dtype="datetime64[D]")
    exclude_self = np.array(
        [
            pair_key.get((e, m), (0, None))[1] == d
            for e, m, d in zip(mentee_ids, rows["mentor"], dates, strict=True)
        ],
        dtype=bool,
    )
    ds = RankingDataset(
        mentee_ids=mentee_ids,
        mentor_rows=mentor_rows,
        mentee_rows=np.fromiter(
            (mentee_row[m] for m in mentee_ids), np.int64, count=len(mentee_ids)
        ),
        dates=dates,
        labels=np.array(rows["label"], dtype=np.int64),
        group=np.array(rows["group"], dtype=np.int64),
        exclude_self=exclude_self,
        from_log=np.array(rows["log"], dtype=bool),
        requested=np.array(rows["requested"], dtype=bool),
    )
    valid = ds.mentor_rows >= 0  # mentors deleted since cannot be featurised
    return _subset(ds, valid), needed


def _subset(ds: RankingDataset, mask: np.ndarray) -> RankingDataset:
    return RankingDataset(
        **{
            k: (v[mask] if isinstance(v, np.ndarray) and len(v) == len(mask) else v)
            for k, v in ds.__dict__.items()
        }
    )


def featurise(
    ds: RankingDataset, catalog: MentorCatalog, mentees: MenteeBatch,
    progress: Callable[[str, int, int], None] | None = None, *, seed: int = 0,
) -> None:  # fmt: skip
    """Fill ``ds.x`` with the shared pair features, in chunks (memory stays flat), then fit
    the text projection and the goal-to-tag model and their cross-fitted ``text_adapted`` and
    ``text_goal_tags`` columns (:func:`training.text_adapter.fill_text_adapted`,
    :func:`training.goal_tags.fill_goal_tags`)."""
    from training.goal_tags import fill_goal_tags
    from training.text_adapter import fill_text_adapted

    parts = []
    n = len(ds)
    for start in range(0, n, FEATURE_CHUNK):
        sl = slice(start, min(n, start + FEATURE_CHUNK))
        inputs = pair_inputs(
            catalog, ds.mentor_rows[sl], mentees, ds.mentee_rows[sl], ds.dates[sl],
            exclude_self=ds.exclude_self[sl],
        )  # fmt: skip
        parts.append(compute_pair_features(inputs).matrix)
        if progress:
            progress("features", sl.stop, n)
    ds.x = np.vstack(parts) if parts else np.zeros((0, len(FEATURE_NAMES)), np.float32)
    if len(ds):
        ds.text_projection_info = fill_text_adapted(ds, catalog, mentees, seed=seed)
        ds.goal_tags, ds.goal_tags_info = fill_goal_tags(ds, catalog, mentees, seed=seed)


def time_split(
    ds: RankingDataset,
    valid_fraction: float = VALID_FRACTION,
    min_valid_groups: int = MIN_VALID_GROUPS,
) -> tuple[np.ndarray, dt.date]:
    """Boolean mask of validation rows: groups dated on/after the cut-off date.

    The cut-off leaves the latest ``valid_fraction`` of groups to validation, moved earlier
    when that leaves fewer than ``min_valid_groups`` outcome groups (the ones the primary
    metric and early stopping see), in programmes with at least three times that many.
    Recent pairings often have no outcome yet, so most late groups are logged lists: on the
    demo programme (1,000 mentors, ``recsys demo-data`` defaults) the plain cut-off left 10
    outcome groups, early stopping kept 6 trees, and NDCG@10 against the generator's truth
    was 0.752; now 30 groups, 21 trees, 0.774. At 1,500 mentors / 6,000 mentees, seed 3: 20
    groups, 68 trees, 0.8095 -> 33 groups, 88 trees, 0.8156 (rules 0.450). A group is dated
    by its earliest row."""
    # a group is dated by its earliest row (a month's pseudo-group spans the month)
    group_dates: dict[int, np.datetime64] = {}
    for g, d in zip(ds.group, ds.dates, strict=True):
        group_dates[g] = min(group_dates.get(g, d), d)
    dates = np.array(sorted(group_dates.values()))
    cutoff = dates[int(len(dates) * (1 - valid_fraction))] if len(dates) else np.datetime64("today")
    outcome_groups = set(ds.group[~ds.from_log].tolist())
    outcome_dates = np.array(sorted(d for g, d in group_dates.items() if g in outcome_groups))
    # only where training keeps two thirds of the outcome groups or more
    if (
        len(outcome_dates) >= 3 * min_valid_groups
        and (outcome_dates >= cutoff).sum() < min_valid_groups
    ):
        cutoff = min(cutoff, outcome_dates[len(outcome_dates) - min_valid_groups])
    gd = np.array([group_dates[g] for g in ds.group], dtype="datetime64[D]")
    return gd >= cutoff, cutoff.astype(object)


def _group_sizes(group: np.ndarray) -> np.ndarray:
    _, first, counts = np.unique(group, return_index=True, return_counts=True)
    return counts[np.argsort(first)]


def ndcg_by_group(labels: np.ndarray, scores: np.ndarray, group: np.ndarray, k: int) -> float:
    """Mean NDCG@k over groups with at least one positive label (exponential gains)."""
    if len(group) == 0:
        return float("nan")
    # one stable sort, then slices: early stopping evaluates this every boosting round
    order = np.argsort(group, kind="stable")
    cuts = np.flatnonzero(group[order][1:] != group[order][:-1]) + 1
    vals = []
    for y, s in zip(np.split(labels[order], cuts), np.split(scores[order], cuts), strict=True):
        if y.max() <= 0:
            continue
        top = np.argsort(-s, kind="stable")[:k]
        disc = 1 / np.log2(np.arange(2, len(top) + 2))
        dcg = ((2.0 ** y[top] - 1) * disc).sum()
        ideal = ((2.0 ** np.sort(y)[::-1][: len(top)] - 1) * disc).sum()
        vals.append(dcg / ideal)
    return float(np.mean(vals)) if vals else float("nan")


@dataclass
class RankerTrainingResult:
    model: RankerModel
    metrics: dict[str, float]
    params: dict[str, Any]
    cutoff: dt.date
    importance: dict[str, float]
    calibration_points: tuple[np.ndarray, np.ndarray]  # predicted prob, observed success (val)


def fit_ranker(
    ds: RankingDataset,
    *,
    encoder_id: str,
    objective: Objective = DEFAULT_OBJECTIVE,
    threads: int = 2,
    seed: int = 0,
    num_boost_round: int = 2000,
    prior_weight: float = PRIOR_WEIGHT,
    log_weight: float = LOG_WEIGHT,
    members: int = MEMBERS,
) -> RankerTrainingResult:
    import lightgbm as lgb

    from models.ranker import cold_start_scores

    if members < 1:
        raise ValueError(f"members must be at least 1, not {members}")
    if len(ds) == 0:
        raise ValueError(
            "no training examples: ingest pairings (and optionally the recommendation log)"
        )
    order = np.lexsort((ds.group,))  # contiguous groups
    ds = _subset(ds, np.ones(len(ds), bool))
    for k, v in list(ds.__dict__.items()):
        if isinstance(v, np.ndarray) and len(v) == len(order):
            setattr(ds, k, v[order])
    later, cutoff = time_split(ds)
    tr = ~later
    val = validation_rows(ds, later)
    if tr.sum() == 0 or val.sum() == 0:
        raise ValueError(
            "not enough history for a time-based split (need pairings over several months)"
        )
    params: dict[str, Any] = {
        # Small trees (3 leaves: main effects and two-way interactions), with random split
        # thresholds on large programmes (EXTRA_TREES_MIN_ROWS): outcomes are few and noisy
        # (a pairing's success is a coin weighted by its fit), and 31-leaf trees learned
        # interactions from the noise. NDCG@10 against the ground truth, seeds 3 / 5 / 7 /
        # 11, logged lists at weight 0: 31 leaves, rate 0.05
        # 0.881 / 0.875 / 0.872 / 0.879; 3 leaves + extra trees 0.892 / 0.895 / 0.878 / 0.887;
        # at rate 0.1 0.896 / 0.892 / 0.882 / 0.891, in 195-382 rounds against 189-456. 2, 4 or 6
        # leaves, min_data_in_leaf 20 or 100 and feature_fraction 0.7 did no better on seeds
        # 3 and 7 (session 25).
        "learning_rate": 0.1,
        "num_leaves": 3,
        "min_data_in_leaf": 40,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "monotone_constraints": [MONOTONE.get(n, 0) for n in FEATURE_NAMES],
        "monotone_constraints_method": "advanced",
        "num_threads": threads,
        "seed": seed,
        "deterministic": True,
        "verbosity": -1,
    }
    prior = prior_weight * cold_start_scores(ds.x)
    w = np.where(ds.from_log, log_weight, 1.0)
    keep = tr & (w > 0)
    if keep.sum() == 0:
        raise ValueError(
            "no outcome groups before the validation cut-off to train on (only logged lists): "
            "ingest more finished pairings, or give the logged lists a weight (--log-weight)"
        )
    params["extra_trees"] = random_thresholds(int((keep & ~ds.from_log).sum()))
    val_labels, val_groups = ds.labels[val], ds.group[val]

    def fit_one(kind: str, member_seed: int) -> Any:
        """One booster on ``kind``'s objective, cut to the rounds :func:`plateau_iteration` keeps."""
        # both objectives see the same rows, labels, weights and prior, so they compare like
        # with like; only lambdarank reads the query groups
        rank = kind == "lambdarank"
        kind_params = (
            params
            | {"seed": member_seed}
            | (
                {"objective": "lambdarank", "lambdarank_truncation_level": 20}
                if rank
                else {"objective": "regression"}
            )
        )

        def groups(mask: np.ndarray) -> np.ndarray | None:
            return _group_sizes(ds.group[mask]) if rank else None

        train = lgb.Dataset(ds.x[keep], ds.labels[keep], group=groups(keep), init_score=prior[keep],
                            weight=w[keep], feature_name=list(FEATURE_NAMES),
                            free_raw_data=False)  # fmt: skip
        valid = lgb.Dataset(ds.x[val], ds.labels[val], group=groups(val), init_score=prior[val],
                            reference=train)  # fmt: skip

        def primary_metric(preds: np.ndarray, _: Any) -> tuple[str, float, bool]:
            # the metric that gates @champion, on the scores serving uses (prior included)
            return PRIMARY_METRIC, ndcg_by_group(val_labels, preds, val_groups, 10), True

        curve: dict[str, Any] = {}
        fitted = lgb.train(
            kind_params | {"metric": "None"}, train, num_boost_round=num_boost_round,
            valid_sets=[valid], feval=primary_metric, keep_training_booster=True,
            callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False),
                       lgb.record_evaluation(curve)],
        )  # fmt: skip
        rounds = plateau_iteration(next(iter(curve.values()))[PRIMARY_METRIC])
        best_rounds[kind] = best_rounds.get(kind, 0) + rounds
        return lgb.Booster(model_str=fitted.model_to_string(num_iteration=rounds))

    def fit_member(member_seed: int) -> Any:
        if objective != "blend":
            return fit_one(objective, member_seed)
        boosters = [fit_one(kind, member_seed) for kind in ("lambdarank", "pointwise")]
        weights = blend_weights(boosters, ds.x[keep], prior[keep])
        return merge_boosters(list(zip(boosters, weights, strict=True)))

    best_rounds: dict[str, int] = {}
    # member j is the fit that members=1 gives with seed + 1000 j
    member_seeds = [seed + 1000 * j for j in range(members)]
    parts = [fit_member(s) for s in member_seeds]
    booster = parts[0] if members == 1 else merge_boosters([(b, 1.0 / members) for b in parts])
    params = params | {
        "objective": {"blend": "blend: lambdarank + regression", "pointwise": "regression"}.get(
            objective, objective
        ),
        "members": members,
    }

    def predict(mask: np.ndarray) -> np.ndarray:
        return booster.predict(ds.x[mask]) + prior[mask]

    scores_val = predict(val)
    metrics = {
        "val_ndcg@5": ndcg_by_group(ds.labels[val], scores_val, ds.group[val], 5),
        "val_ndcg@10": ndcg_by_group(ds.labels[val], scores_val, ds.group[val], 10),
        "val_ndcg@10_log_lists": ndcg_by_group(
            ds.labels[later & ds.from_log], predict(later & ds.from_log), ds.group[later & ds.from_log], 10
        ) if (later & ds.from_log).any() else float("nan"),
        "val_ndcg@10_prior_only": ndcg_by_group(ds.labels[val], prior[val], ds.group[val], 10),
        "train_rows": float(tr.sum()),
        "log_weight": log_weight,
        "prior_weight": prior_weight,
        "val_rows": float(val.sum()),
        "train_groups": float(len(np.unique(ds.group[tr]))),
        "val_groups": float(len(np.unique(ds.group[val]))),
        "best_iteration": float(sum(best_rounds.values())),
        **{f"best_iteration_{kind}": float(n) for kind, n in best_rounds.items() if len(best_rounds) > 1},
    }  # fmt: skip
    # Calibrate raw scores to P(success) on validation pairings that really happened.
    happened = val & (ds.labels > 0)
    y = (ds.labels[happened] >= COMPLETED_HIGH).astype(float)
    a, b = _platt(scores_val[(ds.labels[val] > 0)], y)
    probs = 1 / (1 + np.exp(-(a * scores_val[(ds.labels[val] > 0)] + b)))
    metrics["val_brier_success"] = float(np.mean((probs - y) ** 2)) if len(y) else float("nan")
    metrics["val_success_base_rate"] = float(y.mean()) if len(y) else float("nan")
    importance = dict(
        zip(FEATURE_NAMES, booster.feature_importance(importance_type="gain").tolist(), strict=True)
    )
    manifest = RankerManifest(
        feature_names=list(FEATURE_NAMES),
        feature_version=FEATURE_VERSION,
        encoder_id=encoder_id,
        objective=objective,
        calibration=(a, b),
        prior_weight=prior_weight,
        metrics=metrics,
        params={k: v for k, v in params.items() if k not in ("eval_at", "monotone_constraints")},
        dataset_fingerprint=ds.fingerprint(),
        versions=RankerManifest.library_versions(),
        text_projection=ds.text_projection_info,
        goal_tags=ds.goal_tags_info,
    )
    return RankerTrainingResult(
        model=RankerModel(booster, manifest, ds.text_projection, goal_tags=ds.goal_tags), metrics=metrics, params=params, cutoff=cutoff,
        importance=importance, calibration_points=(probs, y),
    )  # fmt: skip


def blend_weights(boosters: list[Any], x: np.ndarray, prior: np.ndarray) -> list[float]:
    """Weights that give each booster's scores (prior included) the same spread on ``x``: the
    blend is the mean of the standardised scores, rescaled so the prior keeps weight 1
    (weights sum to 1). A lambdarank score and a regression on the grades live on different
    scales; standardising lets each objective count as much as the other."""
    spread = np.array([float(np.std(b.predict(x) + prior)) for b in boosters])
    inverse = 1.0 / np.maximum(spread, 1e-12)
    return (inverse / inverse.sum()).tolist()


def merge_boosters(parts: list[tuple[Any, float]]) -> Any:
    """One LightGBM Booster whose raw score is the weighted sum of the parts' raw scores: the
    trees of every part, each leaf value scaled by its part's weight (LightGBM adds the trees'
    outputs, so this is exact). Serving, MLflow logging and the per-feature contributions
    behind reasons keep working on a single Booster. The first part's header and parameters
    are kept; tree sizes are left out, so LightGBM reads the trees one after another."""
    import re

    import lightgbm as lgb

    header, tail, blocks = "", "", []
    for booster, weight in parts:
        text = booster.model_to_string()
        start, end = text.index("\nTree=0\n") + 1, text.index("end of trees")
        if not header:
            header = re.sub(r"(?m)^tree_sizes=.*\n", "", text[:start])
            tail = text[end:]

        def scaled(m: re.Match[str], weight: float = weight) -> str:
            return m.group(1) + " ".join(repr(float(v) * weight) for v in m.group(2).split())

        for block in re.split(r"(?m)^(?=Tree=\d+\n)", text[start:end]):
            if block.strip():
                blocks.append(re.sub(r"(?m)^(leaf_value=|internal_value=)(.*)$", scaled, block))
    body = "".join(re.sub(r"^Tree=\d+", f"Tree={i}", b, count=1) for i, b in enumerate(blocks))
    return lgb.Booster(model_str=header + body + tail)


def random_thresholds(outcome_rows: int) -> bool:
    """Whether trees split at random thresholds (``extra_trees``), given the outcome rows they
    train on (see :data:`EXTRA_TREES_MIN_ROWS`)."""
    return outcome_rows >= EXTRA_TREES_MIN_ROWS


def plateau_iteration(curve: list[float], window: int = PLATEAU_WINDOW) -> int:
    """The number of boosting rounds to keep: the centre of the best ``window`` consecutive
    rounds of the validation curve (1-based), not its single best round. Over a few dozen
    validation groups the curve is noisy, and an early spike can stop a fit before it has
    learned much beyond the prior."""
    values = np.asarray(curve, np.float64)
    if len(values) == 0:
        return 0
    width = max(1, min(window, len(values)))
    means = np.convolve(values, np.ones(width) / width, mode="valid")
    return int(np.argmax(means)) + width // 2 + 1


def _platt(scores: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if len(y) < 10 or y.min() == y.max():
        return 1.0, 0.0
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=100.0).fit(scores.reshape(-1, 1), y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def validation_rows(ds: RankingDataset, later: np.ndarray) -> np.ndarray:
    """The rows the primary metric is measured on: outcome groups after the cut-off (logged
    lists are scored separately, ``val_ndcg@10_log_lists``)."""
    return later & ~ds.from_log


def validation_ndcg(
    model: RankerModel,
    ds: RankingDataset,
    catalog: MentorCatalog,
    mentees: MenteeBatch,
    k: int = 10,
) -> float:
    """``model``'s ``val_ndcg@k`` on the validation rows of ``ds`` (the metric
    :func:`fit_ranker` logs), with ``text_adapted`` and ``text_goal_tags`` recomputed under
    the model's own text projection and goal-to-tag model: how a champion does on a new run's
    validation data, like with like."""
    from training import goal_tags, text_adapter

    val = validation_rows(ds, time_split(ds)[0])
    x = ds.x[val].copy()
    maps = model.text_maps
    x[:, text_adapter.COLUMN] = (
        np.nan if maps is None else text_adapter.adapted_column(ds, val, catalog, mentees, maps)
    )
    tags = model.goal_tags
    x[:, goal_tags.COLUMN] = (
        np.nan if tags is None else goal_tags.goal_tags_column(ds, val, catalog, mentees, tags)
    )
    return ndcg_by_group(ds.labels[val], model.score(x), ds.group[val], k)


def signature_for(x: np.ndarray) -> Any:
    import pandas as pd
    from mlflow.models import infer_signature

    frame = pd.DataFrame(x[:50], columns=list(FEATURE_NAMES))
    return infer_signature(frame, np.zeros(len(frame)))


def bundle_dir(result: RankerTrainingResult) -> Path:
    tmp = Path(tempfile.mkdtemp(prefix="recsys-ranker-"))
    return result.model.save(tmp)
