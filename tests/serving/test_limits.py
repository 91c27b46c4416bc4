"""Token-bucket rate limiter (unit tests with a fake clock)."""

from __future__ import annotations

import pytest

from serving.limits import RateLimiter, retry_after_header


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_refill_per_key() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)  # one token per second, bursts of 60
    assert all(limiter.acquire("a") == 0.0 for _ in range(60))
    wait = limiter.acquire("a")
    assert wait == pytest.approx(1.0)
    assert limiter.acquire("b") == 0.0  # buckets are per key
    clock.now += 0.5
    assert limiter.acquire("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.acquire("a") == 0.0
    clock.now += 1_000  # refill is capped at the burst size
    assert sum(limiter.acquire("a") == 0.0 for _ in range(100)) == 60


def test_eviction_keeps_memory_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock, max_keys=10)
    for i in range(50):
        limiter.acquire(f"k{i}")
        clock.now += 0.01
    assert len(limiter._buckets) <= 10


def test_retry_after_rounds_up() -> None:
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(1.2) == "2"
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_in_flight_limit_sheds_past_the_cap_and_frees_slots_on_errors() -> None:
    from serving.errors import ApiError
    from serving.limits import InFlightLimit

    limit = InFlightLimit(2, retry_after_s=0.2)
    with limit.slot("recommendations"), limit.slot("recommendations"):
        assert limit.in_flight == 2
        with pytest.raises(ApiError) as shed, limit.slot("recommendations"):
            pass
    err = shed.value
    assert (err.status, err.code, err.headers) == (503, "overloaded", {"Retry-After": "1"})
    assert "recommendations" in err.message
    with pytest.raises(RuntimeError), limit.slot("recommendations"):
        raise RuntimeError("the route failed")
    assert limit.in_flight == 0  # a failing request gives its slot back
    with pytest.raises(ValueError):
        InFlightLimit(0)
