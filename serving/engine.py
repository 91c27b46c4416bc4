"""The model-backed side of the service, as routes see it: the ``ServingEngine`` protocol.

Routes never touch models directly; they call an engine obtained from ``app.state``. The real
engine (embedder + FAISS index + ranker + signal pipeline + risk model, loaded from MLflow and
run on a dedicated inference thread) plugs in through ``create_app(engine=...)`` or
``create_app(engine_provider=...)``. :class:`BaselineEngine` is the fallback used when no
trained models are wired in, and in tests: lexical matching, keyword rules for signals and a
noisy-or of stored signals for risk. It is deliberately simple but honours the same contract
(hard constraints on capacity, language and exclusions; evidence spans; org scoping).

Async methods may take long (model inference) and are awaited from async routes; sync methods
are called from threadpool routes after the request's writes are committed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict, runtime_checkable

import anyio.to_thread
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from recsys import db, store
from recsys.schemas import CHALLENGE_SIGNALS, MenteeIn, Signal
from recsys.settings import CAPACITY_DECLINE_DAYS


class DetectedSignal(TypedDict):
    label: str
    score: float
    evidence: list[str]


@dataclass(frozen=True, slots=True)
class ScoredMentor:
    mentor_id: str
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RecommendResult:
    model_version: str
    items: list[ScoredMentor]


@runtime_checkable
class ServingEngine(Protocol):
    """What the HTTP layer needs from the models. All org-scoped calls must stay in that org."""

    @property
    def ready(self) -> bool:
        """True once models (and the mentor index) are loaded and requests can be answered."""
        ...

    def versions(self) -> dict[str, str | None]:
        """Component name → model version in use (None: component not loaded)."""
        ...

    async def recommend(
        self,
        org: str,
        mentee: MenteeIn,
        *,
        k: int,
        exclude: Sequence[str],
        as_of: dt.date,
        stored: bool = False,
    ) -> RecommendResult:
        """Ranked mentors for ``mentee``. ``stored``: the profile was loaded from the store, so
        its goal vectors may come from the embedding cache (inline text is never cached)."""
        ...

    async def analyze(self, texts: Sequence[str]) -> list[list[DetectedSignal]]:
        """Signals per text (stateless: nothing is stored)."""
        ...

    async def pairing_risk(
        self, org: str, pairing_id: str, as_of: dt.date
    ) -> dict[str, Any] | None:
        """``{"pairing_id", "risk", "reasons", ...}`` or None when the pairing is unknown in org."""
        ...

    def mentors_changed(self, org: str, mentor_ids: Sequence[str]) -> None:
        """Mentors were upserted or deleted (committed): refresh the index for them.

        Engines that cache mentor load may also define ``pairings_changed(org, pairing_ids)``
        (optional: routers call it when present) for committed pairing writes.
        """
        ...

    def feedback_stored(self, org: str, feedback_ids: Sequence[str]) -> list[list[DetectedSignal]]:
        """Feedback rows were committed: extract and store their signals, raise alerts.

        Returns the signals per id, in the order given.
        """
        ...

    async def reload(self) -> dict[str, str | None]:
        """Load the newest promoted models; returns the versions now in use."""
        ...


# --------------------------------------------------------------------------- baseline
_WORD = re.compile(r"[a-z][a-z0-9+#.-]{2,}")
_STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "with",
        "that",
        "this",
        "from",
        "have",
        "has",
        "had",
        "into",
        "about",
        "their",
        "they",
        "them",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "will",
        "would",
        "could",
        "should",
        "want",
        "wants",
        "more",
        "most",
        "some",
        "such",
        "than",
        "then",
        "there",
        "these",
        "those",
        "very",
        "been",
        "being",
        "also",
        "just",
        "like",
        "over",
        "under",
        "how",
        "our",
        "out",
        "your",
        "you",
        "are",
        "was",
        "were",
        "can",
        "get",
        "become",
        "better",
        "learn",
        "learning",
        "improve",
        "grow",
        "growth",
        "help",
        "work",
        "working",
        "role",
        "team",
    ]
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_NEGATION = re.compile(
    r"\b(?:no|not|never|without|hardly|haven't|hasn't|hadn't|didn't|don't|doesn't|isn't|wasn't"
    r"|aren't|weren't|won't|cannot|can't|nor)\b(?:\W+\w+){0,3}\W*$"
)
_RULES: dict[Signal, tuple[str, ...]] = {
    Signal.poor_match: (
        r"not (?:a )?(?:good|great|right) (?:fit|match)",
        r"mismatch",
        r"nothing in common",
        r"different (?:field|area|background)s?",
        r"wrong mentor",
        r"can't relate",
    ),
    Signal.low_commitment: (
        r"cancel(?:l?ed|s|ling)?",
        r"no[- ]show",
        r"missed (?:\w+ )?(?:session|meeting|call)s?",
        r"didn't (?:show|turn) up",
        r"not (?:really )?(?:engaged|committed|interested)",
        r"keeps? (?:postponing|rescheduling)",
    ),
    Signal.time_constraints: (
        r"too busy",
        r"no time",
        r"workload",
        r"schedul\w+ conflicts?",
        r"time ?zones?",
        r"deadlines?",
        r"overloaded",
        r"hard to find (?:a )?time",
    ),
    Signal.communication_breakdown: (
        r"(?:doesn't|does not|don't|never) (?:reply|respond|answer)\w*",
        r"unresponsive",
        r"ignor\w+ (?:my )?(?:messages?|emails?)",
        r"hard to reach",
        r"misunderst\w+",
        r"not responding",
        r"radio silence",
    ),
    Signal.fear_of_feedback: (
        r"afraid",
        r"scared",
        r"nervous",
        r"intimidat\w+",
        r"hesitant to",
        r"worried about",
        r"fear of",
    ),
    Signal.unclear_goals: (
        r"unclear (?:goals?|objectives?|direction)",
        r"no clear (?:goals?|plan|direction)",
        r"not sure what (?:to|we|i)",
        r"lost direction",
        r"aimless",
        r"don't know what to discuss",
    ),
    Signal.boundary_concern: (
        r"confidential\w*",
        r"inappropriate\w*",
        r"uncomfortable",
        r"harass\w*",
        r"conflict of interest",
        r"compliance",
        r"personal relationship",
        r"crossed a line",
    ),
    Signal.positive_progress: (
        r"great progress",
        r"making progress",
        r"really (?:helpful|useful)",
        r"very helpful",
        r"learn(?:ed|t) a lot",
        r"achieved",
        r"goals? (?:met|reached)",
        r"promot\w+",
    ),
}
_COMPILED = {s: re.compile(r"\b(?:" + "|".join(p) + r")\b", re.I) for s, p in _RULES.items()}
_RULE_SCORE = 0.75
_BOUNDARY_FLOOR = 0.9  # a boundary concern always crosses any sane alert threshold


def _tokens(*texts: str) -> set[str]:
    out: set[str] = set()
    for t in texts:
        out.update(w.strip(".-") for w in _WORD.findall(t.lower()))
    return {w for w in out if len(w) > 2 and w not in _STOPWORDS}


def detect_signals(text: str) -> list[DetectedSignal]:
    """Keyword rules with a negation window ("we haven't missed a single session" is no signal)."""
    found: dict[Signal, list[str]] = {}
    for match in _SENTENCE.finditer(text):
        sentence = match.group(0).strip()
        if not sentence:
            continue
        for signal, pattern in _COMPILED.items():
            for hit in pattern.finditer(sentence):
                before = sentence[: hit.start()].lower()
                pattern_negates = hit.group(0).lower().split()[0] in {"not", "no", "never"}
                if not pattern_negates and _NEGATION.search(before):
                    continue
                spans = found.setdefault(signal, [])
                if sentence not in spans:
                    spans.append(sentence)
                break
    out: list[DetectedSignal] = []
    for signal in Signal:  # stable order
        if signal in found:
            n = len(found[signal])
            score = 1.0 - (1.0 - _RULE_SCORE) ** n
            if signal is Signal.boundary_concern:
                score = max(score, _BOUNDARY_FLOOR)
            out.append({"label": signal.value, "score": round(score, 4), "evidence": found[signal]})
    return out


def risk_from_signals(signals: Sequence[DetectedSignal]) -> tuple[float, list[str]]:
    """Noisy-or of the strongest score per challenge signal, damped by positive progress."""
    best: dict[str, float] = {}
    for s in signals:
        best[s["label"]] = max(best.get(s["label"], 0.0), float(s["score"]))
    challenge = {k: v for k, v in best.items() if k in {c.value for c in CHALLENGE_SIGNALS}}
    risk = 1.0 - math.prod(1.0 - v for v in challenge.values())
    positive = best.get(Signal.positive_progress.value, 0.0)
    if Signal.boundary_concern.value not in challenge:
        risk *= 1.0 - 0.5 * positive
    reasons = [
        f"{k} reported (score {v:.2f})" for k, v in sorted(challenge.items(), key=lambda x: -x[1])
    ]
    if positive:
        reasons.append(f"positive_progress reported (score {positive:.2f})")
    return round(risk, 4), reasons


class BaselineEngine:
    """Model-free engine: lexical matching, keyword signals, noisy-or risk (see module doc)."""

    RECOMMENDER_VERSION = "baseline-lexical-1"
    SIGNALS_VERSION = "baseline-rules-1"
    RISK_VERSION = "baseline-noisy-or-1"

    def __init__(
        self, sessions: sessionmaker[Session], capacity_decline_days: int = CAPACITY_DECLINE_DAYS
    ) -> None:
        self._sessions = sessions
        self._capacity_decline_days = capacity_decline_days
        self.ready = True

    def versions(self) -> dict[str, str | None]:
        return {
            "recommender": self.RECOMMENDER_VERSION,
            "signals": self.SIGNALS_VERSION,
            "risk": self.RISK_VERSION,
        }

    # -- recommendations ---------------------------------------------------------------
    async def recommend(
        self,
        org: str,
        mentee: MenteeIn,
        *,
        k: int,
        exclude: Sequence[str],
        as_of: dt.date,
        stored: bool = False,
    ) -> RecommendResult:
        items = await anyio.to_thread.run_sync(
            lambda: self._recommend(org, mentee, k=k, exclude=exclude, as_of=as_of)
        )
        return RecommendResult(self.RECOMMENDER_VERSION, items)

    def _recommend(
        self, org: str, mentee: MenteeIn, *, k: int, exclude: Sequence[str], as_of: dt.date
    ) -> list[ScoredMentor]:
        with self._sessions() as session:
            mentors = list(
                session.scalars(
                    select(db.Mentor).where(db.Mentor.org_id == org, db.Mentor.active.is_(True))
                )
            )
            load = store.mentor_load(session, org, as_of)
            said_full = store.mentors_said_full(session, org, as_of, self._capacity_decline_days)
        excluded = {*exclude, *mentee.excluded_mentor_ids, mentee.id, *said_full}
        wanted = _tokens(mentee.goals, " ".join(mentee.skills), mentee.title)
        mentee_skills = {s.lower() for s in mentee.skills}
        langs = set(mentee.languages)
        scored: list[ScoredMentor] = []
        for m in mentors:
            if m.id in excluded or load.get(m.id, 0) >= m.capacity:
                continue
            shared_langs = sorted(langs.intersection(m.languages))
            if not shared_langs:
                continue
            offered = _tokens(m.bio, " ".join(m.skills), m.title, m.department)
            common = wanted & offered
            shared_skills = sorted(mentee_skills.intersection(s.lower() for s in m.skills))
            score = len(common) / math.sqrt(max(len(wanted), 1) * max(len(offered), 1))
            score += 0.05 * len(shared_skills) + 0.01 * max(0, m.seniority - mentee.seniority)
            reasons: list[str] = []
            if shared_skills:
                reasons.append("shared skills: " + ", ".join(shared_skills[:5]))
            goal_terms = sorted(common - set(shared_skills))
            if goal_terms:
                reasons.append("experience matching your goals: " + ", ".join(goal_terms[:5]))
            reasons.append("speaks " + ", ".join(shared_langs))
            scored.append(ScoredMentor(m.id, round(min(score, 1.0), 6), reasons))
        scored.sort(key=lambda s: (-s.score, s.mentor_id))
        return scored[:k]

    # -- signals and risk ----------------------------------------------------------------
    async def analyze(self, texts: Sequence[str]) -> list[list[DetectedSignal]]:
        return [detect_signals(t) for t in texts]

    async def pairing_risk(
        self, org: str, pairing_id: str, as_of: dt.date
    ) -> dict[str, Any] | None:
        return await anyio.to_thread.run_sync(lambda: self._pairing_risk(org, pairing_id, as_of))

    def _pairing_risk(self, org: str, pairing_id: str, as_of: dt.date) -> dict[str, Any] | None:
        with self._sessions() as session:
            if store.get_row(session, db.Pairing, org, pairing_id) is None:
                return None
            rows = session.execute(
                select(db.FeedbackSignal.label, db.FeedbackSignal.score, db.FeedbackSignal.evidence)
                .join(
                    db.Feedback,
                    (db.Feedback.org_id == db.FeedbackSignal.org_id)
                    & (db.Feedback.id == db.FeedbackSignal.feedback_id),
                )
                .where(
                    db.Feedback.org_id == org,
                    db.Feedback.pairing_id == pairing_id,
                    db.Feedback.created_at <= as_of,
                )
            ).all()
        signals: list[DetectedSignal] = [
            {"label": r.label, "score": r.score, "evidence": list(r.evidence)} for r in rows
        ]
        risk, reasons = risk_from_signals(signals)
        return {
            "pairing_id": pairing_id,
            "as_of": as_of,
            "risk": risk,
            "reasons": reasons,
            "signals": sorted({s["label"] for s in signals}),
            "model_version": self.RISK_VERSION,
        }

    def mentors_changed(self, org: str, mentor_ids: Sequence[str]) -> None:
        # No index: every request reads the mentors table, so changes are visible at once.
        return None

    def feedback_stored(self, org: str, feedback_ids: Sequence[str]) -> list[list[DetectedSignal]]:
        ids = list(dict.fromkeys(feedback_ids))
        with store.transaction(self._sessions) as session:
            rows = {
                r.id: r
                for r in session.scalars(
                    select(db.Feedback).where(db.Feedback.org_id == org, db.Feedback.id.in_(ids))
                )
            }
            per_id: dict[str, list[DetectedSignal]] = {}
            for fid, row in rows.items():
                per_id[fid] = detect_signals(row.text or "")
                session.execute(
                    delete(db.FeedbackSignal).where(
                        db.FeedbackSignal.org_id == org, db.FeedbackSignal.feedback_id == fid
                    )
                )
                session.add_all(
                    db.FeedbackSignal(
                        org_id=org,
                        feedback_id=fid,
                        label=s["label"],
                        score=s["score"],
                        evidence=s["evidence"],
                    )
                    for s in per_id[fid]
                )
                row.signals_version = self.SIGNALS_VERSION
        return [per_id.get(fid, []) for fid in feedback_ids]

    async def reload(self) -> dict[str, str | None]:
        return self.versions()
