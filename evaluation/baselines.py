"""Baselines that every ranker must beat, all under the same hard constraints.

- ``random``: k feasible mentors at random;
- ``rules``: what hand-weighted vendor forms do: points for the same department, shared
  skill tags, a more senior mentor and a shared language, over *all* feasible mentors;
- ``embedding``: retrieval order only (cosine of goals to bio), no re-ranking.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from recsys.catalog import MenteeBatch
from recsys.recommend import FeasibilityCache

# Points like a matching form: "must match" department, shared skills, a more senior mentor.
RULE_WEIGHTS = {"same_department": 3.0, "shared_skill": 2.0, "more_senior": 1.0}


def feasible_rows(
    feasibility: FeasibilityCache, mentees: MenteeBatch, j: int, as_of: dt.date
) -> np.ndarray:
    """All catalog rows satisfying the hard constraints for mentee ``j``."""
    catalog = feasibility.catalog
    base, _ = feasibility.base(as_of)
    bits = catalog.mentee_language_bits(sorted(mentees.languages[j]))
    ok = base & (catalog.lang_bits & bits).any(axis=1)
    banned = set(mentees.excluded[j]) | {mentees.ids[j]}
    for m in banned:
        r = catalog.row_of.get(m)
        if r is not None:
            ok[r] = False
    return np.flatnonzero(ok)


def random_baseline(
    feasibility: FeasibilityCache,
    mentees: MenteeBatch,
    j: int,
    k: int,
    as_of: dt.date,
    seed: int = 0,
) -> list[str]:
    rows = feasible_rows(feasibility, mentees, j, as_of)
    rng = np.random.default_rng(seed + j)
    pick = rng.choice(rows, size=min(k, len(rows)), replace=False) if len(rows) else rows
    return [feasibility.catalog.ids[r] for r in pick]


def rules_baseline(
    feasibility: FeasibilityCache, mentees: MenteeBatch, j: int, k: int, as_of: dt.date
) -> list[str]:
    catalog = feasibility.catalog
    rows = feasible_rows(feasibility, mentees, j, as_of)
    dept = (catalog.department[rows] == mentees.department[j]).astype(float)
    skills = mentees.skills[j]
    shared = np.fromiter((len(catalog.skills[r] & skills) for r in rows), float, count=len(rows))
    senior = (catalog.seniority[rows] > mentees.seniority[j]).astype(float)
    score = (
        RULE_WEIGHTS["same_department"] * dept
        + RULE_WEIGHTS["shared_skill"] * np.minimum(shared, 3)
        + RULE_WEIGHTS["more_senior"] * senior
    )
    # ties (most of them, with few form fields) are broken at random, as forms do by sign-up order
    tie = np.random.default_rng(j).random(len(rows)) * 1e-3
    top = np.argsort(-(score + tie), kind="stable")[:k]
    return [catalog.ids[r] for r in rows[top]]
