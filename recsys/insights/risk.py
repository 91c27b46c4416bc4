"""Pairing risk: "as of" features from feedback signals, engagement and the match, and scoring.

Every feature of a pairing on a date ``as_of`` uses only feedback dated on or before ``as_of``
(:func:`pairing_features` filters; nothing later can leak in), so the same code builds training
snapshots of past pairings and scores today's active ones.

Features per pairing and date:

* signals, per label: ``n_<label>`` notes carrying it, ``recent_<label>`` of them in the last
  30 days, ``w_<label>`` recency-weighted score sum (half-life 30 days) and ``trend_<label>``
  (last-30-day count minus the count expected from the earlier rate);
* who raised challenges: ``neg_by_mentee`` / ``neg_by_mentor`` / ``neg_by_coordinator``, and
  ``neg_total`` / ``neg_recent`` (the rule baseline is ``neg_total``);
* engagement: ``n_notes``, ``notes_last_30d``, ``notes_per_30d``, ``days_since_last_note``,
  ``days_since_start``;
* the match (:func:`match_features_for_pairings`): ``seniority_gap``, ``shared_hours``,
  ``shared_languages``, ``cross_department``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from recsys import db, store
from recsys.insights.signals_store import load_signals
from recsys.schemas import CHALLENGE_SIGNALS, AuthorRole, Signal

RECENT_DAYS = 30
HALF_LIFE_DAYS = 30.0
MIN_SIGNAL_SCORE = 0.5  # a note "carries" a label at or above this score
SIGNAL_WINDOW_DAYS = 90  # signals / evidence reported with a risk (boundary concerns: always)
QUOTE_MAX_CHARS = 200
MAX_EVIDENCE = 8

LABELS: tuple[str, ...] = tuple(s.value for s in Signal)
CHALLENGES: tuple[str, ...] = tuple(s.value for s in CHALLENGE_SIGNALS)
ROLES: tuple[str, ...] = tuple(r.value for r in AuthorRole)

SIGNAL_FEATURES: tuple[str, ...] = tuple(
    f"{kind}_{label}" for label in LABELS for kind in ("n", "recent", "w", "trend")
)
ROLE_FEATURES: tuple[str, ...] = tuple(f"neg_by_{role}" for role in ROLES)
ENGAGEMENT_FEATURES: tuple[str, ...] = (
    "neg_total",
    "neg_recent",
    "n_notes",
    "notes_last_30d",
    "notes_per_30d",
    "days_since_last_note",
    "days_since_start",
)
MATCH_FEATURES: tuple[str, ...] = (
    "seniority_gap",
    "shared_hours",
    "shared_languages",
    "cross_department",
)
FEATURE_COLUMNS: tuple[str, ...] = (
    *SIGNAL_FEATURES,
    *ROLE_FEATURES,
    *ENGAGEMENT_FEATURES,
    *MATCH_FEATURES,
)
BASELINE_FEATURE = "neg_total"


@dataclass(frozen=True)
class Note:
    """One check-in note's metadata and signals (never its text)."""

    feedback_id: str
    created_at: dt.date
    author_role: str
    signals: Mapping[str, float] = field(default_factory=dict)
    evidence: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


# --------------------------------------------------------------------------- pure features
def _carries(note: Note, label: str) -> bool:
    return note.signals.get(label, 0.0) >= MIN_SIGNAL_SCORE


