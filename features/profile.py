"""Pure profile features of a (mentee, mentor) pair: seniority, time zones, languages, skills.

Every function is vectorised over aligned arrays (one element per pair) and does no I/O, so
training (millions of historical pairs) and serving (a hundred candidates) call the same code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

WORK_START, WORK_END = 9.0, 17.0  # local working hours used for overlap


@lru_cache(maxsize=4096)
def utc_offset_hours(tz: str, on: dt.date) -> float:
    """UTC offset of an IANA zone at noon on ``on`` (DST-aware), in hours."""
    off = ZoneInfo(tz).utcoffset(dt.datetime(on.year, on.month, on.day, 12))
    return off.total_seconds() / 3600.0 if off is not None else 0.0


def utc_offsets(tzs: Sequence[str], on: dt.date) -> np.ndarray:
    return np.fromiter((utc_offset_hours(t, on) for t in tzs), dtype=np.float32, count=len(tzs))


def shared_working_hours(offset_a: np.ndarray, offset_b: np.ndarray) -> np.ndarray:
    """Hours per day both people are within 09:00–17:00 local time.

    Working windows are intervals on a 24 h circle; the overlap is the best of the three
    alignments (same day, a day earlier, a day later), so Auckland ↔ Los Angeles is right.
    """
    start_a = WORK_START - np.asarray(offset_a, dtype=np.float32)
    start_b = WORK_START - np.asarray(offset_b, dtype=np.float32)
    length = WORK_END - WORK_START
    best = np.zeros(np.broadcast(start_a, start_b).shape, dtype=np.float32)
    for shift in (-24.0, 0.0, 24.0):
        sb = start_b + shift
        overlap = np.minimum(start_a + length, sb + length) - np.maximum(start_a, sb)
        best = np.maximum(best, overlap)
    return np.clip(best, 0.0, length)


def seniority_gap(mentee_seniority: np.ndarray, mentor_seniority: np.ndarray) -> np.ndarray:
    """Mentor minus mentee seniority (positive: the mentor is more senior)."""
    return np.asarray(mentor_seniority, dtype=np.float32) - np.asarray(mentee_seniority, np.float32)


def set_overlap(a: Sequence[frozenset[str]], b: Sequence[frozenset[str]]) -> np.ndarray:
    """Size of the intersection of two aligned sequences of sets."""
    return np.fromiter((len(x & y) for x, y in zip(a, b, strict=True)), np.float32, count=len(a))


def jaccard(a: Sequence[frozenset[str]], b: Sequence[frozenset[str]]) -> np.ndarray:
    """Jaccard similarity; NaN where both sets are empty (unknown, not zero)."""
    # one set operation per pair (the union's size follows from the intersection's), the
    # sizes and the division vectorised: a third of the per-pair loop's time (ad hoc)
    shared = set_overlap(a, b).astype(np.float64)
    union = (
        np.fromiter(map(len, a), np.float64, count=len(a))
        + np.fromiter(map(len, b), np.float64, count=len(b))
        - shared
    )
    out = np.full(len(a), np.nan)
    np.divide(shared, union, out=out, where=union > 0)
    return out.astype(np.float32)


def normalise_tags(tags: Sequence[str]) -> frozenset[str]:
    """Case- and spacing-insensitive tag set ("Public Speaking" == "public-speaking")."""
    return frozenset(
        t.strip().lower().replace("-", " ").replace("_", " ") for t in tags if t.strip()
    )
