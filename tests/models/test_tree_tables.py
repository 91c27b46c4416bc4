"""The booster compiled to lookup tables scores and attributes exactly as the trees do."""

from __future__ import annotations

import numpy as np
import pytest

from features.pairs import FEATURE_NAMES
from models.ranker import RankerManifest, RankerModel, path_contribution_table
from models.tree_tables import NotCompilable, TreeTables


def _booster(num_leaves: int, rounds: int = 60, extra_trees: bool = True, n_features: int = 5):
    """A regression booster: column 0 has NaNs (missing_type NaN), the others none
    (missing_type None, where LightGBM reads a NaN as 0), column 4 is mostly zeros."""
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, n_features))
    x[rng.random(2000) < 0.2, 0] = np.nan
    x[:, 4] = np.where(rng.random(2000) < 0.7, 0.0, x[:, 4])
    y = np.nan_to_num(x[:, 0]) * x[:, 1] + (x[:, 2] > 0.3) - 0.5 * x[:, 3] + 2 * x[:, 4]
    y = y + rng.normal(0, 0.3, 2000)
    params = {"objective": "regression", "num_leaves": num_leaves, "learning_rate": 0.1,
              "min_data_in_leaf": 20, "extra_trees": extra_trees, "verbosity": -1, "seed": 0}  # fmt: skip
    return lgb.train(params, lgb.Dataset(x, y), num_boost_round=rounds)


@pytest.fixture(scope="module")
def three_leaves():
    booster = _booster(3)
    return booster, TreeTables.compile(booster, path_contribution_table(booster))


def _hard_rows(tables: TreeTables, n: int = 3000) -> np.ndarray:
    """Random rows, a third of whose values sit exactly on a split threshold, plus NaN, zero,
    LightGBM's zero threshold and the infinities."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, tables.n_features)) * 2
    for f, cut in enumerate(tables.thresholds):
        if len(cut):
            on = rng.random(n) < 0.33
            x[on, f] = rng.choice(cut, on.sum())
    specials = np.array([np.nan, 0.0, -0.0, 1e-35, -1e-35, 1e-36, np.inf, -np.inf])
    x[rng.random(x.shape) < 0.1] = np.nan
    pick = rng.random(x.shape) < 0.05
    x[pick] = rng.choice(specials, pick.sum())
    return x


def test_tables_score_every_row_like_the_booster(three_leaves):
    booster, tables = three_leaves
    assert len(tables.first) > 0 and tables.n_cells > 0
    x = _hard_rows(tables, 9000)  # more rows than one chunk
    np.testing.assert_allclose(tables.score(x), booster.predict(x), rtol=0, atol=1e-9)
    # float32 features, as serving passes them
    x32 = x.astype(np.float32)
    np.testing.assert_allclose(tables.score(x32), booster.predict(x32), rtol=0, atol=1e-9)


def test_tables_give_each_rows_path_contributions(three_leaves, monkeypatch):
    from models import tree_tables

    monkeypatch.setattr(tree_tables, "ROW_CHUNK", 128)  # rows scored in several chunks
    booster, tables = three_leaves
    x = _hard_rows(tables, 500)
    table = path_contribution_table(booster)
    leaves = booster.predict(x, pred_leaf=True).astype(np.int64)
    expected = table[np.arange(table.shape[0])[None, :], leaves].sum(axis=1)
    got = tables.contributions(x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(got.sum(axis=1), booster.predict(x), rtol=0, atol=1e-9)


def test_a_tree_reading_three_features_does_not_compile_and_the_model_walks_the_trees():
    booster = _booster(8, rounds=20, n_features=len(FEATURE_NAMES))
    with pytest.raises(NotCompilable, match=r"reads [3-9] features"):
        TreeTables.compile(booster, path_contribution_table(booster))
    manifest = RankerManifest(feature_names=list(FEATURE_NAMES), feature_version="t",
                              encoder_id="e", objective="regression")  # fmt: skip
    model = RankerModel(booster, manifest)
    assert model.tables() is None
    x = np.random.default_rng(2).normal(size=(50, len(FEATURE_NAMES)))
    np.testing.assert_allclose(model.score(x), booster.predict(x), atol=1e-12)
    np.testing.assert_allclose(model.contributions(x).sum(axis=1), booster.predict(x), atol=1e-9)


def test_a_single_leaf_tree_only_adds_to_the_bias():
    import lightgbm as lgb

    x = np.zeros((50, 2))
    booster = lgb.train({"objective": "regression", "verbosity": -1, "min_data_in_leaf": 1},
                        lgb.Dataset(x, np.full(50, 3.0)), num_boost_round=3)  # fmt: skip
    tables = TreeTables.compile(booster, path_contribution_table(booster))
    assert len(tables.first) == 0
    rows = np.array([[0.0, 1.0], [np.nan, -5.0]])
    np.testing.assert_allclose(tables.score(rows), booster.predict(rows), atol=1e-12)
    np.testing.assert_allclose(tables.contributions(rows)[:, :2], 0.0)


def test_tables_without_a_feature_score_the_trees_that_never_read_it(three_leaves):
    """``without({f})`` is the booster with every tree splitting on f replaced by its root's
    expected value: it never reads column f, and it adds the other trees' leaf values."""
    booster, tables = three_leaves
    x = _hard_rows(tables, 500)
    path_table = path_contribution_table(booster)
    leaves = booster.predict(x, pred_leaf=True).astype(np.int64)
    trees = booster.dump_model()["tree_info"]
    checked = 0
    for f in range(tables.n_features):
        reads_f = np.array([f in _split_features(t["tree_structure"]) for t in trees])
        if not reads_f.any():
            continue
        checked += 1
        want = np.zeros(len(x))
        for t in range(len(trees)):
            if reads_f[t]:
                want += path_table[t, 0, -1]  # the root's expected value
            else:
                want += [booster.get_leaf_output(t, leaf) for leaf in leaves[:, t]]
        partial = tables.without([f])
        np.testing.assert_allclose(partial.score(x), want, rtol=0, atol=1e-9)
        # column f is never read
        scrambled = x.copy()
        scrambled[:, f] = np.random.default_rng(f).normal(size=len(x)) * 10
        np.testing.assert_array_equal(partial.score(scrambled), partial.score(x))
    assert checked >= 3
    np.testing.assert_array_equal(tables.without([]).score(x), tables.score(x))


def _split_features(node: dict) -> set[int]:
    if "leaf_value" in node:
        return set()
    return (
        {int(node["split_feature"])}
        | _split_features(node["left_child"])
        | (_split_features(node["right_child"]))
    )