def pairing_features(
    started_at: dt.date, as_of: dt.date, notes: Iterable[Note]
) -> dict[str, float]:
    """Signal, author and engagement features of one pairing as of ``as_of``.

    Notes dated after ``as_of`` are ignored, so callers may pass a pairing's whole history.
    """
    visible = sorted((n for n in notes if n.created_at <= as_of), key=lambda n: n.created_at)
    days_since_start = float(max((as_of - started_at).days, 0))
    # Days before the last-30-day window: the base for the "expected" recent count in trends.
    older_span = max(days_since_start - RECENT_DAYS, 0.0)
    out: dict[str, float] = {}
    ages = [float((as_of - n.created_at).days) for n in visible]
    recent_mask = [a < RECENT_DAYS for a in ages]
    for label in LABELS:
        n = recent = 0
        weighted = 0.0
        for note, age, is_recent in zip(visible, ages, recent_mask, strict=True):
            if not _carries(note, label):
                continue
            n += 1
            recent += int(is_recent)
            weighted += note.signals[label] * 0.5 ** (age / HALF_LIFE_DAYS)
        older = n - recent
        expected = older * RECENT_DAYS / older_span if older_span >= RECENT_DAYS else float(older)
        out[f"n_{label}"] = float(n)
        out[f"recent_{label}"] = float(recent)
        out[f"w_{label}"] = weighted
        out[f"trend_{label}"] = recent - expected
    for role in ROLES:
        out[f"neg_by_{role}"] = float(
            sum(1 for n in visible if n.author_role == role for lb in CHALLENGES if _carries(n, lb))
        )
    out["neg_total"] = float(sum(out[f"n_{lb}"] for lb in CHALLENGES))
    out["neg_recent"] = float(sum(out[f"recent_{lb}"] for lb in CHALLENGES))
    out["n_notes"] = float(len(visible))
    out["notes_last_30d"] = float(sum(recent_mask))
    out["notes_per_30d"] = len(visible) * RECENT_DAYS / max(days_since_start, float(RECENT_DAYS))
    last = visible[-1].created_at if visible else started_at
    out["days_since_last_note"] = float(max((as_of - last).days, 0))
    out["days_since_start"] = days_since_start
    return out


# --------------------------------------------------------------------------- match features
def match_features_for_pairings(
    session: Session, org: str, pairing_ids: Sequence[str]
) -> pd.DataFrame:
    """MATCH FEATURES (swap point): profile features of each pairing's mentor and mentee.

    One row per pairing id (index), columns :data:`MATCH_FEATURES`:
    ``seniority_gap`` (mentor minus mentee), ``shared_hours`` (hours per day both are within
    09:00–17:00 local time in their IANA zones, on the pairing's start date, DST-aware),
    ``shared_languages`` (count) and ``cross_department`` (1 if the departments differ).
    The arithmetic is the shared pure code of :mod:`features.profile`, which the ranker uses too;
    keep every match feature in this one function so the set can follow the ranker's.
    """
    from features.profile import seniority_gap, shared_working_hours, utc_offsets

    ids = list(dict.fromkeys(pairing_ids))
    if not ids:
        return pd.DataFrame(columns=list(MATCH_FEATURES), index=pd.Index([], name="pairing_id"))
    p, mr, me = db.Pairing, db.Mentor, db.Mentee
    columns: list[Any] = [p.id, p.started_at, mr.seniority, me.seniority, mr.timezone]
    columns += [me.timezone, mr.languages, me.languages, mr.department, me.department]
    rows: list[Any] = []
    for start in range(0, len(ids), 5000):
        chunk = ids[start : start + 5000]
        stmt = (
            select(*columns)
            .join(mr, (mr.org_id == p.org_id) & (mr.id == p.mentor_id))
            .join(me, (me.org_id == p.org_id) & (me.id == p.mentee_id))
            .where(p.org_id == org, p.id.in_(chunk))
        )
        rows.extend(session.execute(stmt))
    if not rows:
        return pd.DataFrame(columns=list(MATCH_FEATURES), index=pd.Index([], name="pairing_id"))
    (pid, started, sen_mr, sen_me, tz_mr, tz_me, lang_mr, lang_me, dep_mr, dep_me) = zip(
        *rows, strict=True
    )
    hours = np.empty(len(rows), dtype=np.float32)
    for i, on in enumerate(started):
        hours[i] = shared_working_hours(utc_offsets([tz_mr[i]], on), utc_offsets([tz_me[i]], on))[0]
    frame = pd.DataFrame(
        {
            "seniority_gap": seniority_gap(np.asarray(sen_me), np.asarray(sen_mr)),
            "shared_hours": hours,
            "shared_languages": [
                float(len(set(a) & set(b))) for a, b in zip(lang_mr, lang_me, strict=True)
            ],
            "cross_department": [
                float(bool(a and b and a.strip().lower() != b.strip().lower()))
                for a, b in zip(dep_mr, dep_me, strict=True)
            ],
        },
        index=pd.Index(pid, name="pairing_id"),
    ).astype(np.float64)
    return frame.reindex(ids)


