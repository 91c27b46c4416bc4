"""The goal-to-tag model as serving uses it: pooling over sentences, persistence, checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.goal_tags import GoalTagModel


def _model() -> GoalTagModel:
    # sentence direction e0 calls for tag "a", e1 for "b"; "c" is called for by nothing
    weight = np.zeros((4, 3), np.float32)
    weight[0, 0] = weight[1, 1] = 6.0
    return GoalTagModel(weight, np.zeros(3, np.float32), ("a", "b", "c"))


def test_one_sentence_naming_a_need_is_enough_among_others():
    m = _model()
    need = np.array([1, 0, 0, 0], np.float32)
    chatter = np.array([0, 0, 0, 1], np.float32)  # a greeting: calls for nothing
    alone = m.tag_probs(need[None, None], np.ones((1, 1), bool))[0]
    among = m.tag_probs(np.stack([chatter, need, chatter])[None], np.ones((1, 3), bool))[0]
    assert alone.argmax() == among.argmax() == 0
    assert among[0] > 0.8  # log-mean-exp pooling: the chatter does not average it away
    assert np.allclose(among.sum(), 1.0)


def test_masked_sentences_are_ignored_and_an_empty_goal_gets_the_prior():
    m = _model()
    sents = np.stack([np.eye(4, dtype=np.float32)[0], np.eye(4, dtype=np.float32)[1]])[None]
    only_first = m.tag_probs(sents, np.array([[True, False]]))[0]
    assert only_first.argmax() == 0 and only_first[1] < 0.01
    empty = m.tag_probs(sents, np.zeros((1, 2), bool))[0]
    assert np.allclose(empty, 1 / 3)  # zero bias: every tag equally likely


def test_the_model_ships_and_loads_unchanged(tmp_path: Path):
    m = _model()
    m.save(tmp_path)
    back = GoalTagModel.load(tmp_path)
    assert back is not None
    assert back.vocab == m.vocab and back.index == {"a": 0, "b": 1, "c": 2}
    assert np.array_equal(back.weight, m.weight) and np.array_equal(back.bias, m.bias)
    assert GoalTagModel.load(tmp_path / "nothing-here") is None


def test_shapes_that_do_not_fit_the_vocabulary_are_refused():
    with pytest.raises(ValueError, match="weight must be"):
        GoalTagModel(np.zeros((4, 2), np.float32), np.zeros(3, np.float32), ("a", "b", "c"))
    with pytest.raises(ValueError, match="bias must be"):
        GoalTagModel(np.zeros((4, 3), np.float32), np.zeros(2, np.float32), ("a", "b", "c"))
