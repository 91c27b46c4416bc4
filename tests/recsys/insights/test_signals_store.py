from __future__ import annotations

import pytest
from insights_support import ORG, FakeMiner, FakeSignal
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recsys import db
from recsys.insights.signals_store import (
    analyze_and_store,
    analyze_pending,
    load_signals,
    miner_version,
)
from recsys.store import transaction

Seeded = tuple[sessionmaker[Session], dict[str, str]]


def _stored(session: Session) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for row in session.scalars(select(db.FeedbackSignal).where(db.FeedbackSignal.org_id == ORG)):
        out.setdefault(row.feedback_id, {})[row.label] = row.score
    return out


def test_analyze_and_store_batches_stores_and_stamps_version(seeded: Seeded) -> None:
    factory, texts = seeded
    miner = FakeMiner()
    with transaction(factory) as session:
        rows = list(session.scalars(select(db.Feedback).order_by(db.Feedback.id)))
        result = analyze_and_store(session, ORG, rows, miner, batch_size=4)
    assert miner.batches == [4, 4, 1]
    assert set(result) == set(texts)
    assert [s.label for s in result["f2"]] == ["time_constraints"]
    with factory() as session:
        stored = _stored(session)
        assert stored["f2"] == {"time_constraints": 0.9}
        assert stored["f6"] == {"boundary_concern": 0.9}
        assert "f1" not in stored  # nothing detected, nothing stored
        versions = set(session.scalars(select(db.Feedback.signals_version)))
        assert versions == {"fake-1"}
        evidence = session.get(db.FeedbackSignal, (ORG, "f6", "boundary_concern"))
        assert evidence is not None
        # the evidence is the matching span, not the whole note
        assert evidence.evidence == [
            "The mentee reported an inappropriate comment during a session."
        ]


def test_reanalysis_replaces_old_signals(seeded: Seeded) -> None:
    factory, _ = seeded
    with transaction(factory) as session:
        analyze_pending(session, ORG, FakeMiner("v1"))

    class Relabel(FakeMiner):
        def analyze(self, texts):  # type: ignore[no-untyped-def]
            return [[FakeSignal("unclear_goals", 0.7, ["x"])] for _ in texts]

    with transaction(factory) as session:
        n = analyze_pending(session, ORG, Relabel("v2"), batch_size=3)
        assert n == 9
    with factory() as session:
        stored = _stored(session)
        assert all(labels == {"unclear_goals": 0.7} for labels in stored.values())
        assert len(stored) == 9


def test_analyze_pending_only_touches_notes_of_other_versions(seeded: Seeded) -> None:
    factory, _ = seeded
    miner = FakeMiner("v1")
    with transaction(factory) as session:
        assert analyze_pending(session, ORG, miner) == 9
    with transaction(factory) as session:
        assert analyze_pending(session, ORG, miner) == 0
        note = session.get(db.Feedback, (ORG, "f3"))
        assert note is not None
        note.signals_version = None  # e.g. a note edited through the API
    with transaction(factory) as session:
        assert analyze_pending(session, ORG, miner) == 1
    with transaction(factory) as session:
        assert analyze_pending(session, "other-org", miner) == 0


def test_purged_notes_are_not_reanalysed_and_keep_signals(seeded: Seeded) -> None:
    factory, _ = seeded
    with transaction(factory) as session:
        analyze_pending(session, ORG, FakeMiner("v1"))
        note = session.get(db.Feedback, (ORG, "f2"))
        assert note is not None
        note.text = None
    with transaction(factory) as session:
        assert analyze_pending(session, ORG, FakeMiner("v2")) == 8
        assert _stored(session)["f2"] == {"time_constraints": 0.9}


def test_load_signals_respects_as_of(analysed: Seeded) -> None:
    factory, _ = analysed
    from insights_support import AS_OF

    with factory() as session:
        everything = {s.feedback_id for s in load_signals(session, ORG)}
        as_of = {s.feedback_id for s in load_signals(session, ORG, ["p_risky"], as_of=AS_OF)}
    assert "f9" in everything
    assert as_of == {"f2", "f3"}


def test_miner_version_falls_back_to_manifest_hash() -> None:
    class ManifestOnly:
        def __init__(self) -> None:
            self.manifest = {"labels": ["a"], "thresholds": {"a": 0.5}}

        def analyze(self, texts):  # type: ignore[no-untyped-def]
            return [[] for _ in texts]

    v = miner_version(ManifestOnly())
    assert v.startswith("m-") and len(v) == 18
    assert v == miner_version(ManifestOnly())

    class Nothing:
        def analyze(self, texts):  # type: ignore[no-untyped-def]
            return []

    with pytest.raises(ValueError):
        miner_version(Nothing())


def test_miner_returning_wrong_count_is_an_error(seeded: Seeded) -> None:
    factory, _ = seeded

    class Broken(FakeMiner):
        def analyze(self, texts):  # type: ignore[no-untyped-def]
            return []

    with factory() as session:
        rows = list(session.scalars(select(db.Feedback)))
        with pytest.raises(RuntimeError):
            analyze_and_store(session, ORG, rows, Broken())


def test_note_log_reads_analysed_notes_per_mentor(seeded: Seeded) -> None:
    from recsys.snapshot import note_log

    factory, _ = seeded
    row_of = {"m_ny": 0, "m_berlin": 1, "m_paris": 2}
    with factory() as session:
        assert note_log(session, ORG, row_of) is None  # nothing analysed: no signal model yet

    class SaysSkipped(FakeMiner):
        def analyze(self, texts):  # type: ignore[no-untyped-def]
            return [
                [FakeSignal("low_commitment", 0.8, ["x"])] if "no time" in t.lower() else []
                for t in texts
            ]

    with transaction(factory) as session:
        analyze_pending(session, ORG, SaysSkipped())
    with factory() as session:
        notes = note_log(session, ORG, row_of)
    assert notes is not None
    per_mentor = {
        m: (int((notes.mentor == r).sum()), int(notes.low_commitment[notes.mentor == r].sum()))
        for m, r in row_of.items()
    }
    # m_ny: f1, f2, f3, f8, f9 (f3 and f9 say there was no time); m_berlin: f4-f7
    assert per_mentor == {"m_ny": (5, 2), "m_berlin": (4, 0), "m_paris": (0, 0)}