# --------------------------------------------------------------------------- loading
def load_notes(
    session: Session, org: str, pairing_ids: Sequence[str], *, as_of: dt.date | None = None
) -> dict[str, list[Note]]:
    """Notes (metadata + stored signals) per pairing, dated <= ``as_of`` when given."""
    fb = db.Feedback
    ids = list(dict.fromkeys(pairing_ids))
    meta: dict[str, tuple[str, dt.date, str]] = {}
    for start in range(0, len(ids), 5000):
        stmt = select(fb.id, fb.pairing_id, fb.created_at, fb.author_role).where(
            fb.org_id == org, fb.pairing_id.in_(ids[start : start + 5000])
        )
        if as_of is not None:
            stmt = stmt.where(fb.created_at <= as_of)
        for fid, pid, created, role in session.execute(stmt):
            meta[fid] = (pid, created, role)
    scores: dict[str, dict[str, float]] = {}
    evidence: dict[str, dict[str, tuple[str, ...]]] = {}
    for s in load_signals(session, org, ids, as_of=as_of):
        scores.setdefault(s.feedback_id, {})[s.label] = s.score
        evidence.setdefault(s.feedback_id, {})[s.label] = s.evidence
    out: dict[str, list[Note]] = {pid: [] for pid in ids}
    for fid, (pid, created, role) in meta.items():
        out[pid].append(Note(fid, created, role, scores.get(fid, {}), evidence.get(fid, {})))
    for notes in out.values():
        notes.sort(key=lambda n: (n.created_at, n.feedback_id))
    return out


def risk_features(
    session: Session, org: str, requests: Sequence[tuple[str, dt.date]]
) -> pd.DataFrame:
    """Features for (pairing id, as_of) requests: columns ``pairing_id``, ``as_of`` + features.

    A pairing may appear several times with different dates (training snapshots).
    """
    columns = ["pairing_id", "as_of", *FEATURE_COLUMNS]
    if not requests:
        return pd.DataFrame(columns=columns)
    ids = list(dict.fromkeys(pid for pid, _ in requests))
    latest = max(d for _, d in requests)
    notes = load_notes(session, org, ids, as_of=latest)
    started = _started_at(session, org, ids)
    match = match_features_for_pairings(session, org, ids)
    records: list[dict[str, Any]] = []
    for pid, as_of in requests:
        if pid not in started:
            raise KeyError(f"unknown pairing {pid!r} in organisation {org!r}")
        rec: dict[str, Any] = {"pairing_id": pid, "as_of": as_of}
        rec.update(pairing_features(started[pid], as_of, notes[pid]))
        rec.update(match.loc[pid].to_dict())
        records.append(rec)
    return pd.DataFrame.from_records(records, columns=columns)


def _started_at(session: Session, org: str, ids: Sequence[str]) -> dict[str, dt.date]:
    p = db.Pairing
    out: dict[str, dt.date] = {}
    for start in range(0, len(ids), 5000):
        stmt = select(p.id, p.started_at).where(
            p.org_id == org, p.id.in_(ids[start : start + 5000])
        )
        out.update({pid: s for pid, s in session.execute(stmt)})
    return out


# --------------------------------------------------------------------------- scoring
class RiskModelLike(Protocol):
    """What scoring needs from :class:`models.risk.RiskModel`."""

    @property
    def feature_names(self) -> list[str]: ...

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray: ...

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame: ...


@dataclass(frozen=True)
class PairingRisk:
    pairing_id: str
    risk: float
    reasons: list[str]
    signals: dict[str, float]  # label -> highest score in the window (boundary: any time)
    evidence: list[dict[str, Any]]  # {feedback_id, label, quote, created_at, author_role}
    mentor_id: str = ""
    mentee_id: str = ""
    as_of: dt.date | None = None
    features: dict[str, float] = field(default_factory=dict, repr=False)


