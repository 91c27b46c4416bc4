"""HTTP request and response schemas. Entity bodies reuse the data contract (``recsys.schemas``)
so a field means the same thing in files and over HTTP; these add the envelopes around them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from recsys.keys import Role
from recsys.schemas import (
    FeedbackOut,
    Id,
    MenteeIn,
    MentorIn,
    Signal,
)

T = TypeVar("T")
MAX_BULK = 10_000


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int = Field(description="Items matching, over all pages.")
    limit: int
    offset: int


class MentorsBulkIn(_Body):
    items: list[MentorIn] = Field(min_length=1, max_length=MAX_BULK)


class MenteesBulkIn(_Body):
    items: list[MenteeIn] = Field(min_length=1, max_length=MAX_BULK)


class BulkResult(BaseModel):
    upserted: int


# --------------------------------------------------------------------------- recommendations
class RecommendationRequest(_Body):
    mentee: MenteeIn | None = Field(
        default=None, description="Inline mentee profile (not stored). Give this or mentee_id."
    )
    mentee_id: Id | None = Field(default=None, description="A stored mentee. Give this or mentee.")
    k: int = Field(default=10, ge=1, le=100, description="How many mentors to return.")
    exclude_mentor_ids: list[Id] = Field(default_factory=list, max_length=10_000)
    as_of: dt.date | None = Field(default=None, description="Date for capacity; default today.")
    spread_exposure: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Spread exposure over mentors (0 = off): mentors near capacity or already "
        "much requested move down the list, by up to this share of the list's score range.",
    )

    @model_validator(mode="after")
    def _one_subject(self) -> Self:
        if (self.mentee is None) == (self.mentee_id is None):
            raise ValueError("give exactly one of mentee and mentee_id")
        return self


class RecommendedMentor(BaseModel):
    mentor_id: str
    rank: int = Field(ge=1)
    score: float
    reasons: list[str]


class RecommendationResponse(BaseModel):
    recommendation_id: str = Field(
        description="Quote it when reporting interactions with this list."
    )
    mentee_id: str
    model_version: str
    as_of: dt.date
    recommendations: list[RecommendedMentor]


# --------------------------------------------------------------------------- signals / feedback
class SignalOut(BaseModel):
    label: Signal
    score: float = Field(ge=0.0, le=1.0)
    evidence: list[str] = Field(description="Text spans the signal was detected in.")


class AnalyzeRequest(_Body):
    text: str = Field(min_length=1, max_length=20_000)


class AnalyzeResponse(BaseModel):
    signals: list[SignalOut]


class FeedbackWithSignals(FeedbackOut):
    signals: list[SignalOut] = Field(default_factory=list)


class RiskOut(BaseModel):
    """Risk of a pairing ending badly; engines may add fields (kept as-is)."""

    model_config = ConfigDict(extra="allow")
    pairing_id: str
    risk: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(default_factory=list)
    as_of: dt.date | None = None
    signals: list[str] = Field(default_factory=list)
    model_version: str | None = None


# --------------------------------------------------------------------------- alerts
class AlertOut(BaseModel):
    id: int
    pairing_id: str
    status: str = Field(description="open | acknowledged | resolved")
    risk: float
    signals: list[str]
    reasons: list[str]
    evidence: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    as_of: dt.date
    created_at: dt.datetime
    updated_at: dt.datetime
    resolved_at: dt.datetime | None


# --------------------------------------------------------------------------- models / health
class ModelsOut(BaseModel):
    ready: bool
    versions: dict[str, str | None]


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    ready: bool
    versions: dict[str, str | None]


# --------------------------------------------------------------------------- keys
class KeyCreate(_Body):
    name: str = Field(default="", max_length=200)
    roles: list[Role] = Field(min_length=1, max_length=len(Role))


class KeyOut(BaseModel):
    id: str
    org: str
    name: str
    roles: list[Role]
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    active: bool


class KeyCreated(KeyOut):
    key: str = Field(description="The plaintext key. Shown only once: store it now.")
