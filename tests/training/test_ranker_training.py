"""Ranker dataset, training and the MLflow champion lifecycle on a small generated programme."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluation.matching_eval import synthetic_engine
from features.labels import (
    COMPLETED_HIGH,
    COMPLETED_LOW,
    ENDED_EARLY,
    outcome_grade,
    training_relevance,
)
from features.pairs import FEATURE_NAMES
from models.ranker import ModelMismatchError, RankerModel
from training.pipeline import ranking_dataset
from training.ranker import (
    RankingDataset,
    _group_sizes,
    fit_ranker,
    time_split,
    validation_ndcg,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    engine, _ = synthetic_engine(
        tmp_path_factory.mktemp("rank"), n_mentors=120, n_mentees=400, seed=5
    )
    ds = ranking_dataset(engine.ctx, engine, org="default")
    result = fit_ranker(ds, encoder_id=engine.embedder.encoder_id, threads=1)
    return engine, ds, result


def test_a_model_scored_again_on_its_validation_rows_gets_the_metric_it_logged(trained):
    from training.pipeline import _ranking_inputs

    engine, _, result = trained
    ds, catalog, mentees = _ranking_inputs(engine.ctx, engine, org="default")
    assert result.model.text_maps is not None  # the text column is recomputed, not copied
    assert result.model.goal_tags is not None  # and so is the goal-tag column
    again = validation_ndcg(result.model, ds, catalog, mentees)
    assert again == pytest.approx(result.metrics["val_ndcg@10"], abs=1e-6)
    cold = validation_ndcg(RankerModel.cold_start(engine.embedder.encoder_id), ds, catalog, mentees)
    assert cold == pytest.approx(result.metrics["val_ndcg@10_prior_only"], abs=1e-6)


def test_outcome_grades_order_the_outcomes():
    assert outcome_grade("ended_early", 5, True) == ENDED_EARLY
    assert outcome_grade("completed", 2, False) == COMPLETED_LOW
    assert outcome_grade("completed", 2, True) == COMPLETED_HIGH
    assert outcome_grade("completed", 4, None) == COMPLETED_HIGH
    assert outcome_grade("active", None, None) is None


def test_training_labels_tell_good_outcomes_apart_and_keep_the_grade_order():
    status = np.array(["ended_early", "completed", "completed", "completed", "completed",
                       "completed", "active"], dtype=object)  # fmt: skip
    rating = np.array([5, 3, 3, 4, 4, 5, np.nan])
    goals = np.array([1, 0, 1, 0, 1, 1, np.nan])
    labels = training_relevance(status, rating, goals)
    assert labels.tolist() == [ENDED_EARLY, COMPLETED_LOW, 4, 4, 5, 6, -1]
    assert (labels[labels > COMPLETED_LOW] > COMPLETED_HIGH).all()  # every good one above 3


def test_dataset_groups_are_sound_for_lambdarank(trained):
    _, ds, _ = trained
    assert len(ds) > 100 and ds.x.shape == (len(ds), len(FEATURE_NAMES))
    assert ds.labels.min() >= 0 and ds.labels.max() < 31
    assert set(np.unique(ds.labels)) <= {0, 1, 2, 4, 5, 6}
    order = np.lexsort((ds.group,))
    for g, size in zip(np.unique(ds.group[order]), _group_sizes(ds.group[order]), strict=True):
        labels = ds.labels[ds.group == g]
        assert size >= 2 and labels.max() > 0  # no all-zero group (LightGBM would score it 1)
    assert ds.from_log.any() and (~ds.from_log).any()


def test_logged_rows_record_whom_the_mentee_asked_for(trained):
    from recsys.snapshot import interaction_frame

    engine, ds, _ = trained
    with engine.ctx.sessions() as session:
        log = interaction_frame(session, "default")
    asked = {
        (e, m)
        for e, m, ev in zip(log["mentee_id"], log["mentor_id"], log["event"], strict=True)
        if ev == "requested"
    }
    catalog = engine.catalog("default")
    marked = {
        (e, catalog.ids[r])
        for e, r, q in zip(ds.mentee_ids, ds.mentor_rows, ds.requested, strict=True)
        if q
    }
    assert ds.requested is not None and not ds.requested[~ds.from_log].any()
    assert marked and marked <= asked
    logged = {(e, catalog.ids[r]) for e, r in zip(ds.mentee_ids[ds.from_log],
                                                  ds.mentor_rows[ds.from_log], strict=True)}  # fmt: skip
    assert logged & asked == marked  # every asked-for mentor of a kept list is marked
    assert logged - asked  # shown but not asked for


def test_training_reads_only_lists_it_can_learn_from(trained):
    """Served lists of mentees who never answered nor were paired are skipped at the read
    (a long-running service logs ten rows a request): the examples are the same."""
    from recsys import store
    from recsys.schemas import InteractionIn
    from recsys.snapshot import interaction_frame, load_catalog, pairing_frame
    from training.ranker import build_examples

    engine, _, _ = trained
    with engine.ctx.sessions() as session:
        paired = set(pairing_frame(session, "default")["mentee_id"])
        browsing = next(i for i in (f"browser-{n}" for n in range(99)) if i not in paired)
        mentors = engine.catalog("default").ids[:3]
    with store.transaction(engine.ctx.sessions) as session:  # a list nobody answered
        store.upsert_models(session, "interactions", "default", [
            InteractionIn(mentee_id=browsing, mentor_id=m, at="2024-05-01", event="shown",
                          position=n + 1) for n, m in enumerate(mentors)
        ])  # fmt: skip
    with engine.ctx.sessions() as session:
        catalog = load_catalog(session, "default", engine.encode_cached, engine.embedder.encoder_id)
        pairings = pairing_frame(session, "default")
        everything = interaction_frame(session, "default")
        engaged = interaction_frame(session, "default", engaged_lists_only=True)
    assert browsing in set(everything["mentee_id"]) and browsing not in set(engaged["mentee_id"])
    answers = ~np.isin(everything["event"], ["shown"])
    assert (~np.isin(engaged["event"], ["shown"])).sum() == answers.sum()  # every answer kept
    full, full_ids = build_examples(pairings, everything, catalog, seed=0)
    lean, lean_ids = build_examples(pairings, engaged, catalog, seed=0)
    assert full_ids == lean_ids and full.from_log.any()
    for name in ("mentee_ids", "mentor_rows", "dates", "labels", "group", "from_log", "requested"):
        np.testing.assert_array_equal(getattr(full, name), getattr(lean, name), err_msg=name)


def test_logged_lists_train_only_at_a_positive_log_weight(trained):
    """By default (LOG_WEIGHT 0) the ranker learns from outcome groups alone: reversing every
    logged list's labels changes nothing. Given a weight, the lists do shape the model."""
    from training.ranker import LOG_WEIGHT, _subset

    engine, ds, result = trained
    assert LOG_WEIGHT == 0.0 and result.metrics["log_weight"] == 0.0
    flipped = _subset(ds, np.ones(len(ds), bool))
    flipped.labels = ds.labels.copy()
    logged = ds.from_log
    flipped.labels[logged] = ds.labels[logged].max() - ds.labels[logged]
    x = ds.x[:200]

    def scores(data: RankingDataset, weight: float) -> np.ndarray:
        fit = fit_ranker(data, encoder_id=engine.embedder.encoder_id, threads=1, log_weight=weight)
        return fit.model.score(x)

    np.testing.assert_array_equal(scores(flipped, 0.0), result.model.score(x))
    assert not np.allclose(scores(flipped, 1.0), scores(ds, 1.0))


