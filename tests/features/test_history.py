import numpy as np
import pytest

from features.history import MentorHistory, NoteLog, PairingHistory, ResponseLog, asof_sums

D = lambda s: np.datetime64(s, "D")  # noqa: E731


def _hist():
    # mentor 0: completed (ended Mar), ended early (ended May), running since Jun
    return PairingHistory(
        mentor=np.array([0, 0, 0, 1]),
        started=np.array(
            ["2024-01-01", "2024-02-01", "2024-06-01", "2024-01-01"], dtype="datetime64[D]"
        ),
        ended=np.array(["2024-03-01", "2024-05-01", "NaT", "2024-02-01"], dtype="datetime64[D]"),
        success=np.array([1.0, 0.0, 0.0, 1.0]),
        early=np.array([0.0, 1.0, 0.0, 0.0]),
        rating=np.array([5.0, np.nan, np.nan, 4.0]),
        goals_met=np.array([1.0, 0.0, np.nan, np.nan]),
    )


def test_asof_sums_counts_only_earlier_events():
    counts, sums = asof_sums(
        np.array([1, 1, 2]), np.array(["2024-01-01", "2024-02-01", "2024-01-01"], dtype="datetime64[D]"),
        np.array([1.0, 2.0, 4.0]), np.array([1, 1, 2]), np.array(["2024-02-01", "2024-02-02", "2024-01-01"], dtype="datetime64[D]"),
    )  # fmt: skip
    assert counts.tolist() == [1, 2, 0]
    assert sums[:, 0].tolist() == [1.0, 3.0, 0.0]


def test_history_never_sees_outcomes_from_the_future():
    h = MentorHistory(_hist())
    before = h.features(np.array([0]), np.array([D("2024-02-15")]))
    after = h.features(np.array([0]), np.array([D("2024-06-15")]))
    assert before["hist_n"][0] == 0 and after["hist_n"][0] == 2
    # smoothed towards the prior, but more success before the early end than after it
    assert before["hist_early_rate"][0] < after["hist_early_rate"][0]
    n, completed = h.completed_counts(np.array([0]), np.array([D("2024-06-15")]))
    assert (n[0], completed[0]) == (2, 1)


def test_load_counts_running_pairings_as_of_a_date():
    h = MentorHistory(_hist())
    days = np.array([D("2023-12-31"), D("2024-02-15"), D("2024-03-01"), D("2024-07-01")])
    assert h.load(np.zeros(4, np.int64), days).tolist() == [0, 2, 1, 1]
    # a pairing is not its own load
    assert h.load(np.array([0]), np.array([D("2024-06-01")]), np.array([True]))[0] == 0


def test_decline_rate_from_the_response_log():
    log = ResponseLog(
        mentor=np.array([0, 0, 0]), at=np.array(["2024-01-01"] * 3, dtype="datetime64[D]"),
        declined=np.array([1.0, 1.0, 0.0]), requested=np.array([1.0, 1.0, 1.0]),
    )  # fmt: skip
    f = MentorHistory(_hist(), log).features(
        np.array([0, 0]), np.array([D("2024-01-01"), D("2024-01-02")])
    )
    assert f["hist_requests"].tolist() == [0.0, 3.0]
    assert f["hist_decline_rate"][1] == pytest.approx((2 + 3 * (2 / 3)) / 6)


def test_a_mentor_who_said_full_is_full_for_the_window_only():
    log = ResponseLog(
        mentor=np.array([0, 0, 1]), at=np.array(["2024-03-01"] * 3, dtype="datetime64[D]"),
        declined=np.array([1.0, 1.0, 0.0]), requested=np.ones(3),
        no_capacity=np.array([True, False, False]),
    )  # fmt: skip
    h = MentorHistory(_hist(), log)
    days = np.array([D("2024-02-29"), D("2024-03-01"), D("2024-03-14"), D("2024-03-15")])
    assert h.said_full(np.zeros(4, np.int64), days, 14).tolist() == [False, True, True, False]
    assert not h.said_full(np.ones(4, np.int64), days, 14).any()  # declined, but not for room
    assert not h.said_full(np.zeros(4, np.int64), days, 0).any()  # turned off
    h.add_capacity_declines(np.array([1]), np.array([D("2024-03-10")]))  # later, via the API
    assert h.said_full(np.ones(4, np.int64), days, 14).tolist() == [False, False, True, True]


