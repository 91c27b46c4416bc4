"""Probes and metrics, unauthenticated by design (bind them to an internal network).

``/healthz``: the process is up. ``/readyz``: models and index are loaded and the database
answers (503 otherwise), which is what a load balancer should route on. ``/metrics``:
Prometheus text format.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import text

from serving.deps import CtxDep, MetricsDep
from serving.errors import ApiError, ErrorBody
from serving.schemas import HealthOut, ReadyOut

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=HealthOut)
async def healthz() -> HealthOut:
    return HealthOut(status="ok")


@router.get("/readyz", response_model=ReadyOut, responses={503: {"model": ErrorBody}})
def readyz(request: Request, ctx: CtxDep) -> ReadyOut:
    engine = getattr(request.app.state, "engine", None)
    if engine is None or not engine.ready:
        raise ApiError(503, "models are not loaded yet")
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise ApiError(503, "database unavailable") from exc
    return ReadyOut(ready=True, versions=engine.versions())


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, metrics: MetricsDep) -> Response:
    engine = getattr(request.app.state, "engine", None)
    if engine is not None:
        metrics.set_models(engine.versions(), engine.ready)
    return Response(metrics.render(), media_type=metrics.content_type)
