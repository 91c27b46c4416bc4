"""Ranking and exposure metrics: pure numpy functions, one query (one mentee's list) at a time.

Conventions shared by every function here:

- A ranked list is given as the relevance of each recommended item, in rank order (rank 1 first).
- Gains are ``linear`` (gain = relevance) by default, the right choice for real-valued expected
  outcomes in [0, 1]; ``exponential`` (gain = 2**rel - 1) suits small integer grades such as the
  held-out pairing outcomes (ended early 1, completed 2, completed and successful 3), where it
  makes the best outcome count clearly more than a merely completed one.
- NaN-safe: a NaN relevance in a ranked list counts as no gain (the outcome is unknown); NaNs in
  an ideal list are dropped.
- A query with nothing to find (ideal DCG 0, or no relevant item) scores NaN, never 1 or 0: the
  caller skips it (``mean_skipping_nan``) and reports how many were skipped.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Gain = Literal["linear", "exponential"]

DEFAULT_K = 10


def primary_metric(k: int = DEFAULT_K) -> str:
    """Name of the metric that decides between ranking strategies (and gates promotion)."""
    return f"ndcg@{k}"


PRIMARY_METRIC = primary_metric(DEFAULT_K)


def _as_float_array(values: ArrayLike) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"expected a 1-d array, got shape {array.shape}")
    return array


def _check_k(k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")


def _gains(rels: NDArray[np.float64], gain: Gain) -> NDArray[np.float64]:
    if gain == "linear":
        return rels
    if gain == "exponential":
        return np.exp2(rels) - 1.0
    raise ValueError(f"unknown gain {gain!r}; expected 'linear' or 'exponential'")


def dcg_at_k(rels: ArrayLike, k: int, gain: Gain = "linear") -> float:
    """Discounted cumulative gain of the first ``k`` items: sum of gain_i / log2(i + 1), i from 1.

    NaN relevances count as 0. A list shorter than ``k`` is scored on what it has.
    """
    _check_k(k)
    top = np.nan_to_num(_as_float_array(rels)[:k], nan=0.0)
    discounts = 1.0 / np.log2(np.arange(2, top.size + 2, dtype=np.float64))
    return float(np.dot(_gains(top, gain), discounts))


def ndcg_at_k(
    ranked_rels: ArrayLike, ideal_rels: ArrayLike, k: int, gain: Gain = "linear"
) -> float:
    """DCG@k of the ranked list divided by the DCG@k of the best possible ordering.

    ``ideal_rels`` are the relevances of every item the ranker could have chosen (any order);
    the ideal list is their ``k`` largest. Returns NaN when the ideal DCG is 0: a query with
    nothing worth finding says nothing about the ranker. The result can exceed 1 only when the
    ranked list holds items outside ``ideal_rels`` with higher relevance, which is a caller bug.
    """
    ideal = _as_float_array(ideal_rels)
    ideal = ideal[~np.isnan(ideal)]
    ideal_top = -np.sort(-ideal)[:k]
    ideal_dcg = dcg_at_k(ideal_top, k, gain)
    if ideal_dcg <= 0.0:
        return math.nan
    return dcg_at_k(ranked_rels, k, gain) / ideal_dcg


def _binary(ranked_binary: ArrayLike) -> NDArray[np.bool_]:
    array = np.nan_to_num(_as_float_array(ranked_binary), nan=0.0)
    return array > 0.0


def average_precision(ranked_binary: ArrayLike, n_relevant: int) -> float:
    """Average precision of a (truncated) ranked list: AP@len(list).

    Sum of precision@i over the ranks i that hold a relevant item, divided by
    ``min(n_relevant, len(list))`` so that a list of length k that is perfect for its length
    scores 1 (the usual MAP@k convention). NaN when ``n_relevant`` is 0.
    """
    if n_relevant < 0:
        raise ValueError(f"n_relevant must be >= 0, got {n_relevant}")
    hits = _binary(ranked_binary)
    if n_relevant == 0 or hits.size == 0:
        return math.nan if n_relevant == 0 else 0.0
    if int(hits.sum()) > n_relevant:
        raise ValueError("more relevant items in the list than n_relevant")
    precision_at_i = np.cumsum(hits) / np.arange(1, hits.size + 1)
    return float(precision_at_i[hits].sum() / min(n_relevant, hits.size))


def precision_at_k(ranked_binary: ArrayLike, k: int) -> float:
    """Share of the first ``k`` positions holding a relevant item (a short list is not padded)."""
    _check_k(k)
    return float(_binary(ranked_binary)[:k].sum() / k)


def recall_at_k(ranked_binary: ArrayLike, n_relevant: int, k: int) -> float:
    """Share of all relevant items found in the first ``k``; NaN when there is none to find."""
    _check_k(k)
    if n_relevant < 0:
        raise ValueError(f"n_relevant must be >= 0, got {n_relevant}")
    if n_relevant == 0:
        return math.nan
    return float(_binary(ranked_binary)[:k].sum() / n_relevant)


def hit_rate_at_k(ranked_binary: ArrayLike, k: int) -> float:
    """1.0 when at least one of the first ``k`` items is relevant, else 0.0.

    Averaged over queries that have a relevant item at all; the caller skips the others.
    """
    _check_k(k)
    return float(bool(_binary(ranked_binary)[:k].any()))


def mean_skipping_nan(values: Iterable[float]) -> float:
    """Mean over the finite values (skipped queries are NaN); NaN when nothing is left."""
    array = np.fromiter(values, dtype=np.float64)
    finite = array[np.isfinite(array)]
    return float(finite.mean()) if finite.size else math.nan


def catalogue_coverage(lists: Iterable[Sequence[str]], n_items: int) -> float:
    """Share of the catalogue (``n_items`` recommendable items) recommended at least once."""
    if n_items <= 0:
        raise ValueError(f"n_items must be > 0, got {n_items}")
    seen: set[str] = set()
    for items in lists:
        seen.update(items)
    if len(seen) > n_items:
        raise ValueError(f"{len(seen)} distinct items recommended but the catalogue has {n_items}")
    return len(seen) / n_items


def _exposure(exposure: ArrayLike) -> NDArray[np.float64]:
    array = _as_float_array(exposure)
    if np.isnan(array).any():
        raise ValueError("exposure contains NaN")
    if (array < 0).any():
        raise ValueError("exposure must be non-negative")
    return array


def gini(exposure: ArrayLike) -> float:
    """Gini coefficient of an exposure vector (one entry per catalogue item, zeros included).

    0 when every item gets the same exposure; (n - 1) / n when one of n items gets all of it.
    NaN when there is no exposure at all (nothing to be unequal about).
    """
    values = np.sort(_exposure(exposure))
    total = values.sum()
    if values.size == 0 or total <= 0.0:
        return math.nan
    n = values.size
    ranks = np.arange(1, n + 1, dtype=np.float64)
    return float(2.0 * np.dot(ranks, values) / (n * total) - (n + 1) / n)


def top_share(exposure: ArrayLike, fraction: float = 0.1) -> float:
    """Share of all exposure that goes to the most exposed ``fraction`` of items.

    The top group has ceil(fraction * n) items, at least one. NaN when there is no exposure.
    """
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    values = _exposure(exposure)
    total = values.sum()
    if values.size == 0 or total <= 0.0:
        return math.nan
    # The epsilon keeps 0.1 * 30 (3.0000000000000004 in floating point) at 3 items, not 4.
    n_top = max(1, math.ceil(fraction * values.size - 1e-9))
    top = -np.sort(-values)[:n_top]
    return float(top.sum() / total)


def lorenz_curve(exposure: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points of the Lorenz curve: cumulative share of items (x) against cumulative share of
    exposure (y), items sorted from least to most exposed, starting at (0, 0) and ending at (1, 1).
    The diagonal is perfect equality. With no exposure at all the curve is the diagonal.
    """
    values = np.sort(_exposure(exposure))
    n = values.size
    x = np.linspace(0.0, 1.0, n + 1)
    total = values.sum()
    if n == 0 or total <= 0.0:
        return x, x.copy()
    y = np.concatenate(([0.0], np.cumsum(values) / total))
    y[-1] = 1.0  # cumsum rounding must not leave the curve short of (1, 1)
    return x, y


def relative_gain(new: float, baseline: float) -> float:
    """Relative improvement of ``new`` over ``baseline``: (new - baseline) / |baseline|.

    NaN when the baseline is 0 or either value is NaN (no meaningful ratio).
    """
    if not (math.isfinite(new) and math.isfinite(baseline)) or baseline == 0.0:
        return math.nan
    return (new - baseline) / abs(baseline)
