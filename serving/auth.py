"""Authentication (API keys), per-key rate limiting and role checks.

A key is accepted from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``. Missing or
wrong keys get 401, a valid key without the needed role 403, a key over its rate 429 with
``Retry-After``. The resolved :class:`~recsys.keys.Principal` carries the organisation that
every query of the request is scoped to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from recsys import keys
from recsys.keys import Principal, Role
from serving.errors import ApiError
from serving.limits import RateLimiter, retry_after_header

_bearer = HTTPBearer(auto_error=False, description="`Authorization: Bearer rsk_<id>_<secret>`")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="`X-API-Key: rsk_<id>_<secret>`")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="recsys"'}


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers=_CHALLENGE)


def get_principal(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_header)],
) -> Principal:
    """The caller's principal; 401 without a valid key, 429 when the key is over its rate.

    A plain ``def``: the key lookup is a (fast) database read and runs in the threadpool.
    """
    plaintext = bearer.credentials if bearer is not None else api_key
    if not plaintext:
        raise _unauthorized("missing API key (Authorization: Bearer <key> or X-API-Key)")
    ctx = request.app.state.ctx
    with ctx.sessions() as session:
        principal = keys.authenticate(session, plaintext)
    if principal is None:
        raise _unauthorized("invalid or revoked API key")
    limiter: RateLimiter = request.app.state.limiter
    wait = limiter.acquire(principal.key_id)
    if wait > 0:
        raise ApiError(
            429,
            f"rate limit of {int(limiter.capacity)} requests per minute exceeded",
            headers={"Retry-After": retry_after_header(wait)},
        )
    return principal


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that passes principals holding any of ``roles`` (admin holds all)."""
    wanted = ", ".join(r.value for r in roles)

    def check(principal: Annotated[Principal, Depends(get_principal)]) -> Principal:
        if not principal.has_any(roles):
            raise ApiError(403, f"this API key lacks the required role ({wanted})")
        return principal

    check.__name__ = f"require_{'_or_'.join(r.value for r in roles)}"
    return check
