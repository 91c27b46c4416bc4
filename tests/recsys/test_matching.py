from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from evaluation.matching_eval import synthetic_engine
from recsys import db, store
from recsys.engine import RecommendationEngine
from recsys.matching import (
    NO_SHARED_LANGUAGE,
    TAKEN_BY_OTHERS,
    DraftConflict,
    DraftNotFound,
    DraftStateError,
    MatchOptions,
    accept_draft,
    discard_draft,
    draft_view,
    edit_item,
    exposure_pressure,
    greedy_assignment,
    match_cohort,
    save_draft,
    score_pairs,
    solve_assignment,
    spread_bonus,
    spread_rerank,
)
from recsys.schemas import MenteeIn
from recsys.snapshot import load_mentees

ORG = "t"


# --------------------------------------------------------------------------- solver
def _brute_force(n_mentees: int, edges: list[tuple[int, int, float]], slots: np.ndarray,
                 big: float = 0.0) -> float:  # fmt: skip
    """Optimum by the Hungarian method on the dense matrix (mentor slots expanded, plus one
    'unmatched' column per mentee): an independent check of the flow."""
    columns = [m for m, s in enumerate(slots) for _ in range(int(s))]
    gain = np.zeros((n_mentees, len(columns) + n_mentees))
    for j, m, w in edges:
        for c, col_m in enumerate(columns):
            if col_m == m:
                gain[j, c] = big + w
    cost = -gain
    cost[gain == 0] = 0.0
    for j in range(n_mentees):  # a mentor column without an edge must not be usable
        for c, col_m in enumerate(columns):
            if not any(e[0] == j and e[1] == col_m for e in edges):
                cost[j, c] = 1e9
    rows, cols = linear_sum_assignment(cost)
    return float(-cost[rows, cols][cost[rows, cols] < 1e8].sum())


def _random_instance(seed: int) -> tuple[int, list[tuple[int, int, float]], np.ndarray]:
    rng = np.random.default_rng(seed)
    n_mentees, n_mentors = int(rng.integers(3, 9)), int(rng.integers(2, 6))
    slots = rng.integers(0, 3, size=n_mentors)
    edges = [
        (j, m, float(rng.uniform(0.05, 0.95)))
        for j in range(n_mentees)
        for m in range(n_mentors)
        if rng.random() < 0.6
    ]
    return n_mentees, edges, slots


