"""RecommendationEngine: writes applied to the loaded catalog (no rebuild) serve exactly what
a catalog read afresh from the store serves."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evaluation.matching_eval import synthetic_engine
from models.ranker import RankerModel
from models.text_projection import TextProjection
from recsys import db, store
from recsys.engine import RecommendationEngine
from recsys.retrieval.index import CandidateIndex
from recsys.schemas import PairingIn
from recsys.snapshot import load_mentees, load_mentors

ORG = "default"
AS_OF = dt.date(2026, 10, 1)


def _ranker_with_text_space(engine: RecommendationEngine) -> RankerModel:
    """The cold-start ranker plus a (random) learned text space: recommendations then also
    use the mapped bios and the learned-space search, which updates must carry over."""
    d = engine.catalog(ORG).bio_sent_vecs.shape[-1]
    rng = np.random.default_rng(0)
    ranker = RankerModel.cold_start(engine.embedder.encoder_id)
    ranker.text_projection = TextProjection(
        rng.normal(size=(d, 8)).astype(np.float32), rng.normal(size=(d, 8)).astype(np.float32)
    )
    return ranker


@pytest.fixture(params=["flat", "hnsw"])
def programme(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    engine, _ = synthetic_engine(tmp_path, n_mentors=80, n_mentees=200, seed=5)
    engine.settings.index_type = request.param
    engine.set_ranker(_ranker_with_text_space(engine))
    engine.refresh_mentors(ORG)
    with engine.ctx.sessions() as session:
        mentees = load_mentees(session, ORG)[:20]
    return engine, mentees


def _fresh(engine: RecommendationEngine) -> RecommendationEngine:
    """An engine over the same store that builds its catalog from scratch."""
    fresh = RecommendationEngine(engine.ctx, ranker=engine.ranker)
    fresh.__dict__["embedder"] = engine.embedder
    return fresh


def _lists(engine: RecommendationEngine, mentees: list[Any]) -> list[list[tuple[str, float]]]:
    out = engine.recommend(ORG, mentees, k=8, as_of=AS_OF)
    return [[(r.mentor_id, round(float(r.score), 4)) for r in recs] for recs in out]


def _same_rows(a: Any, b: Any) -> None:
    """Both catalogs hold the same mentors with the same profile arrays (any row order)."""
    assert sorted(a.ids) == sorted(b.ids)
    ra = np.array([a.row_of[m] for m in sorted(a.ids)])
    rb = np.array([b.row_of[m] for m in sorted(b.ids)])
    for name in ("bio_vec", "skills_vec", "bio_sent_vecs", "bio_sent_mask", "seniority",
                 "capacity", "active"):  # fmt: skip
        np.testing.assert_array_equal(getattr(a, name)[ra], getattr(b, name)[rb], err_msg=name)
    # style leanings go through a matrix product over the batch encoded: float noise
    np.testing.assert_allclose(a.style[ra], b.style[rb], atol=1e-6)
    assert [a.languages[r] for r in ra] == [b.languages[r] for r in rb]
    assert [a.bio_sentences[r] for r in ra] == [b.bio_sentences[r] for r in rb]
    assert a.fingerprint == b.fingerprint
    np.testing.assert_array_equal(
        a.load(ra, AS_OF), b.load(rb, AS_OF), err_msg="load as of the date"
    )


def test_mentor_writes_apply_to_the_loaded_catalog_as_a_fresh_build_would(programme) -> None:
    engine, mentees = programme
    before = engine.org_state(ORG)
    old = before.catalog
    old_bio = old.bio_vec.copy()
    index = old.index
    with engine.ctx.sessions() as session:
        mentors = load_mentors(session, ORG)
        busy = set(session.scalars(db.Pairing.__table__.select().with_only_columns(
            db.Pairing.mentor_id)))  # fmt: skip
    edited = mentors[0].model_copy(
        update={"bio": "I coach engineers through their first incident reviews. Kind but direct."}
    )
    closed = mentors[1].model_copy(update={"capacity": 0})
    added = mentors[2].model_copy(update={"id": "brand-new", "bio": "Data strategy, Finnish"})
    gone = next(m for m in mentors[3:] if m.id not in busy)
    with store.transaction(engine.ctx.sessions) as session:
        store.upsert_models(session, "mentors", ORG, [edited, closed, added])
        assert store.delete_row(session, db.Mentor, ORG, gone.id)

    assert engine.update_mentors(ORG, [edited.id, closed.id, added.id, gone.id])

    now = engine.catalog(ORG)
    assert now is not old and now.index is index  # updated, not rebuilt
    assert "brand-new" in index and gone.id not in index
    # the slots are mapped to the new rows before any request asks (80 ms at 100k mentors)
    assert now._slot_map is not None and now._slot_map[0] == (id(index), index.slot_version)
    np.testing.assert_array_equal(index.vectors_for(["brand-new"])[0],
                                  now.bio_vec[now.row_of["brand-new"]])  # fmt: skip
    # a request still holding the old catalog sees it as it was
    np.testing.assert_array_equal(old.bio_vec, old_bio)
    assert gone.id in old.row_of and "brand-new" not in old.row_of
    # the learned text space was carried over, mapped for the new bios, not recomputed
    maps = engine.ranker.text_maps
    assert maps is not None and now._projected is not None and now._projected[0] is maps[1]
    fresh = _fresh(engine)
    _same_rows(now, fresh.catalog(ORG))
    np.testing.assert_allclose(
        now.projected_bios(maps[1])[[now.row_of[m] for m in sorted(now.ids)]],
        fresh.catalog(ORG).projected_bios(maps[1])[
            [fresh.catalog(ORG).row_of[m] for m in sorted(now.ids)]
        ],
        atol=1e-3,
    )
    got, want = _lists(engine, mentees), _lists(fresh, mentees)
    assert got == want
    assert not any(closed.id in {m for m, _ in lst} for lst in got)
    assert not any(gone.id in {m for m, _ in lst} for lst in got)


def test_pairing_writes_reread_only_the_track_record(programme) -> None:
    engine, mentees = programme
    old = engine.catalog(ORG)
    mentor = old.ids[0]
    before = old.load(np.array([0]), AS_OF)[0]
    with store.transaction(engine.ctx.sessions) as session:
        store.upsert_models(session, "pairings", ORG, [PairingIn(
            id="new-pairing", mentor_id=mentor, mentee_id=mentees[0].id,
            started_at=AS_OF - dt.timedelta(days=3), status="active",
        )])  # fmt: skip

    assert engine.refresh_history(ORG)

    now = engine.catalog(ORG)
    assert now.bio_sent_vecs is old.bio_sent_vecs and now.index is old.index  # shared
    assert now._projected is old._projected and now._learned is old._learned
    assert now.load(np.array([0]), AS_OF)[0] == before + 1
    assert old.load(np.array([0]), AS_OF)[0] == before  # in-flight requests: unchanged
    assert _lists(engine, mentees) == _lists(_fresh(engine), mentees)


def test_an_updated_index_is_saved_and_loaded_after_a_restart(
    programme, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, mentees = programme
    with engine.ctx.sessions() as session:
        mentor = load_mentors(session, ORG)[5]
    edited = mentor.model_copy(update={"bio": "Negotiation, pricing and saying no to scope."})
    added = mentor.model_copy(update={"id": "aaa-first"})  # appended here, row 0 when read
    with store.transaction(engine.ctx.sessions) as session:
        store.upsert_models(session, "mentors", ORG, [edited, added])
    assert engine.update_mentors(ORG, [edited.id, added.id])
    engine.save_index(ORG)

    def no_rebuild(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the saved index should have been loaded")

    monkeypatch.setattr(CandidateIndex, "from_settings", no_rebuild)
    restarted = _fresh(engine)  # reads the store afresh: rows in another order
    assert restarted.catalog(ORG).index.vectors_for([edited.id]).tolist() == (
        engine.catalog(ORG).index.vectors_for([edited.id]).tolist()
    )
    assert _lists(restarted, mentees) == _lists(engine, mentees)


def test_updates_need_a_loaded_catalog(tmp_path: Path) -> None:
    engine, _ = synthetic_engine(tmp_path, n_mentors=10, n_mentees=20, seed=1)
    assert not engine.update_mentors(ORG, ["anyone"])  # nothing loaded: next use reads it all
    assert not engine.refresh_history(ORG)


def test_a_profile_edit_that_leaves_the_texts_shares_the_vectors(programme) -> None:
    engine, mentees = programme
    old = engine.catalog(ORG)
    with engine.ctx.sessions() as session:
        mentor = load_mentors(session, ORG)[4]
    closed = mentor.model_copy(update={"capacity": 0})
    with store.transaction(engine.ctx.sessions) as session:
        store.upsert_models(session, "mentors", ORG, [closed])
    assert engine.update_mentors(ORG, [closed.id])
    now = engine.catalog(ORG)
    assert now.capacity[now.row_of[closed.id]] == 0 and old.capacity[old.row_of[closed.id]] > 0
    for name in ("bio_vec", "skills_vec", "bio_sent_vecs"):  # not copied (540 MB at 100k)
        assert getattr(now, name) is getattr(old, name), name
    assert now._projected is old._projected and now._learned is old._learned
    assert _lists(engine, mentees) == _lists(_fresh(engine), mentees)


def test_mentors_changed_behind_its_back_are_found_by_version_and_applied(programme) -> None:
    """``recsys ingest`` while serving: ``sync_mentors`` finds exactly the mentors whose
    stored row changed (edited, added, deleted) and applies just them; an unchanged
    re-ingest changes no version and costs nothing."""
    engine, mentees = programme
    with engine.ctx.sessions() as session:
        mentors = load_mentors(session, ORG)
        busy = set(session.scalars(db.Pairing.__table__.select().with_only_columns(
            db.Pairing.mentor_id)))  # fmt: skip
    assert engine.stale_mentors(ORG) == []
    with store.transaction(engine.ctx.sessions) as session:  # the same roster again
        store.upsert_models(session, "mentors", ORG, mentors)
    assert engine.stale_mentors(ORG) == []
    assert engine.sync_mentors(ORG) == 0

    edited = mentors[0].model_copy(update={"bio": "Incident reviews and on-call coaching."})
    added = mentors[1].model_copy(update={"id": "joined-today", "skills": ["finance"]})
    gone = next(m for m in mentors[2:] if m.id not in busy)
    with store.transaction(engine.ctx.sessions) as session:
        store.upsert_models(session, "mentors", ORG, [*mentors[5:], edited, added])
        assert store.delete_row(session, db.Mentor, ORG, gone.id)
    assert engine.stale_mentors(ORG) == sorted([edited.id, added.id, gone.id])

    index = engine.catalog(ORG).index
    applied: list[list[str]] = []
    update = engine.update_mentors
    engine.update_mentors = lambda org, ids: applied.append(list(ids)) or update(org, ids)  # type: ignore[method-assign]
    assert engine.sync_mentors(ORG) == 3
    assert applied == [sorted([edited.id, added.id, gone.id])]
    assert engine.catalog(ORG).index is index  # updated in place, not rebuilt
    assert engine.stale_mentors(ORG) == []
    fresh = _fresh(engine)
    _same_rows(engine.catalog(ORG), fresh.catalog(ORG))
    assert _lists(engine, mentees) == _lists(fresh, mentees)


def test_a_roster_mostly_replaced_behind_its_back_is_rebuilt(programme) -> None:
    engine, _ = programme
    with engine.ctx.sessions() as session:
        mentors = load_mentors(session, ORG)
    moved = [
        m.model_copy(update={"capacity": m.capacity + 1}) for m in mentors[: len(mentors) // 2]
    ]
    with store.transaction(engine.ctx.sessions) as session:
        store.upsert_models(session, "mentors", ORG, moved)
    rebuilt: list[str] = []
    refresh = engine.refresh_mentors
    engine.refresh_mentors = lambda org: rebuilt.append(org) or refresh(org)  # type: ignore[method-assign]
    assert engine.sync_mentors(ORG) == len(moved)
    assert rebuilt == [ORG]
    assert engine.stale_mentors(ORG) == []


def test_a_mentor_who_said_full_is_recommended_again_once_their_capacity_is_raised(
    programme,
) -> None:
    engine, mentees = programme
    today = dt.date.today()

    def recommended() -> set[str]:
        out = engine.recommend(ORG, mentees, k=80, as_of=today)
        return {r.mentor_id for recs in out for r in recs}

    first = engine.recommend(ORG, mentees[:1], k=1, as_of=today)[0][0].mentor_id
    engine.capacity_declined(ORG, first, today)
    assert first not in recommended()
    with engine.ctx.sessions() as session:
        (profile,) = load_mentors(session, ORG, [first])
    with store.transaction(engine.ctx.sessions) as session:
        store.upsert_models(
            session, "mentors", ORG, [profile.model_copy(update={"capacity": profile.capacity + 1})]
        )
    assert engine.update_mentors(ORG, [first])
    assert first in recommended()
