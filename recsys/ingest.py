"""Load the data contract (``mentors``, ``mentees``, ``pairings``, ``feedback``, ``interactions``)
from a directory of JSON Lines or CSV files into the store.

File formats
------------
Each entity is read from ``<entity>.jsonl`` or ``<entity>.csv`` (not both) in the directory.

* JSON Lines: one JSON object per line; blank lines are ignored.
* CSV: a header row with the contract field names, then one row per record (UTF-8, an optional
  byte-order mark is ignored). An empty cell means "not given": the field's default applies
  (``null`` for optional fields). List fields (``languages``, ``skills``,
  ``excluded_mentor_ids``) are ``;``-separated (``en;de``); surrounding spaces and empty items
  are dropped. A cell holding a JSON array (``["a;b", "c"]``) is read as that array, which is
  how :mod:`recsys.export` writes a list whose items contain ``;``.

Semantics
---------
* Files are processed in dependency order (``recsys.schemas.ENTITY_FILES``), so a pairing may
  refer to a mentor defined in the same ingest.
* Rows are upserted by ``id`` (interactions by their natural key ``mentee_id, mentor_id, at,
  event``): ingesting the same files twice changes nothing. A repeated interaction key within
  one ingest is the same event: the last row wins. A repeated ``id`` is a contract error.
* Every row is validated with the contract schema and its references are checked (a pairing's
  mentor and mentee, a feedback's pairing, an interaction's mentor and mentee must exist, in
  the store or among the valid rows of this ingest). ``excluded_mentor_ids`` need not exist.
* Errors are reported as ``file:line: field: reason``; ``line`` is the 1-based line in the file
  where the record starts (for CSV the header is line 1).
* The whole ingest is one transaction. If any row is invalid, nothing is changed and
  :class:`IngestError` is raised, unless ``skip_invalid=True``: then the valid rows are stored
  and the invalid ones reported (rows referring to a skipped row are then invalid too).

Rows are read as a stream and written in chunks with :func:`recsys.store.upsert_rows`; only the
ids seen so far are kept in memory (for reference and duplicate checks).
"""

from __future__ import annotations

import csv
import queue
import threading
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker

from recsys import db
from recsys.schemas import ENTITY_FILES
from recsys.store import ensure_org, existing_ids, transaction, upsert_rows

__all__ = [
    "CHUNK_ROWS",
    "LIST_SEPARATOR",
    "IngestError",
    "IngestReport",
    "RowError",
    "find_contract_files",
    "ingest_dir",
    "parse_list_cell",
]

LIST_SEPARATOR = ";"
CHUNK_ROWS = 5000
"""Rows validated, reference-checked and upserted together."""

SUFFIXES = (".jsonl", ".csv")

ProgressCallback = Callable[[str, int, int], None]

# entity -> ((field, referenced entity), ...)
_REFERENCES: dict[str, tuple[tuple[str, str], ...]] = {
    "pairings": (("mentor_id", "mentors"), ("mentee_id", "mentees")),
    "feedback": (("pairing_id", "pairings"),),
    "interactions": (("mentor_id", "mentors"), ("mentee_id", "mentees")),
}
_ID_MODELS: dict[str, type[db.Base]] = {
    "mentors": db.Mentor,
    "mentees": db.Mentee,
    "pairings": db.Pairing,
    "feedback": db.Feedback,
}
_SINGULAR = {"mentors": "mentor", "mentees": "mentee", "pairings": "pairing"}
_INTERACTION_KEY = ("mentee_id", "mentor_id", "at", "event")


