"""Coordinator alerts on at-risk pairings: list (filters), acknowledge, resolve.

State changes and queries live in ``recsys.insights.alerts`` (shared with the CLI and the
scanner); this router only scopes them to the caller's organisation and shapes responses.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from recsys import db
from recsys.insights import alerts as alerts_store
from recsys.schemas import Signal
from serving.deps import CoordinatorPrincipal, PageDep, SessionDep
from serving.errors import ApiError, not_found
from serving.routers._common import CONFLICT, ERROR_RESPONSES, NOT_FOUND
from serving.schemas import AlertOut, Page

router = APIRouter(prefix="/v1/alerts", tags=["alerts"], responses=ERROR_RESPONSES)

AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]
AlertStatus = Literal["open", "acknowledged", "resolved"]


def _out(row: db.Alert) -> AlertOut:
    return AlertOut.model_validate(row, from_attributes=True)


@router.get("", response_model=Page[AlertOut])
def list_alerts(
    principal: CoordinatorPrincipal,
    session: SessionDep,
    page: PageDep,
    status: Annotated[AlertStatus | None, Query()] = None,
    signal: Annotated[Signal | None, Query()] = None,
    since: Annotated[dt.date | None, Query(description="Updated on or after this day.")] = None,
) -> Page[AlertOut]:
    """Alerts of the caller's organisation, most recently updated first."""
    # Alert volumes per organisation are small: the store filters, the page is sliced here.
    rows = alerts_store.list_alerts(
        session,
        principal.org,
        status=status,
        signal=None if signal is None else signal.value,
        since=since,
    )
    window = rows[page.offset : page.offset + page.limit]
    return Page[AlertOut](
        items=[_out(r) for r in window], total=len(rows), limit=page.limit, offset=page.offset
    )


@router.post(
    "/{alert_id}/acknowledge", response_model=AlertOut, responses={**NOT_FOUND, **CONFLICT}
)
def acknowledge_alert(
    alert_id: AlertId, principal: CoordinatorPrincipal, session: SessionDep
) -> AlertOut:
    """Someone is looking at it (idempotent; 409 once resolved)."""
    try:
        return _out(alerts_store.acknowledge(session, principal.org, alert_id))
    except alerts_store.AlertNotFound:
        raise not_found("alert", alert_id) from None
    except alerts_store.AlertStateError as exc:
        raise ApiError(409, str(exc)) from None


@router.post("/{alert_id}/resolve", response_model=AlertOut, responses=NOT_FOUND)
def resolve_alert(
    alert_id: AlertId, principal: CoordinatorPrincipal, session: SessionDep
) -> AlertOut:
    """Dealt with (idempotent)."""
    try:
        return _out(alerts_store.resolve(session, principal.org, alert_id))
    except alerts_store.AlertNotFound:
        raise not_found("alert", alert_id) from None
