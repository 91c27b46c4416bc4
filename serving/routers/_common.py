"""Helpers shared by the routers: error response docs, counting, duplicate checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recsys import db
from serving.errors import ApiError, ErrorBody

_ERR = {"model": ErrorBody}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {**_ERR, "description": "Missing or invalid API key"},
    403: {**_ERR, "description": "The key lacks the required role"},
    413: {**_ERR, "description": "Request body too large"},
    422: {**_ERR, "description": "Invalid request (details name each field)"},
    429: {**_ERR, "description": "Rate limit exceeded (see Retry-After)"},
    500: {**_ERR, "description": "Internal error"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {**_ERR, "description": "Unknown id"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {**_ERR, "description": "Conflicts with stored data"}
}
NOT_READY: dict[int | str, dict[str, Any]] = {503: {**_ERR, "description": "Models not loaded"}}
NOT_READY_OR_OVERLOADED: dict[int | str, dict[str, Any]] = {
    503: {
        **_ERR,
        "description": "Models not loaded (`not_ready`), or too many requests in progress "
        "(`overloaded`, with a Retry-After header)",
    }
}


def count_rows(session: Session, model: type[db.Base], org: str) -> int:
    stmt = select(func.count()).select_from(model).where(model.org_id == org)  # type: ignore[attr-defined]
    return int(session.scalar(stmt) or 0)


def reject_duplicate_ids(ids: Sequence[str], field: str = "body.items") -> None:
    seen: set[str] = set()
    for i, id_ in enumerate(ids):
        if id_ in seen:
            raise ApiError(
                422,
                f"duplicate id {id_!r} in one request",
                details=[(f"{field}.{i}.id", f"duplicate id {id_!r}")],
            )
        seen.add(id_)


def require_same_id(path_id: str, body_id: str) -> None:
    if path_id != body_id:
        raise ApiError(
            422,
            "the id in the body differs from the id in the path",
            details=[("body.id", f"must equal the path id {path_id!r}")],
        )
