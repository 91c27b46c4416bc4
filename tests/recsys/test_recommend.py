"""The recommend pipeline on a small generated programme (fast hashing encoder)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

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


def test_nearest_rows_never_uses_a_mask_built_for_slots_a_compaction_moved(programme):
    """A compaction that swaps in new slots between the catalog's row -> slot mapping and
    the search must not let the stale mask allow whichever mentors now sit in those slots."""
    from recsys.retrieval.index import CandidateIndex

    engine, _, mentees = programme
    cat = engine.org_state("default").catalog
    # slots in reverse row order, with tombstones in front, so compaction moves every id
    index = CandidateIndex.build(
        ["gone-a", "gone-b", *cat.ids[::-1]],
        np.vstack([cat.bio_vec[:2], cat.bio_vec[::-1]]),
        encoder_id=cat.encoder_id,
        index_type="flat",
    )
    index.remove(["gone-a", "gone-b"])

    class CompactedMidway:
        """The index, compacted by another thread right after the catalog mapped its rows."""

        def __getattr__(self, name: str) -> Any:
            return getattr(index, name)

        def search_allowed(self, *args: Any, **kwargs: Any) -> Any:
            if index.tombstones:
                index.compact()
            return index.search_allowed(*args, **kwargs)

    ok = np.zeros(len(cat), dtype=bool)
    ok[::4] = True
    query = engine.mentee_batch(mentees[:1]).goal_vec[0]
    original = cat.index
    try:
        cat.index = CompactedMidway()
        rows, sims = cat.nearest_rows(query, 10, ok)
    finally:
        cat.index = original
    assert index.tombstones == 0  # the compaction did run in between
    assert ok[rows].all(), "a row outside the mask was returned"
    expected = np.argsort(-np.where(ok, cat.bio_vec @ query, -np.inf), kind="stable")[:10]
    assert set(rows.tolist()) == set(expected.tolist())
    np.testing.assert_allclose(sims, cat.bio_vec[rows] @ query, rtol=1e-5, atol=1e-6)


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
        stored_before = engine.cache.count()
        engine.recommend("default", mentees[:1], k=5, as_of=AS_OF, cached_text=False)
        assert encoded  # inline text is encoded afresh
        encoded.clear()
        again = engine.recommend("default", mentees[:1], k=5, as_of=AS_OF, cached_text=False)
        assert encoded == []  # the same profile sent again: from the in-memory inline cache
        assert engine.cache.count() == stored_before  # inline vectors never reach the database
        assert [r.mentor_id for r in again[0]] == [
            r.mentor_id
            for r in engine.recommend("default", mentees[:1], k=5, as_of=AS_OF, cached_text=True)[0]
        ]
    finally:
        del engine.embedder.encode


def test_a_mentor_who_said_full_is_not_recommended_for_a_while(programme):
    engine, _, mentees = programme
    later = AS_OF + dt.timedelta(days=200)  # other tests use AS_OF: the decline is after it
    first = engine.recommend("default", mentees[:1], k=5, as_of=later)[0]
    top = first[0].mentor_id
    engine.capacity_declined("default", top, later)
    days = engine.settings.capacity_decline_days
    during = engine.recommend("default", mentees[:1], k=5, as_of=later + dt.timedelta(days - 1))[0]
    after = engine.recommend("default", mentees[:1], k=5, as_of=later + dt.timedelta(days))[0]
    assert top not in {r.mentor_id for r in during}
    assert top in {r.mentor_id for r in after}  # the window has passed
    engine.invalidate("default")  # a rebuilt catalog (the store never saw this decline)
    rebuilt = engine.recommend("default", mentees[:1], k=5, as_of=later + dt.timedelta(days - 1))
    assert top not in {r.mentor_id for r in rebuilt[0]}


# --------------------------------------------------------------------------- first stage
def _groups(offset, seniority, free, track=None):
    """ProfileGroups over rows 0..n-1 (all feasible), built like FeasibilityCache.profiles."""
    from recsys.recommend import ProfileGroups

    offset = np.asarray(offset, np.float32)
    seniority = np.asarray(seniority, np.float32)
    free = np.asarray(free, np.float32)
    rows = np.arange(len(offset))
    track = np.zeros(len(rows), np.float32) if track is None else np.asarray(track, np.float32)
    uniq, group = np.unique(np.column_stack([offset, seniority, free]), axis=0, return_inverse=True)
    group = group.reshape(-1)
    order = np.lexsort((rows, -track, group))
    return ProfileGroups(
        offset=offset, free=free, track=track, group_offset=uniq[:, 0], group_seniority=uniq[:, 1],
        group_free=uniq[:, 2], members=rows[order],
        bounds=np.searchsorted(group[order], np.arange(len(uniq) + 1)),
    )  # fmt: skip


def test_profile_rows_are_the_best_allowed_by_the_profile_prior():
    from features.profile import shared_working_hours
    from recsys.recommend import cheap_prior, profile_rows

    rng = np.random.default_rng(0)
    n = 400
    offset = rng.choice([-8.0, -5.0, 0.0, 1.0, 5.5, 9.0], n)
    seniority = rng.integers(1, 8, n).astype(float)
    free = rng.integers(1, 4, n).astype(float)
    track = rng.random(n).astype(np.float32)
    groups = _groups(offset, seniority, free, track)
    allowed = rng.random(n) < 0.6
    got = profile_rows(groups, allowed, offset=1.0, seniority=3.0, n=30)
    prior = cheap_prior(
        0.0, shared_working_hours(np.full(1, 1.0, np.float32), offset.astype(np.float32)),
        free, seniority - 3.0,
    )  # fmt: skip
    best = np.lexsort((np.arange(n), -track, -prior))  # prior, then track record, then row
    assert got.tolist() == best[allowed[best]][:30].tolist()
    # asking for more than is allowed returns every allowed row once
    everything = profile_rows(groups, allowed, offset=1.0, seniority=3.0, n=n)
    assert sorted(everything.tolist()) == np.flatnonzero(allowed).tolist()


def _sixteen_mentors() -> tuple[np.ndarray, np.ndarray, Any, np.ndarray]:
    """Bio vectors of 16 mentors whose cosine to the goal falls with the row, their cosines,
    a catalog of them, and the goal."""
    from types import SimpleNamespace

    bio = np.zeros((16, 3), np.float32)
    cos = np.linspace(0.9, 0.7, 16).astype(np.float32)
    bio[:, 0], bio[:, 1] = cos, np.sqrt(1 - cos**2)
    catalog = SimpleNamespace(bio_vec=bio, seniority=np.full(16, 5.0, np.float32))
    return bio, cos, catalog, np.array([1.0, 0.0, 0.0], np.float32)


def test_blend_keeps_the_nearest_and_lets_profile_fit_in():
    from recsys.recommend import COSINE_RESERVE, blend_candidates

    n = 8
    bio, cos, catalog, goal = _sixteen_mentors()
    # rows 10..15 share the mentee's working hours
    groups = _groups(np.where(np.arange(16) >= 10, 0.0, 9.0), np.full(16, 5.0), np.ones(16))
    near = np.arange(2 * n)[: 2 * n - 6]  # the cosine search found rows 0..9
    rows, sims = blend_candidates(
        catalog, groups, goal, near, cos[near], np.arange(10, 16), offset=0.0, seniority=3.0,
        n_candidates=n,
    )  # fmt: skip
    reserve = round(COSINE_RESERVE * n)
    assert set(range(reserve)) <= set(rows.tolist())  # the nearest by cosine always stay
    assert set(range(10, 16)) <= set(rows.tolist())  # 8 shared hours outweigh cosine gaps
    assert len(rows) == n and len(set(rows.tolist())) == n
    np.testing.assert_allclose(sims, bio[rows] @ goal, rtol=1e-5)
    assert list(sims) == sorted(sims, reverse=True)


def test_blend_keeps_reserved_rows_from_outside_the_cosine_pool():
    from recsys.recommend import blend_candidates

    n = 8
    bio, cos, catalog, goal = _sixteen_mentors()
    groups = _groups(np.full(16, 9.0), np.full(16, 5.0), np.ones(16))
    near = np.arange(10)  # the cosine search found rows 0..9; 14 and 15 are far
    reserved = np.array([15, 14])  # the nearest in the learned space
    rows, sims = blend_candidates(
        catalog, groups, goal, near, cos[near], np.zeros(0, np.int64), offset=0.0,
        seniority=3.0, n_candidates=n, reserved=reserved,
    )  # fmt: skip
    assert {14, 15} <= set(rows.tolist())  # reserved rows always stay, wherever they rank
    assert len(rows) == n and len(set(rows.tolist())) == n
    np.testing.assert_allclose(sims, bio[rows] @ goal, rtol=1e-5)
    assert list(sims) == sorted(sims, reverse=True)


def test_learned_nearest_searches_every_allowed_mentor_in_the_learned_space():
    from types import SimpleNamespace

    from recsys.catalog import MentorCatalog
    from recsys.recommend import learned_nearest

    rng = np.random.default_rng(0)
    n, d = 40, 8
    bios = rng.normal(size=(n, 2, d)).astype(np.float32)
    bios /= np.linalg.norm(bios, axis=-1, keepdims=True)
    goal = rng.normal(size=(1, 2, d)).astype(np.float32)
    goal /= np.linalg.norm(goal, axis=-1, keepdims=True)
    # rows 7 and 23 hold the goal's sentences (in another order): the best sentence matches
    bios[7], bios[23] = goal[0, ::-1], goal[0]
    catalog = SimpleNamespace(bio_sent_vecs=bios.astype(np.float16),
                              bio_sent_mask=np.ones((n, 2), bool), _projected=None,
                              _learned=None)  # fmt: skip
    for name in ("projected_bios", "learned_index", "_learned_means"):
        setattr(catalog, name, getattr(MentorCatalog, name).__get__(catalog))
    mentees = SimpleNamespace(goal_sent_vecs=goal, goal_sent_mask=np.ones((1, 2), bool))
    eye = np.eye(d, dtype=np.float32)
    allowed = np.ones(n, bool)
    top = learned_nearest(catalog, mentees, 0, allowed, (eye, eye), 2)  # type: ignore[arg-type]
    assert sorted(top.tolist()) == [7, 23]
    allowed[23] = False  # full, excluded or not sharing a language
    top = learned_nearest(catalog, mentees, 0, allowed, (eye, eye), 3)  # type: ignore[arg-type]
    assert top[0] == 7 and 23 not in top.tolist() and len(top) == 3
    assert len(learned_nearest(catalog, mentees, 0, np.zeros(n, bool), (eye, eye), 3)) == 0  # type: ignore[arg-type]
    # the same through the inverted file a large catalog gets
    allowed[23] = True
    top = learned_nearest(catalog, mentees, 0, allowed, (eye, eye), 2, exact_max=0)  # type: ignore[arg-type]
    assert sorted(top.tolist()) == [7, 23] and catalog._learned[2].kind == "ivf"


def test_recommendations_use_the_learned_reserve_when_the_ranker_has_a_text_space(programme):
    """With text maps, every list includes the mentee's nearest feasible mentors in the
    learned space; without them it does not need to."""
    from recsys.recommend import COSINE_RESERVE, learned_nearest, nearest_feasible

    engine, _, mentees = programme
    state = engine.org_state("default")
    cat, feas = state.catalog, state.feasibility
    batch = engine.mentee_batch(mentees[:10])
    rng = np.random.default_rng(0)
    d = batch.goal_sent_vecs.shape[-1]
    maps = (
        rng.normal(size=(d, 16)).astype(np.float32),
        rng.normal(size=(d, 16)).astype(np.float32),
    )
    n = 20
    for j in range(len(batch.ids)):
        allowed = feasible_rows(feas, batch, j, AS_OF)
        if len(allowed) <= n:
            continue
        mask = np.zeros(len(cat), bool)
        mask[allowed] = True
        want = learned_nearest(cat, batch, j, mask, maps, round(COSINE_RESERVE * n))
        rows, _ = nearest_feasible(cat, feas, batch, j, n_candidates=n, as_of=AS_OF,
                                   text_maps=maps)  # fmt: skip
        assert set(want.tolist()) <= set(rows.tolist()) <= set(allowed.tolist())
        assert len(rows) == n
        # the setting turns it off: the same candidates as without a text space
        off, _ = nearest_feasible(cat, feas, batch, j, n_candidates=n, as_of=AS_OF,
                                  text_maps=maps, learned_exact_max=None)  # fmt: skip
        plain, _ = nearest_feasible(cat, feas, batch, j, n_candidates=n, as_of=AS_OF)
        assert np.array_equal(off, plain)


def test_text_space_is_mapped_before_requests_after_a_new_ranker_or_mentor_write(programme):
    from models.ranker import RankerModel
    from models.text_projection import TextProjection

    engine, _, _ = programme
    before = engine.ranker
    d = engine.catalog("default").bio_sent_vecs.shape[-1]
    rng = np.random.default_rng(0)
    maps = TextProjection(rng.normal(size=(d, 8)).astype(np.float32),
                          rng.normal(size=(d, 8)).astype(np.float32))  # fmt: skip
    ranker = RankerModel.cold_start(before.manifest.encoder_id)
    ranker.text_projection = maps
    ranker.goal_tags = _tag_model(engine.catalog("default"))
    try:
        engine.set_ranker(ranker)  # a new champion: the loaded catalog is mapped at once
        cached = engine.catalog("default")._projected
        assert cached is not None and cached[0] is maps.bio
        tagged = engine.catalog("default")._tag_table  # and its tags read
        assert tagged is not None and tagged[0] is ranker.goal_tags
        learned = engine.catalog("default")._learned  # and its learned-space search built
        assert learned is not None and learned[0] is maps.bio
        engine.refresh_mentors("default")  # a mentor write: the rebuilt catalog too
        rebuilt = engine.catalog("default")
        assert rebuilt._projected is not None and rebuilt._projected[0] is maps.bio
        assert rebuilt._learned is not None and rebuilt._learned[2] is not learned[2]
        assert rebuilt._tag_table is not None and rebuilt._tag_table[0] is ranker.goal_tags
    finally:
        engine.set_ranker(before)


def test_profile_groups_partition_the_mentors_who_can_take_someone(programme):
    engine, _, _ = programme
    feas = engine.org_state("default").feasibility
    groups = feas.profiles(AS_OF)
    ok, load = feas.base(AS_OF)
    assert sorted(groups.members.tolist()) == np.flatnonzero(ok).tolist()
    cat = feas.catalog
    for g in range(len(groups.bounds) - 1):
        rows = groups.members[groups.bounds[g] : groups.bounds[g + 1]]
        assert (groups.offset[rows] == groups.group_offset[g]).all()
        assert (cat.seniority[rows] == groups.group_seniority[g]).all()
        assert (cat.capacity[rows] - load[rows] == groups.group_free[g]).all()


def test_blend_first_stage_finds_more_of_the_truly_best_mentors(programme):
    """Against the generator's ground truth, the default first stage puts more of each
    mentee's best 10 feasible mentors among the candidates than goal–bio cosine alone."""
    from recsys.recommend import nearest_feasible
    from recsys.synthetic import load_ground_truth

    engine, gt_dir, mentees = programme
    gt = load_ground_truth(gt_dir)
    state = engine.org_state("default")
    cat, feas = state.catalog, state.feasibility
    batch = engine.mentee_batch(mentees)
    found = {"cosine": [], "blend": []}
    for j, mentee in enumerate(mentees):
        allowed = feasible_rows(feas, batch, j, AS_OF)
        if len(allowed) <= 40:
            continue
        truth = gt.expected_outcome_matrix(mentee.id, [cat.ids[r] for r in allowed])
        best = set(allowed[np.argsort(-truth)[:10]].tolist())
        for stage in found:
            rows, _ = nearest_feasible(
                cat, feas, batch, j, n_candidates=20, as_of=AS_OF, first_stage=stage
            )
            assert len(rows) == 20 and set(rows.tolist()) <= set(allowed.tolist())
            found[stage].append(len(best & set(rows.tolist())))
    assert len(found["blend"]) >= 10
    assert np.mean(found["blend"]) > np.mean(found["cosine"]) + 1.0, found


