"""HTTP routers, one per resource. ``ALL_ROUTERS`` is what the app mounts, in order."""

from __future__ import annotations

from fastapi import APIRouter

from serving.routers import (
    alerts,
    feedback,
    health,
    interactions,
    keys,
    matching,
    models,
    pairings,
    profiles,
    recommendations,
)

ALL_ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    profiles.mentors,
    profiles.mentees,
    pairings.router,
    feedback.router,
    interactions.router,
    recommendations.router,
    alerts.router,
    matching.router,
    models.router,
    keys.router,
)
