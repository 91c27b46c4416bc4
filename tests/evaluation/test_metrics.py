from __future__ import annotations

import math

import numpy as np
import pytest

from evaluation.metrics import (
    PRIMARY_METRIC,
    average_precision,
    catalogue_coverage,
    dcg_at_k,
    gini,
    hit_rate_at_k,
    lorenz_curve,
    mean_skipping_nan,
    ndcg_at_k,
    precision_at_k,
    primary_metric,
    recall_at_k,
    relative_gain,
    top_share,
)


def test_primary_metric_name() -> None:
    assert PRIMARY_METRIC == "ndcg@10"
    assert primary_metric(5) == "ndcg@5"


def test_dcg_matches_hand_computed_linear_example() -> None:
    # 3 + 2/log2(3) + 3/2 + 0 + 1/log2(6) + 2/log2(7)
    expected = 3 + 2 / math.log2(3) + 1.5 + 1 / math.log2(6) + 2 / math.log2(7)
    assert dcg_at_k([3, 2, 3, 0, 1, 2], 6) == pytest.approx(expected)
    assert dcg_at_k([3, 2, 3, 0, 1, 2], 6) == pytest.approx(6.8611, abs=1e-4)


def test_dcg_truncates_at_k_and_handles_short_lists() -> None:
    assert dcg_at_k([1, 1, 1], 1) == pytest.approx(1.0)
    assert dcg_at_k([1.0], 10) == pytest.approx(1.0)
    assert dcg_at_k([], 5) == 0.0


def test_dcg_exponential_gain() -> None:
    # (2^1 - 1)/1 + 0 + (2^2 - 1)/log2(4)
    assert dcg_at_k([1, 0, 2], 3, gain="exponential") == pytest.approx(1 + 3 / 2)


def test_dcg_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        dcg_at_k([1, 2], 0)
    with pytest.raises(ValueError):
        dcg_at_k([1, 2], 2, gain="cubic")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        dcg_at_k([[1, 2]], 2)


def test_ndcg_textbook_example() -> None:
    ranked = [3, 2, 3, 0, 1, 2]
    ideal_pool = [3, 3, 3, 2, 2, 2, 1, 0]
    assert ndcg_at_k(ranked, ideal_pool, 6) == pytest.approx(0.785, abs=1e-3)


def test_ndcg_perfect_is_one_and_reversed_is_less() -> None:
    outcomes = np.array([0.9, 0.7, 0.4, 0.1])
    assert ndcg_at_k(outcomes, outcomes, 4) == pytest.approx(1.0)
    reversed_score = ndcg_at_k(outcomes[::-1], outcomes, 4)
    assert 0.0 < reversed_score < 1.0


def test_ndcg_ideal_uses_best_k_of_whole_pool_in_any_order() -> None:
    # the ranker showed the two best of a pool given unsorted: perfect
    assert ndcg_at_k([0.9, 0.8], [0.1, 0.8, 0.5, 0.9], 2) == pytest.approx(1.0)
    assert ndcg_at_k([0.5, 0.1], [0.1, 0.8, 0.5, 0.9], 2) < 1.0


def test_ndcg_skips_query_with_nothing_relevant() -> None:
    assert math.isnan(ndcg_at_k([0, 0, 0], [0, 0, 0], 3))
    assert math.isnan(ndcg_at_k([], [], 3))


def test_ndcg_is_nan_safe() -> None:
    # unknown outcome in the list counts as no gain; NaN in the pool is dropped
    assert ndcg_at_k([np.nan, 1.0], [1.0, np.nan], 2) == pytest.approx(1 / math.log2(3))
    assert math.isnan(ndcg_at_k([np.nan], [np.nan], 1))


def test_ndcg_zero_when_nothing_relevant_is_shown() -> None:
    assert ndcg_at_k([0, 0], [1, 0, 0], 2) == 0.0


def test_average_precision_hand_computed() -> None:
    # hits at ranks 1, 3, 6: (1 + 2/3 + 3/6) / 3
    assert average_precision([1, 0, 1, 0, 0, 1], 3) == pytest.approx((1 + 2 / 3 + 0.5) / 3)


