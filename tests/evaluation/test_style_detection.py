import math
from pathlib import Path

import numpy as np
import pytest

from evaluation.style_detection import load_style_test, style_detection_metrics
from features.style import STYLE_AXES
from features.style_examples import STYLE_STATEMENTS


def test_metrics_count_sides_misses_and_invented_styles() -> None:
    gold = np.array([[1, 0], [-1, 1], [0, -1], [0, 0]])
    read = np.array([[0.7, 0.0], [0.4, 0.2], [0.0, 0.0], [-0.3, 0.0]])
    m = style_detection_metrics(read, gold)
    assert m["accuracy_structure"] == pytest.approx(2 / 4)  # rows 0 and 2
    assert m["recall_structure"] == pytest.approx(1 / 2)  # row 1 read on the wrong side
    assert m["false_style_structure"] == pytest.approx(1 / 2)  # row 3 invented
    assert m["accuracy_modality"] == pytest.approx(3 / 4)
    assert m["recall_modality"] == pytest.approx(1 / 2)
    assert m["false_style_modality"] == 0.0
    assert m["accuracy"] == pytest.approx(5 / 8)
    with pytest.raises(ValueError, match="differ"):
        style_detection_metrics(read[:2], gold)


def test_recall_is_nan_without_statements_about_the_axis() -> None:
    m = style_detection_metrics(np.zeros((2, 2)), np.zeros((2, 2), np.int64))
    assert math.isnan(m["recall"]) and m["false_style"] == 0.0 and m["accuracy"] == 1.0


def test_held_out_set_is_apart_from_the_training_statements() -> None:
    texts, gold = load_style_test()
    assert gold.shape == (len(texts), len(STYLE_AXES)) and len(texts) >= 50
    assert not set(texts) & {t for t, *_ in STYLE_STATEMENTS}
    for j in range(len(STYLE_AXES)):
        assert {-1, 0, 1} <= set(gold[:, j].tolist())


def test_a_bad_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text('{"text": "a", "structure": 1, "modality": 0}\n{"text": "b"}\n')
    with pytest.raises(ValueError, match=r"s\.jsonl:2"):
        load_style_test(path)
