"""Mentor recommendations (``app`` role).

The route resolves the mentee (inline profile or stored id), awaits the engine (inference runs
off the event loop) and records what it served: the list (``recommendation_lists``) and one
``shown`` interaction per mentor with its position, so every served list becomes training data.
The record is written behind the response by :class:`serving.served_log.ServedListWriter`.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

from fastapi import APIRouter
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from recsys import db, store
from recsys.schemas import MenteeIn
from serving.deps import (
    AppPrincipal,
    EngineDep,
    MetricsDep,
    RecommendLimitDep,
    ServedWriterDep,
    SessionsDep,
)
from serving.engine import RecommendResult, ServingEngine
from serving.errors import not_found
from serving.metrics import Metrics
from serving.routers._common import ERROR_RESPONSES, NOT_FOUND, NOT_READY_OR_OVERLOADED
from serving.schemas import RecommendationRequest, RecommendationResponse, RecommendedMentor
from serving.served_log import ServedList, ServedListWriter

router = APIRouter(
    prefix="/v1/recommendations", tags=["recommendations"], responses=ERROR_RESPONSES
)


def _load_mentee(sessions: sessionmaker[Session], org: str, mentee_id: str) -> MenteeIn | None:
    with sessions() as session:
        row = store.get_row(session, db.Mentee, org, mentee_id)
        return None if row is None else store.mentee_schema(row)


def _spread(
    sessions: sessionmaker[Session],
    org: str,
    result: RecommendResult,
    as_of: dt.date,
    strength: float,
) -> RecommendResult:
    """Re-rank to spread exposure (see ``recsys.matching.spread_rerank``)."""
    from recsys.matching import exposure_pressure, spread_rerank

    with sessions() as session:
        pressure = exposure_pressure(session, org, [s.mentor_id for s in result.items], as_of)
    order = spread_rerank(
        [s.score for s in result.items], [pressure[s.mentor_id] for s in result.items], strength
    )
    return RecommendResult(result.model_version, [result.items[int(i)] for i in order])


@router.post(
    "", response_model=RecommendationResponse, responses={**NOT_FOUND, **NOT_READY_OR_OVERLOADED}
)
async def recommend(
    body: RecommendationRequest,
    principal: AppPrincipal,
    sessions: SessionsDep,
    engine: EngineDep,
    metrics: MetricsDep,
    served_writer: ServedWriterDep,
    in_flight: RecommendLimitDep,
) -> RecommendationResponse:
    """Rank mentors for a mentee (inline profile or stored ``mentee_id``). With
    ``RECSYS_MAX_INFLIGHT_RECOMMENDATIONS`` already in progress, waits for a slot up to
    ``RECSYS_RECOMMEND_QUEUE_TIMEOUT_S``, then answers 503 ``overloaded`` with Retry-After."""
    async with in_flight.slot("recommendations"):
        return await _recommend(body, principal.org, sessions, engine, metrics, served_writer)


async def _recommend(
    body: RecommendationRequest,
    org: str,
    sessions: sessionmaker[Session],
    engine: ServingEngine,
    metrics: Metrics,
    served_writer: ServedListWriter,
) -> RecommendationResponse:
    if body.mentee is not None:
        mentee = body.mentee
    else:
        assert body.mentee_id is not None  # the request model requires one of the two
        loaded = await run_in_threadpool(_load_mentee, sessions, org, body.mentee_id)
        if loaded is None:
            raise not_found("mentee", body.mentee_id)
        mentee = loaded
    as_of = body.as_of or dt.date.today()
    exclude = list(dict.fromkeys([*body.exclude_mentor_ids, *mentee.excluded_mentor_ids]))
    start = time.perf_counter()
    # spreading re-ranks a longer list, so that less exposed mentors can move up into the top k
    depth = min(100, 3 * body.k) if body.spread_exposure > 0 else body.k
    result = await engine.recommend(
        org, mentee, k=depth, exclude=exclude, as_of=as_of, stored=body.mentee is None
    )
    if body.spread_exposure > 0:
        result = await run_in_threadpool(
            _spread, sessions, org, result, as_of, body.spread_exposure
        )
    metrics.recommend_latency.observe(time.perf_counter() - start)
    items = [
        RecommendedMentor(mentor_id=s.mentor_id, rank=i, score=s.score, reasons=list(s.reasons))
        for i, s in enumerate(result.items[: body.k], start=1)
    ]
    metrics.recommended_items.inc(len(items))
    rec_id = uuid.uuid4().hex
    served_writer.submit(
        ServedList(
            org=org,
            recommendation_id=rec_id,
            mentee_id=mentee.id,
            model_version=result.model_version,
            items=[i.model_dump() for i in items],
            day=dt.date.today(),
        )
    )
    return RecommendationResponse(
        recommendation_id=rec_id,
        mentee_id=mentee.id,
        model_version=result.model_version,
        as_of=as_of,
        recommendations=items,
    )