def score_active_pairings(
    session: Session,
    org: str,
    as_of: dt.date,
    model: RiskModelLike,
    *,
    top_reasons: int = 3,
) -> list[PairingRisk]:
    """Risk of ending early for every pairing active on ``as_of``, highest first, with reasons."""
    pairings = store.active_pairings(session, org, as_of)
    if not pairings:
        return []
    frame = risk_features(session, org, [(p.id, as_of) for p in pairings])
    notes = load_notes(session, org, [p.id for p in pairings], as_of=as_of)
    x = frame[list(model.feature_names)]
    risk = model.predict_proba(x)
    contrib = model.contributions(x)
    out: list[PairingRisk] = []
    for i, p in enumerate(pairings):
        values = {k: float(v) for k, v in frame.iloc[i][list(FEATURE_COLUMNS)].items()}
        contribs = {str(k): float(v) for k, v in contrib.iloc[i].items() if k in values}
        signals, evidence = summarise_signals(notes[p.id], as_of)
        out.append(
            PairingRisk(
                pairing_id=p.id,
                risk=float(risk[i]),
                reasons=explain(values, contribs, top=top_reasons),
                signals=signals,
                evidence=evidence,
                mentor_id=p.mentor_id,
                mentee_id=p.mentee_id,
                as_of=as_of,
                features=values,
            )
        )
    out.sort(key=lambda r: (-r.risk, r.pairing_id))
    return out


