"""Cohort matching (``coordinator`` role): propose a global assignment as a draft, review and
edit it pair by pair, accept it (pairings created in one transaction) or discard it.

The work is done by :mod:`recsys.matching`; this router scopes it to the caller's
organisation. Matching needs the ranker pipeline (:class:`recsys.engine.RecommendationEngine`):
the serving engine's ``recommendation_engine`` when it has one, else one built on first use
and kept in ``app.state.matching_engine`` (tests put a ready one there).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.orm import Session

from recsys import db, matching
from recsys.schemas import Id, MenteeIn
from serving.deps import CoordinatorPrincipal, SessionDep
from serving.errors import ApiError, not_found
from serving.routers._common import CONFLICT, ERROR_RESPONSES, NOT_FOUND

if TYPE_CHECKING:
    from recsys.engine import RecommendationEngine

router = APIRouter(prefix="/v1/matching", tags=["matching"], responses=ERROR_RESPONSES)

MAX_COHORT = 20_000
DraftId = Annotated[str, Path(min_length=1, max_length=64)]
MenteeIdPath = Annotated[str, Path(min_length=1, max_length=128)]
_engine_lock = threading.Lock()


# --------------------------------------------------------------------------- schemas
class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CohortRequest(_Body):
    mentee_ids: list[Id] = Field(
        default_factory=list, max_length=MAX_COHORT, description="Stored mentees to match."
    )
    mentees: list[MenteeIn] = Field(
        default_factory=list, max_length=MAX_COHORT,
        description="Inline mentee profiles (stored when the draft is accepted).",
    )  # fmt: skip
    as_of: dt.date | None = Field(default=None, description="Date for capacity; default today.")
    objective: Literal["best_total", "most_matched"] = Field(
        default="best_total",
        description="best_total: maximise total predicted success; most_matched: match as "
        "many mentees as possible, then maximise quality.",
    )
    mentors_per_mentee: int = Field(default=1, ge=1, le=5)
    spread_exposure: float = Field(
        default=0.0, ge=0.0, le=1.0,
        description="Spread assignments over mentors (0 = off); the summary reports the cost "
        "in predicted success.",
    )  # fmt: skip
    candidates: int = Field(default=50, ge=1, le=500, description="Candidates per mentee.")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if bool(self.mentee_ids) == bool(self.mentees):
            raise ValueError("give exactly one of mentee_ids or mentees (non-empty)")
        return self


class DraftItemOut(BaseModel):
    mentee_id: str
    slot: int
    mentor_id: str | None
    score: float | None = Field(description="Predicted success probability of the pair.")
    reasons: list[str]
    unmatched_reason: str | None = None
    alternative: dict[str, Any] | None = None


class DraftOut(BaseModel):
    id: str
    status: str = Field(description="draft | accepted | discarded")
    as_of: dt.date
    params: dict[str, Any]
    summary: dict[str, Any]
    created_at: dt.datetime | None = None
    accepted_at: dt.datetime | None = None
    items: list[DraftItemOut]


class ItemEdit(_Body):
    mentor_id: Id | None = Field(description="The new mentor, or null to leave unmatched.")
    slot: int = Field(default=0, ge=0, le=4)


class AcceptRequest(_Body):
    start: dt.date | None = Field(default=None, description="Start date; default the draft's.")


class AcceptOut(BaseModel):
    draft_id: str
    status: str
    pairings: list[str]


# --------------------------------------------------------------------------- engine
def matching_engine(request: Request, org: str) -> RecommendationEngine:
    """The service's recommendation engine, once the catalog work queued for ``org``'s writes
    is done (cohort matching reads it directly: read-your-writes, as for recommendations)."""
    serving_engine = getattr(request.app.state, "engine", None)
    inner = getattr(serving_engine, "recommendation_engine", None)
    if inner is not None:
        serving_engine.wait_for_updates(org)  # type: ignore[union-attr]
        return inner  # type: ignore[no-any-return]
    with _engine_lock:
        engine = getattr(request.app.state, "matching_engine", None)
        if engine is None:
            from recsys.engine import RecommendationEngine

            engine = RecommendationEngine(request.app.state.ctx)
            request.app.state.matching_engine = engine
        return engine  # type: ignore[no-any-return]


def _after_pairings_changed(request: Request, org: str, pairing_ids: list[str]) -> None:
    """New pairings count against capacity. The service's engine re-reads the track record
    of the catalog it shares with matching (``pairings_changed``: 0.16 s at 100k mentors,
    where dropping the catalog made the next request rebuild it for 15 s); a matching engine
    of its own (beside the model-free engine) reads it again on next use."""
    own = getattr(request.app.state, "matching_engine", None)
    if own is not None:
        own.invalidate(org)
    hook = getattr(getattr(request.app.state, "engine", None), "pairings_changed", None)
    if hook is not None:
        hook(org, pairing_ids)


def _view(session: Session, org: str, draft_id: str) -> DraftOut:
    try:
        return DraftOut.model_validate(matching.draft_view(session, org, draft_id))
    except matching.DraftNotFound:
        raise not_found("draft", draft_id) from None


# --------------------------------------------------------------------------- routes
@router.post("/cohort", response_model=DraftOut, status_code=201, responses={**NOT_FOUND})
def match_cohort(
    body: CohortRequest, principal: CoordinatorPrincipal, session: SessionDep, request: Request
) -> DraftOut:
    """Assign a cohort to mentors (exact global assignment under capacity and every hard
    constraint) and store it as a draft to review; nothing changes until it is accepted."""
    org = principal.org
    if body.mentee_ids:
        ids = list(dict.fromkeys(body.mentee_ids))
        from recsys.snapshot import load_mentees

        mentees = load_mentees(session, org, ids)
        if len(mentees) != len(ids):
            found = {m.id for m in mentees}
            raise not_found("mentee", next(i for i in ids if i not in found))
    else:
        mentees = list(body.mentees)
        seen: set[str] = set()
        for i, m in enumerate(mentees):
            if m.id in seen:
                raise ApiError(422, f"duplicate mentee id {m.id!r}",
                               details=[(f"body.mentees.{i}.id", "duplicate id")])  # fmt: skip
            seen.add(m.id)
    options = matching.MatchOptions(
        objective=body.objective, mentors_per_mentee=body.mentors_per_mentee,
        n_candidates=body.candidates, spread=body.spread_exposure,
    )  # fmt: skip
    as_of = body.as_of or dt.date.today()
    result = matching.match_cohort(
        matching_engine(request, org), org, mentees, as_of=as_of, options=options,
        cached_text=bool(body.mentee_ids),
    )  # fmt: skip
    draft_id = matching.save_draft(session, org, result, mentees)
    return _view(session, org, draft_id)


@router.get("/drafts/{draft_id}", response_model=DraftOut, responses={**NOT_FOUND})
def get_draft(draft_id: DraftId, principal: CoordinatorPrincipal, session: SessionDep) -> DraftOut:
    """A cohort-match draft with every proposed pair, its score, reasons and, for unmatched
    mentees, why and the best alternative."""
    return _view(session, principal.org, draft_id)


@router.patch(
    "/drafts/{draft_id}/items/{mentee_id}",
    response_model=DraftItemOut,
    responses={**NOT_FOUND, **CONFLICT},
)
def edit_draft_item(
    draft_id: DraftId,
    mentee_id: MenteeIdPath,
    body: ItemEdit,
    principal: CoordinatorPrincipal,
    session: SessionDep,
    request: Request,
) -> DraftItemOut:
    """Change one pair of a draft. The new mentor must satisfy every hard constraint (active,
    shared language, not excluded, free capacity counting the draft's other pairs)."""
    org = principal.org
    scored = None
    try:
        draft = matching.draft_view(session, org, draft_id)
        if body.mentor_id is not None and draft["status"] == matching.DRAFT:
            profile = _profile(session, draft_id, mentee_id)
            if profile is not None:
                found = matching.score_pairs(
                    matching_engine(request, org), org, profile, [body.mentor_id],
                    as_of=draft["as_of"], cached_text=False,
                )  # fmt: skip
                scored = found[0] if found else None
        item = matching.edit_item(
            session, org, draft_id, mentee_id, body.mentor_id, slot=body.slot, scored=scored
        )
    except matching.DraftNotFound:
        raise not_found("draft item", f"{draft_id}/{mentee_id}") from None
    except matching.DraftStateError as exc:
        raise ApiError(409, str(exc)) from None
    except matching.DraftConflict as exc:
        raise ApiError(422, str(exc), details=[(f"body.{exc.field}", str(exc))]) from None
    return DraftItemOut.model_validate(item)


def _profile(session: Session, draft_id: str, mentee_id: str) -> MenteeIn | None:
    row = session.get(db.MatchDraft, draft_id)
    raw = ((row.params or {}).get("profiles") or {}).get(mentee_id) if row else None
    return MenteeIn.model_validate(raw) if raw else None


@router.post(
    "/drafts/{draft_id}/accept", response_model=AcceptOut, responses={**NOT_FOUND, **CONFLICT}
)
def accept_draft(
    draft_id: DraftId,
    principal: CoordinatorPrincipal,
    session: SessionDep,
    request: Request,
    body: AcceptRequest | None = None,
) -> AcceptOut:
    """Create the draft's pairings (and so the mentors' load) in one transaction. 409 when a
    pair broke a hard constraint since (e.g. the mentor filled up): nothing is stored."""
    org = principal.org
    try:
        ids = matching.accept_draft(
            session, org, draft_id, start=body.start if body is not None else None
        )
    except matching.DraftNotFound:
        raise not_found("draft", draft_id) from None
    except (matching.DraftStateError, matching.DraftConflict) as exc:
        raise ApiError(409, str(exc)) from None
    session.commit()  # visible to the engine's own sessions before it reloads the load
    _after_pairings_changed(request, org, ids)
    return AcceptOut(draft_id=draft_id, status=matching.ACCEPTED, pairings=ids)


@router.delete(
    "/drafts/{draft_id}", status_code=204, response_class=Response,
    responses={**NOT_FOUND, **CONFLICT},
)  # fmt: skip
def discard_draft(draft_id: DraftId, principal: CoordinatorPrincipal, session: SessionDep) -> None:
    """Discard a draft (kept for the record, no longer editable or acceptable)."""
    try:
        matching.discard_draft(session, principal.org, draft_id)
    except matching.DraftNotFound:
        raise not_found("draft", draft_id) from None
    except matching.DraftStateError as exc:
        raise ApiError(409, str(exc)) from None
