from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from recsys import db
from recsys.export import export_dir, format_list_cell
from recsys.ingest import IngestError, ingest_dir, parse_list_cell

Rows = dict[str, list[dict[str, Any]]]  # the `rows` fixture (conftest)
WriteContract = Callable[..., Path]  # the `write_contract` fixture (conftest)
ENTITIES = ["mentors", "mentees", "pairings", "feedback", "interactions"]


def read_files(directory: Path, fmt: str = "jsonl") -> dict[str, bytes]:
    return {e: (directory / f"{e}.{fmt}").read_bytes() for e in ENTITIES}


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


@pytest.fixture
def loaded(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> sessionmaker[Session]:
    """The `rows` dataset plus a mentor whose list items need JSON-array CSV cells and who
    answered the working-style questions."""
    extra = {**rows["mentors"][2], "id": "m4", "skills": ["c++; c", "[x]"], "bio": "a\nb",
             "style_structure": "informal", "style_modality": "written"}  # fmt: skip
    ingest_dir(
        factory, write_contract(tmp_path / "fixture", rows, mentors=[*rows["mentors"], extra])
    )
    return factory


def test_exports_contract_fields(loaded: sessionmaker[Session], tmp_path: Path) -> None:
    counts = export_dir(loaded, tmp_path / "out")

    assert counts == {"mentors": 4, "mentees": 2, "pairings": 2, "feedback": 2, "interactions": 4}
    mentors = read_jsonl(tmp_path / "out" / "mentors.jsonl")
    assert [m["id"] for m in mentors] == ["m1", "m2", "m3", "m4"]
    assert mentors[0] == {
        "id": "m1", "title": "Staff Engineer", "department": "R&D", "seniority": 6,
        "timezone": "Europe/Berlin", "languages": ["en", "de"], "skills": ["python", "ml"],
        "style_structure": None, "style_modality": None,
        "bio": "Builds data platforms.", "capacity": 2, "active": True, "location": "Berlin",
        "group": "g1",
    }  # fmt: skip
    assert (mentors[3]["style_structure"], mentors[3]["style_modality"]) == ("informal", "written")
    pairings = read_jsonl(tmp_path / "out" / "pairings.jsonl")
    assert pairings[1] == {
        "id": "p2", "mentor_id": "m2", "mentee_id": "e2", "started_at": "2023-05-01",
        "ended_at": "2023-09-01", "status": "completed", "rating": 4, "goals_met": True,
    }  # fmt: skip
    assert pairings[0]["ended_at"] is None and pairings[0]["rating"] is None
    interactions = read_jsonl(tmp_path / "out" / "interactions.jsonl")
    assert interactions[0] == {
        "mentee_id": "e1", "mentor_id": "m1", "at": "2024-01-05", "position": 1,
        "event": "shown", "recommendation_id": "r1", "decline_reason": None,
    }  # fmt: skip
    assert interactions[-1]["event"] == "declined"
    assert interactions[-1]["decline_reason"] == "no_capacity"
    assert not list((tmp_path / "out").glob(".*.tmp"))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_round_trip_is_lossless(
    loaded: sessionmaker[Session],
    new_factory: Callable[[], sessionmaker[Session]],
    tmp_path: Path,
    fmt: str,
) -> None:
    first = tmp_path / "first"
    export_dir(loaded, first, fmt=fmt)  # type: ignore[arg-type]

    fresh = new_factory()
    ingest_dir(fresh, first)
    second = tmp_path / "second"
    export_dir(fresh, second, fmt=fmt)  # type: ignore[arg-type]
    assert read_files(second, fmt) == read_files(first, fmt)

    # and the exported files ingested into the store they came from change nothing
    again = ingest_dir(loaded, first)
    assert again.counts == {
        "mentors": 4,
        "mentees": 2,
        "pairings": 2,
        "feedback": 2,
        "interactions": 4,
    }
    third = tmp_path / "third"
    export_dir(loaded, third, fmt=fmt)  # type: ignore[arg-type]
    assert read_files(third, fmt) == read_files(first, fmt)


def test_csv_and_jsonl_exports_hold_the_same_data(
    loaded: sessionmaker[Session],
    new_factory: Callable[[], sessionmaker[Session]],
    tmp_path: Path,
) -> None:
    export_dir(loaded, tmp_path / "jsonl")
    export_dir(loaded, tmp_path / "csv", fmt="csv")
    fresh = new_factory()
    ingest_dir(fresh, tmp_path / "csv")
    export_dir(fresh, tmp_path / "via_csv")
    assert read_files(tmp_path / "via_csv") == read_files(tmp_path / "jsonl")


def test_csv_layout(loaded: sessionmaker[Session], tmp_path: Path) -> None:
    export_dir(loaded, tmp_path, fmt="csv")
    with (tmp_path / "mentors.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "id", "title", "department", "seniority", "timezone", "languages", "skills",
        "style_structure", "style_modality", "bio", "capacity", "active", "location", "group",
    ]  # fmt: skip
    assert rows[0]["style_structure"] == "" and rows[3]["style_modality"] == "written"
    assert rows[0]["languages"] == "en;de" and rows[0]["active"] == "true"
    assert rows[1]["group"] == "" and rows[1]["active"] == "false"
    assert rows[3]["skills"] == '["c++; c","[x]"]'  # an item holds ";": written as a JSON array
    assert rows[3]["bio"] == "a\nb"
    with (tmp_path / "pairings.csv").open(newline="") as fh:
        pairings = list(csv.DictReader(fh))
    assert pairings[0]["ended_at"] == "" and pairings[1]["goals_met"] == "true"


def test_purged_feedback_text_exports_as_null(
    loaded: sessionmaker[Session], new_factory: Callable[[], sessionmaker[Session]], tmp_path: Path
) -> None:
    with loaded.begin() as s:
        s.execute(update(db.Feedback).where(db.Feedback.id == "f2").values(text=None))

    export_dir(loaded, tmp_path / "out")

    feedback = read_jsonl(tmp_path / "out" / "feedback.jsonl")
    assert feedback[1] == {
        "id": "f2", "pairing_id": "p2", "author_role": "mentor", "created_at": "2023-06-01",
        "text": None,
    }  # fmt: skip
    with pytest.raises(IngestError) as exc:
        ingest_dir(new_factory(), tmp_path / "out")
    assert [str(e) for e in exc.value.report.errors] == [
        "feedback.jsonl:2: text: Input should be a valid string (got None)"
    ]


def test_exports_only_the_organisation(
    factory: sessionmaker[Session], tmp_path: Path, rows: Rows, write_contract: WriteContract
) -> None:
    ingest_dir(factory, write_contract(tmp_path / "a", rows), org="a")
    only_people = write_contract(
        tmp_path / "b", rows, mentors=rows["mentors"][:1], pairings=[], feedback=[], interactions=[]
    )
    ingest_dir(factory, only_people, org="b")

    counts = export_dir(factory, tmp_path / "out", org="b")

    assert counts == {"mentors": 1, "mentees": 2, "pairings": 0, "feedback": 0, "interactions": 0}
    assert (tmp_path / "out" / "pairings.jsonl").read_bytes() == b""


def test_empty_store_exports_empty_files(factory: sessionmaker[Session], tmp_path: Path) -> None:
    assert export_dir(factory, tmp_path, fmt="csv") == dict.fromkeys(ENTITIES, 0)
    assert (tmp_path / "feedback.csv").read_text() == (
        "id,pairing_id,author_role,created_at,text\n"
    )


def test_unknown_format(factory: sessionmaker[Session], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown export format"):
        export_dir(factory, tmp_path, fmt="xml")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "items",
    [[], ["en"], ["en", "de"], ["a;b", "c"], ["[x]"], ["[a", "b]"], ["x", "[y]"]],
)
def test_list_cells_round_trip(items: list[str]) -> None:
    assert parse_list_cell(format_list_cell(items)) == items
