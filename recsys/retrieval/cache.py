"""Text-embedding caches: unchanged texts are never encoded twice.

:class:`EmbeddingCache` is persistent: rows live in the ``embedding_cache`` table
(:class:`recsys.db.EmbeddingCacheEntry`), keyed by (encoder id, sha256 of the exact text).
Encoder ids name model, revision and backend, so a model or backend change simply misses the
cache instead of mixing vector spaces. :class:`InlineVectorCache` keeps the vectors of texts the
service is not asked to store (inline mentee profiles) in memory only.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol

import numpy as np
import sqlalchemy as sa

from recsys.db import EmbeddingCacheEntry

# SQLite builds before 3.32 allow 999 bound parameters per statement; stay below for reads
# (one per hash, plus the encoder id) and for multi-row inserts (4 per row).
_READ_CHUNK = 900
_WRITE_CHUNK = 200
_ENCODE_CHUNK = 4096


class TextEncoder(Protocol):
    """What the cache needs from an encoder (``models.embedder.Embedder`` satisfies it)."""

    @property
    def encoder_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        show_progress: bool = False,
    ) -> np.ndarray: ...


def content_hash(text: str) -> str:
    """sha256 hex of the UTF-8 text: the cache key (no normalisation, exact text only)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _on_conflict_update(dialect: str, table: sa.Table, rows: list[dict[str, Any]]) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
    stmt: Any = insert(table).values(rows)
    # Two writers encoding the same text store the same vector: last write wins.
    return stmt.on_conflict_do_update(
        index_elements=[table.c.encoder_id, table.c.content_hash],
        set_={"dim": stmt.excluded.dim, "vector": stmt.excluded.vector},
    )


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class VectorMemory:
    """A bounded, thread-safe LRU of vectors by (encoder id, content hash)."""

    def __init__(self, max_entries: int) -> None:
        self._entries: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get_many(self, encoder_id: str, hashes: Sequence[str], dim: int) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for key in hashes:
                vec = self._entries.get((encoder_id, key))
                if vec is not None and vec.shape[0] == dim:
                    self._entries.move_to_end((encoder_id, key))
                    found[key] = vec
        return found

    def put_many(self, encoder_id: str, vectors: Mapping[str, np.ndarray]) -> None:
        if self._max <= 0:
            return
        with self._lock:
            for key, vec in vectors.items():
                self._entries[(encoder_id, key)] = vec
                self._entries.move_to_end((encoder_id, key))
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


def encode_through(
    embedder: TextEncoder,
    texts: Sequence[str],
    get_many: Callable[[str, Sequence[str], int], dict[str, np.ndarray]],
    put_many: Callable[[str, Mapping[str, np.ndarray]], None],
    show_progress: bool = False,
) -> np.ndarray:
    """Vectors for all ``texts`` (row i for text i) from a cache (``get_many`` / ``put_many``
    by content hash), encoding only the texts it lacks, each distinct text once. New vectors
    are handed to ``put_many`` every few thousand texts, so an interrupted bulk run keeps what
    it already paid for."""
    dim = embedder.dim
    out = np.empty((len(texts), dim), dtype=np.float32)
    if not texts:
        return out
    hashes = [content_hash(t) for t in texts]
    cached = get_many(embedder.encoder_id, hashes, dim)
    missing: dict[str, str] = {}
    for key, text in zip(hashes, texts, strict=True):
        if key not in cached and key not in missing:
            missing[key] = text
    pending = list(missing.items())
    for chunk in _chunks(pending, _ENCODE_CHUNK):
        keys = [key for key, _ in chunk]
        fresh = embedder.encode([text for _, text in chunk], show_progress=show_progress)
        if fresh.shape != (len(keys), dim):
            raise ValueError(
                f"encoder {embedder.encoder_id} returned shape {fresh.shape}, "
                f"expected {(len(keys), dim)}"
            )
        new = dict(zip(keys, np.asarray(fresh, dtype=np.float32), strict=True))
        put_many(embedder.encoder_id, new)
        cached.update(new)
    for row, key in enumerate(hashes):
        out[row] = cached[key]
    return out


