from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from evaluation.report import (
    REPORT_NAME,
    ReportSection,
    Table,
    calibration_bins,
    format_cell,
    markdown_table,
    metric_rows,
    plot_calibration,
    plot_feature_importance,
    plot_lorenz,
    plot_metric_bars,
    plot_precision_recall,
    precision_recall_points,
    strategy_comparison_section,
    write_report,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

TABLE = {
    "ranker": {"ndcg@10": 0.61234, "coverage": 0.8, "n_mentees": 200.0},
    "popular": {"ndcg@10": 0.4, "coverage": 0.1, "n_mentees": 200.0},
}


def is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_MAGIC


def test_format_cell() -> None:
    assert format_cell(0.612345) == "0.6123"
    assert format_cell(200.0) == "200"
    assert format_cell(3) == "3"
    assert format_cell(math.nan) == "n/a"
    assert format_cell(True) == "yes"
    assert format_cell(None) == ""
    assert format_cell("a|b\nc") == "a\\|b c"
    assert format_cell(np.float32(0.5)) == "0.5"


def test_markdown_table_columns_in_first_seen_order() -> None:
    text = markdown_table([{"a": 1, "b": 2.5}, {"a": 2, "c": "x"}])
    lines = text.strip().splitlines()
    assert lines[0] == "| a | b | c |"
    assert lines[1] == "|---|---|---|"
    assert lines[2] == "| 1 | 2.5 |  |"
    assert lines[3] == "| 2 |  | x |"
    assert "no rows" in markdown_table([])


def test_metric_rows() -> None:
    rows = metric_rows(TABLE)
    assert rows[0] == {"strategy": "ranker", **TABLE["ranker"]}


def test_plot_helpers_write_pngs(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    y_prob = rng.uniform(size=200)
    y_true = (rng.uniform(size=200) < y_prob).astype(int)
    paths = [
        plot_metric_bars({"a": 0.5, "b": math.nan}, tmp_path / "bars.png", metric="ndcg@10"),
        plot_lorenz({"a": [1, 1, 1], "b": [0, 0, 3]}, tmp_path / "lorenz.png"),
        plot_feature_importance({"f1": 3.0, "f2": -1.0, "f3": 0.5}, tmp_path / "fi.png", top_n=2),
        plot_calibration(y_true, y_prob, tmp_path / "sub" / "cal.png"),
        plot_precision_recall(y_true, y_prob, tmp_path / "pr.png"),
    ]
    assert all(is_png(p) for p in paths)


def test_precision_recall_needs_a_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        plot_precision_recall([0, 0], [0.1, 0.2], tmp_path / "pr.png")


def test_precision_recall_points_hand_computed_with_ties() -> None:
    precision, recall, ap = precision_recall_points([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.1])
    # thresholds 0.9, 0.8 (two tied items enter together), 0.1
    assert precision.tolist() == pytest.approx([1.0, 2 / 3, 0.5])
    assert recall.tolist() == pytest.approx([0.5, 1.0, 1.0])
    assert ap == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)


def test_precision_recall_points_agree_with_scikit_learn() -> None:
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(7)
    y_true = rng.integers(0, 2, size=300)
    y_score = np.round(rng.uniform(size=300), 1)  # many ties
    assert precision_recall_points(y_true, y_score)[2] == pytest.approx(
        average_precision_score(y_true, y_score)
    )


def test_calibration_bins() -> None:
    rows = calibration_bins([0, 1, 1, 0], [0.05, 0.15, 0.95, 1.0], n_bins=10)
    assert [r["count"] for r in rows] == [1.0, 1.0, 2.0]
    assert rows[2]["mean_predicted"] == pytest.approx(0.975)  # 1.0 falls in the last bin
    assert rows[2]["observed"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        calibration_bins([1], [1.5])
    with pytest.raises(ValueError):
        calibration_bins([1, 0], [0.5])


def test_write_report_with_tables_and_figures(tmp_path: Path) -> None:
    out_dir = tmp_path / "report"
    outside = plot_feature_importance({"seniority_gap": 2.0}, tmp_path / "elsewhere" / "fi.png")
    comparison = strategy_comparison_section(
        TABLE,
        out_dir,
        primary_metric="ndcg@10",
        exposures={"ranker": [1, 2, 3, 0], "popular": [0, 0, 0, 6]},
        text="Held-out pairings from 2024.",
    )
    extra = ReportSection(
        heading="Ranker model",
        text="Feature importance by gain.",
        tables=[Table(rows=[{"feature": "seniority_gap", "gain": 2.0}], caption="importance")],
        figures=[outside],
    )
    path = write_report(out_dir, "Ranker report", [comparison, extra])

    assert path == out_dir / REPORT_NAME
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Ranker report\n")
    assert "## Strategies" in text and "## Ranker model" in text
    assert "| strategy | ndcg@10 | coverage | n_mentees |" in text
    assert "| ranker | 0.6123 | 0.8 | 200 |" in text
    assert "| seniority_gap | 2 |" in text
    assert "**importance**" in text
    assert "Held-out pairings from 2024." in text
    links = [line.split("](")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert len(links) == 3  # bars + Lorenz + copied feature importance
    for link in links:
        assert not Path(link).is_absolute()
        assert is_png(out_dir / link)
    assert "figures/fi.png" in links


def test_write_report_copies_same_named_figures_apart(tmp_path: Path) -> None:
    first = plot_metric_bars({"a": 1.0}, tmp_path / "one" / "plot.png", metric="m")
    second = plot_metric_bars({"a": 2.0}, tmp_path / "two" / "plot.png", metric="m")
    path = write_report(tmp_path / "out", "T", [ReportSection("S", figures=[first, second])])
    text = path.read_text(encoding="utf-8")
    assert "figures/plot.png" in text and "figures/plot-2.png" in text


def test_write_report_missing_figure(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path, "T", [ReportSection("S", figures=[tmp_path / "nope.png"])])


def test_comparison_section_column_order(tmp_path: Path) -> None:
    section = strategy_comparison_section(
        TABLE, tmp_path, primary_metric="ndcg@10", columns=["coverage", "ndcg@10"]
    )
    table = section.tables[0]
    assert isinstance(table, Table)
    assert table.columns == ["strategy", "coverage", "ndcg@10"]
    assert len(section.figures) == 1  # no exposures given: no Lorenz plot
