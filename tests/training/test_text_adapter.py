"""The learned text projection: what it learns, how its column is cross-fitted, how it ships."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import training.text_adapter as ta
from features.labels import COMPLETED_HIGH
from features.pairs import FEATURE_NAMES
from features.text import projected_cosine
from models.ranker import RankerModel
from models.text_projection import TextProjection
from training.ranker import RankingDataset, time_split

SMALL = ta.AdapterConfig(rank=16, epochs=40, batch=64, folds=3, min_pairs=20)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _two_registers(n: int, d: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Goal i and bio i share a latent topic, but each side says it in its own words (a fixed
    rotation of the latent vector plus noise), so their raw cosine is uninformative."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 8))
    say_goal, say_bio = rng.normal(size=(8, d)), rng.normal(size=(8, d))
    goals = _unit(latent @ say_goal + 0.3 * rng.normal(size=(n, d)))
    bios = _unit(latent @ say_bio + 0.3 * rng.normal(size=(n, d)))
    return goals, bios


def _partner_rank(goals: np.ndarray, bios: np.ndarray, proj: TextProjection | None) -> float:
    """Mean rank (0 = best) of each goal's own bio among all bios."""
    n = len(goals)
    ranks = []
    for i in range(n):
        g = np.repeat(goals[i : i + 1], n, axis=0)
        s = projected_cosine(g, bios, *proj.maps) if proj else np.einsum("ij,ij->i", g, bios)
        ranks.append(int((s > s[i]).sum()))
    return float(np.mean(ranks))


def test_projection_learns_which_goals_meet_which_bios_on_unseen_pairs():
    goals, bios = _two_registers(500)
    train = np.column_stack([np.arange(400), np.arange(400)])
    proj = ta.fit_text_projection(goals, bios, train, config=SMALL)
    held_goals, held_bios = goals[400:], bios[400:]
    raw = _partner_rank(held_goals, held_bios, None)
    learned = _partner_rank(held_goals, held_bios, proj)
    assert raw > 25  # about chance (49.5) for 100 bios: the registers do not meet
    assert learned < 5  # the held-out partner is near the top after the projection
    assert proj.goal.shape == (32, 16) and proj.goal.dtype == np.float32


def test_projection_needs_pairs():
    goals, bios = _two_registers(10)
    with pytest.raises(ValueError, match="at least two pairs"):
        ta.fit_text_projection(goals, bios, np.zeros((1, 2), np.int64), config=SMALL)


def _dataset(n_mentees: int = 60, per: int = 3) -> RankingDataset:
    rows = n_mentees * per
    mentee_rows = np.repeat(np.arange(n_mentees), per)
    days = np.datetime64("2025-01-01") + np.arange(rows).astype("timedelta64[D]")
    return RankingDataset(
        mentee_ids=np.array([f"mentee-{i}" for i in mentee_rows], dtype=object),
        mentor_rows=np.arange(rows) % 50,
        mentee_rows=mentee_rows,
        dates=days.astype("datetime64[D]"),
        labels=np.tile(np.arange(per), n_mentees),
        group=np.arange(rows) // 4,
        exclude_self=np.zeros(rows, bool),
        from_log=np.arange(rows) % 5 == 0,
        x=np.zeros((rows, len(FEATURE_NAMES)), np.float32),
    )


def _fit_with_spy(
    monkeypatch, ds: RankingDataset, cfg: ta.AdapterConfig
) -> tuple[list[np.ndarray], dict | None, np.ndarray, np.ndarray]:
    """Run ``fill_text_adapted`` and record the pairs of every fit (the served one first)."""
    goals, bios = _two_registers(60)
    bios = np.vstack([bios, bios])[:50]
    fits: list[np.ndarray] = []
    real_fit = ta.fit_text_projection

    def spy(g, b, pairs, **kw):
        fits.append(np.asarray(pairs).copy())
        return real_fit(g, b, pairs, **kw)

    monkeypatch.setattr(ta, "fit_text_projection", spy)
    info = ta.fill_text_adapted(
        ds, SimpleNamespace(bio_vec=bios), SimpleNamespace(goal_vec=goals), config=cfg
    )
    return fits, info, goals, bios


def test_each_training_row_is_featurised_without_its_mentees_pairings(monkeypatch):
    ds = _dataset()
    fits, info, goals, bios = _fit_with_spy(monkeypatch, ds, SMALL)
    assert info is not None and info["folds"] == 3 and ds.text_projection is not None
    later, _ = time_split(ds)
    positive = ~ds.from_log & ~later
    all_pairs = {tuple(p) for p in np.column_stack([ds.mentee_rows, ds.mentor_rows])[positive]}
    full, *per_fold = fits
    assert {tuple(p) for p in full} == all_pairs  # pre-cut-off pairings only, each once
    after_cutoff = {tuple(p) for p in np.column_stack([ds.mentee_rows, ds.mentor_rows])[later]}
    assert not (after_cutoff - all_pairs) & {tuple(p) for p in full}
    folds = ta.mentee_folds(ds.mentee_ids, SMALL.folds)
    fold_of_mentee = dict(zip(ds.mentee_rows.tolist(), folds.tolist(), strict=True))
    assert len(per_fold) == SMALL.folds
    for fold, pairs in enumerate(per_fold):
        assert all(fold_of_mentee[e] != fold for e in pairs[:, 0])  # own mentees left out
    col = ds.x[:, ta.COLUMN]
    assert np.isfinite(col).all() and col.std() > 0
    # validation rows carry the served projection's value
    expect = projected_cosine(
        goals[ds.mentee_rows[later]], bios[ds.mentor_rows[later]], *ds.text_projection.maps
    )
    assert np.allclose(col[later], expect, atol=1e-6)


