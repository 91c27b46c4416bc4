"""The learned-space search behind the first stage's reserved candidates."""

from __future__ import annotations

import numpy as np
import pytest

from recsys.retrieval.learned import LearnedSpaceIndex


def _clustered(n: int, dim: int = 16, clusters: int = 20, seed: int = 0) -> np.ndarray:
    """Unit vectors around ``clusters`` centres, like bios grouped by topic."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    x = centres[rng.integers(0, clusters, n)] + 0.3 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _exact(vectors: np.ndarray, query: np.ndarray, k: int, allowed: np.ndarray) -> np.ndarray:
    scores = vectors @ query
    scores[~allowed] = -np.inf
    order = np.argsort(-scores, kind="stable")[:k]
    return order[np.isfinite(scores[order])]


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    return _clustered(3000)


def test_small_catalogs_are_searched_exactly_among_the_allowed(vectors):
    index = LearnedSpaceIndex(vectors, exact_max=len(vectors))
    rng = np.random.default_rng(1)
    allowed = rng.random(len(vectors)) < 0.5
    assert index.kind == "flat"
    for q in vectors[:20]:
        got = index.search(q, 30, allowed)
        assert np.array_equal(got, _exact(vectors, q, 30, allowed))


def test_large_catalogs_use_an_inverted_file_that_finds_nearly_all(vectors):
    index = LearnedSpaceIndex(vectors, exact_max=1000)
    assert index.kind == "ivf" and index.nlist > 1
    rng = np.random.default_rng(2)
    allowed = rng.random(len(vectors)) < 0.6
    recall = []
    for q in _clustered(50, seed=9):
        got = index.search(q, 40, allowed)
        assert len(got) == 40 and allowed[got].all()
        recall.append(len(set(got.tolist()) & set(_exact(vectors, q, 40, allowed).tolist())) / 40)
    assert np.mean(recall) >= 0.9
    # the same catalog builds the same lists
    again = LearnedSpaceIndex(vectors, exact_max=1000)
    q = vectors[5]
    assert np.array_equal(again.search(q, 40, allowed), index.search(q, 40, allowed))


def test_too_few_allowed_in_the_probed_lists_searches_every_list(vectors):
    index = LearnedSpaceIndex(vectors, exact_max=1000)
    q = vectors[0]
    far = np.argsort(vectors @ q)[:12]  # the 12 least similar: not in the lists probed
    allowed = np.zeros(len(vectors), bool)
    allowed[far] = True
    got = index.search(q, 10, allowed)
    assert np.array_equal(got, _exact(vectors, q, 10, allowed))
    assert sorted(index.search(q, 50, allowed).tolist()) == sorted(far.tolist())  # k > allowed
    assert len(index.search(q, 10, np.zeros(len(vectors), bool))) == 0


def test_a_rebuilt_inverted_file_keeps_its_lists_and_finds_nearly_all(vectors):
    """A catalog updated for a few mentors: the new rows are searched in the old lists (no
    k-means), as well as a fresh build would; a much larger catalog trains new lists."""
    index = LearnedSpaceIndex(vectors, exact_max=1000)
    changed = np.vstack([vectors[100:], _clustered(40, seed=4)])  # 100 gone, 40 new
    rebuilt = index.rebuilt(changed)
    assert rebuilt.kind == "ivf" and rebuilt.nlist == index.nlist and rebuilt.n == len(changed)
    centroids = index._quantizer.reconstruct_n(0, index.nlist)
    assert np.array_equal(rebuilt._quantizer.reconstruct_n(0, rebuilt.nlist), centroids)
    allowed = np.ones(len(changed), bool)
    recall = []
    for q in _clustered(30, seed=8):
        got = rebuilt.search(q, 40, allowed)
        recall.append(len(set(got.tolist()) & set(_exact(changed, q, 40, allowed).tolist())) / 40)
    assert np.mean(recall) >= 0.9
    grown = index.rebuilt(_clustered(30_000, seed=5))  # list count 2x off: trained afresh
    assert grown.nlist > 2 * index.nlist
    assert index.rebuilt(vectors[:500]).kind == "flat"  # below exact_max: exact again
