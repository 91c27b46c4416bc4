"""Offline reports: one ``report.md`` with tables and PNG figures beside it.

Used for the ranker report (strategies compared by ``evaluation.offline``), the risk model
report (calibration, precision-recall, feature importance) and the cohort-matching report.

Reports hold aggregate figures only. Callers must not put personal free text (goals, bios,
feedback) into section text or tables; cells are escaped so a stray value cannot break the
table, but nothing here can tell a name from a label.

Matplotlib is imported inside the plot helpers (Agg canvas, no pyplot global state), so
importing this module stays cheap and works without a display.
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from evaluation.metrics import gini, lorenz_curve

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Row = Mapping[str, object]
REPORT_NAME = "report.md"
FIGURES_DIR = "figures"
_DPI = 120


@dataclass(frozen=True)
class Table:
    rows: Sequence[Row]
    caption: str = ""
    columns: Sequence[str] | None = None  # default: keys in order of first appearance


@dataclass
class ReportSection:
    heading: str
    text: str = ""
    tables: list[Table | Sequence[Row]] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)


# --------------------------------------------------------------------------- markdown


def format_cell(value: object) -> str:
    """A table cell: floats to 4 significant digits (whole numbers without decimals), NaN as
    ``n/a``, text on one line with ``|`` escaped."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        if math.isnan(number):
            return "n/a"
        if math.isinf(number):
            return "inf" if number > 0 else "-inf"
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return f"{number:.4g}"
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text.replace("\\", "\\\\").replace("|", "\\|")


