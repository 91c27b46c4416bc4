"""Pairings: upsert, read, list, delete (``app`` writes; ``coordinator`` reads) and risk.

A pairing's mentor and mentee must exist in the caller's organisation: an unknown (or another
organisation's) id is a 422 naming the field, checked before anything is written.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from recsys import db, store
from recsys.schemas import PairingIn, PairingOut
from serving.deps import (
    AppPrincipal,
    CoordinatorPrincipal,
    EngineDep,
    PageDep,
    ReaderPrincipal,
    SessionDep,
    SessionsDep,
)
from serving.engine import ServingEngine
from serving.errors import ApiError, not_found
from serving.routers._common import (
    CONFLICT,
    ERROR_RESPONSES,
    NOT_FOUND,
    NOT_READY,
    count_rows,
    require_same_id,
)
from serving.schemas import Page, RiskOut

router = APIRouter(prefix="/v1/pairings", tags=["pairings"], responses=ERROR_RESPONSES)

PairingId = Annotated[str, Path(min_length=1, max_length=128)]


def _check_references(session: Session, org: str, body: PairingIn) -> None:
    problems: list[tuple[str, str]] = []
    if store.get_row(session, db.Mentor, org, body.mentor_id) is None:
        problems.append(("body.mentor_id", f"unknown mentor {body.mentor_id!r}"))
    if store.get_row(session, db.Mentee, org, body.mentee_id) is None:
        problems.append(("body.mentee_id", f"unknown mentee {body.mentee_id!r}"))
    if problems:
        raise ApiError(422, "; ".join(reason for _, reason in problems), details=problems)


def _save(session: Session, org: str, body: PairingIn) -> PairingOut:
    _check_references(session, org, body)
    store.upsert_models(session, "pairings", org, [body])
    return PairingOut(**body.model_dump())


def _pairings_changed(engine: ServingEngine, org: str, ids: list[str]) -> None:
    """Tell the engine (optional hook): active pairings count against mentor capacity."""
    hook = getattr(engine, "pairings_changed", None)
    if hook is not None:
        hook(org, ids)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PairingOut)
def create_pairing(
    body: PairingIn, principal: AppPrincipal, session: SessionDep, engine: EngineDep
) -> PairingOut:
    """Create a pairing, or replace the one with this id."""
    out = _save(session, principal.org, body)
    session.commit()  # the engine's refresh reads committed rows
    _pairings_changed(engine, principal.org, [body.id])
    return out


@router.put("/{pairing_id}", response_model=PairingOut)
def put_pairing(
    pairing_id: PairingId,
    body: PairingIn,
    principal: AppPrincipal,
    session: SessionDep,
    engine: EngineDep,
) -> PairingOut:
    """Create or replace the pairing with this id (the body's id must match)."""
    require_same_id(pairing_id, body.id)
    out = _save(session, principal.org, body)
    session.commit()
    _pairings_changed(engine, principal.org, [body.id])
    return out


@router.get("/{pairing_id}", response_model=PairingOut, responses=NOT_FOUND)
def get_pairing(
    pairing_id: PairingId, principal: ReaderPrincipal, session: SessionDep
) -> PairingOut:
    row = store.get_row(session, db.Pairing, principal.org, pairing_id)
    if row is None:
        raise not_found("pairing", pairing_id)
    return PairingOut(**store.pairing_schema(row).model_dump())


@router.get("", response_model=Page[PairingOut])
def list_pairings(
    principal: ReaderPrincipal, session: SessionDep, page: PageDep
) -> Page[PairingOut]:
    org = principal.org
    rows = store.list_rows(session, db.Pairing, org, limit=page.limit, offset=page.offset)
    return Page[PairingOut](
        items=[PairingOut(**store.pairing_schema(r).model_dump()) for r in rows],
        total=count_rows(session, db.Pairing, org),
        limit=page.limit,
        offset=page.offset,
    )


@router.delete(
    "/{pairing_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**NOT_FOUND, **CONFLICT}
)
def delete_pairing(
    pairing_id: PairingId, principal: AppPrincipal, session: SessionDep, engine: EngineDep
) -> Response:
    """Delete a pairing (409 while feedback refers to it)."""
    if not store.delete_row(session, db.Pairing, principal.org, pairing_id):
        raise not_found("pairing", pairing_id)
    session.commit()
    _pairings_changed(engine, principal.org, [pairing_id])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _pairing_exists(sessions: sessionmaker[Session], org: str, pairing_id: str) -> bool:
    with sessions() as session:
        return store.get_row(session, db.Pairing, org, pairing_id) is not None


@router.get("/{pairing_id}/risk", response_model=RiskOut, responses={**NOT_FOUND, **NOT_READY})
async def pairing_risk(
    pairing_id: PairingId,
    principal: CoordinatorPrincipal,
    sessions: SessionsDep,
    engine: EngineDep,
    as_of: Annotated[dt.date | None, Query(description="Default: today.")] = None,
) -> RiskOut:
    """How likely this pairing is to end badly, and why (coordinator)."""
    org = principal.org
    # Checked here as well as in the engine: tenancy must not depend on the engine's care.
    if not await run_in_threadpool(_pairing_exists, sessions, org, pairing_id):
        raise not_found("pairing", pairing_id)
    result = await engine.pairing_risk(org, pairing_id, as_of or dt.date.today())
    if result is None:
        raise not_found("pairing", pairing_id)
    return RiskOut.model_validate(result)