def summarise_signals(
    notes: Sequence[Note], as_of: dt.date, *, window_days: int = SIGNAL_WINDOW_DAYS
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Strongest score per label and evidence quotes from the window before ``as_of``.

    Boundary concerns are reported whatever their age: they must never be silently dropped.
    Evidence is only the miner's spans, trimmed to :data:`QUOTE_MAX_CHARS`, newest first.
    """
    signals: dict[str, float] = {}
    evidence: list[dict[str, Any]] = []
    boundary = Signal.boundary_concern.value
    for note in sorted(notes, key=lambda n: (n.created_at, n.feedback_id), reverse=True):
        if note.created_at > as_of:
            continue
        in_window = (as_of - note.created_at).days < window_days
        for label, score in note.signals.items():
            if score < MIN_SIGNAL_SCORE or not (in_window or label == boundary):
                continue
            signals[label] = max(signals.get(label, 0.0), score)
            if label == Signal.positive_progress.value:
                continue
            for span in note.evidence.get(label, ())[:2]:
                evidence.append(
                    {
                        "feedback_id": note.feedback_id,
                        "label": label,
                        "quote": trim_quote(span),
                        "created_at": note.created_at.isoformat(),
                        "author_role": note.author_role,
                    }
                )
    # Boundary concerns first (never cut off), then the newest evidence.
    evidence.sort(key=lambda e: e["label"] != boundary)
    kept = [e for e in evidence if e["label"] == boundary]
    kept += [e for e in evidence if e["label"] != boundary][: max(MAX_EVIDENCE - len(kept), 0)]
    return signals, kept


def trim_quote(span: str, limit: int = QUOTE_MAX_CHARS) -> str:
    """One evidence span on one line, cut at a word boundary to at most ``limit`` characters."""
    text = " ".join(str(span).split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut[limit // 2 :]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,;:.") + "…"


# --------------------------------------------------------------------------- reasons
_LABEL_WORDS = {
    "poor_match": "a poor match",
    "low_commitment": "low commitment",
    "time_constraints": "time constraints",
    "communication_breakdown": "communication problems",
    "fear_of_feedback": "fear of feedback",
    "unclear_goals": "unclear goals",
    "boundary_concern": "a boundary concern",
    "positive_progress": "progress",
}


def _notes(n: float) -> str:
    k = round(n)
    return f"{k} note{'s' if k != 1 else ''}"


def _phrase_signal(label: str, kind: str, v: Mapping[str, float]) -> str | None:
    words = _LABEL_WORDS[label]
    recent, total = v[f"recent_{label}"], v[f"n_{label}"]
    if label == Signal.positive_progress.value:
        if recent == 0:
            return "no progress reported in the last 30 days"
        return f"only {_notes(recent)} reporting progress in the last 30 days"
    if recent > 0 and (recent == total or kind in ("recent", "trend", "w")):
        return f"{_notes(recent)} about {words} in the last 30 days"
    if total > 0:
        return f"{_notes(total)} about {words} since the start"
    return None


def _phrase(name: str, v: Mapping[str, float]) -> tuple[str, str | None]:
    """(theme, phrase) for a feature pushing risk up; phrase None when it says nothing useful."""
    kind, _, rest = name.partition("_")
    if rest in LABELS and kind in ("n", "recent", "w", "trend"):
        return rest, _phrase_signal(rest, kind, v)
    value = v.get(name, 0.0)
    if name.startswith("neg_by_"):
        role = name.removeprefix("neg_by_")
        if value <= 0:
            return name, None
        return (
            name,
            f"{round(value)} challenge{'s' if round(value) != 1 else ''} raised by the {role}",
        )
    if name in ("neg_total", "neg_recent"):  # only left when no label count explains it
        return "neg", None
    if name == "days_since_last_note":
        return "engagement", (f"no check-in for {round(value)} days" if value >= 14 else None)
    if name == "notes_last_30d":
        return "engagement", ("no check-in notes in the last 30 days" if value == 0 else None)
    if name in ("notes_per_30d", "n_notes"):
        rate = v.get("notes_per_30d", 0.0)
        return "engagement", f"only {rate:.1f} check-ins per month"
    if name == "days_since_start":
        days = round(value)
        if days < 60:
            return name, f"early days: the pairing started {days} days ago"
        return name, f"the pairing has been running for {days} days"
    if name == "shared_hours":
        if value < 0.5:
            return name, "no shared working hours (09:00–17:00 in both time zones)"
        return name, f"only {value:.0f} shared working hours per day" if value < 8 else None
    if name == "seniority_gap":
        if value <= 0:
            return name, "the mentor is not more senior than the mentee"
        return name, f"seniority gap of {round(value)} levels"
    if name == "shared_languages":
        return name, f"only {round(value)} shared language{'s' if value != 1 else ''}"
    if name == "cross_department":
        return name, "mentor and mentee work in different departments" if value else (
            "mentor and mentee work in the same department"
        )
    return name, None


def _credit_labels(
    values: Mapping[str, float], contributions: Mapping[str, float]
) -> dict[str, float]:
    """Move the contributions of the challenge totals onto the labels that make them up.

    "3 notes about time constraints" says more than "3 challenge signals": ``neg_total`` is
    shared out over the ``n_<label>`` features in proportion to their counts, ``neg_recent``
    over ``recent_<label>``.
    """
    out = dict(contributions)
    for total, kind in (("neg_total", "n"), ("neg_recent", "recent")):
        parts = {f"{kind}_{lb}": values.get(f"{kind}_{lb}", 0.0) for lb in CHALLENGES}
        weight = sum(parts.values())
        if total not in out or weight <= 0:
            continue
        share = out.pop(total)
        for name, count in parts.items():
            if count > 0:
                out[name] = out.get(name, 0.0) + share * count / weight
    return out


def explain(
    values: Mapping[str, float],
    contributions: Mapping[str, float],
    *,
    top: int = 3,
    min_contribution: float = 0.05,
) -> list[str]:
    """Human-readable reasons from per-feature contributions (log-odds; positive = riskier).

    Features are grouped by theme (all features of one label, engagement, ...): the theme's
    contribution is the sum of its features', and it is phrased by its strongest feature that
    has something to say. The ``top`` themes that raise the risk are returned, strongest first.
    """
    themes: dict[str, float] = {}
    phrases: dict[str, list[tuple[float, str]]] = {}
    for name, c in _credit_labels(values, contributions).items():
        if name not in values:
            continue
        theme, phrase = _phrase(name, values)
        themes[theme] = themes.get(theme, 0.0) + c
        if phrase is not None and c > 0:
            phrases.setdefault(theme, []).append((c, phrase))
    out: list[str] = []
    for theme, total in sorted(themes.items(), key=lambda kv: -kv[1]):
        if len(out) >= top or total < min_contribution:
            break
        candidates = sorted(phrases.get(theme, []), key=lambda cp: -cp[0])
        if candidates and candidates[0][1] not in out:
            out.append(candidates[0][1])
    return out
