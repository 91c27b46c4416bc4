import datetime as dt

import numpy as np
import pytest

from features.profile import (
    jaccard,
    normalise_tags,
    seniority_gap,
    shared_working_hours,
    utc_offset_hours,
)


def test_same_zone_shares_the_whole_day():
    assert shared_working_hours(np.array([1.0]), np.array([1.0]))[0] == pytest.approx(8.0)


def test_berlin_new_york_share_two_hours_in_winter():
    day = dt.date(2026, 1, 15)
    berlin, ny = utc_offset_hours("Europe/Berlin", day), utc_offset_hours("America/New_York", day)
    assert (berlin, ny) == (1.0, -5.0)
    assert shared_working_hours(np.array([berlin]), np.array([ny]))[0] == pytest.approx(2.0)


def test_overlap_wraps_around_midnight():
    # Auckland (+13 in January) and Los Angeles (-8): 21 h apart = 3 h behind across the date line
    assert shared_working_hours(np.array([13.0]), np.array([-8.0]))[0] == pytest.approx(5.0)


def test_far_apart_zones_share_nothing_and_dst_changes_offsets():
    assert shared_working_hours(np.array([5.5]), np.array([-7.0]))[0] == 0.0
    assert utc_offset_hours("Europe/London", dt.date(2026, 7, 1)) == 1.0
    assert utc_offset_hours("Europe/London", dt.date(2026, 1, 1)) == 0.0


def test_seniority_gap_is_signed():
    assert seniority_gap(np.array([3, 6]), np.array([5, 4])).tolist() == [2.0, -2.0]


def test_jaccard_unknown_when_both_empty():
    out = jaccard(
        [frozenset(), frozenset({"a"}), frozenset({"a", "b"})],
        [frozenset(), frozenset(), frozenset({"b"})],
    )
    assert np.isnan(out[0]) and out[1] == 0.0 and out[2] == pytest.approx(0.5)


def test_tags_are_normalised():
    assert normalise_tags(["Public-Speaking", " public speaking ", "SQL"]) == {
        "public speaking",
        "sql",
    }