def test_cheap_prior_is_the_cold_start_prior_on_what_retrieval_knows():
    from features.pairs import FEATURE_NAMES
    from models.ranker import cold_start_scores
    from recsys.recommend import cheap_prior

    rng = np.random.default_rng(1)
    n = 50
    cos, hours = rng.random(n), rng.uniform(0, 8, n)
    free, gap = rng.integers(1, 5, n).astype(float), rng.integers(-7, 8, n).astype(float)
    x = np.zeros((n, len(FEATURE_NAMES)), np.float32)
    for name, col in (("text_goal_bio", cos), ("shared_hours", hours),
                      ("mentor_free_capacity", free), ("seniority_gap", gap)):  # fmt: skip
        x[:, FEATURE_NAMES.index(name)] = col
    np.testing.assert_allclose(cheap_prior(cos, hours, free, gap), cold_start_scores(x), atol=1e-5)


def test_cached_profile_rows_never_return_excluded_mentors(programme):
    from features.profile import utc_offset_hours
    from recsys.recommend import PROFILE_MARGIN, nearest_feasible, profile_rows

    engine, _, mentees = programme
    state = engine.org_state("default")
    cat, feas = state.catalog, state.feasibility
    batch = engine.mentee_batch(mentees[:1])
    offset = utc_offset_hours(batch.timezone[0], AS_OF)
    seniority = float(batch.seniority[0])
    allowed = feas.allowed(AS_OF, batch.languages[0])
    cached = feas.profile_rows(AS_OF, batch.languages[0], offset, seniority, 10)
    direct = profile_rows(feas.profiles(AS_OF), allowed, offset=offset, seniority=seniority, n=10)
    assert cached.tolist() == direct.tolist()
    # excluding more of the profile's best than the cached margin still fills the pool
    n = 10
    best = feas.profile_rows(AS_OF, batch.languages[0], offset, seniority, n + PROFILE_MARGIN)
    exclude = frozenset(cat.ids[r] for r in best)
    rows, _ = nearest_feasible(cat, feas, batch, 0, n_candidates=n, as_of=AS_OF, exclude=exclude)
    assert len(rows) == n and not {cat.ids[r] for r in rows} & exclude


