"""Re-matching: replacement mentors for a pairing that is not working.

The same machinery as cohort matching (:func:`recsys.matching.build_candidates`: retrieval,
hard constraints, ranker, calibrated success probability, reasons), with the current mentor —
and every mentor the mentee was paired with before — excluded, and the challenge behind the
alert turned into a hard constraint:

* ``time_constraints``: at least ``max(MIN_SHARED_HOURS, current + 1)`` shared working hours
  a day (capped at the full 8-hour day), so a suggestion actually fixes the problem;
* ``poor_match``: a better goal–expertise fit than the current mentor (the best-sentence
  similarity of goals to bio must be higher than the current pair's).

:func:`rematch_callback` plugs into :func:`recsys.insights.alerts.scan` (its ``rematch``
argument); :func:`attach_to_alerts` adds suggestions to live alerts that carry either signal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from features.pairs import FEATURE_NAMES
from recsys import db, store
from recsys.matching import build_candidates, pair_reasons, score_pairs

if TYPE_CHECKING:
    from recsys.engine import RecommendationEngine

Challenge = Literal["poor_match", "time_constraints"]
CHALLENGES: tuple[str, ...] = ("poor_match", "time_constraints")
MIN_SHARED_HOURS = 3.0
FULL_DAY_HOURS = 8.0
REMATCH_CANDIDATES = 200  # wider than a recommendation: the constraint filters many out
_HOURS = FEATURE_NAMES.index("shared_hours")
_FIT = FEATURE_NAMES.index("text_mean_best_sentence")


class PairingNotFound(LookupError):
    pass


@dataclass
class Replacement:
    mentor_id: str
    score: float  # predicted success probability
    reasons: list[str]
    shared_hours: float
    constraint: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _previous_mentors(session: Session, org: str, mentee_id: str) -> set[str]:
    p = db.Pairing
    stmt = select(p.mentor_id).where(p.org_id == org, p.mentee_id == mentee_id)
    return set(session.scalars(stmt))


def required_hours(current_hours: float, min_shared_hours: float | None = None) -> float:
    floor = MIN_SHARED_HOURS if min_shared_hours is None else min_shared_hours
    return float(min(FULL_DAY_HOURS, max(floor, current_hours + 1.0)))


def suggest_replacements(
    session: Session,
    engine: RecommendationEngine,
    org: str,
    pairing_id: str,
    *,
    as_of: dt.date,
    challenge: Challenge = "poor_match",
    k: int = 3,
    min_shared_hours: float | None = None,
) -> list[Replacement]:
    """Up to ``k`` replacement mentors for ``pairing_id``, best predicted success first."""
    if challenge not in CHALLENGES:
        raise ValueError(f"challenge must be one of {CHALLENGES}, got {challenge!r}")
    pairing = store.get_row(session, db.Pairing, org, pairing_id)
    if pairing is None:
        raise PairingNotFound(pairing_id)
    row = store.get_row(session, db.Mentee, org, pairing.mentee_id)
    if row is None:
        raise PairingNotFound(f"mentee {pairing.mentee_id} of pairing {pairing_id}")
    mentee = store.mentee_schema(row)
    current = score_pairs(engine, org, mentee, [pairing.mentor_id], as_of=as_of)
    current_hours = current[0].features["shared_hours"] if current else 0.0
    current_fit = current[0].features["text_mean_best_sentence"] if current else -np.inf
    if challenge == "time_constraints":
        need = required_hours(current_hours, min_shared_hours)
        constraint = f"at least {need:.0f} shared working hours (now {current_hours:.0f})"

        def keep(_m: np.ndarray, _r: np.ndarray, x: np.ndarray) -> np.ndarray:
            return np.asarray(x[:, _HOURS] >= need - 1e-6)

    else:
        constraint = "a closer fit of expertise to the mentee's goals than the current mentor"

        def keep(_m: np.ndarray, _r: np.ndarray, x: np.ndarray) -> np.ndarray:
            return np.asarray(x[:, _FIT] > current_fit + 1e-6)

    banned = _previous_mentors(session, org, mentee.id) | {pairing.mentor_id}
    state = engine.org_state(org)
    batch = engine.mentee_batch([mentee])
    model = engine.ranker
    graph = build_candidates(
        state.catalog, state.feasibility, batch, model, as_of=as_of,
        n_candidates=REMATCH_CANDIDATES, exclude=[frozenset(banned)], pair_filter=keep,
    )  # fmt: skip
    top = np.argsort(-graph.probability, kind="stable")[:k]
    reasons = pair_reasons(state.catalog, batch, graph, top, model, as_of)
    return [
        Replacement(
            mentor_id=state.catalog.ids[int(graph.row[e])],
            score=round(float(graph.probability[e]), 6),
            reasons=rs,
            shared_hours=round(float(graph.features[e, _HOURS]), 1),
            constraint=constraint,
        )
        for e, rs in zip(top, reasons, strict=True)
    ]


class RematchCallback:
    """``rematch(pairing_id, challenge="poor_match") -> [suggestion dicts]`` for
    :func:`recsys.insights.alerts.scan`; unknown pairings give no suggestions."""

    def __init__(
        self, session: Session, engine: RecommendationEngine, org: str, as_of: dt.date, k: int = 3
    ) -> None:
        self.session, self.engine, self.org, self.as_of, self.k = session, engine, org, as_of, k

    def __call__(
        self, pairing_id: str, challenge: Challenge = "poor_match"
    ) -> list[dict[str, Any]]:
        try:
            found = suggest_replacements(
                self.session, self.engine, self.org, pairing_id, as_of=self.as_of,
                challenge=challenge, k=self.k,
            )  # fmt: skip
        except PairingNotFound:
            return []
        return [r.as_dict() for r in found]


def rematch_callback(
    session: Session, engine: RecommendationEngine, org: str, as_of: dt.date, k: int = 3
) -> RematchCallback:
    return RematchCallback(session, engine, org, as_of, k)


def attach_to_alerts(
    session: Session,
    engine: RecommendationEngine,
    org: str,
    as_of: dt.date,
    *,
    alert_ids: Sequence[int] | None = None,
    k: int = 3,
) -> dict[int, int]:
    """Add replacement suggestions to the live alerts (open or acknowledged) that carry a
    ``poor_match`` or ``time_constraints`` signal: the action for that signal gets
    ``suggestions`` (the challenge turned into a constraint). Returns alert id -> count."""
    from recsys.insights.alerts import LIVE

    a = db.Alert
    stmt = select(a).where(a.org_id == org, a.status.in_(LIVE))
    if alert_ids is not None:
        stmt = stmt.where(a.id.in_(list(alert_ids)))
    rematch = rematch_callback(session, engine, org, as_of, k)
    done: dict[int, int] = {}
    for alert in session.scalars(stmt).all():
        present = [c for c in CHALLENGES if c in (alert.signals or [])]
        if not present:
            continue
        actions = [dict(x) for x in (alert.actions or [])]
        total = 0
        for challenge in present:
            suggestions = rematch(alert.pairing_id, challenge)  # type: ignore[arg-type]
            total += len(suggestions)
            action = next((x for x in actions if x.get("signal") == challenge), None)
            if action is None:
                action = {"signal": challenge, "type": "rematch",
                          "text": "Consider a re-match with one of the suggested mentors."}  # fmt: skip
                actions.append(action)
            action["suggestions"] = suggestions
        alert.actions = actions  # a new list, so the JSON column is marked changed
        done[alert.id] = total
    session.flush()
    return done
