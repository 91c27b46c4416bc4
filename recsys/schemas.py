"""Domain schemas: the data contract of ``../shared/DESIGN.md`` as pydantic models.

One family per entity (``MentorIn`` validates what comes in from files or the API,
``MentorOut`` is what goes back out). Ingest, export and the HTTP API all use these,
so a field means the same thing everywhere.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Self
from zoneinfo import available_timezones

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

Id = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
LanguageCode = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-z]{2}$")
]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Seniority = Annotated[int, Field(ge=1, le=8, description="1 entry level … 8 executive")]


class PairingStatus(StrEnum):
    active = "active"
    completed = "completed"
    ended_early = "ended_early"


class AuthorRole(StrEnum):
    mentee = "mentee"
    mentor = "mentor"
    coordinator = "coordinator"


class InteractionEvent(StrEnum):
    shown = "shown"
    requested = "requested"
    accepted = "accepted"
    declined = "declined"


# What the app saw happen after showing a list: the track record reads only these, never the
# served lists themselves ("shown": ten rows per request, most of the table).
ANSWER_EVENTS = (
    InteractionEvent.requested.value,
    InteractionEvent.accepted.value,
    InteractionEvent.declined.value,
)


class StructureStyle(StrEnum):
    """How structured a person likes mentoring (a profile form's question; features.style)."""

    structured = "structured"  # agreed goals, a plan and follow-up
    informal = "informal"  # open-ended conversations


class ModalityStyle(StrEnum):
    """Whether a person likes to work in writing or live (a profile form's question)."""

    written = "written"  # messages and documents, in their own time
    live = "live"  # calls or meeting in person


class DeclineReason(StrEnum):
    """Why a mentor declined a request, when the app asks; stored with the interaction and
    exported with the log (how the ranker reads declines: :mod:`training.ranker`)."""

    no_capacity = "no_capacity"
    poor_fit = "poor_fit"  # expertise, goals or seniority do not fit
    schedule = "schedule"  # working hours or time zones do not fit
    other = "other"


class Signal(StrEnum):
    poor_match = "poor_match"
    low_commitment = "low_commitment"
    time_constraints = "time_constraints"
    communication_breakdown = "communication_breakdown"
    fear_of_feedback = "fear_of_feedback"
    unclear_goals = "unclear_goals"
    boundary_concern = "boundary_concern"
    positive_progress = "positive_progress"


CHALLENGE_SIGNALS: tuple[Signal, ...] = tuple(
    s for s in Signal if s is not Signal.positive_progress
)

_TIMEZONES: frozenset[str] | None = None


def _valid_timezone(name: str) -> str:
    global _TIMEZONES
    if _TIMEZONES is None:  # loaded lazily: nothing happens at import time
        _TIMEZONES = frozenset(available_timezones()) | {"UTC"}
    if name not in _TIMEZONES:
        raise ValueError(f"unknown IANA time zone {name!r}")
    return name


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _PersonBase(_Contract):
    id: Id
    title: str = Field(default="", max_length=200)
    department: str = Field(default="", max_length=200)
    seniority: Seniority
    timezone: str = Field(description="IANA name, e.g. Europe/Berlin")
    languages: list[LanguageCode] = Field(min_length=1, description="ISO 639-1 codes")
    skills: list[Tag] = Field(default_factory=list)
    # Working style as a profile form asks it; the same styles are also read from the free
    # text (bio, goals), and an answer here outranks the text (features.style).
    style_structure: StructureStyle | None = Field(
        default=None, description="structured (agreed goals, a plan) or informal"
    )
    style_modality: ModalityStyle | None = Field(
        default=None, description="written (messages, documents) or live (calls, in person)"
    )

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, v: str) -> str:
        return _valid_timezone(v)

    @field_validator("languages", "skills")
    @classmethod
    def _dedupe(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(v))


class MentorIn(_PersonBase):
    bio: str = Field(default="", max_length=10_000)
    capacity: int = Field(ge=0, le=1000, description="maximum concurrent mentees; 0 = closed")
    active: bool = True
    # optional, never used as ranking features unless configured (fairness audit only)
    location: str | None = Field(default=None, max_length=200)
    group: str | None = Field(
        default=None, max_length=200, description="opt-in self-described group"
    )


class MentorOut(MentorIn):
    active_mentees: int | None = None


class MenteeIn(_PersonBase):
    goals: str = Field(min_length=1, max_length=10_000)
    excluded_mentor_ids: list[Id] = Field(default_factory=list)


class MenteeOut(MenteeIn):
    pass


class PairingIn(_Contract):
    id: Id
    mentor_id: Id
    mentee_id: Id
    started_at: dt.date
    ended_at: dt.date | None = None
    status: PairingStatus
    rating: int | None = Field(default=None, ge=1, le=5)
    goals_met: bool | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        if self.status is PairingStatus.active and self.ended_at is not None:
            raise ValueError("an active pairing has no ended_at")
        if self.mentor_id == self.mentee_id:
            raise ValueError("mentor_id and mentee_id are the same person")
        return self


class PairingOut(PairingIn):
    pass


class FeedbackIn(_Contract):
    id: Id
    pairing_id: Id
    author_role: AuthorRole
    created_at: dt.date
    text: str = Field(min_length=1, max_length=20_000)


class FeedbackOut(_Contract):
    id: str
    pairing_id: str
    author_role: AuthorRole
    created_at: dt.date
    text: str | None = Field(description="null once purged by the retention policy")


class InteractionIn(_Contract):
    mentee_id: Id
    mentor_id: Id
    at: dt.date
    # bounded like their columns: a 22-digit position overflowed SQLite's INTEGER (a 500 found
    # by the contract fuzz test), and PostgreSQL refuses ids longer than String(64)
    position: int | None = Field(default=None, ge=1, le=100_000)
    event: InteractionEvent
    recommendation_id: str | None = Field(default=None, max_length=64)
    decline_reason: DeclineReason | None = Field(
        default=None, description="Only with event `declined`: why the mentor declined."
    )

    @field_validator("decline_reason")
    @classmethod
    def _only_on_declines(cls, value: DeclineReason | None, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("event") is not InteractionEvent.declined:
            raise ValueError("decline_reason is only allowed with event 'declined'")
        return value


class InteractionOut(InteractionIn):
    pass


ENTITY_FILES: dict[str, type[_Contract]] = {
    "mentors": MentorIn,
    "mentees": MenteeIn,
    "pairings": PairingIn,
    "feedback": FeedbackIn,
    "interactions": InteractionIn,
}
"""Contract file stem → schema, in dependency order (references point backwards)."""