def test_declines_for_want_of_room_are_not_unwillingness():
    # three requests, two declined: one because the mentor was full
    log = ResponseLog(
        mentor=np.zeros(5, np.int64), at=np.array(["2024-01-01"] * 5, dtype="datetime64[D]"),
        declined=np.array([0.0, 0.0, 0.0, 1.0, 1.0]), requested=np.array([1.0, 1.0, 1.0, 0.0, 0.0]),
        no_capacity=np.array([False, False, False, True, False]),
    )  # fmt: skip
    h = MentorHistory(_hist(), log)
    f = h.features(np.array([0]), np.array([D("2024-01-02")]))
    assert h.prior_decline == pytest.approx(1 / 2)  # 1 unwilling decline of 2 requests with room
    assert f["hist_requests"][0] == 3.0
    assert f["hist_decline_rate"][0] == pytest.approx((1 + 3 * 0.5) / (2 + 3))


def test_low_commitment_notes_count_as_of_their_date_and_are_nan_without_analysed_notes():
    notes = NoteLog(
        mentor=np.array([0, 0, 0, 1]),
        at=np.array(["2024-01-10", "2024-02-10", "2024-03-10", "2024-01-10"], dtype="datetime64[D]"),
        low_commitment=np.array([1.0, 1.0, 0.0, 0.0]),
    )  # fmt: skip
    h = MentorHistory(_hist(), notes=notes)
    f = h.features(
        np.array([0, 0, 1]), np.array([D("2024-01-10"), D("2024-03-01"), D("2024-03-01")])
    )
    assert f["hist_notes"].tolist() == [0.0, 2.0, 1.0]
    prior = 2 / 4
    assert f["hist_low_commitment_rate"][0] == pytest.approx(prior)  # nothing known yet
    assert f["hist_low_commitment_rate"][1] == pytest.approx((2 + 3 * prior) / 5)
    assert f["hist_low_commitment_rate"][2] == pytest.approx((0 + 3 * prior) / 4)
    unread = MentorHistory(_hist()).features(np.array([0]), np.array([D("2024-03-01")]))
    assert np.isnan(unread["hist_low_commitment_rate"][0]) and unread["hist_notes"][0] == 0


def test_a_mentor_who_said_full_has_room_again_once_a_pairing_ends():
    # mentor 0's second pairing ends on 2024-05-01, eleven days into the window
    log = ResponseLog(
        mentor=np.array([0]), at=np.array(["2024-04-20"], dtype="datetime64[D]"),
        declined=np.ones(1), requested=np.ones(1), no_capacity=np.array([True]),
    )  # fmt: skip
    h = MentorHistory(_hist(), log)
    days = np.array([D("2024-04-20"), D("2024-04-30"), D("2024-05-01"), D("2024-05-02")])
    assert h.said_full(np.zeros(4, np.int64), days, 14).tolist() == [True, True, False, False]
    # saying so again after the pairing ended starts a new window
    h.add_capacity_declines(np.array([0]), np.array([D("2024-05-02")]))
    assert h.said_full(np.zeros(4, np.int64), days, 14).tolist() == [True, True, False, True]


def test_a_mentor_who_said_full_has_room_again_once_their_capacity_is_raised():
    log = ResponseLog(
        mentor=np.array([1, 1]), at=np.array(["2024-04-10", "2024-04-20"], dtype="datetime64[D]"),
        declined=np.ones(2), requested=np.ones(2), no_capacity=np.array([True, True]),
    )  # fmt: skip
    raised = (np.array([1]), np.array(["2024-04-25"], dtype="datetime64[D]"))
    h = MentorHistory(_hist(), log, capacity_raised=raised)
    days = np.array([D("2024-04-24"), D("2024-04-25"), D("2024-04-30")])
    assert h.said_full(np.ones(3, np.int64), days, 14).tolist() == [True, False, False]
    # a raise before the decline says nothing about it; one on the decline's day ends it
    before = MentorHistory(
        _hist(), log, capacity_raised=(np.array([1]), np.array([D("2024-04-15")]))
    )
    assert before.said_full(np.ones(3, np.int64), days, 14).tolist() == [True, True, True]
    same_day = MentorHistory(
        _hist(), log, capacity_raised=(np.array([1]), np.array([D("2024-04-20")]))
    )
    assert same_day.said_full(np.ones(3, np.int64), days, 14).tolist() == [False, False, False]
