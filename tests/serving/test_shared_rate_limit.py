"""Rate limits shared by several serving processes through Redis (the machine's Redis at
127.0.0.1:6379, database 15; skipped where none runs)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from recsys import keys, store
from recsys.context import AppContext
from recsys.settings import Settings
from serving.app import create_app
from serving.limits import RedisRateLimiter

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


needs_redis = pytest.mark.skipif(not _redis_up(), reason="no Redis at 127.0.0.1:6379")


def _take(limiter: RedisRateLimiter, key: str, n: int) -> list[float]:
    async def run() -> list[float]:
        try:
            return [await limiter.acquire(key) for _ in range(n)]
        finally:
            await limiter.close()

    return asyncio.run(run())


@needs_redis
def test_limiters_of_two_processes_draw_from_one_bucket() -> None:
    key = f"k-{uuid.uuid4().hex}"
    first = _take(RedisRateLimiter(REDIS_URL, 6), key, 4)
    second = _take(RedisRateLimiter(REDIS_URL, 6), key, 4)
    assert first == [0.0] * 4
    assert second[:2] == [0.0, 0.0]  # a burst of 6 between them, then one per 10 s
    assert all(9.0 < w <= 10.0 for w in second[2:])  # refusals take no token


def test_an_unreachable_store_lets_requests_through(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("WARNING", logger="serving.limits"):
        waits = _take(RedisRateLimiter("redis://127.0.0.1:1/0", 1), "k", 3)
    assert waits == [0.0, 0.0, 0.0]
    assert sum("unreachable" in r.getMessage() for r in caplog.records) == 1  # not per request


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[object]:
    """``make(**settings)``: two apps on one database and one key, as ``--workers 2`` runs."""
    clients: list[TestClient] = []

    def make(**settings: object) -> tuple[TestClient, TestClient, str]:
        ctx = AppContext(Settings(home=tmp_path / f"h{len(clients)}", **settings))  # type: ignore[arg-type]
        ctx.migrate()
        with store.transaction(ctx.sessions) as s:
            _, key = keys.create_key(s, "o", "k", ["admin"])
        pair = [TestClient(create_app(ctx)) for _ in range(2)]
        for client in pair:
            client.__enter__()
            clients.append(client)
        return pair[0], pair[1], key

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@needs_redis
def test_the_limit_is_per_key_across_workers_with_redis(two_workers) -> None:  # type: ignore[no-untyped-def]
    def allowed(**settings: object) -> int:
        a, b, key = two_workers(rate_limit_per_minute=4, **settings)
        codes = [(a if n % 2 else b).get("/v1/models", headers={"X-API-Key": key}).status_code
                 for n in range(10)]  # fmt: skip
        assert set(codes) <= {200, 429}
        return codes.count(200)

    assert allowed() == 8  # in process: each worker allows the key 4
    assert allowed(rate_limit_redis_url=REDIS_URL) == 4  # shared: the key's 4
