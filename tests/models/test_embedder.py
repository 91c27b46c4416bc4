from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from models import embedder as embedder_module
from models.embedder import (
    BUNDLED_SHA256,
    Embedder,
    EncoderIntegrityError,
    cached_sha256,
    int8_quantization_config,
    plan_shards,
    resolve_source,
    sha256_file,
)
from recsys.settings import Settings

# ----------------------------------------------------------------------------- fast, no model


def test_cached_sha256_reuses_and_invalidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"abc")
    cache_dir = tmp_path / "cache"
    first = cached_sha256(weights, cache_dir)
    assert first == sha256_file(weights)

    calls: list[Path] = []
    real = embedder_module.sha256_file

    def counting(path: Path, chunk_size: int = 1 << 20) -> str:
        calls.append(path)
        return real(path, chunk_size)

    monkeypatch.setattr(embedder_module, "sha256_file", counting)
    assert cached_sha256(weights, cache_dir) == first
    assert calls == []  # served from the cache file

    weights.write_bytes(b"abcd")  # size changes: the cached digest must not be trusted
    assert cached_sha256(weights, cache_dir) == real(weights)
    assert len(calls) == 1


def test_bundled_weights_with_wrong_hash_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "model"
    fake.mkdir()
    (fake / "model.safetensors").write_bytes(b"not the real weights")
    monkeypatch.setattr(embedder_module, "bundled_model_path", lambda: fake)
    with pytest.raises(EncoderIntegrityError, match=BUNDLED_SHA256):
        resolve_source("all-MiniLM-L6-v2", tmp_path / "encoders")


def test_bundled_source_is_verified_and_named() -> None:
    source = resolve_source("all-MiniLM-L6-v2", None)
    assert source.bundled and source.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert source.revision == "1110a243"
    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_local_directory_source_is_named_by_weight_hash(tmp_path: Path) -> None:
    model_dir = tmp_path / "my-encoder"
    model_dir.mkdir()
    (model_dir / "model.safetensors").write_bytes(b"weights v1")
    first = resolve_source(str(model_dir), None)
    (model_dir / "model.safetensors").write_bytes(b"weights v2")
    second = resolve_source(str(model_dir), None)
    assert first.name == "my-encoder" and not first.bundled
    assert first.revision != second.revision


def test_int8_config_is_a_known_preset() -> None:
    assert int8_quantization_config() in {"avx512_vnni", "avx2", "arm64"}


def test_unknown_backend_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="backend"):
        Embedder.load(backend="tensorrt", home=tmp_path)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- real model

TEXTS = [
    "I lead a data engineering team and enjoy coaching people on pipeline design.",
    "Twenty years in finance; I mentor on budgeting, forecasting and stakeholder management.",
    "I want to learn how to design reliable data pipelines and grow into a tech lead role.",
]


@pytest.fixture(scope="module")
def torch_embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    home = tmp_path_factory.mktemp("home")
    return Embedder.from_settings(Settings(home=home, encoder_backend="torch", threads=2))


@pytest.mark.slow
def test_torch_encode_shapes_norms_and_meaning(torch_embedder: Embedder) -> None:
    assert torch_embedder.encoder_id == "sentence-transformers/all-MiniLM-L6-v2@1110a243/torch"
    assert torch_embedder.dim == 384
    vectors = torch_embedder.encode(TEXTS, batch_size=2)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # The data-engineering goal is closer to the data-engineering mentor than to finance.
    assert vectors[2] @ vectors[0] > vectors[2] @ vectors[1] + 0.1
    assert torch_embedder.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        torch_embedder.encode("a single string")  # type: ignore[arg-type]


@pytest.mark.slow
def test_encode_one_matches_batch_encode(torch_embedder: Embedder) -> None:
    single = torch_embedder.encode_one(TEXTS[1])
    batch = torch_embedder.encode(TEXTS)
    assert single.shape == (384,) and single.dtype == np.float32
    assert float(single @ batch[1]) > 0.9999
    few = torch_embedder.encode_few(TEXTS[:3])  # padded direct pass: same vectors
    assert few.shape == (3, 384)
    assert np.allclose(np.einsum("ij,ij->i", few, batch[:3]), 1.0, atol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "min_cosine"), [("onnx", 0.9999), ("onnx-int8", 0.95)])
