from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from recsys.db import Base, EmbeddingCacheEntry
from recsys.retrieval import cache as cache_module
from recsys.retrieval.cache import EmbeddingCache, InlineVectorCache, content_hash


class CountingEncoder:
    """Deterministic fake encoder that records every text it is asked to encode."""

    def __init__(self, encoder_id: str = "fake@1/torch", dim: int = 8) -> None:
        self.encoder_id = encoder_id
        self.dim = dim
        self.encoded: list[str] = []

    def encode(
        self, texts: Sequence[str], *, batch_size: int | None = None, show_progress: bool = False
    ) -> np.ndarray:
        self.encoded.extend(texts)
        rows = []
        for text in texts:
            seed = int(content_hash(text)[:8], 16)
            vec = np.random.default_rng(seed).normal(size=self.dim).astype(np.float32)
            rows.append(vec / np.linalg.norm(vec))
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)


@pytest.fixture
def cache_engine(tmp_path: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'cache.db'}")
    Base.metadata.create_all(engine)
    return engine


def test_encodes_only_uncached_texts(cache_engine: sa.Engine) -> None:
    cache = EmbeddingCache(cache_engine)
    encoder = CountingEncoder()
    first = cache.encode_cached(encoder, ["alpha", "beta"])
    assert encoder.encoded == ["alpha", "beta"]
    np.testing.assert_array_equal(first, CountingEncoder().encode(["alpha", "beta"]))

    encoder.encoded.clear()
    again = cache.encode_cached(encoder, ["beta", "alpha"])
    assert encoder.encoded == []  # unchanged texts never reach the encoder
    np.testing.assert_array_equal(again, first[::-1])

    mixed = cache.encode_cached(encoder, ["alpha", "gamma"])
    assert encoder.encoded == ["gamma"]
    np.testing.assert_array_equal(mixed[0], first[0])
    assert cache.count() == 3


def test_duplicate_texts_are_encoded_once(cache_engine: sa.Engine) -> None:
    encoder = CountingEncoder()
    out = EmbeddingCache(cache_engine).encode_cached(encoder, ["same", "other", "same"])
    assert encoder.encoded == ["same", "other"]
    np.testing.assert_array_equal(out[0], out[2])
    assert out.shape == (3, 8) and out.dtype == np.float32


def test_cache_survives_a_new_engine(tmp_path: Path, cache_engine: sa.Engine) -> None:
    EmbeddingCache(cache_engine).encode_cached(CountingEncoder(), ["persisted"])
    cache_engine.dispose()
    reopened = sa.create_engine(f"sqlite:///{tmp_path / 'cache.db'}")
    encoder = CountingEncoder()
    EmbeddingCache(reopened).encode_cached(encoder, ["persisted"])
    assert encoder.encoded == []


def test_entries_are_scoped_by_encoder_id(cache_engine: sa.Engine) -> None:
    cache = EmbeddingCache(cache_engine)
    cache.encode_cached(CountingEncoder("a@1/torch"), ["text"])
    other = CountingEncoder("a@1/onnx")
    cache.encode_cached(other, ["text"])
    assert other.encoded == ["text"]
    assert cache.count("a@1/torch") == 1 and cache.count("a@1/onnx") == 1


