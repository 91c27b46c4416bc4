"""Search in the ranker's learned text space: the blend's reserved candidates at any size.

The first stage reserves a quarter of its slots for the mentors nearest the goal in the
ranker's learned text space (``recsys.recommend.learned_nearest``): each mentor stands in by
one vector, the unit mean of the mapped bio sentences, which shortlists; sentence matching
then picks. This module finds the shortlist among the feasible mentors, with the feasibility
mask as a FAISS id selector, as :class:`recsys.retrieval.index.CandidateIndex` does for
goal-bio cosine:

- up to ``exact_max`` mentors, an exact scan (``IndexFlatIP``: 0.25 ms at 30k mentors,
  1.0-1.6 ms at 100k-120k, against 2.6 ms for the numpy mat-vec and partial sort it replaces);
- above, an inverted file (``IndexIVFFlat``, ``NLIST_PER_SQRT * sqrt(n)`` lists, ``NPROBE``
  probed): 0.1-0.16 ms at 30k-120k with recall@50 0.99 against the exact scan, on the
  learned means of a generated 30k-mentor programme (tiled to 120k with jitter for the larger
  figure). Built in 0.2 s at 30k and 0.5 s at 120k (2 threads, k-means on a sample). The
  learned space clusters by topic far better than raw MiniLM vectors do, for which IVF reached
  only 0.81 recall (index.py), so IVF suffices here where the cosine index needs HNSW.

Should the probed lists hold fewer than ``k`` allowed mentors (a narrow language filter), the
search runs again over every list, which is exact.

The index belongs to one bio map and one catalog (``MentorCatalog.learned_index`` caches it
next to the mapped bio sentences), so it is never updated in place: a catalog updated for a
few mentors gets a new one with the same trained lists (:meth:`LearnedSpaceIndex.rebuilt`,
no k-means), and a full catalog build trains afresh.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from recsys.retrieval.index import masked_search
from recsys.runtime import import_faiss

# ad hoc measurements above: recall@50 at 120k mentors 0.985 / 0.994 with 16 / 32 probes of
# 2*sqrt(n) lists (0.977 / 0.989 at 4*sqrt(n)), 0.1 / 0.16 ms
NLIST_PER_SQRT = 2.0
NPROBE = 32
KMEANS_SEED = 1234  # the same catalog and map give the same lists (FAISS's default, pinned)
# k-means on at most 64 points per list, 10 iterations (FAISS: 256 and 25): at 120k mentors
# 0.5 s to build instead of 2.5 s, recall@50 0.993 either way
KMEANS_POINTS_PER_LIST = 64
KMEANS_ITERATIONS = 10


class LearnedSpaceIndex:
    """Inner-product search over the rows of ``vectors`` (unit vectors, one per catalog row)
    restricted to an ``allowed`` mask; exact up to ``exact_max`` rows, IVF above."""

    def __init__(
        self, vectors: np.ndarray, *, exact_max: int, lists_of: LearnedSpaceIndex | None = None
    ):
        faiss = import_faiss()
        self._faiss = faiss
        self.exact_max = exact_max
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        self.vectors = data  # what a catalog update merges its new rows into (rebuilt)
        self.n, self.dim = data.shape
        self._quantizer: Any = None
        self._index: Any
        self.nlist: int
        if lists_of is None and self.n <= exact_max:
            self.kind = "flat"
            self.nlist = 0
            self._index = faiss.IndexFlatIP(self.dim)
        else:
            self.kind = "ivf"
            # kept referenced here: the IVF index does not own its quantizer
            self._quantizer = faiss.IndexFlatIP(self.dim)
            if lists_of is not None:  # its trained centroids, copied: no k-means
                self.nlist = lists_of.nlist
                self._quantizer.add(lists_of._quantizer.reconstruct_n(0, self.nlist))
            else:
                self.nlist = max(1, min(self.n // 39, round(NLIST_PER_SQRT * math.sqrt(self.n))))
            self._index = faiss.IndexIVFFlat(
                self._quantizer, self.dim, self.nlist, faiss.METRIC_INNER_PRODUCT
            )
            if lists_of is None:
                self._index.cp.seed = KMEANS_SEED
                self._index.cp.max_points_per_centroid = KMEANS_POINTS_PER_LIST
                self._index.cp.niter = KMEANS_ITERATIONS
                self._index.train(data)  # on the threads configured for FAISS (runtime.py)
        if self.n:
            self._index.add(data)

    def rebuilt(self, vectors: np.ndarray) -> LearnedSpaceIndex:
        """A new index over ``vectors`` (a catalog updated for a few mentors): an IVF keeps
        these trained lists, skipping the k-means (0.5 s at 120k mentors), while the list
        count stays within a factor of two of what a fresh build would choose; otherwise,
        and for the exact scan, it is built afresh."""
        n = len(vectors)
        if self.kind == "ivf" and n > self.exact_max:
            wanted = round(NLIST_PER_SQRT * math.sqrt(n))
            if self.nlist / 2 <= wanted <= self.nlist * 2:
                return LearnedSpaceIndex(vectors, exact_max=self.exact_max, lists_of=self)
        return LearnedSpaceIndex(vectors, exact_max=self.exact_max)

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray) -> np.ndarray:
        """Rows of the (up to) ``k`` allowed vectors with the largest inner product with
        ``query``, best first."""
        ok = np.zeros(self.n, bool)
        m = min(self.n, len(allowed))
        ok[:m] = np.asarray(allowed[:m], bool)
        n_ok = int(np.count_nonzero(ok))
        k = min(k, n_ok)
        if k <= 0:
            return np.zeros(0, np.int64)
        rows = self._search(query, k, ok, self.kind == "ivf")
        if len(rows) < k:  # the probed lists held too few allowed rows: every list
            rows = self._search(query, k, ok, False)
        return rows

    def _search(self, query: np.ndarray, k: int, ok: np.ndarray, probe: bool) -> np.ndarray:
        faiss = self._faiss
        if self.kind == "flat":
            params = faiss.SearchParameters()
        else:
            params = faiss.SearchParametersIVF()
            params.nprobe = NPROBE if probe else self.nlist
        vector = np.ascontiguousarray(np.asarray(query, np.float32).reshape(1, self.dim))
        _, rows = masked_search(faiss, self._index, vector, k, ok, params)
        found = rows[0]
        return found[found >= 0].astype(np.int64)
