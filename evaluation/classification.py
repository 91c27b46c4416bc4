"""Multi-label classification metrics (pure functions over arrays → ``dict[str, float]``).

Used for the challenge-signal miner: per-label precision / recall / F1, macro F1 (the primary
metric), ``boundary_concern`` recall and the false-alarm rate (share of notes with no gold
label that get ANY challenge signal; ``positive_progress`` is not a challenge).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PRIMARY_METRIC = "macro_f1"


def _as_bool_matrix(y: np.ndarray | Sequence[Sequence[bool]], n_labels: int) -> np.ndarray:
    arr = np.asarray(y, dtype=bool)
    if arr.ndim != 2 or arr.shape[1] != n_labels:
        raise ValueError(f"expected an (n, {n_labels}) label matrix, got shape {arr.shape}")
    return arr


def labels_to_matrix(rows: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    """Label-name lists → boolean indicator matrix (columns in ``labels`` order)."""
    index = {label: j for j, label in enumerate(labels)}
    out = np.zeros((len(rows), len(labels)), dtype=bool)
    for i, row in enumerate(rows):
        for label in row:
            out[i, index[label]] = True
    return out


def precision_recall_f1(tp: float, fp: float, fn: float) -> tuple[float, float, float]:
    """Precision, recall and F1 with the usual 0/0 conventions (an empty class that is never
    predicted scores 1.0 precision and recall: nothing was missed, nothing was invented)."""
    precision = tp / (tp + fp) if tp + fp else (1.0 if fn == 0 else 0.0)
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def multilabel_metrics(
    y_true: np.ndarray | Sequence[Sequence[bool]],
    y_pred: np.ndarray | Sequence[Sequence[bool]],
    labels: Sequence[str],
    *,
    non_challenge: Sequence[str] = ("positive_progress",),
    boundary_label: str = "boundary_concern",
) -> dict[str, float]:
    """All metrics for one evaluation set.

    Keys: ``{label}_precision``, ``{label}_recall``, ``{label}_f1`` and ``{label}_support`` per
    label; ``macro_f1`` (mean of per-label F1), ``micro_f1``, ``macro_precision``,
    ``macro_recall``, ``subset_accuracy`` (all labels of a note right),
    ``boundary_concern_recall``, ``false_alarm_rate`` (over notes without a gold label),
    ``n_notes`` and ``n_unlabelled``.
    """
    labels = list(labels)
    truth = _as_bool_matrix(y_true, len(labels))
    pred = _as_bool_matrix(y_pred, len(labels))
    if truth.shape != pred.shape:
        raise ValueError(f"shape mismatch: {truth.shape} vs {pred.shape}")
    out: dict[str, float] = {}
    f1s: list[float] = []
    precisions: list[float] = []
    recalls: list[float] = []
    tp_all = fp_all = fn_all = 0.0
    for j, label in enumerate(labels):
        tp = float(np.sum(truth[:, j] & pred[:, j]))
        fp = float(np.sum(~truth[:, j] & pred[:, j]))
        fn = float(np.sum(truth[:, j] & ~pred[:, j]))
        p, r, f = precision_recall_f1(tp, fp, fn)
        out[f"{label}_precision"] = p
        out[f"{label}_recall"] = r
        out[f"{label}_f1"] = f
        out[f"{label}_support"] = float(np.sum(truth[:, j]))
        f1s.append(f)
        precisions.append(p)
        recalls.append(r)
        tp_all += tp
        fp_all += fp
        fn_all += fn
    out["macro_f1"] = float(np.mean(f1s)) if f1s else 0.0
    out["macro_precision"] = float(np.mean(precisions)) if precisions else 0.0
    out["macro_recall"] = float(np.mean(recalls)) if recalls else 0.0
    out["micro_f1"] = precision_recall_f1(tp_all, fp_all, fn_all)[2]
    out["subset_accuracy"] = float(np.mean(np.all(truth == pred, axis=1))) if len(truth) else 0.0
    if boundary_label in labels:
        out["boundary_concern_recall"] = out[f"{boundary_label}_recall"]
    out["false_alarm_rate"] = false_alarm_rate(truth, pred, labels, non_challenge=non_challenge)
    out["n_notes"] = float(len(truth))
    out["n_unlabelled"] = float(np.sum(~truth.any(axis=1)))
    return out


def false_alarm_rate(
    y_true: np.ndarray | Sequence[Sequence[bool]],
    y_pred: np.ndarray | Sequence[Sequence[bool]],
    labels: Sequence[str],
    *,
    non_challenge: Sequence[str] = ("positive_progress",),
) -> float:
    """Share of notes with no gold label that get at least one predicted challenge signal
    (0.0 when there are no such notes)."""
    labels = list(labels)
    truth = _as_bool_matrix(y_true, len(labels))
    pred = _as_bool_matrix(y_pred, len(labels))
    challenge = np.array([label not in non_challenge for label in labels])
    unlabelled = ~truth.any(axis=1)
    if not unlabelled.any():
        return 0.0
    alarms = pred[unlabelled][:, challenge].any(axis=1)
    return float(np.mean(alarms))


def best_f1_threshold(
    scores: np.ndarray,
    truth: np.ndarray,
    *,
    grid: Sequence[float] | None = None,
    min_recall: float = 0.0,
    forced_positive: np.ndarray | None = None,
    prefer_lower: bool = False,
) -> tuple[float, float]:
    """Threshold on ``scores`` (one label) maximising F1, among thresholds reaching
    ``min_recall`` when any does (otherwise the one with the highest recall). Rows in
    ``forced_positive`` count as predicted whatever the threshold (e.g. rule hits).
    Ties go to the higher threshold (fewer alarms), or with ``prefer_lower`` to the lower one
    (for a safety-critical label: equal validation F1, more room to catch unseen phrasing).
    Returns ``(threshold, f1)``."""
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth, dtype=bool)
    forced = (
        np.zeros_like(truth) if forced_positive is None else np.asarray(forced_positive, dtype=bool)
    )
    grid = list(grid) if grid is not None else [round(x, 3) for x in np.arange(0.1, 0.91, 0.025)]
    best: tuple[float, float, float] | None = None  # (f1, threshold, recall)
    fallback: tuple[float, float, float] | None = None  # (recall, f1, threshold)
    for t in grid:
        pred = (scores >= t) | forced
        tp = float(np.sum(pred & truth))
        fp = float(np.sum(pred & ~truth))
        fn = float(np.sum(~pred & truth))
        _, recall, f1 = precision_recall_f1(tp, fp, fn)
        if fallback is None or (recall, f1, t) >= fallback:
            fallback = (recall, f1, t)
        if recall + 1e-12 < min_recall:
            continue
        tie_key = -t if prefer_lower else t
        if best is None or (f1, tie_key) >= (best[0], -best[1] if prefer_lower else best[1]):
            best = (f1, t, recall)
    if best is not None:
        return best[1], best[0]
    assert fallback is not None
    return fallback[2], fallback[1]


def evidence_hit_rate(
    predicted: Sequence[dict[str, list[tuple[int, int]]]],
    gold: Sequence[dict[str, list[tuple[int, int]]]],
) -> float:
    """Among correctly detected (note, label) pairs that have gold spans, the share whose
    predicted evidence overlaps a gold span of that label. Spans are ``(start, end)``
    character offsets; 1.0 when there is nothing to check."""
    checked = hits = 0
    for pred_note, gold_note in zip(predicted, gold, strict=True):
        for label, gold_spans in gold_note.items():
            if label not in pred_note or not gold_spans:
                continue
            checked += 1
            if any(a < d and c < b for a, b in pred_note[label] for c, d in gold_spans):
                hits += 1
    return hits / checked if checked else 1.0
