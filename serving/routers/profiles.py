"""Mentor and mentee profiles: upsert (single, by id, bulk), read, list, delete.

Writes need the ``app`` role, reads ``app`` or ``coordinator``. Mentor changes are committed
before the engine is told, so its index update reads what is stored. Recommendations see them
within ``RECSYS_MENTOR_UPDATE_DELAY_S``; ``?wait=true`` answers once they do.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from sqlalchemy.orm import Session

from recsys import db, store
from recsys.schemas import MenteeIn, MenteeOut, MentorIn, MentorOut
from serving.deps import AppPrincipal, EngineDep, PageDep, ReaderPrincipal, SessionDep
from serving.engine import ServingEngine
from serving.errors import not_found
from serving.routers._common import (
    CONFLICT,
    ERROR_RESPONSES,
    NOT_FOUND,
    count_rows,
    reject_duplicate_ids,
    require_same_id,
)
from serving.schemas import BulkResult, MenteesBulkIn, MentorsBulkIn, Page

mentors = APIRouter(prefix="/v1/mentors", tags=["mentors"], responses=ERROR_RESPONSES)
mentees = APIRouter(prefix="/v1/mentees", tags=["mentees"], responses=ERROR_RESPONSES)

MentorId = Annotated[str, Path(min_length=1, max_length=128)]
MenteeId = Annotated[str, Path(min_length=1, max_length=128)]
WaitForRecommendations = Annotated[
    bool,
    Query(
        description="Answer once recommendations see the change (else within "
        "RECSYS_MENTOR_UPDATE_DELAY_S, 5 s by default)",
    ),
]


# --------------------------------------------------------------------------- mentors
def _mentor_out(row: db.Mentor, load: dict[str, int]) -> MentorOut:
    return MentorOut(**store.mentor_schema(row).model_dump(), active_mentees=load.get(row.id, 0))


def _save_mentors(
    session: Session, engine: ServingEngine, org: str, items: list[MentorIn], wait: bool
) -> None:
    store.upsert_models(session, "mentors", org, items)
    session.commit()  # the engine reads committed rows
    _mentors_changed(engine, org, [m.id for m in items], wait)


def _mentors_changed(engine: ServingEngine, org: str, ids: list[str], wait: bool) -> None:
    engine.mentors_changed(org, ids)
    hook = getattr(engine, "wait_for_updates", None)  # engines that apply changes later
    if wait and hook is not None:
        hook(org, mentors=True)


def _read_mentor(session: Session, org: str, mentor_id: str) -> MentorOut:
    row = store.get_row(session, db.Mentor, org, mentor_id)
    if row is None:
        raise not_found("mentor", mentor_id)
    return _mentor_out(row, store.mentor_load(session, org, dt.date.today()))


@mentors.post("", status_code=status.HTTP_201_CREATED, response_model=MentorOut)
def create_mentor(
    body: MentorIn,
    principal: AppPrincipal,
    session: SessionDep,
    engine: EngineDep,
    wait: WaitForRecommendations = False,
) -> MentorOut:
    """Create a mentor, or replace the one with this id."""
    _save_mentors(session, engine, principal.org, [body], wait)
    return _read_mentor(session, principal.org, body.id)


@mentors.post(":bulk", response_model=BulkResult)
def bulk_upsert_mentors(
    body: MentorsBulkIn,
    principal: AppPrincipal,
    session: SessionDep,
    engine: EngineDep,
    wait: WaitForRecommendations = False,
) -> BulkResult:
    """Create or replace many mentors in one transaction (all or nothing)."""
    reject_duplicate_ids([m.id for m in body.items])
    _save_mentors(session, engine, principal.org, body.items, wait)
    return BulkResult(upserted=len(body.items))


@mentors.put("/{mentor_id}", response_model=MentorOut)
def put_mentor(
    mentor_id: MentorId,
    body: MentorIn,
    principal: AppPrincipal,
    session: SessionDep,
    engine: EngineDep,
    wait: WaitForRecommendations = False,
) -> MentorOut:
    """Create or replace the mentor with this id (the body's id must match)."""
    require_same_id(mentor_id, body.id)
    _save_mentors(session, engine, principal.org, [body], wait)
    return _read_mentor(session, principal.org, body.id)


@mentors.get("/{mentor_id}", response_model=MentorOut, responses=NOT_FOUND)
def get_mentor(mentor_id: MentorId, principal: ReaderPrincipal, session: SessionDep) -> MentorOut:
    return _read_mentor(session, principal.org, mentor_id)


@mentors.get("", response_model=Page[MentorOut])
def list_mentors(principal: ReaderPrincipal, session: SessionDep, page: PageDep) -> Page[MentorOut]:
    org = principal.org
    rows = store.list_rows(session, db.Mentor, org, limit=page.limit, offset=page.offset)
    load = store.mentor_load(session, org, dt.date.today())
    return Page[MentorOut](
        items=[_mentor_out(r, load) for r in rows],
        total=count_rows(session, db.Mentor, org),
        limit=page.limit,
        offset=page.offset,
    )


@mentors.delete(
    "/{mentor_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**NOT_FOUND, **CONFLICT}
)
def delete_mentor(
    mentor_id: MentorId,
    principal: AppPrincipal,
    session: SessionDep,
    engine: EngineDep,
    wait: WaitForRecommendations = False,
) -> Response:
    """Delete a mentor (409 while pairings refer to them)."""
    if not store.delete_row(session, db.Mentor, principal.org, mentor_id):
        raise not_found("mentor", mentor_id)
    session.commit()
    _mentors_changed(engine, principal.org, [mentor_id], wait)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --------------------------------------------------------------------------- mentees
def _read_mentee(session: Session, org: str, mentee_id: str) -> MenteeOut:
    row = store.get_row(session, db.Mentee, org, mentee_id)
    if row is None:
        raise not_found("mentee", mentee_id)
    return MenteeOut(**store.mentee_schema(row).model_dump())


@mentees.post("", status_code=status.HTTP_201_CREATED, response_model=MenteeOut)
def create_mentee(body: MenteeIn, principal: AppPrincipal, session: SessionDep) -> MenteeOut:
    """Create a mentee, or replace the one with this id."""
    store.upsert_models(session, "mentees", principal.org, [body])
    return _read_mentee(session, principal.org, body.id)


@mentees.post(":bulk", response_model=BulkResult)
def bulk_upsert_mentees(
    body: MenteesBulkIn, principal: AppPrincipal, session: SessionDep
) -> BulkResult:
    """Create or replace many mentees in one transaction (all or nothing)."""
    reject_duplicate_ids([m.id for m in body.items])
    store.upsert_models(session, "mentees", principal.org, body.items)
    return BulkResult(upserted=len(body.items))


@mentees.put("/{mentee_id}", response_model=MenteeOut)
def put_mentee(
    mentee_id: MenteeId, body: MenteeIn, principal: AppPrincipal, session: SessionDep
) -> MenteeOut:
    """Create or replace the mentee with this id (the body's id must match)."""
    require_same_id(mentee_id, body.id)
    store.upsert_models(session, "mentees", principal.org, [body])
    return _read_mentee(session, principal.org, body.id)


@mentees.get("/{mentee_id}", response_model=MenteeOut, responses=NOT_FOUND)
def get_mentee(mentee_id: MenteeId, principal: ReaderPrincipal, session: SessionDep) -> MenteeOut:
    return _read_mentee(session, principal.org, mentee_id)


@mentees.get("", response_model=Page[MenteeOut])
def list_mentees(principal: ReaderPrincipal, session: SessionDep, page: PageDep) -> Page[MenteeOut]:
    org = principal.org
    rows = store.list_rows(session, db.Mentee, org, limit=page.limit, offset=page.offset)
    return Page[MenteeOut](
        items=[MenteeOut(**store.mentee_schema(r).model_dump()) for r in rows],
        total=count_rows(session, db.Mentee, org),
        limit=page.limit,
        offset=page.offset,
    )


@mentees.delete(
    "/{mentee_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**NOT_FOUND, **CONFLICT}
)
def delete_mentee(mentee_id: MenteeId, principal: AppPrincipal, session: SessionDep) -> Response:
    """Delete a mentee (409 while pairings refer to them)."""
    if not store.delete_row(session, db.Mentee, principal.org, mentee_id):
        raise not_found("mentee", mentee_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
