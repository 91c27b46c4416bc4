from __future__ import annotations

import numpy as np
import pytest

from evaluation.classification import (
    best_f1_threshold,
    evidence_hit_rate,
    false_alarm_rate,
    labels_to_matrix,
    multilabel_metrics,
    precision_recall_f1,
)

LABELS = ["a", "boundary_concern", "positive_progress"]


def test_labels_to_matrix_orders_columns() -> None:
    m = labels_to_matrix([["positive_progress"], [], ["a", "boundary_concern"]], LABELS)
    assert m.tolist() == [[False, False, True], [False, False, False], [True, True, False]]


def test_precision_recall_f1_edge_cases() -> None:
    assert precision_recall_f1(2, 0, 2) == (1.0, 0.5, pytest.approx(2 / 3))
    assert precision_recall_f1(0, 0, 0) == (1.0, 1.0, 1.0)  # absent and never predicted
    assert precision_recall_f1(0, 3, 0)[0] == 0.0


def test_multilabel_metrics_values() -> None:
    truth = labels_to_matrix(
        [["a"], ["a", "boundary_concern"], [], [], ["positive_progress"]], LABELS
    )
    pred = labels_to_matrix(
        [["a"], ["a"], ["a"], ["positive_progress"], ["positive_progress"]], LABELS
    )
    m = multilabel_metrics(truth, pred, LABELS)
    assert m["a_precision"] == pytest.approx(2 / 3)
    assert m["a_recall"] == 1.0
    assert m["boundary_concern_recall"] == 0.0
    assert m["boundary_concern_f1"] == 0.0
    assert m["positive_progress_precision"] == 0.5
    # two unlabelled notes: one gets a challenge ("a"), the other only positive_progress
    assert m["false_alarm_rate"] == 0.5
    assert m["macro_f1"] == pytest.approx(np.mean([m[f"{x}_f1"] for x in LABELS]))
    assert m["n_notes"] == 5 and m["n_unlabelled"] == 2
    assert m["subset_accuracy"] == pytest.approx(2 / 5)
    assert all(isinstance(v, float) for v in m.values())


def test_multilabel_metrics_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        multilabel_metrics(np.zeros((2, 3)), np.zeros((3, 3)), LABELS)
    with pytest.raises(ValueError):
        multilabel_metrics(np.zeros((2, 2)), np.zeros((2, 2)), LABELS)


def test_false_alarm_rate_without_unlabelled_notes_is_zero() -> None:
    truth = np.array([[True, False, False]])
    assert false_alarm_rate(truth, truth, LABELS) == 0.0


def test_best_f1_threshold_picks_separating_point() -> None:
    scores = np.array([0.1, 0.2, 0.35, 0.7, 0.8, 0.9])
    truth = np.array([0, 0, 0, 1, 1, 1], dtype=bool)
    t, f1 = best_f1_threshold(scores, truth, grid=[0.2, 0.3, 0.5, 0.75])
    assert f1 == 1.0 and t == 0.5  # ties go to the higher threshold among perfect ones


def test_best_f1_threshold_honours_min_recall_and_forced_hits() -> None:
    scores = np.array([0.9, 0.2, 0.6, 0.1])
    truth = np.array([1, 1, 0, 0], dtype=bool)
    t, _ = best_f1_threshold(scores, truth, grid=[0.15, 0.5, 0.8], min_recall=1.0)
    assert t == 0.15
    forced = np.array([0, 1, 0, 0], dtype=bool)
    t, f1 = best_f1_threshold(
        scores, truth, grid=[0.15, 0.5, 0.8], min_recall=1.0, forced_positive=forced
    )
    assert t == 0.8 and f1 == 1.0


def test_evidence_hit_rate() -> None:
    predicted = [{"a": [(0, 10)]}, {"a": [(20, 30)]}, {"b": [(0, 5)]}]
    gold = [{"a": [(5, 15)]}, {"a": [(0, 19)]}, {"a": [(0, 5)]}]
    assert evidence_hit_rate(predicted, gold) == 0.5
    assert evidence_hit_rate([{}], [{}]) == 1.0


def test_best_f1_threshold_can_break_ties_towards_recall() -> None:
    scores = np.array([0.9, 0.6, 0.3, 0.1])
    truth = np.array([1, 1, 0, 0], dtype=bool)
    grid = [0.4, 0.5, 0.7, 0.8]
    assert best_f1_threshold(scores, truth, grid=grid)[0] == 0.5
    assert best_f1_threshold(scores, truth, grid=grid, prefer_lower=True)[0] == 0.4
