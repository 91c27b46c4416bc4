"""Authentication (API keys), per-key rate limiting and role checks.

A key is accepted from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Missing or
wrong keys get 401, a valid key without the needed role 403, a key over its rate 429 with
``Retry-After``. The resolved :class:`~recsys.keys.Principal` carries the organisation that
every query of the request is scoped to.

Successful lookups are cached for a few seconds (keyed by the key's sha256, never the
plaintext) so a busy client costs no database round trip and no threadpool hop per request.
Revoking through the API clears this process's cache at once; a key revoked elsewhere (CLI,
another worker) stops working within ``PrincipalCache.ttl_seconds``.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from recsys import keys
from recsys.context import AppContext
from recsys.keys import Principal, Role
from serving.errors import ApiError
from serving.limits import RateLimiter, RedisRateLimiter, retry_after_header

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer rsk_<id>_<secret>`")
_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="`X-API-Key: rsk_<id>_<secret>`"
)

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="recsys"'}


class PrincipalCache:
    """Recently authenticated keys: sha256(plaintext) → (principal, expiry)."""

    def __init__(self, ttl_seconds: float = 10.0, max_entries: int = 10_000) -> None:
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def digest(plaintext: str) -> str:
        return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()

    def get(self, digest: str) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, digest: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # rare; refilled from the database on demand
            self._entries[digest] = (principal, time.monotonic() + self.ttl_seconds)

    def forget_key(self, key_id: str) -> None:
        with self._lock:
            for digest in [d for d, (p, _) in self._entries.items() if p.key_id == key_id]:
                del self._entries[digest]


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers=_CHALLENGE)


def _lookup(ctx: AppContext, plaintext: str) -> Principal | None:
    with ctx.sessions() as session:
        return keys.authenticate(session, plaintext)


async def get_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_header)],
) -> Principal:
    """The caller's principal; 401 without a valid key, 429 when the key is over its rate."""
    plaintext = bearer.credentials if bearer is not None else api_key
    if not plaintext:
        raise _unauthorized("missing API key (Authorization: Bearer <key> or X-API-Key)")
    state = request.app.state
    cache: PrincipalCache = state.principals
    digest = cache.digest(plaintext)
    principal = cache.get(digest)
    if principal is None:
        # The database lookup is blocking I/O: keep it off the event loop.
        principal = await run_in_threadpool(_lookup, state.ctx, plaintext)
        if principal is None:
            raise _unauthorized("invalid or revoked API key")
        cache.put(digest, principal)
    limiter: RateLimiter | RedisRateLimiter = state.limiter
    wait = await limiter.acquire(principal.key_id)
    if wait > 0:
        raise ApiError(
            429,
            f"rate limit of {int(limiter.capacity)} requests per minute exceeded",
            headers={"Retry-After": retry_after_header(wait)},
        )
    return principal


def require_roles(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that passes principals holding any of ``roles`` (admin holds all)."""
    wanted = ", ".join(r.value for r in roles)

    async def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.has_any(roles):
            raise ApiError(403, f"this API key lacks the required role ({wanted})")
        return principal

    check.__name__ = f"require_{'_or_'.join(r.value for r in roles)}"
    return check
