from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from recsys import db
from recsys.schemas import ANSWER_EVENTS, MenteeIn, MentorIn, PairingIn, PairingStatus
from recsys.store import (
    active_pairings,
    delete_row,
    ensure_org,
    existing_ids,
    get_row,
    list_rows,
    mentee_schema,
    mentor_load,
    mentor_schema,
    mentors_said_full,
    pairing_schema,
    transaction,
    upsert_models,
    upsert_rows,
)

D = dt.date


def mentor(id_: str, **kw: Any) -> dict[str, Any]:
    row = {"id": id_, "seniority": 5, "timezone": "UTC", "languages": ["en"], "skills": [],
           "capacity": 2}  # fmt: skip
    return MentorIn.model_validate({**row, **kw}).model_dump()


def mentee(id_: str, **kw: Any) -> dict[str, Any]:
    row = {"id": id_, "seniority": 2, "timezone": "UTC", "languages": ["en"], "goals": "grow"}
    return MenteeIn.model_validate({**row, **kw}).model_dump()


def pairing(id_: str, mentor_id: str, mentee_id: str, **kw: Any) -> dict[str, Any]:
    row = {"id": id_, "mentor_id": mentor_id, "mentee_id": mentee_id, "started_at": D(2024, 1, 1),
           "status": "active"}  # fmt: skip
    dumped = PairingIn.model_validate({**row, **kw}).model_dump()
    dumped["status"] = dumped["status"].value
    return dumped


def seed_people(s: Session, org: str = "default", mentors: int = 2, mentees: int = 3) -> None:
    ensure_org(s, org)
    upsert_rows(s, "mentors", org, [mentor(f"m{i}") for i in range(1, mentors + 1)])
    upsert_rows(s, "mentees", org, [mentee(f"e{i}") for i in range(1, mentees + 1)])


def n_rows(s: Session, model: type[db.Base], org: str | None = None) -> int:
    stmt = select(func.count()).select_from(model)
    if org is not None:
        stmt = stmt.where(model.org_id == org)  # type: ignore[attr-defined]
    return int(s.scalar(stmt) or 0)


