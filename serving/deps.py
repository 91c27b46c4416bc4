"""FastAPI dependencies as ``Annotated`` aliases: context, sessions, engine, principal, roles.

Role aliases (``AppPrincipal`` …) are the only way routes get a principal, so the role a route
needs is visible in its signature. ``admin`` satisfies every role.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from recsys.context import AppContext
from recsys.keys import Principal, Role
from serving.auth import get_principal, require_roles
from serving.engine import ServingEngine
from serving.errors import ApiError
from serving.limits import InFlightLimit
from serving.metrics import Metrics
from serving.served_log import ServedListWriter

MAX_PAGE = 1000
MAX_OFFSET = 2**31 - 1  # databases take 64-bit offsets; nobody pages this far


async def get_ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


CtxDep = Annotated[AppContext, Depends(get_ctx)]


async def get_sessions(ctx: CtxDep) -> sessionmaker[Session]:
    return ctx.sessions


SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
"""The session factory, for async routes that run their database work in the threadpool."""


async def get_session(ctx: CtxDep) -> AsyncIterator[Session]:
    """One session per request: committed when the route returns, rolled back if it raises.

    Creating a session does no I/O, so it happens on the event loop; commit and rollback do,
    so they run in the threadpool (and only when a transaction is open). Routes that must make
    their writes visible to other connections before returning (engine hooks read the stored
    rows) call ``session.commit()`` themselves; the final commit is then skipped.
    """
    session = ctx.sessions()
    try:
        yield session
        if session.in_transaction():
            await run_in_threadpool(session.commit)
    except BaseException:
        if session.in_transaction():
            await run_in_threadpool(session.rollback)
        raise
    finally:
        session.close()  # no transaction is left open here, so nothing blocks


# scope="function": commit before the response is sent, so a failed commit is an error response
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_engine(request: Request) -> ServingEngine:
    engine: ServingEngine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise ApiError(503, "models are not loaded yet")
    return engine


EngineDep = Annotated[ServingEngine, Depends(get_engine)]


async def get_metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


MetricsDep = Annotated[Metrics, Depends(get_metrics)]


async def get_served_writer(request: Request) -> ServedListWriter:
    writer: ServedListWriter = request.app.state.served_writer
    return writer


ServedWriterDep = Annotated[ServedListWriter, Depends(get_served_writer)]


async def get_recommend_limit(request: Request) -> InFlightLimit:
    limit: InFlightLimit = request.app.state.recommend_limit
    return limit


RecommendLimitDep = Annotated[InFlightLimit, Depends(get_recommend_limit)]

PrincipalDep = Annotated[Principal, Depends(get_principal)]
"""Any valid key, whatever its roles."""
AppPrincipal = Annotated[Principal, Depends(require_roles(Role.app))]
ReaderPrincipal = Annotated[Principal, Depends(require_roles(Role.app, Role.coordinator))]
"""Apps and coordinators: reading profiles and pairings."""
CoordinatorPrincipal = Annotated[Principal, Depends(require_roles(Role.coordinator))]
AdminPrincipal = Annotated[Principal, Depends(require_roles(Role.admin))]


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


async def get_page(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(get_page)]