def markdown_table(rows: Sequence[Row], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return "_(no rows)_\n"
    if columns is None:
        columns = list(dict.fromkeys(key for row in rows for key in row))
    lines = [
        "| " + " | ".join(format_cell(c) for c in columns) + " |",
        "|" + "|".join("---" for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(format_cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def metric_rows(
    table: Mapping[str, Mapping[str, float]], key: str = "strategy"
) -> list[dict[str, object]]:
    """``{name: {metric: value}}`` (as returned by ``evaluation.offline.compare``) as table rows."""
    return [{key: name, **metrics} for name, metrics in table.items()]


def _place_figure(figure: Path, out_dir: Path, used: set[str]) -> str:
    """Relative link to the figure, copying it under ``out_dir/figures`` when it lives elsewhere."""
    figure = Path(figure)
    if not figure.is_file():
        raise FileNotFoundError(f"figure {figure} does not exist")
    resolved, root = figure.resolve(), out_dir.resolve()
    if resolved.is_relative_to(root):
        return resolved.relative_to(root).as_posix()
    target_dir = out_dir / FIGURES_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    name, n = figure.name, 1
    while name in used or (target_dir / name).exists():
        n += 1
        name = f"{figure.stem}-{n}{figure.suffix}"
    used.add(name)
    shutil.copyfile(figure, target_dir / name)
    return f"{FIGURES_DIR}/{name}"


def write_report(out_dir: Path, title: str, sections: Sequence[ReportSection]) -> Path:
    """Write ``out_dir/report.md`` (figures outside ``out_dir`` are copied into
    ``out_dir/figures``) and return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    parts = [f"# {format_cell(title)}\n"]
    for section in sections:
        parts.append(f"## {format_cell(section.heading)}\n")
        if section.text.strip():
            parts.append(section.text.strip() + "\n")
        for table in section.tables:
            if not isinstance(table, Table):
                table = Table(rows=table)
            if table.caption:
                parts.append(f"**{format_cell(table.caption)}**\n")
            parts.append(markdown_table(table.rows, table.columns))
        for figure in section.figures:
            link = _place_figure(figure, out_dir, used)
            parts.append(f"![{format_cell(Path(figure).stem)}]({link})\n")
    path = out_dir / REPORT_NAME
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- plots


def _new_figure(width: float = 6.4, height: float = 4.0) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=_DPI)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, format="png")
    return path


def plot_metric_bars(
    values: Mapping[str, float], path: Path, *, metric: str, title: str | None = None
) -> Path:
    """Bar chart of one metric per strategy (NaN drawn as an empty bar labelled n/a)."""
    names = list(values)
    heights = [float(values[n]) for n in names]
    figure = _new_figure(max(4.0, 1.0 + 1.1 * len(names)), 4.0)
    axes = figure.add_subplot()
    bars = axes.bar(names, [0.0 if math.isnan(h) else h for h in heights], color="#4c72b0")
    axes.bar_label(bars, labels=[format_cell(h) for h in heights], padding=2)
    axes.set_ylabel(metric)
    axes.set_title(title or metric)
    finite = [h for h in heights if math.isfinite(h)]
    if finite and min(finite) >= 0.0:
        axes.set_ylim(0.0, max(max(finite) * 1.15, 1e-9))
    axes.tick_params(axis="x", labelrotation=20 if len(names) > 4 else 0)
    return _save(figure, path)


def plot_lorenz(
    exposures: Mapping[str, ArrayLike], path: Path, *, title: str | None = None
) -> Path:
    """Lorenz curve of exposure per strategy (one vector per strategy, one entry per catalogue
    item, zeros included); the Gini coefficient is in the legend."""
    figure = _new_figure(5.2, 5.0)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="equal exposure")
    for name, exposure in exposures.items():
        x, y = lorenz_curve(exposure)
        axes.plot(x, y, linewidth=1.6, label=f"{name} (Gini {format_cell(gini(exposure))})")
    axes.set_xlabel("share of mentors (least exposed first)")
    axes.set_ylabel("share of exposure")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1)
    axes.set_title(title or "Exposure Lorenz curve")
    axes.legend(loc="upper left", fontsize="small")
    return _save(figure, path)


def plot_feature_importance(
    importance: Mapping[str, float], path: Path, *, top_n: int = 20, title: str | None = None
) -> Path:
    """Horizontal bars of the ``top_n`` features by absolute importance, largest on top."""
    ranked = sorted(importance.items(), key=lambda item: abs(item[1]), reverse=True)[:top_n]
    ranked.reverse()
    figure = _new_figure(6.4, max(2.5, 0.9 + 0.32 * len(ranked)))
    axes = figure.add_subplot()
    axes.barh([name for name, _ in ranked], [value for _, value in ranked], color="#55a868")
    axes.set_xlabel("importance")
    axes.set_title(title or "Feature importance")
    axes.tick_params(axis="y", labelsize="small")
    return _save(figure, path)


def calibration_bins(
    y_true: ArrayLike, y_prob: ArrayLike, n_bins: int = 10
) -> list[dict[str, float]]:
    """Equal-width probability bins: count, mean predicted probability, observed frequency
    (empty bins left out). The numbers behind ``plot_calibration``, for a report table."""
    truth = np.asarray(y_true, dtype=np.float64).ravel()
    prob = np.asarray(y_prob, dtype=np.float64).ravel()
    if truth.shape != prob.shape:
        raise ValueError("y_true and y_prob differ in length")
    if prob.size and (prob.min() < 0.0 or prob.max() > 1.0):
        raise ValueError("probabilities must lie in [0, 1]")
    index = np.minimum((prob * n_bins).astype(int), n_bins - 1)
    rows = []
    for b in range(n_bins):
        mask = index == b
        if mask.any():
            rows.append(
                {
                    "bin_low": b / n_bins,
                    "bin_high": (b + 1) / n_bins,
                    "count": float(mask.sum()),
                    "mean_predicted": float(prob[mask].mean()),
                    "observed": float(truth[mask].mean()),
                }
            )
    return rows


def plot_calibration(
    y_true: ArrayLike, y_prob: ArrayLike, path: Path, *, n_bins: int = 10, title: str | None = None
) -> Path:
    """Reliability diagram (observed frequency against mean predicted probability per bin) over
    a histogram of the predictions; the Brier score is in the title."""
    bins = calibration_bins(y_true, y_prob, n_bins)
    truth = np.asarray(y_true, dtype=np.float64).ravel()
    prob = np.asarray(y_prob, dtype=np.float64).ravel()
    brier = float(np.mean((prob - truth) ** 2)) if prob.size else math.nan
    figure = _new_figure(5.2, 6.0)
    top, bottom = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    top.plot(
        [0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated"
    )
    top.plot(
        [row["mean_predicted"] for row in bins],
        [row["observed"] for row in bins],
        marker="o",
        label="model",
    )
    top.set_ylabel("observed frequency")
    top.set_ylim(0, 1)
    top.set_title(f"{title or 'Calibration'} (Brier {format_cell(brier)})")
    top.legend(loc="upper left", fontsize="small")
    bottom.hist(prob, bins=n_bins, range=(0, 1), color="#8172b2")
    bottom.set_xlabel("predicted probability")
    bottom.set_ylabel("count")
    bottom.set_xlim(0, 1)
    return _save(figure, path)


def precision_recall_points(
    y_true: ArrayLike, y_score: ArrayLike
) -> tuple[np.ndarray, np.ndarray, float]:
    """Precision and recall at every distinct score threshold (highest first) and the average
    precision, sum over thresholds of (recall gain) * precision, as scikit-learn defines it;
    numpy only, to keep scikit-learn's import cost out of report writing."""
    truth = np.asarray(y_true).ravel().astype(bool)
    score = np.asarray(y_score, dtype=np.float64).ravel()
    if truth.shape != score.shape:
        raise ValueError("y_true and y_score differ in length")
    n_positive = int(truth.sum())
    if n_positive == 0:
        raise ValueError("precision-recall needs at least one positive example")
    order = np.argsort(-score, kind="mergesort")
    score, truth = score[order], truth[order]
    # the last index of each run of equal scores: tied items enter together
    last = np.r_[np.flatnonzero(np.diff(score)), score.size - 1]
    true_positives = np.cumsum(truth)[last]
    precision = true_positives / (last + 1)
    recall = true_positives / n_positive
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return precision, recall, ap


def plot_precision_recall(
    y_true: ArrayLike, y_score: ArrayLike, path: Path, *, title: str | None = None
) -> Path:
    """Precision-recall curve with average precision and the positive rate (the precision of a
    random ranking) as reference."""
    precision, recall, ap = precision_recall_points(y_true, y_score)
    truth = np.asarray(y_true).ravel().astype(bool)
    figure = _new_figure(5.2, 4.6)
    axes = figure.add_subplot()
    axes.step(
        np.r_[0.0, recall],
        np.r_[1.0, precision],
        where="pre",
        label=f"model (AP {format_cell(ap)})",
    )
    axes.axhline(truth.mean(), linestyle="--", color="grey", linewidth=1, label="positive rate")
    axes.set_xlabel("recall")
    axes.set_ylabel("precision")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.set_title(title or "Precision-recall")
    axes.legend(loc="lower left", fontsize="small")
    return _save(figure, path)


def strategy_comparison_section(
    table: Mapping[str, Mapping[str, float]],
    out_dir: Path,
    *,
    primary_metric: str,
    exposures: Mapping[str, ArrayLike] | None = None,
    heading: str = "Strategies",
    text: str = "",
    columns: Sequence[str] | None = None,
) -> ReportSection:
    """The standard comparison: a table of metrics per strategy, a bar chart of the primary
    metric and, given exposure vectors (``evaluation.offline.exposure_counts``), a Lorenz plot.
    Figures are written under ``out_dir/figures``."""
    stem = re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-") or "strategies"
    figures_dir = Path(out_dir) / FIGURES_DIR
    figures = [
        plot_metric_bars(
            {name: row.get(primary_metric, math.nan) for name, row in table.items()},
            figures_dir / f"{stem}-{re.sub(r'[^a-z0-9]+', '-', primary_metric.lower())}.png",
            metric=primary_metric,
        )
    ]
    if exposures:
        figures.append(plot_lorenz(exposures, figures_dir / f"{stem}-lorenz.png"))
    rows = metric_rows(table)
    if columns is not None:
        columns = ["strategy", *[c for c in columns if c != "strategy"]]
    return ReportSection(
        heading=heading,
        text=text,
        tables=[Table(rows=rows, columns=columns, caption=f"primary metric: {primary_metric}")],
        figures=figures,
    )
