"""The FastAPI application: ``create_app`` builds it, ``serve`` runs it under uvicorn.

Models load inside the serving process, in the app's lifespan (never before a fork): a
``--preload``-style parent that loads models and then forks workers would share torch / FAISS /
OpenMP state across processes, which deadlocks or corrupts. ``serve`` therefore runs one
worker by default, passing the app object itself; with more workers each one imports and
builds its own app (and models) after uvicorn spawns it.

Middleware, outermost first: metrics (sees every status, 413s and 500s included) → body size
limit → catch-all 500 → FastAPI's exception handlers → routes.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio.to_thread
from fastapi import FastAPI

from recsys.context import AppContext
from recsys.runtime import freeze_startup_objects
from recsys.settings import Settings
from serving.auth import PrincipalCache
from serving.engine import BaselineEngine, ServingEngine
from serving.errors import CatchAllMiddleware, install_handlers
from serving.limits import BodySizeLimitMiddleware, InFlightLimit, RateLimiter, RedisRateLimiter
from serving.metrics import Metrics, MetricsMiddleware
from serving.routers import ALL_ROUTERS
from serving.served_log import ServedListWriter

log = logging.getLogger("recsys.serving")

EngineProvider = Callable[[AppContext], ServingEngine]

API_DESCRIPTION = """\
Mentor recommendations and mentoring-programme insights.

Authenticate with an API key (`Authorization: Bearer <key>` or `X-API-Key: <key>`). Each key
belongs to one organisation and every request sees only that organisation's data. Roles:
`app` (recommendations, profiles, feedback, interactions), `coordinator` (alerts and risk; reads
profiles and pairings), `admin` (models and keys; implies all roles).

Every error has the body `{"error": {"code", "message", "details": [{"field", "reason"}]}}`.
"""


def _version() -> str:
    try:
        return version("recsys")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def baseline_engine_provider(ctx: AppContext) -> ServingEngine:
    """The model-free fallback engine (see :class:`serving.engine.BaselineEngine`)."""
    return BaselineEngine(ctx.sessions, ctx.settings.capacity_decline_days)


def create_app(
    ctx: AppContext | None = None,
    *,
    engine: ServingEngine | None = None,
    engine_provider: EngineProvider | None = None,
    freeze_gc: bool = False,
) -> FastAPI:
    """Build the app. Nothing heavy happens here; models load in the lifespan.

    ``engine``: a ready engine instance, owned by the caller (tests, benchmarks).
    ``engine_provider``: called once at startup, in a worker thread, to load the engine; the
    app closes what it returns at shutdown. Neither: the baseline engine.
    ``freeze_gc``: once loaded, move everything alive out of the garbage collector's reach
    (:func:`recsys.runtime.freeze_startup_objects`); what ``recsys serve`` does.
    """
    ctx = ctx or AppContext()
    if engine is not None and engine_provider is not None:
        raise ValueError("give engine or engine_provider, not both")
    provider = engine_provider or baseline_engine_provider
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned: ServingEngine | None = None
        if app.state.engine is None:
            owned = await anyio.to_thread.run_sync(provider, ctx)
            app.state.engine = owned
        loaded: ServingEngine = app.state.engine
        metrics.set_models(loaded.versions(), loaded.ready)
        log.info("serving with models %s", loaded.versions())
        if freeze_gc:
            seconds = await anyio.to_thread.run_sync(freeze_startup_objects)
            log.info("startup objects frozen for the garbage collector (%.2f s)", seconds)
        app.state.served_writer.start()
        shared_limiter = None
        if ctx.settings.rate_limit_redis_url:
            # made here, not in create_app: its connections belong to the serving event loop
            shared_limiter = RedisRateLimiter(
                ctx.settings.rate_limit_redis_url, ctx.settings.rate_limit_per_minute
            )
            app.state.limiter = shared_limiter
        try:
            yield
        finally:
            if shared_limiter is not None:
                app.state.limiter = RateLimiter(ctx.settings.rate_limit_per_minute)
                await shared_limiter.close()
            await anyio.to_thread.run_sync(app.state.served_writer.close)
            if owned is not None:
                await _close(owned)
                app.state.engine = None

    app = FastAPI(
        title="recsys",
        version=_version(),
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.engine = engine
    app.state.metrics = metrics
    app.state.limiter = RateLimiter(ctx.settings.rate_limit_per_minute)
    app.state.recommend_limit = InFlightLimit(
        ctx.settings.max_inflight_recommendations,
        max_wait_s=ctx.settings.recommend_queue_timeout_s,
    )
    app.state.principals = PrincipalCache()
    app.state.served_writer = ServedListWriter(ctx.sessions)
    install_handlers(app)
    for router in ALL_ROUTERS:
        app.include_router(router)
    # add_middleware wraps what is already there: the last added is the outermost.
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=ctx.settings.max_request_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


async def _close(engine: Any) -> None:
    """Call the engine's ``aclose()`` or ``close()`` if it has one (threads, pollers)."""
    closer = getattr(engine, "aclose", None) or getattr(engine, "close", None)
    if closer is None:
        return
    if inspect.iscoroutinefunction(closer):
        await closer()
    else:
        await anyio.to_thread.run_sync(closer)


def create_app_from_env() -> FastAPI:
    """Factory for multi-worker uvicorn: each spawned worker reads settings from the env and
    loads the models itself (the champions, as ``recsys serve`` does)."""
    from serving.model_engine import model_engine_provider

    return create_app(engine_provider=model_engine_provider, freeze_gc=True)


def create_baseline_app_from_env() -> FastAPI:
    """Factory for multi-worker uvicorn serving the model-free baseline engine."""
    return create_app(freeze_gc=True)


def serve(
    settings: Settings, *, engine_provider: EngineProvider | None = None, workers: int = 1
) -> None:
    """Run the service under uvicorn on ``settings.host:settings.port``.

    One worker (the default) serves the app object built here, so ``settings`` and
    ``engine_provider`` are used as given. More workers are spawned processes that each build
    their own app, and load their own models, from the environment (``RECSYS_*``), so
    ``settings`` must match it; ``engine_provider`` may then only be the model engine's
    (:func:`serving.model_engine.model_engine_provider`) or None (the baseline).
    """
    import uvicorn

    if workers < 1:
        raise ValueError("workers must be >= 1")
    if workers == 1:
        app = create_app(AppContext(settings), engine_provider=engine_provider, freeze_gc=True)
        uvicorn.run(app, host=settings.host, port=settings.port, workers=1)
        return
    from serving.model_engine import model_engine_provider

    if engine_provider is None:
        factory = "serving.app:create_baseline_app_from_env"
    elif engine_provider is model_engine_provider:
        factory = "serving.app:create_app_from_env"
    else:
        raise ValueError(
            "spawned workers build their own engine: pass model_engine_provider or None, "
            "or use workers=1"
        )
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
    )
