"""Coordinator alerts on at-risk pairings: list (filters), acknowledge, resolve."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query

from recsys import db
from recsys.schemas import Signal
from serving import alerts_store
from serving.alerts_store import AlertStatus
from serving.deps import CoordinatorPrincipal, PageDep, SessionDep
from serving.errors import ApiError, not_found
from serving.routers._common import CONFLICT, ERROR_RESPONSES, NOT_FOUND
from serving.schemas import AlertOut, Page

router = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=ERROR_RESPONSES)

AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _out(row: db.Alert) -> AlertOut:
    return AlertOut.model_validate(row, from_attributes=True)


@router.get("", response_model=Page[AlertOut])
def list_alerts(
    principal: CoordinatorPrincipal,
    session: SessionDep,
    page: PageDep,
    status: Annotated[AlertStatus | None, Query()] = None,
    signal: Annotated[Signal | None, Query()] = None,
    since: Annotated[dt.date | None, Query(description="Raised or updated on/after.")] = None,
) -> Page[AlertOut]:
    rows, total = alerts_store.list_alerts(
        session,
        principal.org,
        status=None if status is None else status.value,
        signal=None if signal is None else signal.value,
        since=since,
        limit=page.limit,
        offset=page.offset,
    )
    return Page[AlertOut](
        items=[_out(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@router.post(
    "/{alert_id}/acknowledge", response_model=AlertOut, responses={**NOT_FOUND, **CONFLICT}
)
def acknowledge_alert(
    alert_id: AlertId, principal: CoordinatorPrincipal, session: SessionDep
) -> AlertOut:
    """Someone is looking at it (409 once resolved)."""
    try:
        row = alerts_store.acknowledge(session, principal.org, alert_id)
    except alerts_store.AlertConflict as exc:
        raise ApiError(409, str(exc)) from None
    if row is None:
        raise not_found("alert", alert_id)
    return _out(row)


@router.post("/{alert_id}/resolve", response_model=AlertOut, responses=NOT_FOUND)
def resolve_alert(
    alert_id: AlertId, principal: CoordinatorPrincipal, session: SessionDep
) -> AlertOut:
    """Dealt with (idempotent)."""
    row = alerts_store.resolve(session, principal.org, alert_id)
    if row is None:
        raise not_found("alert", alert_id)
    return _out(row)
