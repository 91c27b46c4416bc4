"""Write an organisation's data back out in the contract format read by :mod:`recsys.ingest`.

One file per entity (``mentors``, ``mentees``, ``pairings``, ``feedback``, ``interactions``),
always all five (an entity without rows gives an empty file, or a header-only CSV), with the
contract's field names in schema order; optional fields are written as ``null`` (an empty CSV
cell), dates as ISO ``YYYY-MM-DD``. Feedback text purged by the retention policy is written as
``"text": null`` (such a row is deliberately not ingestable).

CSV uses the conventions :mod:`recsys.ingest` reads: lists are ``;``-separated, or a JSON array
when an item contains ``;`` (or the cell would otherwise look like a JSON array); booleans are
``true`` / ``false``. Rows are ordered by id (interactions by their natural key), so two exports
of the same data are byte-identical. ``ingest → export → ingest`` is lossless.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from recsys import db
from recsys.ingest import LIST_SEPARATOR
from recsys.schemas import FeedbackOut, InteractionIn, MenteeIn, MentorIn, PairingIn

__all__ = ["EXPORT_SCHEMAS", "export_dir", "format_list_cell"]

ExportFormat = Literal["jsonl", "csv"]

EXPORT_SCHEMAS: dict[str, tuple[type[BaseModel], type[db.Base]]] = {
    "mentors": (MentorIn, db.Mentor),
    "mentees": (MenteeIn, db.Mentee),
    "pairings": (PairingIn, db.Pairing),
    "feedback": (FeedbackOut, db.Feedback),
    "interactions": (InteractionIn, db.Interaction),
}
"""Entity → (schema whose fields are written, ORM model), in dependency order."""

_BATCH = 5000


def contract_fields(entity: str) -> list[str]:
    return list(EXPORT_SCHEMAS[entity][0].model_fields)


def format_list_cell(items: Sequence[str]) -> str:
    """A list as a CSV cell: ``a;b``, or a JSON array when ``;``-joining would be ambiguous."""
    joined = LIST_SEPARATOR.join(items)
    needs_json = any(
        LIST_SEPARATOR in item or item != item.strip() or not item for item in items
    ) or joined.lstrip().startswith("[")
    return orjson.dumps(list(items)).decode() if needs_json else joined


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return format_list_cell(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _rows(session: Session, entity: str, org: str) -> Iterator[Sequence[Any]]:
    _schema, model = EXPORT_SCHEMAS[entity]
    columns = [getattr(model, name) for name in contract_fields(entity)]
    if model is db.Interaction:
        order = [getattr(db.Interaction, k) for k in ("mentee_id", "mentor_id", "at", "event")]
    else:
        order = [model.id]  # type: ignore[attr-defined]
    stmt = (
        select(*columns)
        .where(model.org_id == org)  # type: ignore[attr-defined]
        .order_by(*order)
        .execution_options(yield_per=_BATCH)
    )
    for row in session.execute(stmt):
        yield tuple(row)


def _write_jsonl(path: Path, fields: list[str], rows: Iterator[Sequence[Any]]) -> int:
    n = 0
    with path.open("wb") as fh:
        for row in rows:
            fh.write(orjson.dumps(dict(zip(fields, row, strict=True))))
            fh.write(b"\n")
            n += 1
    return n


def _write_csv(path: Path, fields: list[str], rows: Iterator[Sequence[Any]]) -> int:
    n = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(fields)
        for row in rows:
            writer.writerow([_csv_cell(v) for v in row])
            n += 1
    return n


def export_dir(
    session_factory: sessionmaker[Session],
    directory: Path,
    *,
    org: str = "default",
    fmt: ExportFormat = "jsonl",
) -> dict[str, int]:
    """Write ``<entity>.<fmt>`` for every contract entity of ``org``; returns rows per entity.

    Each file is written to a temporary name and renamed into place, so a failed export never
    leaves a truncated file behind.
    """
    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"unknown export format {fmt!r}; use 'jsonl' or 'csv'")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write = _write_jsonl if fmt == "jsonl" else _write_csv
    counts: dict[str, int] = {}
    with session_factory() as session:
        for entity in EXPORT_SCHEMAS:
            path = directory / f"{entity}.{fmt}"
            tmp = path.with_name(f".{path.name}.tmp")
            try:
                counts[entity] = write(tmp, contract_fields(entity), _rows(session, entity, org))
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
    return counts
