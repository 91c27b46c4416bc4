"""Check-in feedback: store (returns the detected signals), read, list, delete; and a stateless
analyzer for text that is not stored.

Storing feedback commits first and then calls the engine's ``feedback_stored`` hook, which
extracts and stores the signals (and raises alerts); the response carries those signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from recsys import db, store
from recsys.schemas import FeedbackIn
from serving.deps import AppPrincipal, EngineDep, PageDep, ReaderPrincipal, SessionDep
from serving.engine import DetectedSignal
from serving.errors import invalid, not_found
from serving.routers._common import ERROR_RESPONSES, NOT_FOUND, NOT_READY, count_rows
from serving.schemas import (
    AnalyzeRequest,
    AnalyzeResponse,
    FeedbackWithSignals,
    Page,
    SignalOut,
)

router = APIRouter(prefix="/v1/feedback", tags=["feedback"], responses=ERROR_RESPONSES)

FeedbackId = Annotated[str, Path(min_length=1, max_length=128)]


def _signals_out(signals: Sequence[DetectedSignal]) -> list[SignalOut]:
    return [SignalOut.model_validate(s) for s in signals]


def _stored_signals(session: Session, org: str, ids: Sequence[str]) -> dict[str, list[SignalOut]]:
    out: dict[str, list[SignalOut]] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = (
        select(db.FeedbackSignal)
        .where(db.FeedbackSignal.org_id == org, db.FeedbackSignal.feedback_id.in_(list(ids)))
        .order_by(db.FeedbackSignal.feedback_id, db.FeedbackSignal.label)
    )
    for row in session.scalars(stmt):
        out[row.feedback_id].append(
            SignalOut.model_validate(
                {"label": row.label, "score": row.score, "evidence": list(row.evidence)}
            )
        )
    return out


def _out(row: db.Feedback, signals: list[SignalOut]) -> FeedbackWithSignals:
    return FeedbackWithSignals(**store.feedback_schema(row).model_dump(), signals=signals)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FeedbackWithSignals)
def create_feedback(
    body: FeedbackIn, principal: AppPrincipal, session: SessionDep, engine: EngineDep
) -> FeedbackWithSignals:
    """Store feedback (replacing any with this id) and return the signals found in it."""
    org = principal.org
    if store.get_row(session, db.Pairing, org, body.pairing_id) is None:
        raise invalid("body.pairing_id", f"unknown pairing {body.pairing_id!r}")
    store.upsert_models(session, "feedback", org, [body])
    session.commit()  # the engine hook reads the stored row from its own session
    signals = engine.feedback_stored(org, [body.id])[0]
    row = store.get_row(session, db.Feedback, org, body.id)
    if row is None:  # pragma: no cover - deleted concurrently between commit and read
        raise not_found("feedback", body.id)
    session.refresh(row)
    return _out(row, _signals_out(signals))


@router.post("/analyze", response_model=AnalyzeResponse, tags=["signals"], responses=NOT_READY)
async def analyze_feedback(
    body: AnalyzeRequest, principal: ReaderPrincipal, engine: EngineDep
) -> AnalyzeResponse:
    """Detect challenge signals in a text without storing anything."""
    signals = (await engine.analyze([body.text]))[0]
    return AnalyzeResponse(signals=_signals_out(signals))


@router.get("/{feedback_id}", response_model=FeedbackWithSignals, responses=NOT_FOUND)
def get_feedback(
    feedback_id: FeedbackId, principal: AppPrincipal, session: SessionDep
) -> FeedbackWithSignals:
    row = store.get_row(session, db.Feedback, principal.org, feedback_id)
    if row is None:
        raise not_found("feedback", feedback_id)
    return _out(row, _stored_signals(session, principal.org, [row.id])[row.id])


@router.get("", response_model=Page[FeedbackWithSignals])
def list_feedback(
    principal: AppPrincipal, session: SessionDep, page: PageDep
) -> Page[FeedbackWithSignals]:
    org = principal.org
    rows = store.list_rows(session, db.Feedback, org, limit=page.limit, offset=page.offset)
    signals = _stored_signals(session, org, [r.id for r in rows])
    return Page[FeedbackWithSignals](
        items=[_out(r, signals[r.id]) for r in rows],
        total=count_rows(session, db.Feedback, org),
        limit=page.limit,
        offset=page.offset,
    )


@router.delete("/{feedback_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
def delete_feedback(
    feedback_id: FeedbackId, principal: AppPrincipal, session: SessionDep
) -> Response:
    """Delete feedback and the signals derived from it."""
    org = principal.org
    if store.get_row(session, db.Feedback, org, feedback_id) is None:
        raise not_found("feedback", feedback_id)
    # Explicit rather than relying on ON DELETE CASCADE, which SQLite only honours with its
    # foreign-key pragma on.
    session.query(db.FeedbackSignal).filter_by(org_id=org, feedback_id=feedback_id).delete()
    store.delete_row(session, db.Feedback, org, feedback_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