# --------------------------------------------------------------------------- upsert
def test_upsert_is_idempotent_and_updates_by_id(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        seed_people(s)
        assert upsert_rows(s, "mentors", "default", [mentor("m1", group="g", bio="x")]) == 1
    with transaction(factory) as s:
        upsert_rows(s, "mentors", "default", [mentor("m1", group="g", bio="x")])
        assert n_rows(s, db.Mentor) == 2
    with transaction(factory) as s:
        upsert_rows(s, "mentors", "default", [mentor("m1", capacity=7, skills=["go"])])
    with factory() as s:
        row = get_row(s, db.Mentor, "default", "m1")
        assert row is not None
        assert (row.capacity, row.skills, row.group, row.bio) == (7, ["go"], None, "")
        assert n_rows(s, db.Mentor) == 2


def test_upsert_empty_is_a_no_op(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        assert upsert_rows(s, "mentors", "default", []) == 0


def test_upsert_models_accepts_schema_objects(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        seed_people(s)
        p = PairingIn(id="p1", mentor_id="m1", mentee_id="e1", started_at=D(2024, 1, 1),
                      status=PairingStatus.active)  # fmt: skip
        assert upsert_models(s, "pairings", "default", [p]) == 1
    with factory() as s:
        row = get_row(s, db.Pairing, "default", "p1")
        assert row is not None and row.status == "active"
        assert pairing_schema(row) == p


def test_interactions_upsert_by_natural_key(factory: sessionmaker[Session]) -> None:
    event = {"mentee_id": "e1", "mentor_id": "m1", "at": D(2024, 1, 5), "event": "shown",
             "position": 1}  # fmt: skip
    with transaction(factory) as s:
        seed_people(s)
        upsert_rows(s, "interactions", "default", [event])
    with transaction(factory) as s:
        upsert_rows(s, "interactions", "default", [{**event, "position": 4}])
        upsert_rows(s, "interactions", "default", [{**event, "event": "accepted"}])
    with factory() as s:
        rows = list_rows(s, db.Interaction, "default")
        assert [(r.event, r.position) for r in rows] == [("shown", 4), ("accepted", 1)]


def test_transaction_rolls_back_on_error(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        seed_people(s)
    with pytest.raises(RuntimeError), transaction(factory) as s:
        upsert_rows(s, "mentors", "default", [mentor("m1", capacity=9), mentor("m9")])
        raise RuntimeError("boom")
    with factory() as s:
        m1 = get_row(s, db.Mentor, "default", "m1")
        assert m1 is not None and m1.capacity == 2
        assert get_row(s, db.Mentor, "default", "m9") is None


# --------------------------------------------------------------------------- tenancy
def test_same_id_in_two_organisations_are_separate_rows(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        seed_people(s, "a")
        seed_people(s, "b", mentors=1)
        upsert_rows(s, "mentors", "b", [mentor("m1", capacity=5)])
    with factory() as s:
        a1, b1 = get_row(s, db.Mentor, "a", "m1"), get_row(s, db.Mentor, "b", "m1")
        assert a1 is not None and b1 is not None
        assert (a1.capacity, b1.capacity) == (2, 5)
        assert n_rows(s, db.Mentor, "a") == 2 and n_rows(s, db.Mentor, "b") == 1
        assert [m.id for m in list_rows(s, db.Mentor, "b")] == ["m1"]
        assert existing_ids(s, db.Mentor, "b", ["m1", "m2"]) == {"m1"}
        assert get_row(s, db.Mentor, "c", "m1") is None
    with transaction(factory) as s:
        assert delete_row(s, db.Mentor, "a", "m2")
        assert not delete_row(s, db.Mentor, "b", "m2")
    with factory() as s:
        assert n_rows(s, db.Mentor) == 2


def test_existing_ids_in_chunks(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        ensure_org(s, "default")
        upsert_rows(s, "mentors", "default", [mentor(f"m{i}") for i in range(0, 12_000, 2)])
    with factory() as s:
        found = existing_ids(s, db.Mentor, "default", (f"m{i}" for i in range(12_000)))
    assert found == {f"m{i}" for i in range(0, 12_000, 2)}


# --------------------------------------------------------------------------- foreign keys
@pytest.mark.parametrize(
    ("entity", "row"),
    [
        ("pairings", pairing("p1", "ghost", "e1")),
        ("pairings", pairing("p1", "m1", "ghost")),
        (
            "feedback",
            {
                "id": "f1",
                "pairing_id": "ghost",
                "author_role": "mentee",
                "created_at": D(2024, 2, 1),
                "text": "hello",
            },
        ),
    ],
)
def test_foreign_keys_are_enforced(
    factory: sessionmaker[Session], entity: str, row: dict[str, Any]
) -> None:
    with transaction(factory) as s:
        seed_people(s)
    with pytest.raises(IntegrityError), transaction(factory) as s:
        upsert_rows(s, entity, "default", [row])


def test_foreign_keys_do_not_cross_organisations(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        seed_people(s, "a")
        ensure_org(s, "b")
    with pytest.raises(IntegrityError), transaction(factory) as s:
        upsert_rows(s, "pairings", "b", [pairing("p1", "m1", "e1")])


def test_deleting_feedback_deletes_its_signals(factory: sessionmaker[Session]) -> None:
    with transaction(factory) as s:
        seed_people(s)
        upsert_rows(s, "pairings", "default", [pairing("p1", "m1", "e1")])
        upsert_rows(s, "feedback", "default", [{
            "id": "f1", "pairing_id": "p1", "author_role": "mentee",
            "created_at": D(2024, 2, 1), "text": "we keep rescheduling",
        }])  # fmt: skip
        s.add(db.FeedbackSignal(org_id="default", feedback_id="f1", label="time_constraints",
                                score=0.9, evidence=["keep rescheduling"]))  # fmt: skip
    with transaction(factory) as s:
        assert n_rows(s, db.FeedbackSignal) == 1
        assert delete_row(s, db.Feedback, "default", "f1")
    with factory() as s:
        assert n_rows(s, db.FeedbackSignal) == 0


# --------------------------------------------------------------------------- mentor load
@pytest.fixture
def history(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """m1: one pairing completed on 2024-03-01, one active from 2024-02-01, one ended early.
    m2: a completed pairing with no end date (never counted). Org b: m1 with one pairing."""
    with transaction(factory) as s:
        seed_people(s)
        upsert_rows(s, "pairings", "default", [
            pairing("p1", "m1", "e1", started_at=D(2024, 1, 10), ended_at=D(2024, 3, 1),
                    status="completed"),
            pairing("p2", "m1", "e2", started_at=D(2024, 2, 1)),
            pairing("p3", "m1", "e3", started_at=D(2024, 1, 1), ended_at=D(2024, 1, 20),
                    status="ended_early"),
            pairing("p4", "m2", "e1", started_at=D(2023, 1, 1), status="completed"),
        ])  # fmt: skip
        seed_people(s, "b", mentors=1, mentees=1)
        upsert_rows(s, "pairings", "b", [pairing("p1", "m1", "e1", started_at=D(2020, 1, 1))])
    return factory


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (D(2023, 12, 31), {}),  # before anything started
        (D(2024, 1, 1), {"m1": 1}),  # p3 starts
        (D(2024, 1, 9), {"m1": 1}),  # p1 completed later, but has not started yet
        (D(2024, 1, 10), {"m1": 2}),  # p1 starts: active although completed later
        (D(2024, 1, 20), {"m1": 1}),  # p3 ended early that day
        (D(2024, 2, 1), {"m1": 2}),  # p2 starts
        (D(2024, 2, 29), {"m1": 2}),
        (D(2024, 3, 1), {"m1": 1}),  # p1 ended that day
        (D(2030, 1, 1), {"m1": 1}),  # p2 still active
    ],
)
def test_mentor_load_as_of(
    history: sessionmaker[Session], as_of: dt.date, expected: dict[str, int]
) -> None:
    with history() as s:
        assert mentor_load(s, "default", as_of) == expected
        running = active_pairings(s, "default", as_of)
        assert Counter(p.mentor_id for p in running) == expected


def test_mentor_load_is_per_organisation(history: sessionmaker[Session]) -> None:
    with history() as s:
        assert mentor_load(s, "b", D(2024, 1, 10)) == {"m1": 1}
        assert mentor_load(s, "nobody", D(2024, 1, 10)) == {}


def test_said_full_lasts_the_window_or_until_a_pairing_ends(
    history: sessionmaker[Session],
) -> None:
    full = {"mentee_id": "e3", "at": D(2024, 2, 20), "event": "declined",
            "decline_reason": "no_capacity"}  # fmt: skip
    with transaction(history) as s:
        upsert_rows(s, "interactions", "default", [
            {**full, "mentor_id": "m1"},  # m1's p1 ends on 2024-03-01
            {**full, "mentor_id": "m2"},
            {**full, "mentor_id": "m2", "at": D(2024, 2, 21), "decline_reason": None},
        ])  # fmt: skip
    with history() as s:
        said = lambda day: mentors_said_full(s, "default", day, 14)  # noqa: E731
        assert said(D(2024, 2, 19)) == set()
        assert said(D(2024, 2, 29)) == {"m1", "m2"}
        assert said(D(2024, 3, 1)) == {"m2"}  # p1 ended: m1 has room again
        assert said(D(2024, 3, 5)) == set()  # the window closed for m2
        assert mentors_said_full(s, "default", D(2024, 2, 29), 0) == set()


def test_said_full_ends_when_the_capacity_is_raised(history: sessionmaker[Session]) -> None:
    full = {"mentee_id": "e3", "at": D(2024, 2, 20), "event": "declined",
            "decline_reason": "no_capacity"}  # fmt: skip
    with transaction(history) as s:
        upsert_rows(s, "interactions", "default", [{**full, "mentor_id": "m2"}])
        upsert_rows(s, "mentors", "default", [mentor("m2", capacity=3)])  # raised today
    today = dt.date.today()
    with history() as s:
        raised = get_row(s, db.Mentor, "default", "m2")
        assert raised is not None and raised.capacity_raised_at == today
        # the raise happened after the decline: room again from that day on, not before
        assert mentors_said_full(s, "default", D(2024, 2, 29), 14) == {"m2"}
        assert mentors_said_full(s, "default", today, (today - D(2024, 2, 1)).days) == set()


def test_the_track_record_reads_answers_not_served_lists(
    history: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Served lists are ten rows a request, most of the table: reading them with the answers
    took 11 s at a million rows, on every pairing change."""
    from recsys import snapshot

    answered = {"mentee_id": "e3", "mentor_id": "m1", "at": D(2024, 2, 20)}
    with transaction(history) as s:
        upsert_rows(s, "interactions", "default", [
            {**answered, "event": "shown", "position": 1},
            {**answered, "event": "requested"},
            {**answered, "event": "declined", "decline_reason": "no_capacity"},
        ])  # fmt: skip
    with history() as s:
        everything = snapshot.interaction_frame(s, "default")
        answers = snapshot.interaction_frame(s, "default", events=ANSWER_EVENTS)
        assert sorted(everything["event"]) == ["declined", "requested", "shown"]
        assert sorted(answers["event"]) == ["declined", "requested"]
        asked: list[object] = []
        frame = snapshot.interaction_frame
        monkeypatch.setattr(snapshot, "interaction_frame",
                            lambda *a, **kw: asked.append(kw.get("events")) or frame(*a, **kw))  # fmt: skip
        record = snapshot.mentor_history(s, "default", {"m1": 0, "m2": 1})
        assert asked == [ANSWER_EVENTS]
        assert record.said_full(
            np.array([0]), np.array(["2024-02-21"], "datetime64[D]"), 14
        ).tolist() == [True]


def test_mentor_versions_count_changes_and_capacity_raises(factory: sessionmaker[Session]) -> None:
    def stored(id_: str) -> tuple[int, dt.date | None]:
        with factory() as s:
            row = get_row(s, db.Mentor, "default", id_)
            assert row is not None
            return row.row_version, row.capacity_raised_at

    with transaction(factory) as s:
        seed_people(s)
    (v1, raised), (v2, _) = stored("m1"), stored("m2")
    assert raised is None and v1 != v2  # random starts: a delete and an insert cannot cancel
    with transaction(factory) as s:  # the same rows again: nothing changed
        upsert_rows(s, "mentors", "default", [mentor("m1"), mentor("m2")])
    assert stored("m1") == (v1, None)
    with transaction(factory) as s:
        upsert_rows(s, "mentors", "default", [mentor("m1", skills=["sql"]), mentor("m2")])
    assert stored("m1") == (v1 + 1, None) and stored("m2") == (v2, None)
    with transaction(factory) as s:
        upsert_rows(s, "mentors", "default", [mentor("m1", skills=["sql"], capacity=1)])
    assert stored("m1") == (v1 + 2, None)  # lowered: no raise
    with transaction(factory) as s:
        upsert_rows(s, "mentors", "default", [mentor("m1", skills=["sql"], capacity=4)])
    assert stored("m1") == (v1 + 3, dt.date.today())
    with transaction(factory) as s:
        upsert_rows(s, "mentors", "default", [mentor("m1", skills=["sql"], capacity=4, bio="x")])
    assert stored("m1") == (v1 + 4, dt.date.today())  # the raise is remembered


# --------------------------------------------------------------------------- conversion
def test_schema_conversion_round_trips(factory: sessionmaker[Session]) -> None:
    m = mentor("m1", group="peers", location="Lisbon", skills=["a", "b"], bio="hi", active=False)
    e = mentee("e1", excluded_mentor_ids=["m1", "x"], skills=["sql"])
    with transaction(factory) as s:
        ensure_org(s, "default")
        upsert_rows(s, "mentors", "default", [m])
        upsert_rows(s, "mentees", "default", [e])
    with factory() as s:
        mrow, erow = get_row(s, db.Mentor, "default", "m1"), get_row(s, db.Mentee, "default", "e1")
        assert mrow is not None and erow is not None
        assert mentor_schema(mrow).model_dump() == m
        assert mentee_schema(erow).model_dump() == e
