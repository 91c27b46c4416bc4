"""Mentor history features computed strictly "as of" a date, so no training row sees its own
outcome or anything that happened after it.

The core is :func:`asof_sums`: for each query (mentor, date) it sums the values of that mentor's
events dated strictly before the date, vectorised with one sort and two binary searches, so
it scales to millions of historical pairings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

# Smoothing towards the programme-wide prior: a mentor with 1 completed pairing is not "100%".
PRIOR_WEIGHT = 3.0


def _day(dates: np.ndarray) -> np.ndarray:
    return np.asarray(dates, dtype="datetime64[D]").astype(np.int64)


@dataclass(frozen=True)
class PreparedEvents:
    """Events sorted once by (key, day) with running sums: each query is two binary searches."""

    packed: np.ndarray  # key * SPAN + day, sorted
    cumsum: np.ndarray  # (m + 1, k)

    def query(
        self, query_keys: np.ndarray, query_dates: np.ndarray, *, inclusive: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Counts and column sums of events with the same key dated before (``inclusive``: on
        or before) each query date."""
        qk = np.asarray(query_keys, np.int64) * _SPAN
        hi = np.searchsorted(
            self.packed, qk + _day(query_dates), side="right" if inclusive else "left"
        )
        lo = np.searchsorted(self.packed, qk, side="left")
        return (hi - lo).astype(np.float64), self.cumsum[hi] - self.cumsum[lo]


_SPAN = 1 << 20  # days: > 2800 years, so (key, day) packs into one sortable int64


