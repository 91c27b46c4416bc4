"""The learned text projection: what it learns, how its column is cross-fitted, how it ships."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import training.text_adapter as ta
from features.labels import COMPLETED_HIGH
from features.pairs import FEATURE_NAMES
from features.text import adapted_similarity, project_unit
from models.ranker import RankerModel
from models.text_projection import TextProjection
from recsys.catalog import MenteeBatch, MentorCatalog, projected_sentences
from training.ranker import RankingDataset, time_split

SMALL = ta.AdapterConfig(rank=16, epochs=40, batch=64, folds=3, min_pairs=20)


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


Sentences = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _two_registers(n: int, d: int = 32, seed: int = 0) -> Sentences:
    """Goal i and bio i share a latent topic, but each side says it in its own words (a fixed
    rotation of the latent vector plus noise), so their raw cosine is uninformative. Each
    text has one topic sentence among two sentences of noise, at a random position.
    Returns goal sentences, their mask, bio sentences, their mask."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 8))
    say_goal, say_bio = rng.normal(size=(8, d)), rng.normal(size=(8, d))
    out = []
    for say in (say_goal, say_bio):
        sents = rng.normal(size=(n, 3, d))
        where = rng.integers(0, 3, n)
        sents[np.arange(n), where] = latent @ say + 0.3 * rng.normal(size=(n, d))
        out += [_unit(sents), np.ones((n, 3), bool)]
    return out[0], out[1], out[2], out[3]


def _partner_rank(texts: Sentences, proj: TextProjection | None) -> float:
    """Mean rank (0 = best) of each goal's own bio among all bios."""
    goals, gm, bios, bm = texts
    if proj is not None:
        goals, bios = project_unit(goals, proj.goal), project_unit(bios, proj.bio)
    n = len(goals)
    ranks = []
    for i in range(n):
        s = adapted_similarity(np.repeat(goals[i : i + 1], n, 0), np.repeat(gm[i : i + 1], n, 0),
                               bios, bm)  # fmt: skip
        ranks.append(int((s > s[i]).sum()))
    return float(np.mean(ranks))


def _rows(texts: Sentences, rows: slice) -> Sentences:
    return texts[0][rows], texts[1][rows], texts[2][rows], texts[3][rows]


def test_projection_learns_which_goals_meet_which_bios_on_unseen_pairs():
    texts = _two_registers(500)
    train = np.column_stack([np.arange(400), np.arange(400)])
    proj = ta.fit_text_projection(*texts, train, config=SMALL)
    held = _rows(texts, slice(400, None))
    raw = _partner_rank(held, None)
    learned = _partner_rank(held, proj)
    assert raw > 25  # about chance (49.5) for 100 bios: the registers do not meet
    assert learned < 5  # the held-out partner is near the top after the projection
    assert proj.goal.shape == (32, 16) and proj.goal.dtype == np.float32


def test_passes_are_capped_by_a_step_budget():
    cfg = ta.AdapterConfig(batch=256, epochs=30, max_steps=1000)
    assert cfg.epochs_for(3_451) == 30  # 14 batches a pass: the budget does not bind
    assert cfg.epochs_for(20_000) == 12  # 79 batches a pass
    assert cfg.epochs_for(1_000_000) == 1  # at least one pass


def test_projection_needs_pairs():
    with pytest.raises(ValueError, match="at least two pairs"):
        ta.fit_text_projection(*_two_registers(10), np.zeros((1, 2), np.int64), config=SMALL)


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


def _stores(texts: Sentences) -> tuple[MentorCatalog, MenteeBatch]:
    """Just enough of a catalog (50 mentors) and a mentee batch (60 mentees) for the column."""
    goals, gm, bios, bm = texts
    catalog = SimpleNamespace(bio_sent_vecs=np.vstack([bios, bios])[:50].astype(np.float16),
                              bio_sent_mask=np.vstack([bm, bm])[:50], _projected=None)  # fmt: skip
    catalog.projected_bios = lambda m: MentorCatalog.projected_bios(catalog, m)  # type: ignore[arg-type]
    return catalog, SimpleNamespace(goal_sent_vecs=goals, goal_sent_mask=gm)  # type: ignore[return-value]