def test_onnx_backends_agree_with_torch(
    torch_embedder: Embedder, tmp_path: Path, backend: str, min_cosine: float
) -> None:
    onnx = Embedder.load(backend=backend, home=tmp_path)  # type: ignore[arg-type]
    assert onnx.encoder_id.startswith("sentence-transformers/all-MiniLM-L6-v2@1110a243/onnx")
    assert onnx.encoder_id != torch_embedder.encoder_id
    cosines = np.sum(onnx.encode(TEXTS) * torch_embedder.encode(TEXTS), axis=1)
    assert cosines.min() > min_cosine
    assert float(onnx.encode_one(TEXTS[0]) @ torch_embedder.encode_one(TEXTS[0])) > min_cosine
    # The export is written once under home/encoders and reused by the next load.
    exported = sorted(p.name for p in tmp_path.glob("encoders/*/onnx/*.onnx"))
    assert "model.onnx" in exported
    reloaded = Embedder.load(backend=backend, home=tmp_path)  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.glob("encoders/*/onnx/*.onnx")) == exported
    np.testing.assert_allclose(reloaded.encode(TEXTS), onnx.encode(TEXTS), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["avx2", "avx512_vnni"])
def test_int8_export_of_each_x86_preset_loads_and_agrees_with_torch(
    torch_embedder: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, preset: str
) -> None:
    """The exporter names the avx2 file ``model_quint8_avx2.onnx`` (unsigned weights), not
    ``model_qint8_*``: a CPU without avx512_vnni must still get its int8 encoder."""
    monkeypatch.setattr(embedder_module, "int8_quantization_config", lambda: preset)
    int8 = Embedder.load(backend="onnx-int8", home=tmp_path)
    assert int8.encoder_id.endswith(f"/onnx-int8-{preset}")
    cosines = np.sum(int8.encode(TEXTS) * torch_embedder.encode(TEXTS), axis=1)
    assert cosines.min() > 0.95
    exported = sorted(p.name for p in tmp_path.glob(f"encoders/*/onnx/model_*{preset}.onnx"))
    assert len(exported) == 1
    reloaded = Embedder.load(backend="onnx-int8", home=tmp_path)  # found again, not re-made
    assert sorted(p.name for p in tmp_path.glob("encoders/*/onnx/model_*.onnx")) == exported
    np.testing.assert_allclose(reloaded.encode(TEXTS), int8.encode(TEXTS), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "atol", "min_cosine"), [("onnx", 1e-5, 0.99999), ("onnx-int8", 0.08, 0.95)]
)
def test_onnx_row_parallel_paths_match_the_sequential_encoder(
    tmp_path: Path, backend: str, atol: float, min_cosine: float
) -> None:
    """Two workers (bulk batches in flight, a request's rows split by length) give the same
    vectors as sentence-transformers' own single-threaded encode on the same session. int8
    activations are quantised per batch, so its vectors move a little with the batch."""
    settings = Settings(home=tmp_path, encoder_backend=backend, threads=2)  # type: ignore[arg-type]
    parallel = Embedder.from_settings(settings)
    assert parallel._workers == 2
    texts = [*TEXTS, "Short one.", "Another goal: negotiate my first promotion this year.", "x"]
    reference = parallel._model.encode(texts, normalize_embeddings=True, batch_size=64)

    def check(got: np.ndarray, want: np.ndarray) -> None:
        np.testing.assert_allclose(got, want, atol=atol)
        assert np.einsum("ij,ij->i", got.reshape(-1, 384), want.reshape(-1, 384)).min() > min_cosine

    check(parallel.encode(texts * 2, batch_size=2), np.vstack([reference, reference]))  # bulk
    check(parallel.encode(texts), reference)  # a few texts: one direct pass
    check(parallel.encode_few(texts[:4]), reference[:4])
    check(parallel.encode_one(texts[4]), reference[4])
    parallel.close()
    check(parallel.encode_few(texts[3:]), reference[3:])