def test_average_precision_truncated_list_uses_min_of_relevant_and_length() -> None:
    assert average_precision([1, 1, 0], 5) == pytest.approx(2 / 3)
    assert average_precision([1, 1], 5) == pytest.approx(1.0)


def test_average_precision_edge_cases() -> None:
    assert math.isnan(average_precision([0, 0], 0))
    assert average_precision([0, 0, 0], 2) == 0.0
    assert average_precision([], 2) == 0.0
    with pytest.raises(ValueError):
        average_precision([1, 1, 1], 2)


def test_recall_precision_hit_rate() -> None:
    ranked = [0, 1, 0, 1]
    assert recall_at_k(ranked, 4, 2) == pytest.approx(0.25)
    assert recall_at_k(ranked, 4, 4) == pytest.approx(0.5)
    assert math.isnan(recall_at_k(ranked, 0, 4))
    assert precision_at_k(ranked, 2) == pytest.approx(0.5)
    assert precision_at_k([1], 4) == pytest.approx(0.25)
    assert hit_rate_at_k(ranked, 1) == 0.0
    assert hit_rate_at_k(ranked, 2) == 1.0


def test_mean_skipping_nan() -> None:
    assert mean_skipping_nan([1.0, math.nan, 0.0]) == pytest.approx(0.5)
    assert math.isnan(mean_skipping_nan([math.nan]))
    assert math.isnan(mean_skipping_nan([]))


def test_catalogue_coverage() -> None:
    assert catalogue_coverage([["a", "b"], ["b", "c"]], 6) == pytest.approx(0.5)
    assert catalogue_coverage([], 3) == 0.0
    with pytest.raises(ValueError):
        catalogue_coverage([["a"]], 0)
    with pytest.raises(ValueError):
        catalogue_coverage([["a", "b"]], 1)


def test_gini_equal_exposure_is_zero() -> None:
    assert gini([3, 3, 3, 3]) == pytest.approx(0.0)


@pytest.mark.parametrize("n", [2, 5, 100])
def test_gini_one_item_takes_all(n: int) -> None:
    exposure = np.zeros(n)
    exposure[n // 2] = 7.0
    assert gini(exposure) == pytest.approx((n - 1) / n)


def test_gini_hand_computed_and_order_free() -> None:
    # mean absolute difference form: sum|xi - xj| / (2 n^2 mean) = 8 / 36
    assert gini([1, 2, 3]) == pytest.approx(8 / 36)
    assert gini([3, 1, 2]) == pytest.approx(8 / 36)


def test_gini_no_exposure_and_bad_input() -> None:
    assert math.isnan(gini([0, 0]))
    assert math.isnan(gini([]))
    with pytest.raises(ValueError):
        gini([1, -1])
    with pytest.raises(ValueError):
        gini([1, np.nan])


def test_top_share() -> None:
    values = np.arange(1, 31, dtype=float)  # 10% of 30 items is exactly 3, not 4
    assert top_share(values) == pytest.approx((28 + 29 + 30) / values.sum())
    assert top_share([1, 1, 1, 1]) == pytest.approx(0.25)  # at least one item
    assert top_share([5, 0, 0, 0, 0], fraction=0.2) == pytest.approx(1.0)
    assert math.isnan(top_share([0, 0]))
    with pytest.raises(ValueError):
        top_share([1], fraction=0.0)


def test_lorenz_curve_is_monotone_from_origin_to_one() -> None:
    rng = np.random.default_rng(0)
    x, y = lorenz_curve(rng.exponential(size=50))
    assert x[0] == 0.0 and y[0] == 0.0
    assert x[-1] == 1.0 and y[-1] == 1.0
    assert np.all(np.diff(x) > 0)
    assert np.all(np.diff(y) >= 0)
    assert np.all(y <= x + 1e-12)  # below the diagonal


def test_lorenz_curve_equal_and_empty() -> None:
    x, y = lorenz_curve([2, 2, 2, 2])
    assert np.allclose(x, y)
    x, y = lorenz_curve([0, 0])
    assert np.allclose(x, y)


def test_relative_gain() -> None:
    assert relative_gain(0.6, 0.5) == pytest.approx(0.2)
    assert relative_gain(0.4, -0.5) == pytest.approx(1.8)
    assert math.isnan(relative_gain(0.5, 0.0))
    assert math.isnan(relative_gain(math.nan, 0.5))