def _served_column(catalog, mentees, projection: TextProjection, mr, er) -> np.ndarray:
    """``text_adapted`` as serving computes it (recsys.catalog.pair_inputs ->
    features.pairs.compute_pair_features)."""
    goal_proj, bio_proj = projected_sentences(catalog, mr, mentees, er, projection.maps)
    return adapted_similarity(
        goal_proj, mentees.goal_sent_mask[er], bio_proj, catalog.bio_sent_mask[mr]
    )


def _fit_with_spy(
    monkeypatch, ds: RankingDataset, cfg: ta.AdapterConfig
) -> tuple[list[np.ndarray], dict | None, MentorCatalog, MenteeBatch]:
    """Run ``fill_text_adapted`` and record the pairs of every fit (the served one first)."""
    catalog, mentees = _stores(_two_registers(60))
    fits: list[np.ndarray] = []
    real_fit = ta.fit_text_projection

    def spy(*args, **kw):
        fits.append(np.asarray(args[4]).copy())
        return real_fit(*args, **kw)

    monkeypatch.setattr(ta, "fit_text_projection", spy)
    info = ta.fill_text_adapted(ds, catalog, mentees, config=cfg)
    return fits, info, catalog, mentees


def test_each_training_row_is_featurised_without_its_mentees_pairings(monkeypatch):
    ds = _dataset()
    fits, info, catalog, mentees = _fit_with_spy(monkeypatch, ds, SMALL)
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
    # validation rows carry the served projection's value, computed as serving computes it
    expect = _served_column(
        catalog, mentees, ds.text_projection, ds.mentor_rows[later], ds.mentee_rows[later]
    )
    assert np.array_equal(col[later], expect)


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


def test_mentors_a_mentee_asked_for_are_positives_too(monkeypatch):
    """A request from a logged list counts whatever happened next (here: label 0, declined);
    requests after the validation cut-off do not."""
    ds = _dataset(per=4)
    later, _ = time_split(ds)
    rows = np.column_stack([ds.mentee_rows, ds.mentor_rows])
    ds.requested = ds.from_log & (ds.labels == 0)
    asked = ds.requested & ~later
    good = ~ds.from_log & ~later & (ds.labels == COMPLETED_HIGH)
    assert asked.any() and (ds.requested & later).any()
    fitted, info = _served_pairs(monkeypatch, ds, min_pairs=20)
    assert info is not None and info["requested_rows"] == int(asked.sum())
    assert fitted == {tuple(p) for p in rows[good | asked]}


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
    out = ta.fill_text_adapted(ds, *_stores(_two_registers(60)), config=SMALL)
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


def test_serving_maps_bios_once_and_matches_an_unrounded_computation():
    texts = _two_registers(30)
    proj = ta.fit_text_projection(*texts, np.column_stack([np.arange(30)] * 2), config=SMALL)
    catalog, mentees = _stores(texts)
    mentor_rows, mentee_rows = np.array([3, 7, 7, 1]), np.array([0, 0, 5, 5])
    served = _served_column(catalog, mentees, proj, mentor_rows, mentee_rows)
    goals, gm, _, _ = texts
    exact = adapted_similarity(
        project_unit(goals[mentee_rows], proj.goal), gm[mentee_rows],
        project_unit(catalog.bio_sent_vecs[mentor_rows].astype(np.float32), proj.bio),
        catalog.bio_sent_mask[mentor_rows],
    )  # fmt: skip
    assert np.allclose(served, exact, atol=2e-3)  # the cache holds float16, as bio_sent_vecs
    assert catalog.projected_bios(proj.bio) is catalog.projected_bios(proj.bio)  # cached
    assert catalog.projected_bios(proj.bio).shape == (50, 3, 16)
