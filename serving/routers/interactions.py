"""The interaction log: apps report what happened to recommended mentors (``app`` role).

Events are idempotent per (mentee, mentor, day, event): reporting the same one twice keeps one
row. A ``recommendation_id`` must name a list served to the caller's organisation. A decline
with ``decline_reason: no_capacity`` takes the mentor out of recommendations for
``RECSYS_CAPACITY_DECLINE_DAYS`` days from the next request on (engine hook
``capacity_declined``, optional). Requests, acceptances and declines are the mentors' response
record (the ranker's decline-rate feature): the engine re-reads it within seconds (engine hook
``track_record_changed``, optional).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from recsys import db, store
from recsys.schemas import DeclineReason, InteractionEvent, InteractionIn, InteractionOut
from serving.deps import AppPrincipal, ServedWriterDep, SessionDep
from serving.errors import invalid
from serving.routers._common import ERROR_RESPONSES

router = APIRouter(prefix="/v1/interactions", tags=["interactions"], responses=ERROR_RESPONSES)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=InteractionOut)
def record_interaction(
    body: InteractionIn,
    principal: AppPrincipal,
    session: SessionDep,
    served_writer: ServedWriterDep,
    request: Request,
) -> InteractionOut:
    """Record one event (shown, requested, accepted, declined)."""
    org = principal.org
    if body.recommendation_id is not None:
        served_writer.wait_for(body.recommendation_id)  # a list served a moment ago
        served = session.get(db.RecommendationList, body.recommendation_id)
        if served is None or served.org_id != org:
            raise invalid(
                "body.recommendation_id", f"unknown recommendation {body.recommendation_id!r}"
            )
    store.upsert_models(session, "interactions", org, [body])
    if body.event is InteractionEvent.shown:
        return InteractionOut(**body.model_dump())
    session.commit()  # a catalog rebuilt or updated meanwhile reads it from the store
    # the log needs no models: without a loaded engine there is nothing to update
    engine = getattr(request.app.state, "engine", None)
    hook = getattr(engine, "capacity_declined", None)
    if body.decline_reason is DeclineReason.no_capacity and hook is not None:
        hook(org, body.mentor_id, body.at)
    changed = getattr(engine, "track_record_changed", None)
    if changed is not None:
        changed(org)
    return InteractionOut(**body.model_dump())