def test_time_split_validates_on_later_groups(trained):
    _, ds, result = trained
    later, cutoff = time_split(ds)
    assert ds.dates[later].min() >= np.datetime64(cutoff)
    group_first = {g: ds.dates[ds.group == g].min() for g in np.unique(ds.group)}
    assert all(group_first[g] < np.datetime64(cutoff) for g in np.unique(ds.group[~later]))
    assert (
        result.metrics["val_rows"] > 0 and result.metrics["train_rows"] > result.metrics["val_rows"]
    )


def _groups(dates: list[str], from_log: list[bool]) -> RankingDataset:
    """One row per group (enough for the split), dated and kinded as given."""
    n = len(dates)
    return RankingDataset(
        mentee_ids=np.array([f"e{i}" for i in range(n)], dtype=object),
        mentor_rows=np.zeros(n, np.int64), mentee_rows=np.arange(n),
        dates=np.array(dates, dtype="datetime64[D]"), labels=np.ones(n, np.int64),
        group=np.arange(n), exclude_self=np.zeros(n, bool), from_log=np.array(from_log),
    )  # fmt: skip


def test_training_without_outcome_groups_before_the_cut_off_is_a_clear_error():
    """Logged lists alone, at the default weight 0, leave nothing to train on: say so."""
    day = np.datetime64("2024-01-01")
    dates = [str(day + i) for i in range(500)]  # 400 logged lists, then 100 outcome groups
    ds = _groups(dates, [True] * 400 + [False] * 100)
    assert not (~ds.from_log & ~time_split(ds)[0]).any()
    with pytest.raises(ValueError, match="no outcome groups before the validation cut-off"):
        fit_ranker(ds, encoder_id="enc", threads=1)


