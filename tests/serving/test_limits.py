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
    assert all(limiter.take("a") == 0.0 for _ in range(60))
    wait = limiter.take("a")
    assert wait == pytest.approx(1.0)
    assert limiter.take("b") == 0.0  # buckets are per key
    clock.now += 0.5
    assert limiter.take("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.take("a") == 0.0
    clock.now += 1_000  # refill is capped at the burst size
    assert sum(limiter.take("a") == 0.0 for _ in range(100)) == 60


def test_eviction_keeps_memory_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(60, clock=clock, max_keys=10)
    for i in range(50):
        limiter.take(f"k{i}")
        clock.now += 0.01
    assert len(limiter._buckets) <= 10


def test_retry_after_rounds_up() -> None:
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(1.2) == "2"
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_in_flight_limit_queues_then_sheds_and_frees_slots_on_errors() -> None:
    import asyncio

    from serving.errors import ApiError
    from serving.limits import InFlightLimit

    async def scenario() -> None:
        limit = InFlightLimit(2, max_wait_s=0.05, retry_after_s=0.2)
        async with limit.slot("recommendations"), limit.slot("recommendations"):
            assert limit.in_flight == 2
            with pytest.raises(ApiError) as shed:  # nothing frees up within 50 ms
                async with limit.slot("recommendations"):
                    pass
        err = shed.value
        assert (err.status, err.code, err.headers) == (503, "overloaded", {"Retry-After": "1"})
        assert "recommendations" in err.message

        patient = InFlightLimit(1, max_wait_s=2.0)
        order: list[str] = []

        async def first() -> None:
            async with patient.slot("x"):
                order.append("first in")
                await asyncio.sleep(0.05)
            order.append("first out")

        async def second() -> None:
            await asyncio.sleep(0.01)
            async with patient.slot("x"):  # waits for first's slot instead of failing
                order.append("second in")

        await asyncio.gather(first(), second())
        assert order == ["first in", "first out", "second in"]

        with pytest.raises(RuntimeError):
            async with limit.slot("recommendations"):
                raise RuntimeError("the route failed")
        assert limit.in_flight == 0  # a failing request gives its slot back
        async with limit.slot("recommendations"), limit.slot("recommendations"):
            pass  # both slots are free again

    asyncio.run(scenario())
    with pytest.raises(ValueError):
        InFlightLimit(0)