def test_engine_uses_the_configured_first_stage(programme):
    engine, _, mentees = programme
    state = engine.org_state("default")
    batch = engine.mentee_batch(mentees)
    saved = (engine.settings.first_stage, engine.settings.retrieval_candidates)
    engine.settings.retrieval_candidates = 10  # fewer than the feasible pool: the stages differ
    try:
        lists = {}
        for stage in ("cosine", "blend"):
            engine.settings.first_stage = stage
            got = engine.recommend("default", mentees, k=5, as_of=AS_OF)
            want = [
                recommend(state.catalog, state.feasibility, batch, j, engine.ranker, k=5,
                          as_of=AS_OF, n_candidates=10, first_stage=stage)
                for j in range(len(mentees))
            ]  # fmt: skip
            assert [[r.mentor_id for r in recs] for recs in got] == [
                [r.mentor_id for r in recs] for recs in want
            ]
            lists[stage] = [[r.mentor_id for r in recs] for recs in got]
        assert lists["cosine"] != lists["blend"]
    finally:
        engine.settings.first_stage, engine.settings.retrieval_candidates = saved


def test_refreshing_mentors_prepares_todays_profile_groups(programme):
    import datetime as dt

    engine, _, _ = programme
    engine.refresh_mentors("default")
    feasibility = engine.org_state("default").feasibility
    assert dt.date.today() in feasibility._profiles  # the day's first request pays nothing