@dataclass
class RowError:
    """One contract violation: ``str()`` gives ``file:line: field: reason``."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


@dataclass
class IngestReport:
    counts: dict[str, int] = field(default_factory=dict)
    """Rows stored (inserted or updated) per entity; all zero when the ingest was rejected."""
    errors: list[RowError] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    """Invalid rows per entity (skipped with ``skip_invalid``, otherwise the reason for rejection)."""
    files: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class IngestError(Exception):
    """The ingest was rejected (nothing changed); ``report.errors`` says why."""

    def __init__(self, report: IngestReport) -> None:
        self.report = report
        n = len(report.errors)
        first = f": {report.errors[0]}" if report.errors else ""
        more = f" (and {n - 1} more)" if n > 1 else ""
        super().__init__(f"ingest rejected, {n} error(s){first}{more}")


# --------------------------------------------------------------------------- files
def find_contract_files(directory: Path) -> dict[str, Path]:
    """Contract files in ``directory``, keyed by entity, in dependency order.

    Raises ``FileNotFoundError`` when ``directory`` is not a directory, and :class:`IngestError`
    when an entity has both a ``.jsonl`` and a ``.csv`` file or no contract file exists.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"not a directory: {directory}")
    found: dict[str, Path] = {}
    errors: list[RowError] = []
    for entity in ENTITY_FILES:
        paths = [
            directory / f"{entity}{s}" for s in SUFFIXES if (directory / f"{entity}{s}").is_file()
        ]
        if len(paths) > 1:
            names = " and ".join(p.name for p in paths)
            errors.append(RowError(paths[-1].name, 0, "-", f"both {names} exist; keep one"))
        elif paths:
            found[entity] = paths[0]
    if not found and not errors:
        wanted = ", ".join(f"{e}.jsonl" for e in ENTITY_FILES)
        errors.append(RowError(directory.name, 0, "-", f"no contract files ({wanted} or .csv)"))
    if errors:
        raise IngestError(IngestReport(errors=errors, files=list(found.values())))
    return found


def parse_list_cell(cell: str) -> list[str]:
    """A CSV list cell: ``a;b`` (items stripped, empty items dropped) or a JSON array of strings."""
    text = cell.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            value = None
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]


def _list_fields(schema: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name for name, f in schema.model_fields.items() if typing.get_origin(f.annotation) is list
    )


def _enum_fields(schema: type[BaseModel]) -> tuple[str, ...]:
    return tuple(
        name
        for name, f in schema.model_fields.items()
        if isinstance(f.annotation, type) and issubclass(f.annotation, Enum)
    )


Record = tuple[int, "dict[str, Any] | RowError"]
_BOM = b"\xef\xbb\xbf"


def _read_jsonl(path: Path) -> Iterator[Record]:
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if lineno == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM) :]
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                yield lineno, RowError(path.name, lineno, "-", f"malformed JSON: {exc}")
                continue
            if not isinstance(obj, dict):
                yield lineno, RowError(path.name, lineno, "-", "expected a JSON object")
                continue
            yield lineno, obj


def _decoded_lines(fh: typing.BinaryIO, bad_lines: list[int]) -> Iterator[str]:
    """Lines of ``fh`` as text; undecodable lines are noted in ``bad_lines`` (and replaced) so
    the record they belong to can be reported while the rest of the file is still read."""
    for lineno, raw in enumerate(fh, 1):
        if lineno == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            bad_lines.append(lineno)
            yield raw.decode("utf-8", "replace")


def _read_csv(path: Path, list_fields: frozenset[str]) -> Iterator[Record]:
    bad_lines: list[int] = []
    with path.open("rb") as fh:
        reader = csv.reader(_decoded_lines(fh, bad_lines))
        try:
            header = next(reader, None)
            if header is None:
                return
            columns = [h.strip() for h in header]
            dupes = sorted({c for c in columns if columns.count(c) > 1})
            if bad_lines or dupes:
                field = ", ".join(dupes) or "-"
                reason = "column appears more than once" if dupes else "header is not UTF-8 text"
                yield 1, RowError(path.name, 1, field, reason)
                return
            last_line = reader.line_num
            for cells in reader:
                # a quoted cell may span lines: the record starts after the previous one ended
                start, last_line = last_line + 1, reader.line_num
                if bad_lines and bad_lines[-1] >= start:
                    yield start, RowError(path.name, start, "-", "not UTF-8 text")
                    continue
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) > len(columns):
                    reason = f"{len(cells)} values for {len(columns)} columns"
                    yield start, RowError(path.name, start, "-", reason)
                    continue
                row: dict[str, Any] = {}
                for name, cell in zip(columns, cells, strict=False):
                    if cell == "":
                        continue
                    row[name] = parse_list_cell(cell) if name in list_fields else cell
                yield start, row
        except csv.Error as exc:  # e.g. a NUL byte: the rest of the file cannot be trusted
            line = reader.line_num
            yield line, RowError(path.name, line, "-", f"malformed CSV, stopped reading: {exc}")