def _solve(n: int, edges: list[tuple[int, int, float]], slots: np.ndarray, **kw: object
           ) -> np.ndarray:  # fmt: skip
    e = np.array(edges, dtype=object).reshape(-1, 3)
    return solve_assignment(
        e[:, 0].astype(np.int64), e[:, 1].astype(np.int64), e[:, 2].astype(float), slots, n,
        **kw,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize("seed", range(25))
def test_best_total_is_optimal_and_feasible(seed: int) -> None:
    n, edges, slots = _random_instance(seed)
    if not edges:
        pytest.skip("empty instance")
    chosen = _solve(n, edges, slots)
    picked = [edges[i] for i in np.flatnonzero(chosen)]
    assert max(Counter(j for j, _, _ in picked).values(), default=0) <= 1
    for m, count in Counter(m for _, m, _ in picked).items():
        assert count <= slots[m]
    assert sum(w for _, _, w in picked) == pytest.approx(_brute_force(n, edges, slots), abs=1e-4)


@pytest.mark.parametrize("seed", range(25))
def test_most_matched_maximises_the_count_first(seed: int) -> None:
    n, edges, slots = _random_instance(seed)
    if not edges:
        pytest.skip("empty instance")
    picked = [edges[i] for i in np.flatnonzero(_solve(n, edges, slots, objective="most_matched"))]
    big = 1000.0
    optimum = _brute_force(n, edges, slots, big=big)
    assert len(picked) == int(optimum // big)
    assert sum(w for _, _, w in picked) == pytest.approx(optimum % big, abs=1e-3)


def test_objectives_differ_when_quality_and_count_conflict() -> None:
    # A loves X and barely fits Y; B fits only X. Both mentors have one slot.
    edges = [(0, 0, 0.9), (0, 1, 0.05), (1, 0, 0.8)]
    slots = np.array([1, 1])
    best = {(edges[i][0], edges[i][1]) for i in np.flatnonzero(_solve(2, edges, slots))}
    most = {
        (edges[i][0], edges[i][1])
        for i in np.flatnonzero(_solve(2, edges, slots, objective="most_matched"))
    }
    assert best == {(0, 0)}  # 0.9 > 0.05 + 0.8
    assert most == {(0, 1), (1, 0)}


def test_greedy_in_arrival_order_is_beaten_by_the_global_assignment() -> None:
    # A (first) takes X, its favourite by a hair; B, whose only option is X, is left out.
    edges = [(0, 0, 0.80), (0, 1, 0.78), (1, 0, 0.9)]
    e = np.array(edges)
    args = (e[:, 0].astype(np.int64), e[:, 1].astype(np.int64), e[:, 2], np.array([1, 1]), 2)
    greedy = greedy_assignment(*args)
    best = solve_assignment(*args)
    assert e[greedy, 2].sum() == pytest.approx(0.8)
    assert e[best, 2].sum() == pytest.approx(1.68)


def test_several_mentors_per_mentee_are_distinct_and_within_capacity() -> None:
    edges = [(j, m, 0.5 + 0.01 * (j + m)) for j in range(4) for m in range(3)]
    slots = np.array([2, 2, 3])
    chosen = _solve(4, edges, slots, per_mentee=2)
    picked = [edges[i] for i in np.flatnonzero(chosen)]
    assert len(picked) == 7  # 7 slots, 8 wanted
    per_mentee = Counter(j for j, _, _ in picked)
    assert max(per_mentee.values()) == 2
    assert len(set(picked)) == len(picked)
    for m, count in Counter(m for _, m, _ in picked).items():
        assert count <= slots[m]


def test_spread_bonus_is_convex_and_moves_mentees_to_idle_mentors() -> None:
    bonus = spread_bonus(np.array([0.0, 2.0]), np.array([4.0, 4.0]), np.array([4, 2]), 0.2)
    assert np.all(np.diff(bonus[0]) <= 0) and np.all(bonus[0] >= 0)
    assert bonus[1].tolist() == pytest.approx([0.2 * 0.25, 0.0])
    # everyone slightly prefers mentor 0 (capacity 4); mentors 1-3 are nearly as good
    edges = [(j, 0, 0.80) for j in range(4)] + [(j, 1 + j % 3, 0.78) for j in range(4)]
    slots = np.array([4, 4, 4, 4])
    plain = _solve(4, edges, slots)
    spread = _solve(
        4, edges, slots,
        slot_bonus=spread_bonus(np.zeros(4), np.full(4, 4.0), slots, 0.2),
    )  # fmt: skip
    assert Counter(edges[i][1] for i in np.flatnonzero(plain))[0] == 4
    assert Counter(edges[i][1] for i in np.flatnonzero(spread))[0] < 4


def test_negative_weights_are_rejected() -> None:
    with pytest.raises(ValueError):
        solve_assignment(np.array([0]), np.array([0]), np.array([-0.1]), np.array([1]), 1)


def test_spread_rerank() -> None:
    scores = [3.0, 2.9, 1.0]
    assert spread_rerank(scores, [1.0, 0.0, 0.0], 0.0).tolist() == [0, 1, 2]
    assert spread_rerank(scores, [1.0, 0.0, 0.0], 0.5).tolist() == [1, 0, 2]
    assert spread_rerank([], [], 1.0).tolist() == []


def test_options_are_validated() -> None:
    with pytest.raises(ValueError):
        MatchOptions(objective="fastest")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        MatchOptions(mentors_per_mentee=0)
    with pytest.raises(ValueError):
        MatchOptions(spread=2.0)


# --------------------------------------------------------------------------- engine level
@pytest.fixture(scope="module")
def programme(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[RecommendationEngine, Path]]:
    engine, gt_dir = synthetic_engine(
        tmp_path_factory.mktemp("matching"), n_mentors=60, n_mentees=300, seed=3, org=ORG
    )
    yield engine, gt_dir
    engine.ctx.engine.dispose()


AS_OF = dt.date(2026, 10, 1)


@pytest.fixture(scope="module")
def cohort(programme: tuple[RecommendationEngine, Path]) -> list[MenteeIn]:
    engine, _ = programme
    with engine.ctx.sessions() as session:
        return load_mentees(session, ORG)


def _free_slots(engine: RecommendationEngine) -> dict[str, int]:
    catalog = engine.catalog(ORG)
    ok, load = engine.org_state(ORG).feasibility.base(AS_OF)
    return {m: int(catalog.capacity[i] - load[i]) if ok[i] else 0
            for i, m in enumerate(catalog.ids)}  # fmt: skip


def test_cohort_match_honours_every_hard_constraint(
    programme: tuple[RecommendationEngine, Path], cohort: list[MenteeIn]
) -> None:
    engine, _ = programme
    result = match_cohort(engine, ORG, cohort, as_of=AS_OF)
    catalog = engine.catalog(ORG)
    free = _free_slots(engine)
    assert sum(free.values()) < len(cohort)  # capacity binds: someone must stay unmatched
    by_mentee = {m.id: m for m in cohort}
    used = Counter(a.mentor_id for a in result.assignments if a.mentor_id)
    assert all(count <= free[m] for m, count in used.items())
    for a in result.assignments:
        if a.mentor_id is None:
            assert a.unmatched_code and a.unmatched_reason
            continue
        mentee, r = by_mentee[a.mentee_id], catalog.row_of[a.mentor_id]
        assert catalog.active[r]
        assert set(mentee.languages) & catalog.languages[r]
        assert a.mentor_id not in mentee.excluded_mentor_ids
        assert 0.0 < a.score < 1.0 and a.reasons  # type: ignore[operator]
    summary = result.summary
    assert summary["matched_pairs"] == sum(used.values())
    assert 0 < summary["matched_rate"] < 1
    assert {"gini", "top10_share", "groups"} <= set(summary["exposure"])
    lines = result.lines()
    assert len(lines) == len(cohort)
    assert {"mentee_id", "mentor_id", "score", "reasons"} <= set(lines[0])
    unmatched = [row for row in lines if row["mentor_id"] is None]
    assert unmatched and all(row["unmatched_reason"] for row in unmatched)
    taken = [row for row in unmatched if row["unmatched_code"] == TAKEN_BY_OTHERS]
    assert taken and all(row["alternative"]["mentor_id"] in free for row in taken)


def test_global_assignment_beats_greedy_and_most_matched_matches_most(
    programme: tuple[RecommendationEngine, Path], cohort: list[MenteeIn]
) -> None:
    engine, _ = programme
    best = match_cohort(engine, ORG, cohort, as_of=AS_OF).summary
    most = match_cohort(
        engine, ORG, cohort, as_of=AS_OF, options=MatchOptions(objective="most_matched")
    ).summary
    assert most["matched_pairs"] >= best["matched_pairs"]
    assert best["predicted_success_total"] >= most["predicted_success_total"] - 1e-6


def test_spreading_reports_its_cost(
    programme: tuple[RecommendationEngine, Path], cohort: list[MenteeIn]
) -> None:
    engine, _ = programme
    summary = match_cohort(
        engine, ORG, cohort[:60], as_of=AS_OF, options=MatchOptions(spread=0.5)
    ).summary
    spreading = summary["spreading"]
    assert spreading["cost_in_predicted_success"] >= -1e-6
    assert spreading["gini"] <= spreading["gini_without"] + 1e-9


def test_unmatched_without_shared_language_names_why_and_an_alternative(
    programme: tuple[RecommendationEngine, Path], cohort: list[MenteeIn]
) -> None:
    engine, _ = programme
    lonely = cohort[0].model_copy(update={"id": "lonely", "languages": ["tlh"]})
    row = match_cohort(engine, ORG, [lonely, cohort[1]], as_of=AS_OF).lines()[0]
    assert row["mentor_id"] is None and row["unmatched_code"] == NO_SHARED_LANGUAGE
    assert "tlh" in row["unmatched_reason"]
    assert row["alternative"]["mentor_id"] in engine.catalog(ORG).row_of


def test_excluded_mentor_is_never_assigned(
    programme: tuple[RecommendationEngine, Path], cohort: list[MenteeIn]
) -> None:
    engine, _ = programme
    first = match_cohort(engine, ORG, cohort[:1], as_of=AS_OF).assignments[0].mentor_id
    assert first is not None
    banned = cohort[0].model_copy(update={"excluded_mentor_ids": [first]})
    again = match_cohort(engine, ORG, [banned], as_of=AS_OF).assignments[0].mentor_id
    assert again is not None and again != first


def test_duplicate_mentees_are_rejected(
    programme: tuple[RecommendationEngine, Path], cohort: list[MenteeIn]
) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        match_cohort(programme[0], ORG, [cohort[0], cohort[0]], as_of=AS_OF)


# --------------------------------------------------------------------------- drafts
def test_draft_edit_accept_lifecycle(
    programme: tuple[RecommendationEngine, Path], cohort: list[MenteeIn]
) -> None:
    engine, _ = programme
    small = [m.model_copy(update={"id": f"new-{m.id}"}) for m in cohort[:5]]  # not in the store
    result = match_cohort(engine, ORG, small, as_of=AS_OF)
    sessions = engine.ctx.sessions
    with store.transaction(sessions) as s:
        draft_id = save_draft(s, ORG, result, small)
    with sessions() as s:
        view = draft_view(s, ORG, draft_id)
        assert view["status"] == "draft" and len(view["items"]) == 5
        assert "profiles" not in view["params"]
        with pytest.raises(DraftNotFound):
            draft_view(s, "other-org", draft_id)
    target = small[0]
    catalog = engine.catalog(ORG)
    free = _free_slots(engine)
    speaks = [m for m in catalog.ids if free[m] > 0
              and set(target.languages) & catalog.languages[catalog.row_of[m]]
              and m not in target.excluded_mentor_ids]  # fmt: skip
    mute = [
        m for m in catalog.ids if not set(target.languages) & catalog.languages[catalog.row_of[m]]
    ]
    full = [m for m in catalog.ids if free[m] == 0 and catalog.active[catalog.row_of[m]]
            and set(target.languages) & catalog.languages[catalog.row_of[m]]]  # fmt: skip
    with store.transaction(sessions) as s:
        scored = score_pairs(engine, ORG, target, [speaks[-1]], as_of=AS_OF)[0]
        item = edit_item(s, ORG, draft_id, target.id, speaks[-1], scored=scored)
        assert item["mentor_id"] == speaks[-1] and item["score"] == pytest.approx(scored.score)
        cleared = edit_item(s, ORG, draft_id, small[1].id, None)
        assert cleared["mentor_id"] is None
    for bad in [m for m in (mute[:1] + full[:1])] + ["no-such-mentor"]:
        with store.transaction(sessions) as s, pytest.raises(DraftConflict):
            edit_item(s, ORG, draft_id, target.id, bad)
    with store.transaction(sessions) as s:
        ids = accept_draft(s, ORG, draft_id)
    assert len(ids) == 4
    with sessions() as s:
        pairings = [store.get_row(s, db.Pairing, ORG, i) for i in ids]
        assert all(p is not None and p.status == "active" for p in pairings)
        assert store.get_row(s, db.Mentee, ORG, target.id) is not None  # stored from the draft
        assert store.mentor_load(s, ORG, AS_OF).get(speaks[-1], 0) >= 1
        assert draft_view(s, ORG, draft_id)["status"] == "accepted"
    with store.transaction(sessions) as s, pytest.raises(DraftStateError):
        accept_draft(s, ORG, draft_id)
    with store.transaction(sessions) as s, pytest.raises(DraftStateError):
        edit_item(s, ORG, draft_id, target.id, None)
    with store.transaction(sessions) as s:  # leave the store as other tests expect it
        for i in ids:
            store.delete_row(s, db.Pairing, ORG, i)
    engine.invalidate(ORG)


def test_accept_is_all_or_nothing_when_capacity_changed(
    programme: tuple[RecommendationEngine, Path], cohort: list[MenteeIn]
) -> None:
    engine, _ = programme
    sessions = engine.ctx.sessions
    result = match_cohort(engine, ORG, cohort[:3], as_of=AS_OF)
    with store.transaction(sessions) as s:
        draft_id = save_draft(s, ORG, result, cohort[:3])
        discard_id = save_draft(s, ORG, result, cohort[:3])
    mentor_id = next(a.mentor_id for a in result.assignments if a.mentor_id)
    free = _free_slots(engine)[mentor_id]
    with store.transaction(sessions) as s:  # someone else fills the mentor meanwhile
        store.upsert_rows(s, "pairings", ORG, [
            {"id": f"filler-{i}", "mentor_id": mentor_id, "mentee_id": cohort[-1 - i].id,
             "started_at": AS_OF - dt.timedelta(days=1), "ended_at": None, "status": "active",
             "rating": None, "goals_met": None}
            for i in range(free)
        ])  # fmt: skip
    with pytest.raises(DraftConflict), store.transaction(sessions) as s:
        accept_draft(s, ORG, draft_id)
    with sessions() as s:
        assert draft_view(s, ORG, draft_id)["status"] == "draft"
        assert not store.existing_ids(s, db.Pairing, ORG, [f"match-{draft_id[:16]}-00000"])
    with store.transaction(sessions) as s:
        discard_draft(s, ORG, discard_id)
        for i in range(free):
            store.delete_row(s, db.Pairing, ORG, f"filler-{i}")
    with sessions() as s:
        assert draft_view(s, ORG, discard_id)["status"] == "discarded"


def test_exposure_pressure(programme: tuple[RecommendationEngine, Path]) -> None:
    engine, _ = programme
    catalog = engine.catalog(ORG)
    with engine.ctx.sessions() as s:
        pressure = exposure_pressure(s, ORG, catalog.ids, AS_OF)
        load = store.mentor_load(s, ORG, AS_OF)
    assert set(pressure) == set(catalog.ids)
    assert all(0.0 <= v <= 1.0 for v in pressure.values())
    for i, m in enumerate(catalog.ids):
        if catalog.capacity[i] > 0 and load.get(m, 0) >= catalog.capacity[i]:
            assert pressure[m] == 1.0


def test_index_candidates_equal_the_dense_ones(
    programme: tuple[RecommendationEngine, Path],
    cohort: list[MenteeIn],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Large pools take candidates from the index with the constraints as a row mask: on a
    flat (exact) index they must be exactly the dense matmul's."""
    from recsys import matching

    engine, _ = programme
    catalog = engine.catalog(ORG)
    batch = engine.mentee_batch(cohort[:40])
    base_ok, _ = engine.org_state(ORG).feasibility.base(AS_OF)
    group_of, lang_masks = matching._language_masks(catalog, batch)
    banned = matching._banned_rows(catalog, batch, None)
    args = (catalog, batch, base_ok, group_of, lang_masks, banned, 12)
    dense_rows, dense_sims = matching._top_candidates(*args)
    monkeypatch.setattr(matching, "DENSE_MAX_MENTORS", 0)
    index_rows, index_sims = matching._top_candidates(*args)
    for d, i, ds, is_ in zip(dense_rows, index_rows, dense_sims, index_sims, strict=True):
        assert set(d.tolist()) == set(i.tolist())
        np.testing.assert_allclose(np.sort(ds), np.sort(is_), rtol=1e-5, atol=1e-6)
