"""Request limits: a body size cap (413), per-key token-bucket rate limits (429) and a cap on
recommendations in flight (503, load shedding)."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from serving.errors import ApiError, error_response

log = logging.getLogger(__name__)


class BodySizeLimitMiddleware:
    """Rejects request bodies larger than ``max_bytes`` with 413 before any route sees them.

    A declared ``Content-Length`` over the cap is refused at once. Bodies without one (chunked
    uploads) are read up to the cap and then replayed to the app, so a lying or absent length
    cannot get past it. Buffering is fine here: routes parse the whole JSON body anyway.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._reject(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(413, f"request body exceeds the limit of {self.max_bytes} bytes")
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """One token bucket per key: ``per_minute`` requests per minute, bursts up to that many.

    In-process and thread-safe; with several workers each holds its own buckets, so the
    effective limit is per worker (the service runs one worker by default), unless they share
    a :class:`RedisRateLimiter`.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be >= 1")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    async def acquire(self, key: str) -> float:
        """:meth:`take` with :class:`RedisRateLimiter`'s signature (no I/O: never waits)."""
        return self.take(key)

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when allowed, else seconds until one is available."""
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._max_keys:
                    self._evict_full(now)
                bucket = self._buckets[key] = _Bucket(self.capacity, now)
            else:
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
                bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / self.rate

    def _evict_full(self, now: float) -> None:
        # Buckets that would be full again carry no state worth keeping.
        full_after = self.capacity / self.rate
        stale = [k for k, b in self._buckets.items() if now - b.updated >= full_after]
        for k in stale:
            del self._buckets[k]
        if len(self._buckets) >= self._max_keys:  # still full: drop the oldest half
            by_age = sorted(self._buckets, key=lambda k: self._buckets[k].updated)
            for k in by_age[: len(by_age) // 2]:
                del self._buckets[k]


# One token bucket per key in a Redis hash, updated atomically on the server with the
# server's clock (workers and hosts share the bucket and never disagree about the time). The
# wait is returned as a string: Redis truncates Lua numbers to integers.
_REDIS_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1])
local updated = tonumber(state[2])
if tokens == nil or updated == nil then
  tokens = capacity
  updated = now
end
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisRateLimiter:
    """:class:`RateLimiter`'s token buckets kept in Redis (``RECSYS_RATE_LIMIT_REDIS_URL``),
    so every ``--workers`` process and every host behind a load balancer draws from the same
    bucket per key: ``per_minute`` is then the key's limit, not each worker's.

    Asynchronous (one round trip on the event loop's own connection pool, no thread). Should
    Redis be unreachable, requests are let through and the failure is logged at most once a
    minute: an outage of the limiter's store must not take the API down with it.
    """

    def __init__(self, url: str, per_minute: int, *, prefix: str = "recsys:rate:") -> None:
        import redis.asyncio

        if per_minute < 1:
            raise ValueError("per_minute must be >= 1")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.prefix = prefix
        self._client = redis.asyncio.Redis.from_url(
            url, socket_timeout=0.5, socket_connect_timeout=0.5
        )
        self._script = self._client.register_script(_REDIS_BUCKET)
        self._last_warning = -math.inf

    async def acquire(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when allowed, else seconds until one is available."""
        import redis

        try:
            wait = await self._script(keys=[self.prefix + key], args=[self.capacity, self.rate])
        except (redis.RedisError, OSError) as exc:
            now = time.monotonic()
            if now - self._last_warning >= 60.0:
                self._last_warning = now
                log.warning("rate limiter store unreachable, letting requests through: %s", exc)
            return 0.0
        return float(wait)

    async def close(self) -> None:
        await self._client.aclose()


def retry_after_header(wait_seconds: float) -> str:
    """Retry-After takes whole seconds; round up so a client that obeys it is never early."""
    return str(max(1, math.ceil(wait_seconds)))


class InFlightLimit:
    """At most ``limit`` requests of one kind in progress. The next ones wait for a slot up
    to ``max_wait_s`` (on the event loop: waiting costs no CPU), then get 503 ``overloaded``
    with a Retry-After.

    Recommendations are CPU-bound: past what the cores can answer, a longer queue only makes
    every answer later. Rejecting at once was tried first and was worse under a load
    generator that retries immediately (wrk, c=64, 10k mentors, inline profiles, cap 16):
    each 503 still costs ~0.5 ms of Python, and the retry storm (2,100 rejections/s) left 17
    answered requests/s against 93 with no cap. Holding the excess for up to ``max_wait_s``
    first absorbs bursts without any 503 and paces clients that do not back off.
    """

    def __init__(self, limit: int, *, max_wait_s: float = 2.0, retry_after_s: float = 1.0):
        if limit < 1:
            raise ValueError("limit must be >= 1")
        if max_wait_s < 0:
            raise ValueError("max_wait_s must be >= 0")
        self.limit = limit
        self.max_wait_s = max_wait_s
        self.retry_after_s = retry_after_s
        self._slots = asyncio.Semaphore(limit)
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @asynccontextmanager
    async def slot(self, what: str) -> AsyncIterator[None]:
        if self._slots.locked():  # all taken: queue for one, up to the deadline
            try:
                await asyncio.wait_for(self._slots.acquire(), self.max_wait_s)
            except TimeoutError:
                raise ApiError(
                    503,
                    f"too many {what} in progress ({self.limit}, none freed within "
                    f"{self.max_wait_s:g} s); retry shortly",
                    code="overloaded",
                    headers={"Retry-After": retry_after_header(self.retry_after_s)},
                ) from None
        else:
            await self._slots.acquire()
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._slots.release()
