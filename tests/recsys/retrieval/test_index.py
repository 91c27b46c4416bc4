from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recsys.retrieval.index import (
    CandidateIndex,
    IndexIntegrityError,
    IndexMismatchError,
    resolve_index_type,
)

ENCODER = "test-encoder@0000/torch"
DIM = 16


def unit_rows(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def ids_for(n: int, prefix: str = "m") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def exact_top(vectors: np.ndarray, ids: list[str], query: np.ndarray, k: int) -> list[str]:
    order = np.argsort(-(vectors @ query), kind="stable")[:k]
    return [ids[i] for i in order]


@pytest.fixture(params=["flat", "hnsw"])
def index_type(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_exact_search_matches_brute_force() -> None:
    vectors, ids = unit_rows(300), ids_for(300)
    index = CandidateIndex.build(ids, vectors, encoder_id=ENCODER, index_type="flat")
    queries = unit_rows(5, seed=1)
    got_ids, scores = index.search(queries, 10)
    assert scores.shape == (5, 10)
    for row, query in enumerate(queries):
        assert got_ids[row] == exact_top(vectors, ids, query, 10)
        expected = np.sort(vectors @ query)[::-1][:10]
        np.testing.assert_allclose(scores[row], expected, rtol=1e-5, atol=1e-6)


def test_search_caps_k_at_pool_size() -> None:
    index = CandidateIndex.build(ids_for(3), unit_rows(3), encoder_id=ENCODER)
    got_ids, scores = index.search(unit_rows(1, seed=2), 10)
    assert len(got_ids[0]) == 3 and scores.shape == (1, 3)
    assert list(scores[0]) == sorted(scores[0], reverse=True)


def test_hnsw_recall_is_high_on_small_pool() -> None:
    vectors, ids = unit_rows(2000), ids_for(2000)
    index = CandidateIndex.build(ids, vectors, encoder_id=ENCODER, index_type="hnsw")
    assert index.index_type == "hnsw"
    queries = unit_rows(20, seed=3)
    got_ids, _ = index.search(queries, 10)
    recall = np.mean(
        [
            len(set(g) & set(exact_top(vectors, ids, q, 10))) / 10
            for g, q in zip(got_ids, queries, strict=True)
        ]
    )
    assert recall >= 0.95


def test_auto_switches_to_approximate_above_exact_max() -> None:
    at_limit = CandidateIndex.build(ids_for(50), unit_rows(50), encoder_id=ENCODER, exact_max=50)
    above = CandidateIndex.build(ids_for(51), unit_rows(51), encoder_id=ENCODER, exact_max=50)
    assert at_limit.index_type == "flat"
    assert above.index_type == "hnsw"
    assert resolve_index_type("flat", 10**6, 50) == "flat"
    with pytest.raises(ValueError):
        resolve_index_type("annoy", 1, 50)


def test_auto_index_growing_past_exact_max_becomes_hnsw() -> None:
    index = CandidateIndex.build(ids_for(50), unit_rows(50), encoder_id=ENCODER, exact_max=50)
    index.upsert(["new"], unit_rows(1, seed=9))
    assert index.index_type == "hnsw"
    assert len(index) == 51
    got, _ = index.search(unit_rows(1, seed=9), 1)
    assert got[0] == ["new"]


def test_upsert_and_remove_are_visible_in_search(index_type: str) -> None:
    vectors, ids = unit_rows(200), ids_for(200)
    index = CandidateIndex.build(ids, vectors, encoder_id=ENCODER, index_type=index_type)
    query = unit_rows(1, seed=5)[0]
    # A new id identical to the query must rank first.
    index.upsert(["newcomer"], query[None, :])
    got, scores = index.search(query[None, :], 1)
    assert got[0] == ["newcomer"] and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    # Moving an existing id onto the query replaces its old vector.
    index.upsert(["m7"], query[None, :])
    got, _ = index.search(query[None, :], 2)
    assert set(got[0]) == {"newcomer", "m7"}
    np.testing.assert_allclose(index.vectors_for(["m7"])[0], query, atol=1e-6)
    assert len(index) == 201
    # Removed ids never come back.
    assert index.remove(["newcomer", "m7", "unknown"]) == 2
    got, _ = index.search(query[None, :], 201)
    assert "newcomer" not in got[0] and "m7" not in got[0]
    assert len(got[0]) == len(index) == 199
    assert "m7" not in index and "m8" in index


def test_hnsw_compacts_when_tombstones_pile_up() -> None:
    vectors, ids = unit_rows(400), ids_for(400)
    index = CandidateIndex.build(
        ids, vectors, encoder_id=ENCODER, index_type="hnsw", tombstone_fraction=0.2
    )
    index.remove(ids[:60])
    assert index.tombstones == 60  # below max(64, 0.2 * 340): kept as tombstones
    index.remove(ids[60:80])
    assert index.tombstones == 0  # 80 > 64: rebuilt from the live vectors
    assert len(index) == 320 and index.ids == ids[80:]
    np.testing.assert_allclose(index.vectors_for(["m100"]), vectors[[100]], atol=1e-6)
    got, _ = index.search(vectors[[100]], 1)
    assert got[0] == ["m100"]


def _compaction_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[np.ndarray, list[str], CandidateIndex, threading.Thread, threading.Event]:
    """An HNSW index of 400 whose removal of 100 is compacting on another thread, its build
    held until the returned event is set."""
    vectors, ids = unit_rows(400), ids_for(400)
    index = CandidateIndex.build(ids, vectors, encoder_id=ENCODER, index_type="hnsw")
    building, release = threading.Event(), threading.Event()
    built = index._built

    def slow_build(ids: list[str], matrix: np.ndarray) -> Any:
        building.set()
        assert release.wait(10)
        return built(ids, matrix)

    monkeypatch.setattr(index, "_built", slow_build)
    remover = threading.Thread(target=index.remove, args=(ids[:100],))
    remover.start()
    assert building.wait(10)
    return vectors, ids, index, remover, release


def test_searches_go_on_while_a_compaction_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rebuild is made outside the lock (an HNSW of 100k mentors takes about a minute):
    searches are answered from the current structure meanwhile, then from the new one."""
    vectors, ids, index, remover, release = _compaction_in_flight(monkeypatch)
    answered: list[list[str]] = []
    searcher = threading.Thread(target=lambda: answered.extend(index.search(vectors[[200]], 3)[0]))
    searcher.start()
    searcher.join(5)
    assert answered and answered[0][0] == "m200"  # not waiting for the build
    assert index.tombstones == 100  # still the old structure
    release.set()
    remover.join(10)
    assert index.tombstones == 0 and index.ids == ids[100:]
    assert index.search(vectors[[200]], 1)[0] == [["m200"]]


def test_a_change_during_a_compaction_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    _, ids, index, remover, release = _compaction_in_flight(monkeypatch)
    fraction = index.tombstone_fraction
    index.tombstone_fraction = 10.0  # this upsert compacts nothing itself
    index.upsert(["new"], unit_rows(1, seed=7))  # another writer, mid-build
    index.tombstone_fraction = fraction
    release.set()
    remover.join(10)
    assert not remover.is_alive()
    assert index.tombstones == 0 and set(index.ids) == set(ids[100:]) | {"new"}
    assert index.search(unit_rows(1, seed=7), 1)[0] == [["new"]]


def test_vectors_for_returns_stored_rows_and_rejects_unknown() -> None:
    vectors, ids = unit_rows(10), ids_for(10)
    index = CandidateIndex.build(ids, vectors, encoder_id=ENCODER)
    np.testing.assert_array_equal(index.vectors_for(["m3", "m1"]), vectors[[3, 1]])
    with pytest.raises(KeyError, match="nope"):
        index.vectors_for(["nope"])


def test_build_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unique"):
        CandidateIndex.build(["a", "a"], unit_rows(2), encoder_id=ENCODER)
    with pytest.raises(ValueError, match="ids for"):
        CandidateIndex.build(["a"], unit_rows(2), encoder_id=ENCODER)
    index = CandidateIndex.build(["a"], unit_rows(1), encoder_id=ENCODER)
    with pytest.raises(ValueError, match="dimension"):
        index.upsert(["b"], unit_rows(1, dim=DIM + 1))


def test_manifest_round_trip(tmp_path: Path, index_type: str) -> None:
    vectors, ids = unit_rows(120), ids_for(120)
    index = CandidateIndex.build(ids, vectors, encoder_id=ENCODER, index_type=index_type)
    index.remove(["m5"])  # persisted tombstone / freed slot
    target = index.save(tmp_path / "idx")
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["encoder_id"] == ENCODER
    assert manifest["dim"] == DIM and manifest["count"] == 119
    assert manifest["index_type"] == index_type
    assert {"created_at", "faiss_version", "sha256"} <= manifest.keys()

    loaded = CandidateIndex.load(target, expected_encoder_id=ENCODER)
    assert loaded.index_type == index_type and len(loaded) == 119
    assert loaded.ids == index.ids
    queries = unit_rows(3, seed=21)
    assert loaded.search(queries, 7)[0] == index.search(queries, 7)[0]
    np.testing.assert_array_equal(loaded.vectors_for(["m9"]), vectors[[9]])
    loaded.upsert(["extra"], queries[:1])  # still mutable after loading
    assert loaded.search(queries[:1], 1)[0] == [["extra"]]


def test_save_replaces_existing_directory(tmp_path: Path) -> None:
    first = CandidateIndex.build(ids_for(5), unit_rows(5), encoder_id=ENCODER)
    second = CandidateIndex.build(ids_for(8, "x"), unit_rows(8), encoder_id=ENCODER)
    first.save(tmp_path / "idx")
    second.save(tmp_path / "idx")
    assert CandidateIndex.load(tmp_path / "idx", ENCODER).ids == ids_for(8, "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]


def test_load_refuses_other_encoder(tmp_path: Path) -> None:
    CandidateIndex.build(ids_for(5), unit_rows(5), encoder_id=ENCODER).save(tmp_path / "idx")
    with pytest.raises(IndexMismatchError, match="other-encoder"):
        CandidateIndex.load(tmp_path / "idx", expected_encoder_id="other-encoder@1/onnx")
    assert len(CandidateIndex.load(tmp_path / "idx", expected_encoder_id=None)) == 5


@pytest.mark.parametrize("victim", ["index.faiss", "ids.json"])
def test_load_detects_corruption(tmp_path: Path, victim: str) -> None:
    CandidateIndex.build(ids_for(5), unit_rows(5), encoder_id=ENCODER).save(tmp_path / "idx")
    path = tmp_path / "idx" / victim
    data = bytearray(path.read_bytes())
    data[-2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexIntegrityError, match="checksum"):
        CandidateIndex.load(tmp_path / "idx", expected_encoder_id=ENCODER)


def test_load_missing_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(IndexMismatchError, match="no index manifest"):
        CandidateIndex.load(tmp_path, expected_encoder_id=None)


def _allowed_exact(vectors: np.ndarray, ok: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    scores = np.where(ok, vectors @ query, -np.inf)
    return [int(i) for i in np.argsort(-scores, kind="stable")[: min(k, int(ok.sum()))]]


@pytest.mark.parametrize("share", [0.9, 0.3, 0.02])
def test_search_allowed_is_exact_on_flat(share: float) -> None:
    vectors = unit_rows(1000)
    index = CandidateIndex.build(ids_for(1000), vectors, encoder_id=ENCODER, index_type="flat")
    ok = np.random.default_rng(3).random(1000) < share
    for query in unit_rows(4, seed=4):
        slots, scores = index.search_allowed(query, 50, ok)
        assert list(slots) == _allowed_exact(vectors, ok, query, 50)
        assert ok[slots].all() and list(scores) == sorted(scores, reverse=True)


@pytest.mark.parametrize("share", [0.6, 0.05])
def test_search_allowed_on_hnsw_keeps_the_mask_and_k(share: float) -> None:
    # exact_max below the allowed count forces the HNSW id-selector path for share=0.6; the
    # sparse mask (100 allowed) is answered by the exact scan of just those rows.
    vectors = unit_rows(2000)
    index = CandidateIndex.build(
        ids_for(2000), vectors, encoder_id=ENCODER, index_type="hnsw", exact_max=500
    )
    ok = np.random.default_rng(5).random(2000) < share
    recalls = []
    for query in unit_rows(10, seed=6):
        slots, _ = index.search_allowed(query, 20, ok)
        assert len(slots) == 20 and ok[slots].all() and len(set(slots.tolist())) == 20
        recalls.append(len(set(slots.tolist()) & set(_allowed_exact(vectors, ok, query, 20))) / 20)
    assert np.mean(recalls) >= 0.95


def test_search_allowed_skips_removed_slots_and_returns_all_when_few_allowed(
    index_type: str,
) -> None:
    vectors = unit_rows(300)
    index = CandidateIndex.build(ids_for(300), vectors, encoder_id=ENCODER, index_type=index_type)
    index.remove(["m0", "m1", "m2"])
    ok = np.zeros(300, dtype=bool)
    ok[:8] = True  # three of them removed: only five live ones are allowed
    slots, _ = index.search_allowed(vectors[0], 10, ok)
    assert sorted(slots.tolist()) == [3, 4, 5, 6, 7]
    empty, _ = index.search_allowed(vectors[0], 10, np.zeros(300, dtype=bool))
    assert len(empty) == 0


def test_slot_version_and_slots_follow_mutations() -> None:
    index = CandidateIndex.build(ids_for(5), unit_rows(5), encoder_id=ENCODER, index_type="flat")
    before = index.slot_version
    assert index.slots_of(["m3", "nope"]).tolist() == [3, -1]
    index.upsert(["new"], unit_rows(1, seed=9))
    assert index.slot_version != before
    assert index.slots_of(["new"]).tolist() == [5] and index.slot_count == 6


def test_search_allowed_finds_far_candidates_when_the_nearest_are_all_full(
    index_type: str,
) -> None:
    """A mentee whose best mentors are all full still gets k: the mask is applied inside the
    search, however far down the ranking the allowed mentors are."""
    vectors, ids = unit_rows(2000), ids_for(2000)
    index = CandidateIndex.build(
        ids, vectors, encoder_id=ENCODER, index_type=index_type, exact_max=100
    )
    query = unit_rows(1, seed=12)[0]
    order = np.argsort(-(vectors @ query), kind="stable")
    ok = np.ones(2000, dtype=bool)
    ok[order[:1500]] = False  # the 1,500 nearest are full; 500 far ones remain
    slots, scores = index.search_allowed(query, 10, ok)
    assert len(slots) == 10 and ok[slots].all()
    assert set(slots.tolist()) <= set(order[1500:].tolist())
    assert list(scores) == sorted(scores, reverse=True)
    worst = order[-3:]
    only_worst = np.zeros(2000, dtype=bool)
    only_worst[worst] = True
    slots, _ = index.search_allowed(query, 3, only_worst)  # exact scan of 3 rows
    assert slots.tolist() == worst.tolist()


def test_search_allowed_has_no_duplicates_on_tied_scores(index_type: str) -> None:
    same = np.tile(unit_rows(1, seed=30), (600, 1))  # every mentor scores exactly the same
    index = CandidateIndex.build(ids_for(600), same, encoder_id=ENCODER, index_type=index_type)
    even = np.zeros(600, dtype=bool)
    even[::2] = True
    slots, _ = index.search_allowed(same[0], 250, even)
    assert len(slots) == 250 and len(set(slots.tolist())) == 250 and even[slots].all()


def test_search_allowed_refuses_a_mask_built_for_an_older_slot_table() -> None:
    from recsys.retrieval.index import StaleSlotsError

    index = CandidateIndex.build(ids_for(80), unit_rows(80), encoder_id=ENCODER, index_type="flat")
    version, slots, count = index.slot_table(["m3", "nope"])
    assert slots.tolist() == [3, -1] and count == 80 and version == index.slot_version
    ok = np.ones(count, dtype=bool)
    assert len(index.search_allowed(unit_rows(1, seed=4)[0], 5, ok, version)[0]) == 5
    index.remove(["m0"])
    index.compact()  # every id moves down one slot
    with pytest.raises(StaleSlotsError):
        index.search_allowed(unit_rows(1, seed=4)[0], 5, ok, version)
