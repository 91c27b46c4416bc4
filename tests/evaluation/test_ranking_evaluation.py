from __future__ import annotations

import numpy as np
import pytest

from evaluation.matching_eval import synthetic_engine
from evaluation.ranking import evaluate_ground_truth
from recsys.synthetic.latent import TERMS


@pytest.mark.slow
def test_ground_truth_evaluation_reports_where_lists_fall_short(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    engine, gt_dir = synthetic_engine(
        tmp_path_factory.mktemp("reval"), n_mentors=80, n_mentees=400, seed=4, org="r",
        heldout_fraction=0.1,
    )  # fmt: skip
    out = tmp_path_factory.mktemp("report")
    result = evaluate_ground_truth(engine, "r", gt_dir, out, k=5, sample=30)
    terms = [t for t in TERMS if t != "mentee"]
    for name, row in result.table.items():
        gaps = np.array([row[f"shortfall_{t}@5"] for t in terms])
        assert np.isfinite(gaps).all(), name
    # random lists fall short of the ideal ones overall, in mean logit
    total = sum(result.table["random"][f"shortfall_{t}@5"] for t in terms)
    assert total > 0
    assert result.table["random"]["ndcg@5"] < 1.0
    text = result.report.read_text()
    assert "Where the lists fall short of the ideal" in text and "engagement" in text
    # the main table keeps the ranking metrics only
    main = text.split("Where the lists fall short")[0]
    assert "shortfall_" not in main
    engine.ctx.engine.dispose()