def test_catalog_loads_leave_the_embedding_memory_to_mentees(programme):
    """Mentor bios read for a catalog are not kept in the embedding cache's in-process LRU
    (the catalog holds them; at 100k mentors they would evict every stored mentee)."""
    from recsys.retrieval.cache import content_hash

    engine, _, mentees = programme
    engine.invalidate("default")
    catalog = engine.catalog("default")  # rebuilt from the store through the cache
    engine.mentee_batch(mentees[:2])
    remembered = {key for _, key in engine.cache._memory._entries}
    bios = {content_hash(s) for sents in catalog.bio_sentences for s in sents}
    goals = {content_hash(s) for s in engine.mentee_batch(mentees[:2]).goal_sentences[0]}
    assert goals <= remembered and not bios & remembered


def _tag_model(catalog, seed: int = 0):
    """A goal-to-tag model with random weights over the catalog's tags."""
    from models.goal_tags import GoalTagModel

    vocab = tuple(sorted({t for tags in catalog.skills for t in tags}))
    d = catalog.bio_sent_vecs.shape[-1]
    rng = np.random.default_rng(seed)
    weight = rng.normal(scale=3.0, size=(d, len(vocab))).astype(np.float32)
    return GoalTagModel(weight, np.zeros(len(vocab), np.float32), vocab)


