"""The recommend pipeline on a small generated programme (fast hashing encoder)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from evaluation.baselines import feasible_rows
from evaluation.matching_eval import synthetic_engine
from recsys.recommend import recommend
from recsys.snapshot import load_mentees

AS_OF = dt.date(2026, 10, 1)


@pytest.fixture(scope="module")
def programme(tmp_path_factory: pytest.TempPathFactory):
    engine, gt_dir = synthetic_engine(
        tmp_path_factory.mktemp("rec"), n_mentors=120, n_mentees=300, seed=3
    )
    with engine.ctx.sessions() as session:
        mentees = load_mentees(session, "default")[:25]
    return engine, gt_dir, mentees


def _check_constraints(engine, mentee, recs, exclude=()):
    state = engine.org_state("default")
    cat = state.catalog
    rows = np.array([cat.row_of[r.mentor_id] for r in recs])
    load = cat.load(rows, AS_OF)
    assert cat.active[rows].all()
    assert (cat.capacity[rows] > load).all(), "a full mentor was recommended"
    for r in rows:
        assert cat.languages[r] & set(mentee.languages), "no shared language"
    ids = {r.mentor_id for r in recs}
    assert not ids & set(mentee.excluded_mentor_ids)
    assert not ids & set(exclude)
    assert mentee.id not in ids


def test_recommendations_are_ranked_feasible_and_explained(programme):
    engine, _, mentees = programme
    results = engine.recommend("default", mentees, k=8, as_of=AS_OF)
    batch = engine.mentee_batch(mentees)
    feas = engine.org_state("default").feasibility
    for j, (mentee, recs) in enumerate(zip(mentees, results, strict=True)):
        n = min(8, len(feasible_rows(feas, batch, j, AS_OF)))  # e.g. a French-only speaker
        assert len(recs) == n
        assert [r.rank for r in recs] == list(range(1, n + 1))
        scores = [r.score for r in recs]
        assert scores == sorted(scores, reverse=True)
        assert len({r.mentor_id for r in recs}) == n
        for r in recs:
            assert 2 <= len(r.reasons) <= 4, r.reasons
            assert 0.0 <= (r.success_probability or 0.0) <= 1.0
        _check_constraints(engine, mentee, recs)


def test_excluded_mentors_and_full_best_matches_still_give_k(programme):
    engine, _, mentees = programme
    mentee = next(m for m in mentees if "en" in m.languages)
    first = engine.recommend("default", [mentee], k=10, as_of=AS_OF)[0]
    # exclude far more than the retrieval depth: widening must still find k mentors
    state = engine.org_state("default")
    ranked = state.catalog.index.search(engine.mentee_batch([mentee]).goal_vec, 110)[0][0]
    exclude = [m for m in ranked[:100]]
    recs = engine.recommend("default", [mentee], k=10, as_of=AS_OF, exclude=exclude)[0]
    assert len(recs) == 10
    _check_constraints(engine, mentee, recs, exclude)
    assert {r.mentor_id for r in first} & set(exclude)


def test_pool_exhaustion_returns_what_exists(programme):
    engine, _, mentees = programme
    recs = engine.recommend("default", [mentees[1]], k=100, as_of=AS_OF)[0]
    state = engine.org_state("default")
    base, _ = state.feasibility.base(AS_OF)
    assert 0 < len(recs) <= int(base.sum())
    _check_constraints(engine, mentees[1], recs)


def test_capacity_is_as_of_the_request_date(programme):
    engine, _, mentees = programme
    state = engine.org_state("default")
    cat = state.catalog
    rows = np.arange(len(cat))
    early = cat.load(rows, dt.date(2022, 12, 31)).sum()  # before the programme started
    late = cat.load(rows, AS_OF).sum()
    assert early == 0 and late > 0
    mentee = next(m for m in mentees if "en" in m.languages)
    recs = engine.recommend("default", [mentee], k=5, as_of=dt.date(2023, 1, 2))[0]
    assert len(recs) == 5


def test_embedding_strategy_orders_by_retrieval_similarity(programme):
    engine, _, mentees = programme
    state = engine.org_state("default")
    batch = engine.mentee_batch(mentees[:1])
    recs = recommend(
        state.catalog,
        state.feasibility,
        batch,
        0,
        engine.ranker,
        k=5,
        as_of=AS_OF,
        strategy="embedding",
    )
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)


def test_unchanged_index_is_reused_from_disk(programme, tmp_path: Path):
    engine, _, _ = programme
    fingerprint = engine.catalog("default").fingerprint
    stamp = engine.settings.index_dir / "default" / "catalog.fingerprint"
    assert stamp.read_text() == fingerprint
    engine.invalidate("default")
    assert engine.catalog("default").fingerprint == fingerprint


def test_nearest_rows_maps_index_slots_back_to_catalog_rows(programme):
    from recsys.retrieval.index import CandidateIndex

    engine, _, mentees = programme
    cat = engine.org_state("default").catalog
    # the same vectors inserted in reverse order: slot i holds catalog row n-1-i
    reversed_index = CandidateIndex.build(
        cat.ids[::-1], cat.bio_vec[::-1], encoder_id=cat.encoder_id, index_type="flat"
    )
    ok = np.ones(len(cat), dtype=bool)
    ok[::3] = False
    query = engine.mentee_batch(mentees[:1]).goal_vec[0]
    original = cat.index
    try:
        cat.index = reversed_index
        rows, sims = cat.nearest_rows(query, 15, ok)
    finally:
        cat.index = original
    expected = np.argsort(-np.where(ok, cat.bio_vec @ query, -np.inf), kind="stable")[:15]
    assert set(rows.tolist()) == set(expected.tolist())
    np.testing.assert_allclose(sims, cat.bio_vec[rows] @ query, rtol=1e-5, atol=1e-6)
    assert ok[rows].all()


def test_embedded_profiles_make_stored_mentees_free_to_recommend(programme):
    """After ``embed_profiles`` (what ``recsys ingest`` runs) every stored mentee's goal
    sentences are cached: recommending for one encodes nothing."""
    engine, _, _ = programme
    with engine.ctx.sessions() as session:
        mentees = load_mentees(session, "default")[-3:]  # never used by the other tests
    catalog, n_mentees = engine.embed_profiles("default")
    assert len(catalog) == 120 and n_mentees == 300
    encoded: list[int] = []
    real = engine.embedder.encode

    def counting(texts, **kwargs):  # type: ignore[no-untyped-def]
        encoded.append(len(texts))
        return real(texts, **kwargs)

    engine.embedder.encode = counting  # type: ignore[method-assign]
    try:
        assert engine.recommend("default", mentees, k=5, as_of=AS_OF, cached_text=True)
        assert encoded == []
        engine.recommend("default", mentees[:1], k=5, as_of=AS_OF, cached_text=False)
        assert encoded  # inline text is encoded afresh
    finally:
        del engine.embedder.encode
