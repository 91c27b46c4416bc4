"""Assemble the ranker's feature matrix for (mentee, mentor) pairs.

The single entry point for training *and* serving: both build a :class:`PairInputs` (aligned
arrays, one row per pair) and call :func:`compute_pair_features`, so features cannot drift.
The ordered list :data:`FEATURE_NAMES` and its hash :data:`FEATURE_VERSION` go into every
model manifest; a model trained on another list is refused at load.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from features.profile import jaccard, seniority_gap, set_overlap, shared_working_hours
from features.style import STYLE_FEATURES, STYLE_VERSION, style_match
from features.text import adapted_match, best_sentence_match, cosine_rows, tag_coverage

FEATURE_NAMES: tuple[str, ...] = (
    # text: what the mentee wants vs what the mentor offers
    "text_goal_bio",
    "text_best_sentence",
    "text_mean_best_sentence",
    "text_goal_skills",
    # goal vs bio sentences in a space learned from the pairings that went well (NaN without
    # a projection)
    "text_adapted",
    # the mentor's skill tags that a model fitted on the same pairings expects the goal to
    # call for (NaN without the model)
    "text_goal_tags",
    # profile fit
    "seniority_gap",
    "mentee_seniority",
    "shared_hours",
    "shared_languages",
    "same_department",
    "skill_overlap",
    # working style said in the texts: both structured / informal, written / live
    *STYLE_FEATURES,
    # mentor state and track record (as of the request date)
    "mentor_load",
    "mentor_free_capacity",
    "hist_n",
    "hist_success_rate",
    "hist_early_rate",
    "hist_mean_rating",
    "hist_goals_met_rate",
    "hist_requests",
    "hist_decline_rate",
    # check-in notes on the mentor's past pairings, as the signal miner read them
    "hist_notes",
    "hist_low_commitment_rate",
)
# The style detector's examples change what its columns mean, and so does how text_adapted is
# computed, so both are part of the version.
TEXT_ADAPTED_VERSION = "sentences-1"  # was the whole-text cosine
GOAL_TAGS_VERSION = "mean-over-mentor-tags-1"
FEATURE_VERSION = hashlib.sha256(
    (
        ",".join(FEATURE_NAMES) + f";style={STYLE_VERSION};text_adapted={TEXT_ADAPTED_VERSION}"
        f";goal_tags={GOAL_TAGS_VERSION}"
    ).encode()
).hexdigest()[:12]
HISTORY_FEATURES = tuple(n for n in FEATURE_NAMES if n.startswith("hist_"))
# The columns matched sentence by sentence, the costly part of a pair's features. Without
# sentence inputs (PairInputs.sentences None) they are NaN: the first stage scores a wide
# pool on every other column with the ranker's tables that read none of these
# (recsys.recommend.ranked_cut), then adds them for the candidates it keeps.
SENTENCE_FEATURES = ("text_best_sentence", "text_mean_best_sentence", "text_adapted")


@dataclass
class SentenceInputs:
    """Aligned per-pair sentence vectors (L2-normalised) behind the SENTENCE_FEATURES."""

    goal_sents: np.ndarray  # (n, S, d)
    goal_mask: np.ndarray  # (n, S)
    bio_sents: np.ndarray  # (n, T, d)
    bio_mask: np.ndarray  # (n, T)
    # goal (n, S, r) and bio (n, T, r) sentences as unit vectors in the ranker's learned text
    # space, masked like goal_sents / bio_sents (None: no projection)
    goal_proj: np.ndarray | None = None
    bio_proj: np.ndarray | None = None


@dataclass
class PairInputs:
    """Aligned per-pair inputs. Vectors are L2-normalised sentence embeddings."""

    goal_vec: np.ndarray  # (n, d) whole goals text
    bio_vec: np.ndarray  # (n, d) whole bio
    skills_vec: np.ndarray  # (n, d) mentor title + skills
    sentences: SentenceInputs | None  # None: the SENTENCE_FEATURES columns are NaN
    mentee_seniority: np.ndarray
    mentor_seniority: np.ndarray
    mentee_utc_offset: np.ndarray
    mentor_utc_offset: np.ndarray
    mentee_languages: list[frozenset[str]]
    mentor_languages: list[frozenset[str]]
    mentee_department: np.ndarray
    mentor_department: np.ndarray
    mentee_skills: list[frozenset[str]]
    mentor_skills: list[frozenset[str]]
    mentor_capacity: np.ndarray
    mentor_load: np.ndarray
    mentee_style: np.ndarray  # (n, axes) working-style leanings (features.style)
    mentor_style: np.ndarray
    history: dict[str, np.ndarray] = field(default_factory=dict)  # HISTORY_FEATURES columns
    # (n, V) probability of each tag for the pair's goal, from the ranker's goal-to-tag model
    # (models.goal_tags), and (n, K) the mentor's known tags as its vocabulary columns, padded
    # with V (recsys.catalog.tag_column_table); None: no model
    goal_tag_probs: np.ndarray | None = None
    mentor_tag_columns: np.ndarray | None = None


@dataclass
class PairFeatures:
    matrix: np.ndarray  # (n, len(FEATURE_NAMES)) float32
    best_goal_sentence: np.ndarray  # index of the goal sentence that matched best
    best_bio_sentence: np.ndarray  # index of the bio sentence that matched best

    def column(self, name: str) -> np.ndarray:
        return self.matrix[:, FEATURE_NAMES.index(name)]

    def as_dict(self, row: int) -> dict[str, Any]:
        return {n: float(v) for n, v in zip(FEATURE_NAMES, self.matrix[row], strict=True)}

    def with_sentences(self, s: SentenceInputs) -> PairFeatures:
        """These rows (computed without sentence inputs) with the SENTENCE_FEATURES columns
        and best sentence pairs filled in from ``s``: the same as computing them whole."""
        columns, bq, bd = sentence_columns(s)
        matrix = self.matrix.copy()
        for name, values in columns.items():
            matrix[:, FEATURE_NAMES.index(name)] = values
        return PairFeatures(matrix=matrix, best_goal_sentence=bq, best_bio_sentence=bd)


def sentence_columns(
    s: SentenceInputs,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """The SENTENCE_FEATURES columns, and which goal and bio sentence matched best (the pair
    the text reason quotes)."""
    best, mean_best, bq, bd = best_sentence_match(
        s.goal_sents, s.goal_mask, s.bio_sents, s.bio_mask
    )
    adapted = np.full(len(best), np.nan, np.float32)
    if s.goal_proj is not None and s.bio_proj is not None:
        # The learned space pairs a goal's problem with a bio's field ("my charts get ignored"
        # with "data storytelling") where raw cosine pairs look-alike sentences (job titles,
        # "I've never had a mentor"), so its best pair is the one the text reason quotes.
        adapted, bq, bd = adapted_match(s.goal_proj, s.goal_mask, s.bio_proj, s.bio_mask)
    columns = {
        "text_best_sentence": best, "text_mean_best_sentence": mean_best, "text_adapted": adapted
    }  # fmt: skip
    return columns, bq, bd


def compute_pair_features(p: PairInputs) -> PairFeatures:
    n = len(p.goal_vec)
    if p.sentences is None:  # a first-stage pool: no sentence matching
        text = {name: np.full(n, np.nan, np.float32) for name in SENTENCE_FEATURES}
        bq, bd = np.zeros(n, np.int64), np.zeros(n, np.int64)
    else:
        text, bq, bd = sentence_columns(p.sentences)
    cols: dict[str, np.ndarray] = {
        **text,
        "text_goal_bio": cosine_rows(p.goal_vec, p.bio_vec),
        "text_goal_skills": cosine_rows(p.goal_vec, p.skills_vec),
        "text_goal_tags": (
            tag_coverage(p.goal_tag_probs, p.mentor_tag_columns)
            if p.goal_tag_probs is not None and p.mentor_tag_columns is not None
            else np.full(n, np.nan, np.float32)
        ),
        "seniority_gap": seniority_gap(p.mentee_seniority, p.mentor_seniority),
        "mentee_seniority": np.asarray(p.mentee_seniority, np.float32),
        "shared_hours": shared_working_hours(p.mentee_utc_offset, p.mentor_utc_offset),
        "shared_languages": set_overlap(p.mentee_languages, p.mentor_languages),
        "same_department": (
            np.asarray(p.mentee_department, object) == np.asarray(p.mentor_department, object)
        ).astype(np.float32),
        "skill_overlap": jaccard(p.mentee_skills, p.mentor_skills),
        "mentor_load": np.asarray(p.mentor_load, np.float32),
        "mentor_free_capacity": (
            np.asarray(p.mentor_capacity, np.float32) - np.asarray(p.mentor_load, np.float32)
        ),
        **style_match(p.mentee_style, p.mentor_style),
    }
    for name in HISTORY_FEATURES:
        cols[name] = np.asarray(p.history.get(name, np.full(n, np.nan)), np.float32)
    matrix = np.column_stack([cols[name] for name in FEATURE_NAMES]).astype(np.float32)
    return PairFeatures(matrix=matrix, best_goal_sentence=bq, best_bio_sentence=bd)