@pytest.mark.parametrize("prune", [1, 2, 10**6])  # prunes hardest / as served / never
def test_tag_nearest_is_the_best_text_goal_tags_over_every_allowed_mentor(
    programme, monkeypatch, prune
):
    import recsys.recommend as rr
    from recsys.recommend import TAG_RESERVE, candidate_features, nearest_feasible, tag_nearest

    monkeypatch.setattr(rr, "TAG_PRUNE", prune)
    engine, _, mentees = programme
    state = engine.org_state("default")
    cat, feas = state.catalog, state.feasibility
    batch = engine.mentee_batch(mentees[:6])
    model = _tag_model(cat)
    n = 20
    for j in range(len(batch.ids)):
        allowed = feasible_rows(feas, batch, j, AS_OF)
        mask = np.zeros(len(cat), bool)
        mask[allowed] = True
        got = tag_nearest(cat, batch, j, mask, model, 8)
        # the serving column over every allowed mentor, as the ranker's features compute it
        col = candidate_features(
            cat, feas, batch, j, allowed, np.zeros(len(allowed)), as_of=AS_OF, goal_tags=model
        ).features.column("text_goal_tags")
        best = allowed[np.lexsort((allowed, -np.nan_to_num(col, nan=-1.0)))][:8]
        assert np.allclose(
            np.sort(col[np.isin(allowed, got)]), np.sort(col[np.isin(allowed, best)])
        )
        assert set(got.tolist()) <= set(allowed.tolist())
        rows, _ = nearest_feasible(cat, feas, batch, j, n_candidates=n, as_of=AS_OF,
                                   goal_tags=model)  # fmt: skip
        if len(allowed) > n:
            # the reserve's share is in the candidates, inside the hard constraints
            tagged = tag_nearest(cat, batch, j, mask, model, round(TAG_RESERVE * n))
            assert set(tagged.tolist()) <= set(rows.tolist()) <= set(allowed.tolist())


