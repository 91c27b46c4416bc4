"""Graded relevance of past outcomes — one definition for training, evaluation and history."""

from __future__ import annotations

import numpy as np

# A request shown but not chosen, or declined by the mentor, is 0; a pairing that happened is
# at least 1 (someone chose it), ranked by how it went.
NOT_CHOSEN, ENDED_EARLY, COMPLETED_LOW, COMPLETED_HIGH = 0, 1, 2, 3
GOOD_RATING = 4


def outcome_grade(status: str, rating: int | None, goals_met: bool | None) -> int | None:
    """ended early < completed with a low rating < completed with a high rating or goals met.

    ``None`` for a pairing still running (its outcome is unknown, never a label).
    """
    if status == "ended_early":
        return ENDED_EARLY
    if status == "completed":
        if goals_met or (rating is not None and rating >= GOOD_RATING):
            return COMPLETED_HIGH
        return COMPLETED_LOW
    return None


def outcome_grades(status: np.ndarray, rating: np.ndarray, goals_met: np.ndarray) -> np.ndarray:
    """Vectorised :func:`outcome_grade`; -1 where unknown. rating/goals_met are float with NaN."""
    status = np.asarray(status, dtype=object)
    good = (np.nan_to_num(np.asarray(goals_met, float)) > 0) | (
        np.nan_to_num(np.asarray(rating, float)) >= GOOD_RATING
    )
    grade = np.full(len(status), -1, dtype=np.int64)
    grade[status == "ended_early"] = ENDED_EARLY
    completed = status == "completed"
    grade[completed & ~good] = COMPLETED_LOW
    grade[completed & good] = COMPLETED_HIGH
    return grade