def test_many_texts_cross_sqlite_variable_limit(
    cache_engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small chunks exercise the multi-statement read/write and multi-slice encode paths.
    monkeypatch.setattr(cache_module, "_READ_CHUNK", 7)
    monkeypatch.setattr(cache_module, "_WRITE_CHUNK", 5)
    monkeypatch.setattr(cache_module, "_ENCODE_CHUNK", 11)
    texts = [f"bio number {i}" for i in range(2500)]
    cache = EmbeddingCache(cache_engine)
    encoder = CountingEncoder()
    first = cache.encode_cached(encoder, texts)
    assert len(encoder.encoded) == 2500
    encoder.encoded.clear()
    second = cache.encode_cached(encoder, texts)
    assert encoder.encoded == []
    np.testing.assert_array_equal(first, second)


def test_damaged_rows_are_re_encoded(cache_engine: sa.Engine) -> None:
    cache = EmbeddingCache(cache_engine)
    encoder = CountingEncoder()
    expected = cache.encode_cached(encoder, ["fragile"])
    with cache_engine.begin() as conn:
        conn.execute(sa.update(EmbeddingCacheEntry).values(vector=b"\x00\x01"))
    encoder.encoded.clear()
    fresh = EmbeddingCache(cache_engine)  # another process: nothing in its memory front
    again = fresh.encode_cached(encoder, ["fragile"])
    assert encoder.encoded == ["fragile"]
    np.testing.assert_array_equal(again, expected)
    assert cache.count() == 1  # the bad row was replaced, not duplicated


def test_empty_input_and_wrong_encoder_output(cache_engine: sa.Engine) -> None:
    cache = EmbeddingCache(cache_engine)
    assert cache.encode_cached(CountingEncoder(), []).shape == (0, 8)

    class Broken(CountingEncoder):
        def encode(self, texts, *, batch_size=None, show_progress=False):  # type: ignore[no-untyped-def]
            return np.zeros((len(texts), 3), dtype=np.float32)

    with pytest.raises(ValueError, match="shape"):
        cache.encode_cached(Broken(), ["x"])


def test_content_hash_is_sha256_of_exact_text() -> None:
    assert content_hash("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    assert content_hash("abc ") != content_hash("abc")


def test_works_on_the_migrated_store(engine: sa.Engine) -> None:
    # ``engine`` (tests/recsys/conftest.py): Alembic-migrated SQLite, plus PostgreSQL when
    # RECSYS_TEST_POSTGRES_URL is set, so the ON CONFLICT upsert runs on both dialects.
    cache = EmbeddingCache(engine)
    encoder = CountingEncoder()
    first = cache.encode_cached(encoder, ["one", "two", "one"])
    cache.put_many(encoder.encoder_id, {content_hash("one"): first[0]})  # overwrite, no error
    encoder.encoded.clear()
    np.testing.assert_array_equal(cache.encode_cached(encoder, ["two", "one"]), first[[1, 0]])
    assert encoder.encoded == [] and cache.count() == 2


def test_memory_front_answers_repeated_reads_without_the_database(
    cache_engine: sa.Engine,
) -> None:
    cache = EmbeddingCache(cache_engine, memory_entries=2)
    encoder = CountingEncoder()
    vectors = cache.encode_cached(encoder, ["a", "b"])
    with cache_engine.begin() as conn:
        conn.execute(sa.delete(EmbeddingCacheEntry))
    hashes = [content_hash("a"), content_hash("b")]
    remembered = cache.get_many(encoder.encoder_id, hashes, encoder.dim)
    np.testing.assert_array_equal(remembered[hashes[0]], vectors[0])
    assert EmbeddingCache(cache_engine).get_many(encoder.encoder_id, hashes, encoder.dim) == {}
    cache.encode_cached(encoder, ["c"])  # bounded: the least recently used entry goes
    assert set(cache.get_many(encoder.encoder_id, hashes, encoder.dim)) == {hashes[1]}


def test_bulk_reads_leave_the_memory_front_to_single_mentees(cache_engine: sa.Engine) -> None:
    """A catalog load (``remember=False``) neither evicts a remembered mentee nor fills the
    memory with bios the catalog keeps anyway; its vectors still reach the table."""
    cache = EmbeddingCache(cache_engine, memory_entries=3)
    encoder = CountingEncoder()
    mentee = cache.encode_cached(encoder, ["goal"])
    bios = [f"bio {n}" for n in range(10)]
    cache.encode_cached(encoder, bios, remember=False)  # encoded and stored
    cache.encode_cached(encoder, bios, remember=False)  # read back from the table
    assert len(cache._memory) == 1 and cache.count() == 11
    with cache_engine.begin() as conn:
        conn.execute(sa.delete(EmbeddingCacheEntry))
    hashes = [content_hash("goal"), content_hash("bio 0")]
    found = cache.get_many(encoder.encoder_id, hashes, encoder.dim)
    assert set(found) == {hashes[0]}  # the mentee from memory; the bio was never kept there
    np.testing.assert_array_equal(found[hashes[0]], mentee[0])


def test_inline_cache_encodes_each_sentence_once_and_keeps_the_newest() -> None:
    cache = InlineVectorCache(max_entries=3)
    encoder = CountingEncoder()
    first = cache.encode(encoder, ["a", "b", "a"])
    assert encoder.encoded == ["a", "b"]
    np.testing.assert_array_equal(first[0], first[2])
    again = cache.encode(encoder, ["b", "a"])
    assert encoder.encoded == ["a", "b"]  # both from memory
    np.testing.assert_array_equal(again, first[[1, 0]])
    cache.encode(encoder, ["c", "d"])  # 4 sentences for 3 places: "b" (least recent) goes
    assert len(cache) == 3
    cache.encode(encoder, ["a", "b"])
    assert encoder.encoded == ["a", "b", "c", "d", "b"]


def test_inline_cache_is_scoped_by_encoder_and_can_be_off() -> None:
    cache = InlineVectorCache(max_entries=10)
    one, other = CountingEncoder("fake@1/torch"), CountingEncoder("fake@2/torch")
    cache.encode(one, ["x"])
    cache.encode(other, ["x"])
    assert other.encoded == ["x"]  # another encoder's vector is never reused
    off = InlineVectorCache(max_entries=0)
    off.encode(one, ["y"])
    off.encode(one, ["y"])
    assert one.encoded == ["x", "y", "y"] and len(off) == 0