def test_tag_columns_follow_catalog_updates_without_a_rebuild(programme):
    from recsys.catalog import tag_column_table
    from recsys.snapshot import load_mentors, mentor_history

    engine, _, _ = programme
    cat = engine.catalog("default")
    model = _tag_model(cat)
    before = cat.tag_table(model).columns
    assert cat.tag_table(model).columns is before  # cached for the same model
    with engine.ctx.sessions() as session:
        first, second = load_mentors(session, "default", [cat.ids[0], cat.ids[1]])
        many = sorted(model.vocab)[: before.shape[1] + 2]  # wider than any row so far
        moved = cat.updated(
            [first.model_copy(update={"skills": ["brand new tag"]}),
             second.model_copy(update={"skills": many})],
            {cat.ids[2]}, engine.encode_bulk, lambda row_of: mentor_history(session, "default", row_of),
        )  # fmt: skip
    table = moved._tag_table[1]  # carried over and merged, not rebuilt on the next request
    assert moved.tag_table(model) is table
    after = table.columns
    assert np.array_equal(after, tag_column_table(moved.skills, model, width=after.shape[1]))
    assert (after[moved.row_of[cat.ids[0]]] == len(model.vocab)).all()  # no tag it knows
    assert sorted(after[moved.row_of[cat.ids[1]]].tolist()) == sorted(model.index[t] for t in many)
    assert len(after) == len(cat) - 1
    assert not table.tagged[moved.row_of[cat.ids[0]]]
    probs = np.random.default_rng(0).random(len(model.vocab)).astype(np.float32)
    want = [probs[after[r][after[r] < len(model.vocab)]].mean() for r in range(3, 8)]
    assert np.allclose(table.scores(np.arange(3, 8), probs), want)
    for t in range(len(model.vocab)):  # each tag's mentors, as the pruned search reads them
        listing = table.tag_rows[table.tag_bounds[t] : table.tag_bounds[t + 1]]
        assert sorted(listing.tolist()) == np.flatnonzero((after == t).any(axis=1)).tolist()