def test_random_split_thresholds_only_with_thousands_of_outcomes(trained):
    from training.ranker import EXTRA_TREES_MIN_ROWS, random_thresholds

    assert not random_thresholds(EXTRA_TREES_MIN_ROWS - 1)
    assert random_thresholds(EXTRA_TREES_MIN_ROWS)
    _, ds, result = trained  # a small programme: deterministic thresholds, as logged
    later, _ = time_split(ds)
    assert (~ds.from_log & ~later).sum() < EXTRA_TREES_MIN_ROWS
    assert result.params["extra_trees"] is False


def test_boosting_keeps_the_rounds_of_the_best_plateau_not_a_spike():
    from training.ranker import plateau_iteration

    curve = [0.5] * 100
    curve[9] = 0.9  # a spike at round 10
    curve[60:90] = [0.7] * 30  # a plateau over rounds 61-90
    assert plateau_iteration(curve, window=25) == 61 + 12  # the centre of its best 25 rounds
    assert plateau_iteration(curve, window=1) == 10  # a window of 1 is the best single round
    assert plateau_iteration([0.3, 0.4], window=25) == 2  # shorter curves: their centre
    assert plateau_iteration([]) == 0


def test_time_split_leaves_enough_outcome_groups_to_validate_on():
    """Late groups are mostly logged lists (recent pairings have no outcome yet): the cut-off
    moves earlier until 30 outcome groups validate."""
    day = np.datetime64("2024-01-01")
    outcomes = [str(day + i) for i in range(100)]  # early outcome groups, one a day
    logs = [str(day + 100 + i) for i in range(400)]  # then 400 logged lists
    later, cutoff = time_split(_groups(outcomes + logs, [False] * 100 + [True] * 400))
    assert later[100:].all() and later[:100].sum() == 30
    assert np.datetime64(cutoff) == day + 70
    # a small programme (under 90 outcome groups) keeps the plain cut-off: training needs them
    few, _ = time_split(_groups(outcomes[:60] + logs, [False] * 60 + [True] * 400))
    assert few[:60].sum() == 0 and few.sum() == 92
    # enough outcome groups late already: the plain cut-off (the latest 20% of groups)
    mixed = [str(day + i) for i in range(500)]
    plain, _ = time_split(_groups(mixed, [i % 2 == 0 for i in range(500)]))
    assert plain.sum() == 100 and plain[:400].sum() == 0


def test_model_round_trips_and_explains(trained, tmp_path: Path):
    engine, ds, result = trained
    model = result.model
    path = model.save(tmp_path / "bundle")
    loaded = RankerModel.load(path, expected_encoder_id=engine.embedder.encoder_id)
    x = ds.x[:50]
    assert np.allclose(loaded.score(x), model.score(x))
    contrib = loaded.contributions(x)
    assert contrib.shape == (50, len(FEATURE_NAMES) + 1)
    assert np.allclose(contrib.sum(axis=1), loaded.score(x), atol=1e-4)  # additive explanation
    p = loaded.success_probability(loaded.score(x))
    assert ((p > 0) & (p < 1)).all()
    with pytest.raises(ModelMismatchError):
        RankerModel.load(path, expected_encoder_id="another-encoder")


