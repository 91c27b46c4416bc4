"""Prometheus metrics: request counts and latencies by route template and status, recommendation
latency, and the model versions in use.

Each app gets its own ``CollectorRegistry`` so several apps (tests, benchmarks) can live in one
process. Routes are labelled by their template (``/v1/mentors/{mentor_id}``), never the raw
path, so ids cannot blow up label cardinality; unmatched paths share one label.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED_ROUTE = "<unmatched>"


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "recsys_http_requests",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "recsys_http_request_duration_seconds",
            "HTTP request latency by method, route template and status code.",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.recommend_latency = Histogram(
            "recsys_recommendation_duration_seconds",
            "Time the engine took to produce one recommendation list.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.recommended_items = Counter(
            "recsys_recommended_items",
            "Mentors returned in recommendation lists.",
            registry=self.registry,
        )
        self.model_info = Gauge(
            "recsys_model_info",
            "Model version in use per component (value 1; absent component: not loaded).",
            ["component", "version"],
            registry=self.registry,
        )
        self.engine_ready = Gauge(
            "recsys_engine_ready", "1 when models and index are loaded.", registry=self.registry
        )

    def set_models(self, versions: Mapping[str, str | None], ready: bool) -> None:
        self.model_info.clear()
        for component, version in sorted(versions.items()):
            if version is not None:
                self.model_info.labels(component=component, version=version).set(1)
        self.engine_ready.set(1 if ready else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Times every HTTP request and counts it under its route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # what the client sees if the app dies before answering
        start = time.perf_counter()

        async def send_capturing(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_capturing)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED_ROUTE
            labels = {"method": scope.get("method", ""), "route": template, "status": str(status)}
            self.metrics.requests.labels(**labels).inc()
            self.metrics.latency.labels(**labels).observe(time.perf_counter() - start)
