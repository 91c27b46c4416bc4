from __future__ import annotations

import math

import pytest

from evaluation.exposure import (
    NOT_STATED,
    attributes_from_mentors,
    exposure_audit,
    exposure_by_item,
    flatten_audit,
    group_rows,
    position_weight,
    small_groups_label,
)
from recsys.schemas import MentorIn

CATALOGUE: dict[str, dict[str, str | None]] = {
    "a": {"location": "Berlin", "group": "g1"},
    "b": {"location": "Berlin", "group": "g1"},
    "c": {"location": "London", "group": "g1"},
    "d": {"location": "London", "group": None},
}
LISTS = [["a", "b"], ["a", "c"]]


def test_position_weight() -> None:
    assert position_weight(1) == pytest.approx(1.0)
    assert position_weight(3) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        position_weight(0)


def test_exposure_by_item_counts_and_pads_catalogue() -> None:
    assert exposure_by_item(LISTS, CATALOGUE) == {"a": 2.0, "b": 1.0, "c": 1.0, "d": 0.0}
    weighted = exposure_by_item(LISTS, position_weighted=True)
    assert weighted["a"] == pytest.approx(2.0)
    assert weighted["b"] == pytest.approx(1 / math.log2(3))


def test_audit_hand_computed() -> None:
    audit = exposure_audit(LISTS, CATALOGUE, min_group_size=1)
    assert audit["n_mentors"] == 4
    assert audit["total_exposure"] == pytest.approx(4.0)
    # sorted exposure [0, 1, 1, 2]: 2 * (0 + 2 + 3 + 8) / (4 * 4) - 5/4
    assert audit["gini"] == pytest.approx(0.375)
    assert audit["top10_share"] == pytest.approx(0.5)  # one item of four: "a" with 2 of 4
    assert audit["coverage"] == pytest.approx(0.75)

    berlin = audit["groups"]["location"]["Berlin"]
    london = audit["groups"]["location"]["London"]
    assert berlin["n_mentors"] == 2
    assert berlin["mentor_share"] == pytest.approx(0.5)
    assert berlin["exposure_share"] == pytest.approx(0.75)
    assert berlin["exposure_ratio"] == pytest.approx(1.5)
    assert london["exposure_ratio"] == pytest.approx(0.5)
    assert london["coverage"] == pytest.approx(0.5)

    groups = audit["groups"]["group"]
    assert set(groups) == {"g1", NOT_STATED}
    assert groups[NOT_STATED]["exposure_share"] == 0.0
    assert groups["g1"]["exposure_share"] == pytest.approx(1.0)


def test_audit_position_weighted_changes_shares() -> None:
    plain = exposure_audit(LISTS, CATALOGUE, min_group_size=1)
    weighted = exposure_audit(LISTS, CATALOGUE, min_group_size=1, position_weighted=True)
    # "a" is always first, so weighting moves exposure towards Berlin
    assert (
        weighted["groups"]["location"]["Berlin"]["exposure_share"]
        > plain["groups"]["location"]["Berlin"]["exposure_share"]
    )


def test_small_groups_are_pooled() -> None:
    catalogue: dict[str, dict[str, str | None]] = {
        f"m{i}": {"location": "Berlin"} for i in range(6)
    }
    catalogue["x"] = {"location": "Oslo"}
    catalogue["y"] = {"location": "Lima"}
    audit = exposure_audit([["x", "m0"]], catalogue, min_group_size=5)
    locations = audit["groups"]["location"]
    pooled = small_groups_label(5)
    assert set(locations) == {"Berlin", pooled}
    assert locations[pooled]["n_mentors"] == 2
    assert locations[pooled]["exposure_share"] == pytest.approx(0.5)


def test_audit_shares_sum_to_one_per_attribute() -> None:
    audit = exposure_audit(LISTS, CATALOGUE, min_group_size=1)
    for by_label in audit["groups"].values():
        assert sum(g["mentor_share"] for g in by_label.values()) == pytest.approx(1.0)
        assert sum(g["exposure_share"] for g in by_label.values()) == pytest.approx(1.0)


def test_audit_rejects_mentor_outside_catalogue_and_empty_catalogue() -> None:
    with pytest.raises(ValueError, match="not in the catalogue"):
        exposure_audit([["zz"]], CATALOGUE)
    with pytest.raises(ValueError):
        exposure_audit([], {})


def test_audit_without_exposure_gives_nan_shares() -> None:
    audit = exposure_audit([], CATALOGUE, min_group_size=1)
    assert math.isnan(audit["gini"])
    assert audit["coverage"] == 0.0
    assert math.isnan(audit["groups"]["location"]["Berlin"]["exposure_share"])


def test_flatten_audit_has_mlflow_safe_names() -> None:
    flat = flatten_audit(exposure_audit(LISTS, CATALOGUE, min_group_size=1))
    assert flat["exposure.gini"] == pytest.approx(0.375)
    assert flat["exposure.location.Berlin.ratio"] == pytest.approx(1.5)
    assert "exposure.group.not stated.ratio" in flat
    assert all("(" not in key for key in flat)


def test_group_rows_and_attributes_from_mentors() -> None:
    mentors = [
        MentorIn(
            id="a", seniority=3, timezone="UTC", languages=["en"], capacity=2, location="Berlin"
        ),
        MentorIn(id="b", seniority=5, timezone="UTC", languages=["en"], capacity=1),
    ]
    attributes = attributes_from_mentors(mentors)
    assert attributes == {
        "a": {"location": "Berlin", "group": None},
        "b": {"location": None, "group": None},
    }
    rows = group_rows(exposure_audit([["a"]], attributes, min_group_size=1))
    keys = {(row["attribute"], row["group"]) for row in rows}
    assert keys == {("location", "Berlin"), ("location", NOT_STATED), ("group", NOT_STATED)}
    berlin = next(r for r in rows if r["group"] == "Berlin")
    assert berlin["exposure_ratio"] == pytest.approx(2.0)