def test_path_contributions_add_up_like_shap_and_follow_each_rows_leaves(trained):
    """The default attribution (decision-path deltas from a per-leaf table) gives the same
    per-row totals as TreeSHAP and the same bias, and credits only features split on."""
    model, ds = trained[2].model, trained[1]
    x = ds.x[:40]
    assert model.attribution == "path"
    path = model.contributions(x)
    shap = RankerModel(model.booster, model.manifest, model.text_projection, "shap").contributions(
        x
    )
    assert path.shape == shap.shape == (40, len(FEATURE_NAMES) + 1)
    np.testing.assert_allclose(path.sum(axis=1), model.score(x), atol=1e-6)
    np.testing.assert_allclose(path.sum(axis=1), shap.sum(axis=1), atol=1e-6)
    np.testing.assert_allclose(path[:, -1], shap[:, -1], atol=1e-6)  # the expected value
    assert not np.allclose(path, shap)  # a different split of the same total
    split_on = {n["split_feature"] for t in model.booster.dump_model()["tree_info"]
                for n in _nodes(t["tree_structure"]) if "split_feature" in n}  # fmt: skip
    never = [j for j in range(len(FEATURE_NAMES)) if j not in split_on]
    prior_free = model.contributions(x) - RankerModel.cold_start("e").contributions(x) * (
        model.manifest.prior_weight
    )
    assert np.allclose(prior_free[:, never], 0.0)
    with pytest.raises(ValueError):
        RankerModel(model.booster, model.manifest, attribution="gain")


def _nodes(node: dict) -> list[dict]:
    out = [node]
    for side in ("left_child", "right_child"):
        if side in node:
            out += _nodes(node[side])
    return out


def test_merged_booster_scores_the_weighted_sum_of_its_parts():
    import lightgbm as lgb

    from training.ranker import merge_boosters

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = x[:, 0] - 0.5 * x[:, 1] + rng.normal(size=300)
    params = {"objective": "regression", "num_leaves": 3, "verbosity": -1}
    a = lgb.train(params, lgb.Dataset(x, y), num_boost_round=12)
    b = lgb.train(params | {"learning_rate": 0.3}, lgb.Dataset(x, -y), num_boost_round=5)
    merged = merge_boosters([(a, 0.25), (b, 0.75)])
    assert merged.num_trees() == 17
    np.testing.assert_allclose(
        merged.predict(x), 0.25 * a.predict(x) + 0.75 * b.predict(x), atol=1e-12
    )
    again = lgb.Booster(model_str=merged.model_to_string())  # what MLflow logs and loads
    np.testing.assert_allclose(again.predict(x), merged.predict(x), atol=1e-12)


def test_default_ranker_blends_a_lambdarank_and_a_regression_fit(trained):
    """One Booster whose trees are both fits' trees: its raw score is a weighted sum of theirs,
    weights summing to 1 (the prior keeps weight 1) that give both the same spread."""
    from training.ranker import DEFAULT_OBJECTIVE, blend_weights

    engine, ds, ensemble = trained
    assert DEFAULT_OBJECTIVE == "blend" and ensemble.model.manifest.objective == "blend"
    result = fit_ranker(ds, encoder_id=engine.embedder.encoder_id, threads=1, members=1)
    fits = [
        fit_ranker(
            ds, encoder_id=engine.embedder.encoder_id, threads=1, objective=o, members=1
        ).model
        for o in ("lambdarank", "pointwise")
    ]
    assert result.metrics["best_iteration_lambdarank"] == fits[0].booster.num_trees() > 0
    assert result.metrics["best_iteration_pointwise"] == fits[1].booster.num_trees() > 0
    assert result.model.booster.num_trees() == sum(f.booster.num_trees() for f in fits)
    x = ds.x[:300]
    parts = np.column_stack([f.booster.predict(x) for f in fits])
    weights, *_ = np.linalg.lstsq(parts, result.model.booster.predict(x), rcond=None)
    np.testing.assert_allclose(parts @ weights, result.model.booster.predict(x), atol=1e-8)
    assert weights.sum() == pytest.approx(1.0) and (weights > 0).all()
    prior = result.model.score(x) - result.model.booster.predict(x)
    w = blend_weights([f.booster for f in fits], x, prior)
    spreads = [wk * np.std(f.booster.predict(x) + prior) for wk, f in zip(w, fits, strict=True)]
    assert spreads[0] == pytest.approx(spreads[1])


