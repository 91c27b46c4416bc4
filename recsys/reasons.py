"""Human-readable reasons from a ranker's per-feature contributions.

The features that pushed a mentor's score up the most are turned into sentences a mentee can
check against the profile ("3 shared working hours", "5 of 6 past mentees completed"). Text
features share one reason quoting the best-matching sentences, so the list never repeats itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.pairs import FEATURE_NAMES
from features.style import STYLE_AXES, STYLE_FEATURES

_IDX = {n: i for i, n in enumerate(FEATURE_NAMES)}
# text_adapted says the same as the others (goals meet this bio), in the learned space
TEXT_FEATURES = ("text_goal_bio", "text_best_sentence", "text_mean_best_sentence", "text_adapted")
MIN_REASONS, MAX_REASONS = 2, 4


@dataclass
class ReasonContext:
    """Facts about one (mentee, mentor) pair that reasons may quote."""

    goal_sentence: str
    bio_sentence: str
    mentor_skills: list[str]
    mentor_languages: list[str]
    mentee_languages: list[str]
    mentor_department: str
    mentee_department: str
    past_completed: int
    past_total: int
    mentee_style: tuple[float, ...] = ()  # leaning per STYLE_AXES axis, 0 = not stated


def _snippet(text: str, limit: int = 90) -> str:
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _reason_for(group: str, x: np.ndarray, ctx: ReasonContext) -> str | None:
    v = lambda name: float(x[_IDX[name]])  # noqa: E731
    if group == "text":
        return (
            f'Their experience ("{_snippet(ctx.bio_sentence)}") matches your goal '
            f'"{_snippet(ctx.goal_sentence, 70)}"'
        )
    if group == "text_goal_skills" and ctx.mentor_skills:
        return f"Skills relevant to your goals: {', '.join(ctx.mentor_skills[:3])}"
    if group == "shared_hours":
        h = v("shared_hours")
        if h >= 1:
            return f"{h:.0f} shared working hours a day"
        return None
    if group == "seniority_gap":
        gap = v("seniority_gap")
        if 1 <= gap <= 3:
            return f"{gap:.0f} level{'s' if gap > 1 else ''} more senior: close enough to remember your stage"
        if gap > 3:
            return f"{gap:.0f} levels more senior: a senior perspective"
        return None
    if group == "shared_languages":
        common = sorted(set(ctx.mentor_languages) & set(ctx.mentee_languages))
        return f"You both speak {', '.join(common)}" if common else None
    if group == "same_department":
        if ctx.mentor_department and ctx.mentor_department == ctx.mentee_department:
            return f"Knows your department ({ctx.mentor_department})"
        if ctx.mentor_department:
            return f"Works in {ctx.mentor_department}: a perspective from outside your team"
        return None
    if group in STYLE_FEATURES:
        j = STYLE_FEATURES.index(group)
        if v(group) > 0 and j < len(ctx.mentee_style) and ctx.mentee_style[j] != 0:
            axis = STYLE_AXES[j]
            return f"You both prefer {axis.positive if ctx.mentee_style[j] > 0 else axis.negative}"
        return None
    if group == "skill_overlap":
        return "Shares skills listed on your profile" if v("skill_overlap") > 0 else None
    if group in ("hist_success_rate", "hist_goals_met_rate", "hist_n", "hist_early_rate"):
        if ctx.past_total > 0:
            return f"{ctx.past_completed} of {ctx.past_total} past mentees completed the programme"
        return None
    if group == "hist_mean_rating" and v("hist_n") > 0:
        return f"Past mentees rated the mentoring {v('hist_mean_rating'):.1f} out of 5"
    if group in ("mentor_free_capacity", "mentor_load"):
        free = v("mentor_free_capacity")
        if free >= 1:
            return f"Has room for {free:.0f} more mentee{'s' if free >= 2 else ''}"
        return None
    if group in ("hist_low_commitment_rate", "hist_notes") and v("hist_notes") >= 3:
        return f"Past check-ins rarely raised commitment concerns ({v('hist_notes'):.0f} notes)"
    if group in ("hist_decline_rate", "hist_requests") and v("hist_requests") > 0:
        return f"Accepts most requests ({(1 - v('hist_decline_rate')) * 100:.0f}%)"
    return None


# both say the mentor's skill tags fit the goals; the reason lists the tags
SKILL_FEATURES = ("text_goal_skills", "text_goal_tags")


def _group(name: str) -> str:
    if name in SKILL_FEATURES:
        return "text_goal_skills"
    return "text" if name in TEXT_FEATURES else name


def explain(x: np.ndarray, contrib: np.ndarray, ctx: ReasonContext) -> list[str]:
    """2–4 reasons, strongest first: features with positive contributions, then facts."""
    totals: dict[str, float] = {}
    for name, c in zip(FEATURE_NAMES, contrib[: len(FEATURE_NAMES)], strict=True):
        g = _group(name)
        totals[g] = totals.get(g, 0.0) + float(c)
    reasons: list[str] = []
    seen: set[str] = set()
    for g, c in sorted(totals.items(), key=lambda kv: -kv[1]):
        if c <= 0 or len(reasons) >= MAX_REASONS:
            break
        r = _reason_for(g, x, ctx)
        if r and r not in seen:
            reasons.append(r)
            seen.add(r)
    # Always give at least two checkable facts, even when few features helped.
    for g in ("text", "shared_hours", "shared_languages", "mentor_free_capacity"):
        if len(reasons) >= MIN_REASONS:
            break
        r = _reason_for(g, x, ctx)
        if r and r not in seen:
            reasons.append(r)
            seen.add(r)
    return reasons
