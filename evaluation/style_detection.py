"""How well the working-style detector (``features.style``) reads held-out statements.

``evaluation/data/style_test.jsonl`` holds statements written separately from the detector's
training statements (``features.style_examples``), with other wording: each labelled per
axis +1 / -1 (a pole) or 0 (not about it; many mention writing, speaking or plans as a topic).

``python -m evaluation.style_detection`` prints the figures for the configured encoder
(``RECSYS_ENCODER``, ``RECSYS_ENCODER_BACKEND``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from features.style import STYLE_AXES

if TYPE_CHECKING:
    from recsys.catalog import EncodeFn

STYLE_TEST_PATH = Path(__file__).parent / "data" / "style_test.jsonl"
PRIMARY_METRIC = "accuracy"


def load_style_test(path: Path = STYLE_TEST_PATH) -> tuple[list[str], np.ndarray]:
    """The statements and their labels, (n, len(STYLE_AXES)) in {-1, 0, 1}."""
    texts: list[str] = []
    labels: list[list[int]] = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        try:
            labels.append([int(row[a.name]) for a in STYLE_AXES])
            texts.append(str(row["text"]))
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{path}:{line_no}: {exc}") from exc
    return texts, np.asarray(labels, np.int64)


def style_detection_metrics(leanings: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """Per axis and over both: ``accuracy`` (the sign of the leaning, 0 for "not about it",
    against the label), ``recall`` (statements about the axis read on the right side) and
    ``false_style`` (statements not about it read as a style)."""
    read = np.sign(np.asarray(leanings, np.float64)).astype(np.int64)
    gold = np.asarray(gold, np.int64)
    if read.shape != gold.shape:
        raise ValueError(f"leanings {read.shape} and labels {gold.shape} differ")
    out: dict[str, float] = {}

    def scores(r: np.ndarray, g: np.ndarray) -> dict[str, float]:
        stated, unstated = g != 0, g == 0
        return {
            "accuracy": float((r == g).mean()),
            "recall": float((r[stated] == g[stated]).mean()) if stated.any() else float("nan"),
            "false_style": float((r[unstated] != 0).mean()) if unstated.any() else float("nan"),
        }

    for j, axis in enumerate(STYLE_AXES):
        out.update({f"{k}_{axis.name}": v for k, v in scores(read[:, j], gold[:, j]).items()})
    out.update(scores(read.ravel(), gold.ravel()))
    return out


def score_style_detector(
    encode: EncodeFn, encoder_id: str, path: Path = STYLE_TEST_PATH
) -> dict[str, float]:
    """:func:`style_detection_metrics` of the detector fitted for this encoder (the one the
    catalog uses) on the held-out statements."""
    from features.style import style_leanings
    from recsys.catalog import style_probe

    texts, gold = load_style_test(path)
    probe = style_probe(encode, encoder_id)
    lean = style_leanings(encode(texts), np.arange(len(texts)), len(texts), probe)
    return style_detection_metrics(lean, gold)


def main() -> None:  # pragma: no cover - a figure printer
    from models.embedder import Embedder
    from recsys.settings import Settings

    embedder = Embedder.from_settings(Settings())
    metrics = score_style_detector(embedder.encode, embedder.encoder_id)
    print(f"encoder {embedder.encoder_id}, held-out statements {STYLE_TEST_PATH}")
    for name, value in metrics.items():
        print(f"{name:>22} {value:.3f}")


if __name__ == "__main__":  # pragma: no cover
    main()