@pytest.mark.slow
def test_onnx_fast_path_tokenises_like_the_model_and_splits_only_when_a_core_is_free(
    tmp_path: Path,
) -> None:
    embedder = Embedder.from_settings(
        Settings(home=tmp_path, encoder_backend="onnx", threads=2)  # type: ignore[arg-type]
    )
    texts = [*TEXTS, "Ünïcödé goals, 日本語 too!", "", "word " * 400]  # the last one truncates
    own = dict(embedder._preprocess(texts))
    fast = embedder._tokenize(texts)
    assert set(fast) == {"input_ids", "attention_mask", "token_type_ids"}
    for name, array in fast.items():
        assert isinstance(array, np.ndarray)
        np.testing.assert_array_equal(array, own[name].numpy(), err_msg=name)
    assert fast["input_ids"].shape[1] == 256  # max_seq_length, [CLS] and [SEP] included

    reference = embedder._model.encode(texts[:4], normalize_embeddings=True)
    # The one helper thread is busy (another request's shard): rows run whole on this thread.
    assert embedder._free_helpers.acquire(blocking=False)
    try:
        busy = embedder.encode_few(texts[:4])
        assert embedder._pool is None  # nothing was handed to the pool
    finally:
        embedder._free_helpers.release()
    np.testing.assert_allclose(busy, reference, atol=1e-5)
    embedder._in_flight = 1  # another request's encoding runs: the cores are taken
    try:
        crowded = embedder.encode_few(texts[:4])
        assert embedder._pool is None and embedder._in_flight == 1
    finally:
        embedder._in_flight = 0
    np.testing.assert_allclose(crowded, reference, atol=1e-5)
    free = embedder.encode_few(texts[:4])  # helper free: split over two threads
    assert embedder._pool is not None
    np.testing.assert_allclose(free, reference, atol=1e-5)
    assert embedder._free_helpers.acquire(blocking=False)  # the helper was handed back
    embedder._free_helpers.release()
    embedder.close()


def test_shard_plan_balances_padded_tokens_and_splits_alone_only_when_padding_pays() -> None:
    lengths = np.array([12, 30, 8, 22, 15, 18])  # rows 1, 3, 5, 4, 0, 2 longest first
    # Two threads: the longest two rows alone (2 x 30 tokens) against the other four
    # (4 x 18); splitting by count would leave 3 x 30 tokens on the slower thread.
    concurrent = plan_shards(lengths, threads=2)
    assert [s.tolist() for s in concurrent] == [[1, 3], [5, 4, 0, 2]]
    # One thread: the same cut is also the cheapest in total (147 tokens against 187.5).
    assert [s.tolist() for s in plan_shards(lengths, threads=1)] == [[1, 3], [5, 4, 0, 2]]
    # Equal lengths: nothing to save on padding, so one call.
    assert [s.tolist() for s in plan_shards(np.full(4, 10), threads=1)] == [[0, 1, 2, 3]]
    # A lone row
    assert [s.tolist() for s in plan_shards(np.array([7]), threads=2)] == [[0]]
    # Three threads (a 4-core host): 30 | 22, 18 | 15, 12, 8, the slowest call 3 x 15 tokens.
    assert [s.tolist() for s in plan_shards(lengths, threads=3)] == [[1], [3, 5], [4, 0, 2]]
    for n in range(2, 17):
        rng = np.random.default_rng(n)
        for threads in (1, 2, 4):
            shards = plan_shards(rng.integers(3, 60, n), threads=threads)
            assert sorted(np.concatenate(shards).tolist()) == list(range(n))
            assert 1 <= len(shards) <= max(threads, 2) and all(len(s) for s in shards)


def test_a_whole_goal_is_one_direct_pass() -> None:
    """Goals are encoded sentence by sentence up to MAX_SPLIT; all of them must take the
    request path (encode_few, split over threads), not the bulk one."""
    from recsys.catalog import MAX_SPLIT

    assert embedder_module.FEW_TEXTS >= MAX_SPLIT