class InlineVectorCache:
    """Vectors of inline texts (a mentee profile sent in the request, never stored), by
    content hash, in a bounded in-process LRU only: nothing reaches the database, and a
    restart forgets them. An app that sends the same profile again (each visit to a
    suggestions page, after a decline) then pays no encoding: the goal encoding is most of
    an inline recommendation's CPU. ``max_entries`` counts sentences; 0 turns it off."""

    def __init__(self, max_entries: int) -> None:
        self._memory = VectorMemory(max_entries) if max_entries > 0 else None

    def __len__(self) -> int:
        return 0 if self._memory is None else len(self._memory)

    def encode(self, embedder: TextEncoder, texts: Sequence[str]) -> np.ndarray:
        if self._memory is None:
            return embedder.encode(list(texts))
        return encode_through(embedder, texts, self._memory.get_many, self._memory.put_many)


class EmbeddingCache:
    """Vectors by (encoder id, content hash) in the ``embedding_cache`` table, fronted by a
    bounded in-process LRU: a stored mentee asked about again costs no database round trip
    (about 1 ms of the serving path per request)."""

    def __init__(self, engine: sa.Engine, memory_entries: int = 20_000) -> None:
        self._engine = engine
        self._table: sa.Table = EmbeddingCacheEntry.__table__  # type: ignore[assignment]
        self._memory = VectorMemory(memory_entries)

    def get_many(
        self, encoder_id: str, hashes: Sequence[str], dim: int, *, remember: bool = True
    ) -> dict[str, np.ndarray]:
        """Cached vectors for the given content hashes; rows of the wrong size are ignored.
        ``remember=False`` leaves what is read from the table out of the in-process LRU."""
        unique = list(dict.fromkeys(hashes))
        found = self._memory.get_many(encoder_id, unique, dim)
        unique = [key for key in unique if key not in found]
        if not unique:
            return found
        from_db: dict[str, np.ndarray] = {}
        table = self._table
        with self._engine.connect() as conn:
            for chunk in _chunks(unique, _READ_CHUNK):
                rows = conn.execute(
                    sa.select(table.c.content_hash, table.c.dim, table.c.vector).where(
                        table.c.encoder_id == encoder_id, table.c.content_hash.in_(chunk)
                    )
                )
                for key, row_dim, blob in rows:
                    if row_dim != dim or blob is None or len(blob) != dim * 4:
                        continue  # damaged or from an incompatible writer: re-encode it
                    from_db[key] = np.frombuffer(blob, dtype="<f4")
        if remember:
            self._memory.put_many(encoder_id, from_db)
        found.update(from_db)
        return found

    def put_many(
        self, encoder_id: str, vectors: Mapping[str, np.ndarray], *, remember: bool = True
    ) -> None:
        """Store vectors by content hash, replacing existing rows for the same key."""
        if not vectors:
            return
        rows = [
            {
                "encoder_id": encoder_id,
                "content_hash": key,
                "dim": int(vec.shape[0]),
                "vector": np.ascontiguousarray(vec, dtype="<f4").tobytes(),
            }
            for key, vec in vectors.items()
        ]
        table = self._table
        dialect = self._engine.dialect.name
        with self._engine.begin() as conn:
            for chunk in _chunks(rows, _WRITE_CHUNK):
                if dialect in ("sqlite", "postgresql"):
                    conn.execute(_on_conflict_update(dialect, table, list(chunk)))
                else:  # no ON CONFLICT: delete-then-insert inside the same transaction
                    for row in chunk:
                        conn.execute(
                            table.delete().where(
                                table.c.encoder_id == row["encoder_id"],
                                table.c.content_hash == row["content_hash"],
                            )
                        )
                    conn.execute(table.insert(), list(chunk))
        if remember:
            self._memory.put_many(encoder_id, vectors)

    def encode_cached(
        self,
        embedder: TextEncoder,
        texts: Sequence[str],
        show_progress: bool = False,
        *,
        remember: bool = True,
    ) -> np.ndarray:
        """Vectors for all ``texts`` (row i for text i), encoding only texts not yet cached.

        Identical texts are encoded once; new vectors are stored every few thousand texts.
        ``remember=False`` (a catalog's bios, which the catalog itself keeps) keeps them out
        of the in-process LRU, which is for mentees asked about one at a time: a 100k-mentor
        catalog's 400k bio sentences would otherwise evict every mentee from it at each load.
        """
        return encode_through(
            embedder,
            texts,
            partial(self.get_many, remember=remember),
            partial(self.put_many, remember=remember),
            show_progress,
        )

    def count(self, encoder_id: str | None = None) -> int:
        stmt = sa.select(sa.func.count()).select_from(self._table)
        if encoder_id is not None:
            stmt = stmt.where(self._table.c.encoder_id == encoder_id)
        with self._engine.connect() as conn:
            return int(conn.execute(stmt).scalar_one())