def _count_records(path: Path) -> int:
    """Rows in ``path`` estimated from its line count (exact unless CSV cells span lines)."""
    lines = 0
    last = b"\n"
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            lines += block.count(b"\n")
            last = block[-1:]
    if last != b"\n":
        lines += 1
    return max(0, lines - 1) if path.suffix == ".csv" else lines


# --------------------------------------------------------------------------- validation
def _short(value: Any) -> str | None:
    if isinstance(value, dict | list):
        return None
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _validation_errors(file: str, line: int, exc: ValidationError) -> list[RowError]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "row"
        reason = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            reason = "unknown field"
        elif (
            err["type"] != "missing"
            and (shown := _short(err.get("input"))) is not None
            and shown not in reason
        ):
            reason = f"{reason} (got {shown})"
        out.append(RowError(file, line, loc, reason))
    return out


_Chunk = list[tuple[int, BaseModel]]  # (line, validated row)


class _Ingest:
    """State of one ingest: the session, ids accepted so far and ids found in the store.

    Two stages overlap: the calling thread reads and validates chunks of rows while a writer
    thread checks their references and upserts them (SQLite and the database driver release
    the GIL while they work). Chunks are written in the order they were read, one at a time,
    so references resolve exactly as they would in a single thread; only the writer touches
    the session while it runs.
    """

    def __init__(
        self,
        session: Session,
        org: str,
        report: IngestReport,
        progress: ProgressCallback | None,
        skip_invalid: bool,
    ) -> None:
        self.session = session
        self.org = org
        self.report = report
        self.progress = progress
        self.skip_invalid = skip_invalid
        # entity -> id -> line of the accepted row (duplicate detection and references)
        self.accepted: dict[str, dict[str, int]] = {e: {} for e in _ID_MODELS}
        # entity -> ids found in the store (so each is looked up once)
        self.in_store: dict[str, set[str]] = {e: set() for e in _ID_MODELS}
        self.interaction_keys: set[int] = set()
        self._lock = threading.Lock()  # report.errors / report.skipped are shared by both stages
        self._queue: queue.Queue[tuple[str, str, _Chunk] | None] = queue.Queue(maxsize=2)
        self._failure: BaseException | None = None

    @contextmanager
    def pipeline(self) -> Iterator[None]:
        """Run the writer thread around a block that calls :meth:`load_file`."""
        writer = threading.Thread(target=self._write_loop, name="recsys-ingest-writer", daemon=True)
        writer.start()
        try:
            yield
        finally:
            self._queue.put(None)
            writer.join()
        if self._failure is not None:
            raise self._failure

    def _write_loop(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._failure is None:  # after a failure keep draining so the reader never blocks
                try:
                    self._store_chunk(*item)
                except BaseException as exc:
                    self._failure = exc

    def _reject(self, entity: str, errors: list[RowError]) -> None:
        with self._lock:
            self.report.errors.extend(errors)
            self.report.skipped[entity] += 1

    def load_file(self, entity: str, path: Path) -> None:
        schema = ENTITY_FILES[entity]
        list_fields = _list_fields(schema)
        records = _read_jsonl(path) if path.suffix == ".jsonl" else _read_csv(path, list_fields)
        total = _count_records(path)
        report = self.report
        report.counts.setdefault(entity, 0)
        report.skipped.setdefault(entity, 0)
        done = 0
        chunk: _Chunk = []
        if self.progress:
            self.progress(entity, 0, total)
        for line, raw in records:
            done += 1
            if isinstance(raw, RowError):
                self._reject(entity, [raw])
                continue
            try:
                chunk.append((line, schema.model_validate(raw)))
            except ValidationError as exc:
                self._reject(entity, _validation_errors(path.name, line, exc))
                continue
            if len(chunk) >= CHUNK_ROWS:
                self._submit(entity, path.name, chunk)
                chunk = []
                if self.progress:
                    self.progress(entity, done, max(total, done))
        self._submit(entity, path.name, chunk)
        if self.progress:
            self.progress(entity, done, done)

    def _submit(self, entity: str, file: str, chunk: _Chunk) -> None:
        if self._failure is not None:
            raise self._failure
        if chunk:
            self._queue.put((entity, file, chunk))

    def _unresolved(self, entity: str, chunk: _Chunk) -> dict[str, set[str]]:
        """Per reference field, the values in ``chunk`` that name no accepted or stored row."""
        unresolved: dict[str, set[str]] = {}
        for fld, target in _REFERENCES.get(entity, ()):
            accepted, in_store = self.accepted[target], self.in_store[target]
            unknown = {
                ref
                for _, m in chunk
                if (ref := getattr(m, fld)) not in accepted and ref not in in_store
            }
            if unknown:
                found = existing_ids(self.session, _ID_MODELS[target], self.org, unknown)
                in_store.update(found)
                unknown -= found
            if unknown:
                unresolved[fld] = unknown
        return unresolved

    def _store_chunk(self, entity: str, file: str, chunk: _Chunk) -> None:
        unresolved = self._unresolved(entity, chunk)
        targets = dict(_REFERENCES.get(entity, ()))
        enum_fields = _enum_fields(type(chunk[0][1]))
        accepted = self.accepted.get(entity)
        rows: dict[Any, dict[str, Any]] = {}
        for line, model in chunk:
            errors = [
                RowError(file, line, fld, f"no {_SINGULAR[targets[fld]]} with id {value!r}")
                for fld, values in unresolved.items()
                if (value := getattr(model, fld)) in values
            ]
            if accepted is not None:
                id_ = model.id  # type: ignore[attr-defined]
                if id_ in accepted:
                    errors.append(
                        RowError(
                            file,
                            line,
                            "id",
                            f"duplicate id {id_!r} (first on line {accepted[id_]})",
                        )
                    )
            if errors:
                self._reject(entity, errors)
                continue
            # the contract schemas are flat, so the validated field values are the row (a copy
            # of __dict__ is several times cheaper than model_dump at a million rows)
            row = dict(model.__dict__)
            for name in enum_fields:
                row[name] = row[name].value
            if accepted is not None:
                accepted[row["id"]] = line
                rows[row["id"]] = row
            else:  # interactions: the natural key identifies the event; the last row wins
                key = tuple(row[k] for k in _INTERACTION_KEY)
                rows[key] = row
                self.interaction_keys.add(hash(key))
        if self.skip_invalid or not self.report.errors:
            # otherwise the ingest will be rolled back: keep validating, stop writing
            upsert_rows(self.session, entity, self.org, list(rows.values()))
        if accepted is not None:
            self.report.counts[entity] += len(rows)
        else:
            self.report.counts[entity] = len(self.interaction_keys)


# --------------------------------------------------------------------------- entry point
_SQLITE_INGEST_CACHE_KIB = 256 * 1024


@contextmanager
def _large_sqlite_cache(session: Session) -> Iterator[None]:
    """Give this SQLite connection a larger page cache while the ingest runs.

    Bulk upserts touch index pages in random order; with SQLite's default 2 MiB cache most of
    those touches miss, which made large ingests much slower. The limit is an upper bound
    (pages are allocated as needed) and is restored afterwards, which frees the extra pages of
    the pooled connection.
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    # the DBAPI connection: restoring must work even when the session's transaction has failed
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    previous = raw.execute("PRAGMA cache_size").fetchone()[0]
    raw.execute(f"PRAGMA cache_size=-{_SQLITE_INGEST_CACHE_KIB}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size={int(previous)}")


def ingest_dir(
    session_factory: sessionmaker[Session],
    directory: Path,
    *,
    org: str = "default",
    skip_invalid: bool = False,
    progress: ProgressCallback | None = None,
) -> IngestReport:
    """Validate and upsert the contract files in ``directory`` for organisation ``org``.

    ``progress(entity, done, total)`` is called as rows are processed; ``total`` is estimated
    from the file's line count and exact in the last call for each entity.
    Raises :class:`IngestError` (nothing changed) when a row is invalid and not
    ``skip_invalid``; see the module docstring for formats and semantics.
    """
    files = find_contract_files(Path(directory))
    report = IngestReport(files=list(files.values()))
    try:
        with transaction(session_factory) as session, _large_sqlite_cache(session):
            ensure_org(session, org)
            state = _Ingest(session, org, report, progress, skip_invalid)
            with state.pipeline():
                for entity, path in files.items():
                    state.load_file(entity, path)
            # the writer reports reference errors later than the reader reports the rest
            order = {p.name: i for i, p in enumerate(files.values())}
            report.errors.sort(key=lambda e: (order.get(e.file, -1), e.line))
            if report.errors and not skip_invalid:
                raise IngestError(report)  # leaving the block rolls the transaction back
    except IngestError:
        report.counts = dict.fromkeys(report.counts, 0)
        raise
    return report
