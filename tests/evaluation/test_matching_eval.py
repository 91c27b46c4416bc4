from __future__ import annotations

import numpy as np
import pytest

from evaluation.matching_eval import (
    PRIMARY,
    HashingEncoder,
    evaluate_matching_ground_truth,
    synthetic_engine,
)


def test_hashing_encoder_is_deterministic_unit_and_lexical() -> None:
    enc = HashingEncoder(dim=128)
    texts = [
        "system design for distributed systems",
        "distributed systems design",
        "baking bread",
        "",
    ]
    vecs = enc.encode(texts)
    assert vecs.shape == (4, 128)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(vecs, HashingEncoder(dim=128).encode(texts))
    np.testing.assert_array_equal(enc.encode_one(texts[0]), vecs[0])
    assert vecs[0] @ vecs[1] > vecs[0] @ vecs[2]


@pytest.mark.slow
def test_matching_evaluation_against_the_ground_truth(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    engine, gt_dir = synthetic_engine(
        tmp_path_factory.mktemp("meval"), n_mentors=60, n_mentees=250, seed=2, org="e"
    )
    out = tmp_path_factory.mktemp("report")
    result = evaluate_matching_ground_truth(engine, "e", gt_dir, out, cohort=200, spread=0.3)
    table = result.table
    assert set(table) == {"greedy_top1", "global_best_total", "global_most_matched",
                          "global_spread_0.3", "rules_greedy"}  # fmt: skip
    best, greedy, most = (
        table["global_best_total"],
        table["greedy_top1"],
        table["global_most_matched"],
    )
    assert best["predicted_success"] >= greedy["predicted_success"] - 1e-9
    assert most["matched_rate"] >= best["matched_rate"]
    assert best["predicted_cost_vs_best_total"] == 0
    assert table["global_spread_0.3"]["predicted_cost_vs_best_total"] >= -1e-9
    for row in table.values():
        assert 0 <= row["matched_rate"] <= 1 and 0 <= row["mean_expected_outcome"] <= 1
        assert row[PRIMARY] == pytest.approx(
            row["mean_expected_outcome"] * row["matched_rate"] * result.cohort, rel=1e-4
        )
    text = result.report.read_text()  # type: ignore[union-attr]
    assert "global_most_matched" in text and "Exposure by mentor group" in text
    assert any(g["strategy"] == "rules_greedy" for g in result.groups)
    engine.ctx.engine.dispose()