def prepare_events(
    event_keys: np.ndarray, event_dates: np.ndarray, event_values: np.ndarray
) -> PreparedEvents:
    """Sort events (integer keys, datetime64 dates, values (m,) or (m, k)) for as-of queries."""
    values = np.asarray(event_values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    packed = np.asarray(event_keys, np.int64) * _SPAN + _day(event_dates)
    order = np.argsort(packed, kind="stable")
    cum = np.vstack([np.zeros((1, values.shape[1])), np.cumsum(values[order], axis=0)])
    return PreparedEvents(packed=packed[order], cumsum=cum)


def asof_sums(
    event_keys: np.ndarray,
    event_dates: np.ndarray,
    event_values: np.ndarray,
    query_keys: np.ndarray,
    query_dates: np.ndarray,
    *,
    inclusive: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """One-shot :meth:`PreparedEvents.query` (prepare once when querying repeatedly)."""
    prepared = prepare_events(event_keys, event_dates, event_values)
    return prepared.query(query_keys, query_dates, inclusive=inclusive)


@dataclass(frozen=True)
class PairingHistory:
    """Past pairings as arrays (one element per pairing), keyed by integer mentor codes."""

    mentor: np.ndarray  # int codes
    started: np.ndarray  # datetime64[D]
    ended: np.ndarray  # datetime64[D]; NaT for running pairings
    success: np.ndarray  # 1.0 completed with a good outcome, else 0.0
    early: np.ndarray  # 1.0 ended early
    rating: np.ndarray  # float, NaN if none
    goals_met: np.ndarray  # float 0/1, NaN if none


@dataclass(frozen=True)
class ResponseLog:
    """Requests mentors received (recommendation log), keyed by integer mentor codes."""

    mentor: np.ndarray
    at: np.ndarray  # datetime64[D]
    declined: np.ndarray  # 1.0 declined
    requested: np.ndarray  # 1.0 a request (requested / accepted / declined)
    no_capacity: np.ndarray | None = None  # true (or 1.0): declined with decline_reason no_capacity


class MentorHistory:
    """Leak-free mentor track record and load, prepared once, queried per (mentor, date)."""

    def __init__(self, pairings: PairingHistory, responses: ResponseLog | None = None):
        ended = ~np.isnat(pairings.ended)
        rating, goals = pairings.rating[ended], pairings.goals_met[ended]
        self._outcomes = prepare_events(
            pairings.mentor[ended],
            pairings.ended[ended],
            np.column_stack(
                [
                    pairings.success[ended],
                    pairings.early[ended],
                    np.nan_to_num(rating),
                    ~np.isnan(rating),
                    np.nan_to_num(goals),
                    ~np.isnan(goals),
                ]
            ),
        )
        self._starts = prepare_events(
            pairings.mentor, pairings.started, np.ones(len(pairings.mentor))
        )
        self._ends = prepare_events(
            pairings.mentor[ended], pairings.ended[ended], np.ones(ended.sum())
        )
        any_ended = bool(ended.any())
        self.prior_success = float(pairings.success[ended].mean()) if any_ended else 0.5
        self.prior_early = float(pairings.early[ended].mean()) if any_ended else 0.2
        self.prior_rating = float(np.nanmean(rating)) if np.isfinite(rating).any() else 3.5
        self.prior_goals = float(np.nanmean(goals)) if np.isfinite(goals).any() else 0.5
        if responses is not None and len(responses.mentor):
            self._responses: PreparedEvents | None = prepare_events(
                responses.mentor,
                responses.at,
                np.column_stack([responses.declined, responses.requested]),
            )
            self.prior_decline = float(
                responses.declined.sum() / max(responses.requested.sum(), 1.0)
            )
        else:
            self._responses, self.prior_decline = None, 0.2
        if responses is not None and responses.no_capacity is not None:
            full = np.asarray(responses.no_capacity) > 0
            self._full_mentor = np.asarray(responses.mentor, np.int64)[full]
            self._full_at = np.asarray(responses.at, "datetime64[D]")[full]
        else:
            self._full_mentor = np.zeros(0, np.int64)
            self._full_at = np.zeros(0, "datetime64[D]")
        self._said_full = prepare_events(
            self._full_mentor, self._full_at, np.ones(len(self._full_mentor))
        )
        self._full_lock = threading.Lock()

    def add_capacity_declines(self, mentors: np.ndarray, days: np.ndarray) -> None:
        """Record ``no_capacity`` declines that arrived after the history was prepared."""
        with self._full_lock:
            self._full_mentor = np.append(self._full_mentor, np.asarray(mentors, np.int64))
            self._full_at = np.append(self._full_at, np.asarray(days, "datetime64[D]"))
            self._said_full = prepare_events(
                self._full_mentor, self._full_at, np.ones(len(self._full_mentor))
            )

    def said_full(self, mentor: np.ndarray, as_of: np.ndarray, days: int) -> np.ndarray:
        """Whether each mentor declined a request for ``no_capacity`` within the ``days`` days
        up to and including the date (no longer than that: room opens up, and the mentor
        will say again if not)."""
        if days <= 0 or not len(self._full_mentor):
            return np.zeros(len(mentor), bool)
        said = self._said_full
        dates = np.asarray(as_of, "datetime64[D]")
        upto, _ = said.query(mentor, dates, inclusive=True)
        before, _ = said.query(mentor, dates - np.timedelta64(days, "D"), inclusive=True)
        return upto > before

    def load(
        self, mentor: np.ndarray, as_of: np.ndarray, exclude_self: np.ndarray | None = None
    ) -> np.ndarray:
        """Pairings running on the date: started on/before it and not ended on/before it."""
        started, _ = self._starts.query(mentor, as_of, inclusive=True)
        finished, _ = self._ends.query(mentor, as_of, inclusive=True)
        load = started - finished
        if exclude_self is not None:
            load = load - exclude_self.astype(np.float64)
        return np.maximum(load, 0).astype(np.float32)

    def completed_counts(
        self, mentor: np.ndarray, as_of: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(ended pairings, of which not ended early) before the date — raw counts for reasons."""
        n, s = self._outcomes.query(mentor, as_of)
        return n.astype(np.int64), (n - s[:, 1]).astype(np.int64)

    def features(self, mentor: np.ndarray, as_of: np.ndarray) -> dict[str, np.ndarray]:
        """Smoothed outcome rates of pairings that ENDED before the date, and request answers."""
        n, s = self._outcomes.query(mentor, as_of)
        w = PRIOR_WEIGHT
        out = {
            "hist_n": n.astype(np.float32),
            "hist_success_rate": ((s[:, 0] + w * self.prior_success) / (n + w)).astype(np.float32),
            "hist_early_rate": ((s[:, 1] + w * self.prior_early) / (n + w)).astype(np.float32),
            "hist_mean_rating": ((s[:, 2] + w * self.prior_rating) / (s[:, 3] + w)).astype(
                np.float32
            ),
            "hist_goals_met_rate": ((s[:, 4] + w * self.prior_goals) / (s[:, 5] + w)).astype(
                np.float32
            ),
        }
        if self._responses is not None:
            _, r = self._responses.query(mentor, as_of)
            requests = r[:, 1]
        else:
            r, requests = np.zeros((len(n), 2)), np.zeros(len(n))
        out["hist_requests"] = requests.astype(np.float32)
        out["hist_decline_rate"] = ((r[:, 0] + w * self.prior_decline) / (requests + w)).astype(
            np.float32
        )
        return out
