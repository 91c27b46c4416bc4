"""Model versions in use (any key) and hot reload (``admin``)."""

from __future__ import annotations

from fastapi import APIRouter

from serving.deps import AdminPrincipal, EngineDep, MetricsDep, PrincipalDep
from serving.routers._common import ERROR_RESPONSES, NOT_READY
from serving.schemas import ModelsOut

router = APIRouter(prefix="/v1/models", tags=["models"], responses=ERROR_RESPONSES)


@router.get("", response_model=ModelsOut, responses=NOT_READY)
def get_models(principal: PrincipalDep, engine: EngineDep) -> ModelsOut:
    return ModelsOut(ready=engine.ready, versions=engine.versions())


@router.post("/reload", response_model=ModelsOut, responses=NOT_READY)
async def reload_models(
    principal: AdminPrincipal, engine: EngineDep, metrics: MetricsDep
) -> ModelsOut:
    """Load the newest promoted models now instead of waiting for the next poll."""
    versions = await engine.reload()
    metrics.set_models(versions, engine.ready)
    return ModelsOut(ready=engine.ready, versions=versions)