def _history_ranker(encoder_id: str):
    """A ranker of 3-leaf trees (so it compiles to tables) that rates a mentor's track record
    and the best sentence match, on top of the cold-start prior."""
    import lightgbm as lgb

    from features.pairs import FEATURE_NAMES, FEATURE_VERSION
    from models.ranker import RankerManifest, RankerModel

    rng = np.random.default_rng(0)
    x = rng.random((3000, len(FEATURE_NAMES)))
    col = FEATURE_NAMES.index
    y = 3 * x[:, col("hist_success_rate")] + x[:, col("text_best_sentence")]
    params = {"objective": "regression", "num_leaves": 3, "verbosity": -1, "seed": 0}
    booster = lgb.train(params, lgb.Dataset(x, y + rng.normal(0, 0.1, len(y))), 60)
    manifest = RankerManifest(
        feature_names=list(FEATURE_NAMES), feature_version=FEATURE_VERSION,
        encoder_id=encoder_id, objective="regression", prior_weight=1.0,
    )  # fmt: skip
    model = RankerModel(booster, manifest)
    assert model.scores_pools
    return model


@pytest.fixture(scope="module")
def with_history_ranker(programme):
    """(catalog, feasibility cache, mentees, engine, a ranker compiled to tables)."""
    engine, _, mentees = programme
    state = engine.org_state("default")
    return (
        state.catalog,
        state.feasibility,
        mentees,
        engine,
        _history_ranker(state.catalog.encoder_id),
    )


def test_pool_features_are_the_candidate_features_without_sentence_matching(programme):
    from features.pairs import FEATURE_NAMES, SENTENCE_FEATURES, compute_pair_features
    from recsys.catalog import pair_inputs
    from recsys.recommend import candidate_features

    engine, _, mentees = programme
    state = engine.org_state("default")
    batch = engine.mentee_batch(mentees[:3])
    rows = np.arange(0, len(state.catalog), 2)
    sentence = np.isin(FEATURE_NAMES, SENTENCE_FEATURES)
    for j in range(3):
        full, pool = (
            candidate_features(state.catalog, state.feasibility, batch, j, rows,
                               np.zeros(len(rows)), as_of=AS_OF, sentences=s).features.matrix
            for s in (True, False)
        )  # fmt: skip
        assert np.isnan(pool[:, sentence]).all() and not np.isnan(full[:, sentence]).all()
        np.testing.assert_array_equal(pool[:, ~sentence], full[:, ~sentence])
        # the per-date offsets and track record the request path gathers are what training's
        # path (pair_inputs computing them per pair) gives
        plain = compute_pair_features(
            pair_inputs(state.catalog, rows, batch, np.full(len(rows), j),
                        np.full(len(rows), np.datetime64(AS_OF, "D")),
                        load=state.feasibility.base(AS_OF)[1][rows])
        ).matrix  # fmt: skip
        np.testing.assert_array_equal(full, plain)


