from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from recsys import db, ingest
from recsys.ingest import IngestError, RowError, ingest_dir, parse_list_cell
from recsys.schemas import ENTITY_FILES

Rows = dict[str, list[dict[str, Any]]]  # the `rows` fixture: a small valid contract dataset
WriteContract = Callable[..., Path]  # the `write_contract` fixture: (directory, rows, **overrides)


def write_jsonl(path: Path, items: list[Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in items))
    return path


def count(factory: sessionmaker[Session], model: type[db.Base], org: str = "default") -> int:
    org_column: Any = model.org_id  # type: ignore[attr-defined]
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(org_column == org)) or 0)


def errors_of(exc: pytest.ExceptionInfo[IngestError]) -> list[str]:
    return [str(e) for e in exc.value.report.errors]


def test_row_error_str() -> None:
    assert str(RowError("mentors.jsonl", 3, "seniority", "too high")) == (
        "mentors.jsonl:3: seniority: too high"
    )


def test_ingests_all_entities(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    report = ingest_dir(factory, write_contract(tmp_path / "in", rows))

    assert report.ok and report.errors == []
    assert report.counts == {
        "mentors": 3, "mentees": 2, "pairings": 2, "feedback": 2, "interactions": 4,
    }  # fmt: skip
    assert report.skipped == dict.fromkeys(report.counts, 0)
    assert [p.name for p in report.files] == [f"{e}.jsonl" for e in rows]
    with factory() as s:
        m1 = s.get(db.Mentor, ("default", "m1"))
        assert m1 is not None
        assert (m1.group, m1.location, m1.languages) == ("g1", "Berlin", ["en", "de"])
        m2 = s.get(db.Mentor, ("default", "m2"))
        assert m2 is not None and m2.active is False and m2.group is None
        e1 = s.get(db.Mentee, ("default", "e1"))
        assert e1 is not None and e1.excluded_mentor_ids == ["m2", "not-a-mentor"]
        p2 = s.get(db.Pairing, ("default", "p2"))
        assert p2 is not None
        assert (p2.ended_at, p2.status, p2.rating, p2.goals_met) == (
            dt.date(2023, 9, 1), "completed", 4, True,
        )  # fmt: skip
        assert s.get(db.Organisation, "default") is not None
    assert count(factory, db.Interaction) == 4


def test_second_ingest_changes_nothing(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    directory = write_contract(tmp_path / "in", rows)
    first = ingest_dir(factory, directory)

    def snapshot() -> dict[str, list[tuple[Any, ...]]]:
        with factory() as s:
            out = {}
            for entity, model in (("mentors", db.Mentor), ("pairings", db.Pairing),
                                  ("interactions", db.Interaction)):  # fmt: skip
                cols = [c for c in model.__table__.c if c.name != "updated_at"]  # type: ignore[attr-defined]
                out[entity] = sorted(tuple(r) for r in s.execute(select(*cols)))
            return out

    before = snapshot()
    second = ingest_dir(factory, directory)
    assert second.counts == first.counts
    assert snapshot() == before


def test_updates_rows_by_id(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    ingest_dir(factory, write_contract(tmp_path / "a", rows))
    changed = [{**rows["mentors"][0], "capacity": 5, "title": "Principal Engineer"}]
    ingest_dir(factory, write_contract(tmp_path / "b", rows, mentors=changed))
    with factory() as s:
        m1 = s.get(db.Mentor, ("default", "m1"))
        assert m1 is not None and (m1.capacity, m1.title) == (5, "Principal Engineer")
    assert count(factory, db.Mentor) == 3


def test_reports_file_line_field_reason(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    directory = tmp_path / "in"
    write_contract(directory, rows)
    (directory / "mentors.jsonl").write_text(
        orjson.dumps(rows["mentors"][0]).decode() + "\n"
        "\n"  # blank lines are skipped but still counted
        + orjson.dumps({**rows["mentors"][1], "seniority": 9}).decode() + "\n"
        '{"id": "m4", "seniority": \n'
        "[1, 2]\n"
        + orjson.dumps({**rows["mentors"][2], "favourite_colour": "red"}).decode() + "\n"
    )  # fmt: skip
    write_jsonl(directory / "pairings.jsonl", [
        rows["pairings"][0],
        {**rows["pairings"][1], "status": "paused"},
        {**rows["pairings"][0], "id": "p3", "mentor_id": "nobody"},
        {**rows["pairings"][0], "id": "p4", "status": "active", "ended_at": "2024-02-01"},
    ])  # fmt: skip

    with pytest.raises(IngestError) as exc:
        ingest_dir(factory, directory)

    errors = errors_of(exc)
    assert "mentors.jsonl:3: seniority: Input should be less than or equal to 8 (got 9)" in errors
    assert any(e.startswith("mentors.jsonl:4: -: malformed JSON") for e in errors)
    assert "mentors.jsonl:5: -: expected a JSON object" in errors
    assert "mentors.jsonl:6: favourite_colour: unknown field" in errors
    assert any(e.startswith("pairings.jsonl:2: status: Input should be 'active'") for e in errors)
    assert "pairings.jsonl:3: mentor_id: no mentor with id 'nobody'" in errors
    assert "pairings.jsonl:4: row: an active pairing has no ended_at" in errors
    # pairings p2 referred to m2, which was itself invalid: that error is reported too
    report = exc.value.report
    assert report.skipped["mentors"] == 4 and report.skipped["pairings"] == 3
    assert report.counts == dict.fromkeys(report.counts, 0)
    assert "pairings.jsonl:2" in str(exc.value) or "mentors.jsonl:3" in str(exc.value)


def test_invalid_row_changes_nothing(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    ingest_dir(factory, write_contract(tmp_path / "a", rows))
    mentors = [
        {**rows["mentors"][0], "title": "Changed"},
        {**rows["mentors"][1], "id": "m9"},
        {**rows["mentors"][2], "languages": ["english"]},
    ]
    bad = write_contract(tmp_path / "b", rows, mentors=mentors)

    with pytest.raises(IngestError) as exc:
        ingest_dir(factory, bad)

    assert errors_of(exc)[0].startswith("mentors.jsonl:3: languages.0: String should match")
    with factory() as s:
        m1 = s.get(db.Mentor, ("default", "m1"))
        assert m1 is not None and m1.title == "Staff Engineer"
        assert s.get(db.Mentor, ("default", "m9")) is None
    assert count(factory, db.Mentor) == 3


def test_rejected_ingest_creates_no_organisation(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    directory = write_contract(
        tmp_path / "in", rows, mentors=[{**rows["mentors"][0], "capacity": -1}]
    )
    with pytest.raises(IngestError):
        ingest_dir(factory, directory, org="acme")
    with factory() as s:
        assert s.get(db.Organisation, "acme") is None
    assert count(factory, db.Mentee, "acme") == 0


def test_skip_invalid_stores_good_rows_and_cascades(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    mentors = [
        rows["mentors"][0],
        {**rows["mentors"][1], "timezone": "Mars/Olympus"},
        rows["mentors"][2],
    ]
    directory = write_contract(tmp_path / "in", rows, mentors=mentors)

    report = ingest_dir(factory, directory, skip_invalid=True)

    errors = [str(e) for e in report.errors]
    assert errors == [
        "mentors.jsonl:2: timezone: unknown IANA time zone 'Mars/Olympus'",
        "pairings.jsonl:2: mentor_id: no mentor with id 'm2'",  # p2's mentor was skipped
        "feedback.jsonl:2: pairing_id: no pairing with id 'p2'",  # and so was f2's pairing
    ]
    assert report.counts == {
        "mentors": 2, "mentees": 2, "pairings": 1, "feedback": 1, "interactions": 4,
    }  # fmt: skip
    assert report.skipped == {
        "mentors": 1, "mentees": 0, "pairings": 1, "feedback": 1, "interactions": 0,
    }  # fmt: skip
    assert count(factory, db.Mentor) == 2 and count(factory, db.Pairing) == 1


def test_references_resolve_against_the_store(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows
) -> None:
    people = tmp_path / "people"
    write_jsonl(people / "mentors.jsonl", rows["mentors"])
    write_jsonl(people / "mentees.jsonl", rows["mentees"])
    ingest_dir(factory, people)
    history = tmp_path / "history"
    write_jsonl(history / "pairings.jsonl", rows["pairings"])
    write_jsonl(history / "feedback.jsonl", rows["feedback"])
    write_jsonl(history / "interactions.jsonl", rows["interactions"])

    report = ingest_dir(factory, history)

    assert report.counts == {"pairings": 2, "feedback": 2, "interactions": 4}


def test_references_do_not_cross_organisations(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows
) -> None:
    people = tmp_path / "people"
    write_jsonl(people / "mentors.jsonl", rows["mentors"])
    write_jsonl(people / "mentees.jsonl", rows["mentees"])
    ingest_dir(factory, people, org="a")
    history = tmp_path / "history"
    write_jsonl(history / "pairings.jsonl", rows["pairings"][:1])

    with pytest.raises(IngestError) as exc:
        ingest_dir(factory, history, org="b")

    assert errors_of(exc) == [
        "pairings.jsonl:1: mentor_id: no mentor with id 'm1'",
        "pairings.jsonl:1: mentee_id: no mentee with id 'e1'",
    ]


def test_same_files_in_two_organisations(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    directory = write_contract(tmp_path / "in", rows)
    ingest_dir(factory, directory, org="a")
    ingest_dir(factory, directory, org="b")
    assert count(factory, db.Mentor, "a") == count(factory, db.Mentor, "b") == 3
    assert count(factory, db.Interaction, "a") == count(factory, db.Interaction, "b") == 4


def test_duplicate_id_is_an_error(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    mentors = [*rows["mentors"], {**rows["mentors"][0], "title": "Again"}]
    with pytest.raises(IngestError) as exc:
        ingest_dir(factory, write_contract(tmp_path / "in", rows, mentors=mentors))
    assert errors_of(exc) == ["mentors.jsonl:4: id: duplicate id 'm1' (first on line 1)"]


def test_repeated_interaction_key_is_one_event(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    again = {**rows["interactions"][0], "position": 3, "recommendation_id": "r2"}
    report = ingest_dir(
        factory, write_contract(tmp_path / "in", rows, interactions=[*rows["interactions"], again])
    )
    assert report.counts["interactions"] == 4
    with factory() as s:
        row = s.scalars(
            select(db.Interaction).where(
                db.Interaction.mentor_id == "m1", db.Interaction.event == "shown"
            )
        ).one()
    assert (row.position, row.recommendation_id) == (3, "r2")  # the last row wins


def test_purged_feedback_text_is_not_ingestable(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    feedback = [rows["feedback"][0], {**rows["feedback"][1], "text": None}]
    with pytest.raises(IngestError) as exc:
        ingest_dir(factory, write_contract(tmp_path / "in", rows, feedback=feedback))
    assert errors_of(exc) == ["feedback.jsonl:2: text: Input should be a valid string (got None)"]


def test_chunk_boundaries(
    factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rows: Rows,
    write_contract: WriteContract,
) -> None:
    """References and duplicates are checked across chunks, not only within one."""
    monkeypatch.setattr(ingest, "CHUNK_ROWS", 2)
    mentors = [{**rows["mentors"][2], "id": f"m{i}"} for i in range(1, 8)]
    pairings = [
        {**rows["pairings"][0], "id": f"p{i}", "mentor_id": f"m{i}", "mentee_id": "e1"}
        for i in range(1, 8)
    ]
    interactions = [{**rows["interactions"][2], "mentor_id": f"m{i % 3 + 1}"} for i in range(7)]
    directory = write_contract(
        tmp_path / "in",
        rows,
        mentors=mentors,
        pairings=pairings,
        feedback=[],
        interactions=interactions,
    )
    progress: list[tuple[str, int, int]] = []

    report = ingest_dir(factory, directory, progress=lambda *a: progress.append(a))

    assert report.counts == {
        "mentors": 7, "mentees": 2, "pairings": 7, "feedback": 0, "interactions": 3,
    }  # fmt: skip
    assert count(factory, db.Interaction) == 3
    mentor_progress = [p for p in progress if p[0] == "mentors"]
    assert mentor_progress[0] == ("mentors", 0, 7) and mentor_progress[-1] == ("mentors", 7, 7)
    assert [p[1] for p in mentor_progress] == sorted(p[1] for p in mentor_progress)
    assert len(mentor_progress) > 2  # reported per chunk, not only at the ends
    assert [p[0] for p in progress if p[1] == p[2]][-1] == "interactions"

    dup = write_contract(tmp_path / "dup", rows, mentors=[*mentors, mentors[0]], pairings=[])
    with pytest.raises(IngestError) as exc:
        ingest_dir(factory, dup)
    assert errors_of(exc) == ["mentors.jsonl:8: id: duplicate id 'm1' (first on line 1)"]


# --------------------------------------------------------------------------- CSV
def test_csv_files(factory: sessionmaker[Session], tmp_path: Path) -> None:
    directory = tmp_path / "in"
    directory.mkdir()
    (directory / "mentors.csv").write_text(
        "\ufeffid,title,seniority,timezone,languages,skills,bio,capacity,active,group\n"
        'm1,Engineer,5,Europe/Berlin, en ; de ,"[""c++; c"", ""rust""]","Line one\n'
        'line two",2,true,\n'
        "m2,,3,UTC,en,,,1,false,peers\n",
        encoding="utf-8",
    )
    (directory / "mentees.csv").write_text(
        "id,seniority,timezone,languages,goals,excluded_mentor_ids\n"
        "e1,2,UTC,en,Learn things,m2;m7\n"
        "\n"
        "e2,2,UTC,en,,\n"  # goals is required: an empty cell means "not given"
        "e3,2,UTC,en,x,y,z\n"
    )
    (directory / "pairings.csv").write_text(
        "id,mentor_id,mentee_id,started_at,ended_at,status,rating,goals_met\n"
        "p1,m1,e1,2024-01-01,,active,,\n"
        "p2,m2,e1,2023-01-01,2023-06-30,completed,5,false\n"
    )

    with pytest.raises(IngestError) as exc:
        ingest_dir(factory, directory)
    # line numbers count the header as line 1 and the blank line 3
    assert errors_of(exc) == [
        "mentees.csv:4: goals: Field required",
        "mentees.csv:5: -: 7 values for 6 columns",
    ]

    report = ingest_dir(factory, directory, skip_invalid=True)

    assert report.counts == {"mentors": 2, "mentees": 1, "pairings": 2}
    with factory() as s:
        m1 = s.get(db.Mentor, ("default", "m1"))
        assert m1 is not None
        assert (m1.languages, m1.skills, m1.bio) == (
            ["en", "de"],
            ["c++; c", "rust"],
            "Line one\nline two",
        )
        assert (m1.active, m1.group, m1.location) == (True, None, None)
        m2 = s.get(db.Mentor, ("default", "m2"))
        assert m2 is not None and (m2.title, m2.skills, m2.active, m2.group) == (
            "",
            [],
            False,
            "peers",
        )
        e1 = s.get(db.Mentee, ("default", "e1"))
        assert e1 is not None and e1.excluded_mentor_ids == ["m2", "m7"]
        p1 = s.get(db.Pairing, ("default", "p1"))
        assert p1 is not None and (p1.ended_at, p1.rating, p1.goals_met) == (None, None, None)
        p2 = s.get(db.Pairing, ("default", "p2"))
        assert p2 is not None and (p2.rating, p2.goals_met) == (5, False)


def test_csv_line_numbers_after_multiline_cells(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    directory = tmp_path / "in"
    directory.mkdir()
    (directory / "mentors.csv").write_text(
        "id,seniority,timezone,languages,bio,capacity\n"
        'm1,5,UTC,en,"three\nline\nbio",1\n'
        "m2,5,UTC,en,ok,lots\n"
    )
    with pytest.raises(IngestError) as exc:
        ingest_dir(factory, directory)
    assert errors_of(exc) == [
        "mentors.csv:5: capacity: Input should be a valid integer, "
        "unable to parse string as an integer (got 'lots')"
    ]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("en;de", ["en", "de"]),
        (" en ; ;de ", ["en", "de"]),
        ("", []),
        ("solo", ["solo"]),
        ('["a;b", "c"]', ["a;b", "c"]),
        ("[not json]", ["[not json]"]),
        ("[1, 2]", ["[1, 2]"]),
    ],
)
def test_parse_list_cell(cell: str, expected: list[str]) -> None:
    assert parse_list_cell(cell) == expected


# --------------------------------------------------------------------------- directory
def test_both_formats_for_one_entity_is_an_error(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    directory = write_contract(tmp_path / "in", rows)
    (directory / "mentors.csv").write_text("id\n")
    with pytest.raises(IngestError) as exc:
        ingest_dir(factory, directory)
    assert errors_of(exc) == [
        "mentors.csv:0: -: both mentors.jsonl and mentors.csv exist; keep one"
    ]


def test_directory_without_contract_files(factory: sessionmaker[Session], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(IngestError, match="no contract files"):
        ingest_dir(factory, tmp_path)
    with pytest.raises(FileNotFoundError):
        ingest_dir(factory, tmp_path / "missing")


def test_empty_files_are_fine(factory: sessionmaker[Session], tmp_path: Path) -> None:
    (tmp_path / "mentors.jsonl").write_text("")
    (tmp_path / "mentees.csv").write_text("")
    (tmp_path / "pairings.csv").write_text("id,mentor_id,mentee_id,started_at,status\n")
    report = ingest_dir(factory, tmp_path)
    assert report.counts == {"mentors": 0, "mentees": 0, "pairings": 0}


def test_progress_callback_sees_every_entity(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    seen: dict[str, tuple[int, int]] = {}
    calls: Callable[[str, int, int], None] = lambda e, d, t: seen.__setitem__(e, (d, t))  # noqa: E731
    ingest_dir(factory, write_contract(tmp_path / "in", rows), progress=calls)
    assert seen == {e: (len(rows), len(rows)) for e, rows in rows.items()}


def test_excluded_mentor_ids_need_not_exist(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    mentees = [
        {**rows["mentees"][0], "excluded_mentor_ids": ["ghost-1", "ghost-2"]},
        rows["mentees"][1],
    ]
    report = ingest_dir(factory, write_contract(tmp_path / "in", rows, mentees=mentees))
    assert report.ok


def test_purged_rows_in_store_still_satisfy_references(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    """Feedback purged in the store is still a row: new feedback may follow on its pairing."""
    ingest_dir(factory, write_contract(tmp_path / "a", rows))
    with factory.begin() as s:
        s.execute(update(db.Feedback).values(text=None))
    extra = tmp_path / "b"
    write_jsonl(extra / "feedback.jsonl", [{**rows["feedback"][0], "id": "f3"}])
    assert ingest_dir(factory, extra).counts == {"feedback": 1}


def test_undecodable_and_odd_files(factory: sessionmaker[Session], tmp_path: Path) -> None:
    (tmp_path / "mentors.jsonl").write_bytes(
        b'\xef\xbb\xbf{"id": "m1", "seniority": 3, "timezone": "UTC", "languages": ["en"],'
        b' "capacity": 1}\n{"id": "m\xff2"}\n'
    )
    (tmp_path / "mentees.csv").write_bytes(b"id,id\ne1,e2\n")
    (tmp_path / "pairings.csv").write_bytes(b"id,status\np1,active\np\xff2,active\n")
    with pytest.raises(IngestError) as exc:
        ingest_dir(factory, tmp_path)
    errors = errors_of(exc)
    assert errors[0].startswith("mentors.jsonl:2: -: malformed JSON")  # the BOM on line 1 is fine
    assert errors[1] == "mentees.csv:1: id: column appears more than once"
    assert errors[2].startswith("pairings.csv:2: mentor_id: Field required")
    assert errors[-1] == "pairings.csv:3: -: not UTF-8 text"


def test_sqlite_page_cache_is_restored(
    backend: str, factory: sessionmaker[Session], tmp_path: Path, rows: Rows,
    write_contract: WriteContract,
) -> None:  # fmt: skip
    if backend != "sqlite":
        pytest.skip("SQLite only")
    with factory() as s:
        before = s.scalar(text("PRAGMA cache_size"))
    ingest_dir(factory, write_contract(tmp_path / "in", rows))
    with factory() as s:
        assert s.scalar(text("PRAGMA cache_size")) == before


def test_contract_schemas_are_flat(rows: Rows) -> None:
    """Ingest stores a validated model's ``__dict__`` as the row: true only for flat schemas."""
    for entity, schema in ENTITY_FILES.items():
        for item in rows[entity]:
            model = schema.model_validate(item)
            assert dict(model.__dict__) == model.model_dump(), entity


def test_a_storage_failure_propagates_and_changes_nothing(
    factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rows: Rows,
    write_contract: WriteContract,
) -> None:
    monkeypatch.setattr(ingest, "CHUNK_ROWS", 1)
    real_upsert = ingest.upsert_rows
    calls: list[str] = []

    def failing_upsert(session: Session, entity: str, org: str, items: list[Any]) -> int:
        calls.append(entity)
        if entity == "pairings":
            raise RuntimeError("disk full")
        return real_upsert(session, entity, org, items)

    monkeypatch.setattr(ingest, "upsert_rows", failing_upsert)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_dir(factory, write_contract(tmp_path / "in", rows))
    assert calls[:6] == ["mentors"] * 3 + ["mentees"] * 2 + ["pairings"]
    assert count(factory, db.Mentor) == 0
