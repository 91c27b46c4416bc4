"""The feature matrix: which sentence pair a reason quotes, and the learned-space column."""

from __future__ import annotations

import numpy as np

from features.pairs import FEATURE_NAMES, PairInputs, SentenceInputs, compute_pair_features
from features.style import STYLE_AXES


def _inputs(goal_proj: np.ndarray | None, bio_proj: np.ndarray | None) -> PairInputs:
    """One pair: goal sentences g0, g1 and bio sentences b0, b1 where raw cosine pairs g0 with
    b0 (look-alike sentences) and the projections, when given, pair g1 with b1."""
    e = np.eye(4, dtype=np.float32)
    goal_sents, bio_sents = e[[0, 1]][None], e[[0, 2]][None]
    goal_sents[0, 1] = bio_sents[0, 1] = 0.0
    goal_sents[0, 1, 1] = 1.0
    bio_sents[0, 1, 2] = 1.0
    one = np.ones(1, np.float32)
    return PairInputs(
        goal_vec=e[[0]], bio_vec=e[[0]], skills_vec=e[[3]],
        sentences=SentenceInputs(
            goal_sents=goal_sents, goal_mask=np.ones((1, 2), bool),
            bio_sents=bio_sents, bio_mask=np.ones((1, 2), bool),
            goal_proj=goal_proj, bio_proj=bio_proj,
        ),
        mentee_seniority=one, mentor_seniority=one * 3, mentee_utc_offset=one * 0,
        mentor_utc_offset=one * 0, mentee_languages=[frozenset({"en"})],
        mentor_languages=[frozenset({"en"})], mentee_department=np.array(["a"], object),
        mentor_department=np.array(["b"], object), mentee_skills=[frozenset()],
        mentor_skills=[frozenset()], mentor_capacity=one * 2, mentor_load=one * 0,
        mentee_style=np.zeros((1, len(STYLE_AXES)), np.float32),
        mentor_style=np.zeros((1, len(STYLE_AXES)), np.float32),
    )  # fmt: skip


def test_without_a_projection_the_reason_quotes_the_raw_best_pair_and_the_column_is_empty():
    f = compute_pair_features(_inputs(None, None))
    assert (f.best_goal_sentence[0], f.best_bio_sentence[0]) == (0, 0)
    assert np.isnan(f.column("text_adapted")[0])
    assert f.matrix.shape == (1, len(FEATURE_NAMES))


def test_with_a_projection_the_reason_quotes_the_learned_spaces_best_pair():
    # learned space: g1 and b1 coincide, g0 and b0 point elsewhere
    goal_proj = np.array([[[1.0, 0.0], [0.0, 1.0]]], np.float32)
    bio_proj = np.array([[[-1.0, 0.0], [0.0, 1.0]]], np.float32)
    f = compute_pair_features(_inputs(goal_proj, bio_proj))
    assert (f.best_goal_sentence[0], f.best_bio_sentence[0]) == (1, 1)
    # g0's best bio match is b1 (cosine 0), g1's is b1 (cosine 1): mean 0.5
    assert f.column("text_adapted")[0] == 0.5
    assert f.column("text_best_sentence")[0] == 1.0  # the raw features are unchanged


def test_without_sentence_vectors_only_the_sentence_columns_are_left_out():
    """The first stage's pool skips sentence matching: those columns are NaN, every other
    column is the one the full computation gives."""
    from dataclasses import replace

    from features.pairs import SENTENCE_FEATURES

    goal_proj = np.array([[[1.0, 0.0], [0.0, 1.0]]], np.float32)
    bio_proj = np.array([[[-1.0, 0.0], [0.0, 1.0]]], np.float32)
    full = compute_pair_features(_inputs(goal_proj, bio_proj)).matrix[0]
    pool = compute_pair_features(replace(_inputs(None, None), sentences=None)).matrix[0]
    sentence = np.isin(FEATURE_NAMES, SENTENCE_FEATURES)
    assert sentence.sum() == len(SENTENCE_FEATURES) == 3
    assert np.isfinite(full[sentence]).all() and np.isnan(pool[sentence]).all()
    np.testing.assert_array_equal(pool[~sentence], full[~sentence])
