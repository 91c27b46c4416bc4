"""One error body for every error the service returns, and the handlers that produce it.

    {"error": {"code": "validation_error", "message": "...",
               "details": [{"field": "body.k", "reason": "..."}]}}

Clients branch on ``code`` (stable, snake_case); ``message`` is for humans; ``details`` lists
per-field problems. Unexpected exceptions become a 500 with a generic body: the traceback is
logged server-side and never sent to the client.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("recsys.serving")

_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "not_ready",
}


class ErrorDetail(BaseModel):
    field: str
    reason: str


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] = []


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorInfo


class ApiError(Exception):
    """An error with a status, a stable code and optional per-field details."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or code_for(status)
        self.message = message
        self.details = list(details)
        self.headers = dict(headers or {})


def not_found(kind: str, id_: str | int) -> ApiError:
    return ApiError(404, f"{kind} {id_!r} not found")


def invalid(field: str, reason: str) -> ApiError:
    return ApiError(422, f"{field}: {reason}", details=[(field, reason)])


def code_for(status: int) -> str:
    return _CODES.get(status, "error" if status < 500 else "internal_error")


def error_body(code: str, message: str, details: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": [{"field": f, "reason": r} for f, r in details],
        }
    }


def error_response(
    status: int,
    message: str,
    *,
    code: str | None = None,
    details: Sequence[tuple[str, str]] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code or code_for(status), message, details),
        status_code=status,
        headers=dict(headers or {}),
    )


def _field(loc: Sequence[Any]) -> str:
    return ".".join(str(p) for p in loc) or "request"


def _validation_details(exc: RequestValidationError) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        # pydantic appends the validator kind for union members / tagged models; keep field path
        reason = str(err.get("msg", "invalid value"))
        out.append((_field(loc), reason))
    return out


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(
        exc.status, exc.message, code=exc.code, details=exc.details, headers=exc.headers
    )


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = _validation_details(exc)
    first = f"{details[0][0]}: {details[0][1]}" if details else "invalid request"
    more = f" (and {len(details) - 1} more)" if len(details) > 1 else ""
    return error_response(422, f"{first}{more}", details=details)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    return error_response(status, message, headers=exc.headers)


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # A write broke a constraint the route did not pre-check (e.g. deleting a mentor that still
    # has pairings). The row and constraint names stay in the log, not in the response.
    log.info("integrity error on %s %s: %s", request.method, request.url.path, exc)
    return error_response(
        409, "the request conflicts with stored data (for example, rows that still refer to it)"
    )


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)


class CatchAllMiddleware:
    """Turns any exception that escaped the handlers into a generic 500 and logs it.

    Implemented as middleware rather than an ``Exception`` handler because Starlette re-raises
    after calling such a handler, which logs every failure twice and breaks in-process clients.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception:
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:  # headers are out: nothing sane left to send, let the server abort
                raise
            response = error_response(500, "internal server error")
            await response(scope, receive, send)