def test_ranked_cut_keeps_the_reserved_rows_then_takes_the_rankers_best(with_history_ranker):
    from recsys.recommend import candidate_features, ranked_cut

    cat, feas, mentees, engine, model = with_history_ranker
    batch = engine.mentee_batch(mentees[:5])
    for j in range(5):
        pool = feasible_rows(feas, batch, j, AS_OF)
        if len(pool) <= 30:
            continue
        reserved = pool[:5]
        rows, cos, known = ranked_cut(cat, feas, batch, j, pool, model.pool_score,
                                      as_of=AS_OF, n_candidates=20, reserved=reserved)  # fmt: skip
        assert len(rows) == 20 and set(reserved.tolist()) <= set(rows.tolist())
        assert (np.diff(cos) <= 0).all()  # by decreasing cosine, as the other first stages
        # the candidates' features: the pool's, with the sentence columns added, are the
        # features computed whole
        whole = candidate_features(cat, feas, batch, j, rows, cos, as_of=AS_OF)
        added = candidate_features(cat, feas, batch, j, rows, cos, as_of=AS_OF, known=known)
        np.testing.assert_array_equal(added.features.matrix, whole.features.matrix)
        np.testing.assert_array_equal(
            added.features.best_bio_sentence, whole.features.best_bio_sentence
        )
        rest = pool[5:]
        x = candidate_features(cat, feas, batch, j, rest, np.zeros(len(rest)), as_of=AS_OF,
                               sentences=False).features.matrix  # fmt: skip
        score = model.pool_score(x)
        taken = np.isin(rest, rows)
        assert taken.sum() == 15 and score[taken].min() >= score[~taken].max()
        # the track record decides, not goal-bio cosine: the cut is not the 15 nearest
        hist = x[:, list(model.manifest.feature_names).index("hist_success_rate")]
        assert np.nanmean(hist[taken]) > np.nanmean(hist[~taken])


def test_a_ranker_with_tables_cuts_the_first_stages_pool_by_its_own_score(with_history_ranker):
    """recommend() hands the ranker's pool score to the first stage; the cold-start prior
    (no tables) keeps the blend."""
    from recsys.recommend import nearest_feasible

    cat, feas, mentees, engine, model = with_history_ranker
    batch = engine.mentee_batch(mentees[:8])
    calls: list[int] = []

    def spy(x: np.ndarray) -> np.ndarray:
        calls.append(len(x))
        return model.pool_score(x)

    differs = 0
    for j in range(8):
        if len(feasible_rows(feas, batch, j, AS_OF)) <= 30:
            continue
        ranked, _ = nearest_feasible(cat, feas, batch, j, n_candidates=20, as_of=AS_OF,
                                     pool_score=spy)  # fmt: skip
        blend, _ = nearest_feasible(cat, feas, batch, j, n_candidates=20, as_of=AS_OF)
        differs += set(ranked.tolist()) != set(blend.tolist())
        recs = recommend(cat, feas, batch, j, model, k=5, as_of=AS_OF, n_candidates=20)
        assert {cat.row_of[r.mentor_id] for r in recs} <= set(ranked.tolist())
    assert calls and differs >= 3


def test_the_ranked_cut_never_keeps_fewer_candidates_than_the_mentors_asked_for(
    with_history_ranker,
):
    cat, feas, mentees, engine, model = with_history_ranker
    batch = engine.mentee_batch(mentees[:6])
    for j in range(6):
        n_feasible = len(feasible_rows(feas, batch, j, AS_OF))
        for k in (10, 30, 40):
            recs = recommend(cat, feas, batch, j, model, k=k, as_of=AS_OF, n_candidates=20)
            assert len(recs) == min(k, n_feasible)