def _served_pairs(monkeypatch, ds: RankingDataset, min_pairs: int) -> tuple[set, dict | None]:
    """The pairs the full (served) projection was fitted on, and what fill reported."""
    cfg = ta.AdapterConfig(rank=8, epochs=2, batch=64, folds=3, min_pairs=min_pairs)
    fits, info, _, _ = _fit_with_spy(monkeypatch, ds, cfg)
    return {tuple(p) for p in fits[0]}, info


def test_positives_are_the_pairings_that_went_well(monkeypatch):
    ds = _dataset(per=4)  # labels 0..3 per mentee: one good outcome (COMPLETED_HIGH) each
    later, _ = time_split(ds)
    rows = np.column_stack([ds.mentee_rows, ds.mentor_rows])
    good = ~ds.from_log & ~later & (ds.labels == COMPLETED_HIGH)
    fitted, info = _served_pairs(monkeypatch, ds, min_pairs=20)
    assert good.sum() >= 20 and info is not None and info["positives"] == "good_outcomes"
    assert fitted == {tuple(p) for p in rows[good]}


def test_too_few_good_outcomes_fall_back_to_every_pairing(monkeypatch):
    ds = _dataset(per=4)
    later, _ = time_split(ds)
    rows = np.column_stack([ds.mentee_rows, ds.mentor_rows])
    paired = ~ds.from_log & ~later
    good = paired & (ds.labels == COMPLETED_HIGH)
    fitted, info = _served_pairs(monkeypatch, ds, min_pairs=int(good.sum()) + 1)
    assert info is not None and info["positives"] == "all_pairings"
    assert fitted == {tuple(p) for p in rows[paired]}


def test_too_few_pairings_leave_the_column_empty():
    ds = _dataset(n_mentees=4)
    ds.x[:, ta.COLUMN] = np.nan
    goals, bios = _two_registers(60)
    out = ta.fill_text_adapted(
        ds, SimpleNamespace(bio_vec=bios), SimpleNamespace(goal_vec=goals), config=SMALL
    )
    assert out is None and ds.text_projection is None and np.isnan(ds.x[:, ta.COLUMN]).all()


def test_projection_ships_in_the_ranker_bundle(tmp_path: Path):
    rng = np.random.default_rng(0)
    proj = TextProjection(rng.normal(size=(8, 4)).astype(np.float32),
                          rng.normal(size=(8, 4)).astype(np.float32))  # fmt: skip
    model = RankerModel.cold_start("enc")
    model.text_projection = proj
    model.manifest.text_projection = {"rank": 4, "pairs": 10}
    loaded = RankerModel.load(model.save(tmp_path / "b"), expected_encoder_id="enc")
    assert loaded.text_maps is not None
    assert all(np.array_equal(a, b) for a, b in zip(loaded.text_maps, proj.maps, strict=True))
    assert loaded.manifest.text_projection == {"rank": 4, "pairs": 10}
    assert RankerModel.cold_start("enc").text_maps is None
    with pytest.raises(ValueError, match="same"):
        TextProjection(proj.goal, proj.bio[:, :2])


def test_serving_computes_the_column_training_computes():
    from recsys.catalog import MentorCatalog, _projected_pair

    goals, bios = _two_registers(30)
    proj = ta.fit_text_projection(goals, bios, np.column_stack([np.arange(30)] * 2), config=SMALL)
    catalog = SimpleNamespace(bio_vec=bios, _projected=None)
    catalog.projected_bios = lambda m: MentorCatalog.projected_bios(catalog, m)  # type: ignore[arg-type]
    mentor_rows, mentee_rows = np.array([3, 7, 7, 1]), np.array([0, 0, 5, 5])
    got = _projected_pair(catalog, mentor_rows, SimpleNamespace(goal_vec=goals), mentee_rows,
                          proj.maps)  # type: ignore[arg-type]  # fmt: skip
    served = np.einsum("ij,ij->i", got["goal_proj"], got["bio_proj"])
    trained = projected_cosine(goals[mentee_rows], bios[mentor_rows], *proj.maps)
    assert np.allclose(served, trained, atol=1e-5)
    assert catalog.projected_bios(proj.bio) is catalog.projected_bios(proj.bio)  # cached