def test_default_ranker_averages_members_that_differ_only_in_their_seed(trained):
    """The served booster's raw score is the mean of MEMBERS single fits, member j being the
    fit with seed + 1000 j; its metrics are the average's, not a member's."""
    from training.ranker import MEMBERS

    engine, ds, result = trained
    assert MEMBERS > 1 and result.params["members"] == MEMBERS
    fits = [
        fit_ranker(ds, encoder_id=engine.embedder.encoder_id, threads=1, members=1, seed=1000 * j)
        for j in range(MEMBERS)
    ]
    x = ds.x[:300]
    mean = np.mean([f.model.booster.predict(x) for f in fits], axis=0)
    np.testing.assert_allclose(result.model.booster.predict(x), mean, atol=1e-9)
    assert result.model.booster.num_trees() == sum(f.model.booster.num_trees() for f in fits)
    assert result.metrics["best_iteration"] == result.model.booster.num_trees()
    # the members disagree, so averaging them is not a no-op
    assert not np.allclose(fits[0].model.booster.predict(x), fits[1].model.booster.predict(x))
    with pytest.raises(ValueError, match="members"):
        fit_ranker(ds, encoder_id=engine.embedder.encoder_id, members=0)


def test_cold_start_prefers_the_matching_mentor():
    x = np.zeros((2, len(FEATURE_NAMES)), np.float32)
    i = FEATURE_NAMES.index
    x[0, i("text_mean_best_sentence")] = 0.7
    x[1, i("text_mean_best_sentence")] = 0.2
    x[:, i("shared_hours")] = 4
    model = RankerModel.cold_start("enc")
    s = model.score(x)
    assert s[0] > s[1]
    assert model.is_cold_start and model.version == "cold-start"


@pytest.mark.slow
def test_champion_moves_only_when_better_and_rolls_back(trained, tmp_path: Path):
    from recsys.settings import Settings
    from training.tracking import (
        download_bundle,
        list_versions,
        log_training_run,
        promote,
        rollback,
    )

    _, _, result = trained
    settings = Settings(home=tmp_path / "home")
    bundle = result.model.save(tmp_path / "b")
    import mlflow.lightgbm

    def run(value: float, force: bool = False, features: str = "a", rescore=None):
        return log_training_run(
            settings, model_name="test-ranker", run_name="t",
            params={"p": 1, "feature_version": features},
            metrics={"val_ndcg@10": value}, primary_metric="val_ndcg@10", bundle_dir=bundle,
            log_model=lambda name: mlflow.lightgbm.log_model(
                result.model.booster, name="model", registered_model_name=name
            ),
            force=force, comparable_on=("feature_version",), rescore_champion=rescore,
        )  # fmt: skip

    first = run(0.5)
    assert first.promoted and first.decision == "no champion yet"
    worse = run(0.4)
    assert not worse.promoted
    better = run(0.6)
    assert better.promoted
    forced = run(0.1, force=True)
    assert forced.promoted
    rows = list_versions(settings, "test-ranker")
    assert [r["champion"] for r in rows] == [False, False, False, True]
    assert rollback(settings, "test-ranker") == better.version
    promote(settings, "test-ranker", first.version)
    path, mv = download_bundle(settings, "test-ranker")
    assert str(mv.version) == first.version and (path / "manifest.json").exists()
    # a champion of another feature list was measured on other terms: a new one replaces it
    other = run(0.05, features="b")
    assert other.promoted and "feature_version=a (now b)" in other.decision
    assert not run(0.04, features="b").promoted  # like with like again
    # measured on the new run's validation rows, the champion scores 0.01: the new one wins
    seen = []
    fair = run(0.045, features="b", rescore=lambda mv: seen.append(str(mv.version)) or 0.01)
    assert fair.promoted and seen == [other.version]
    assert "0.0100 on this run's validation data: promoted" in fair.decision
    # a champion this code cannot score falls back to the metric it logged
    assert not run(0.02, features="b", rescore=lambda mv: None).promoted
