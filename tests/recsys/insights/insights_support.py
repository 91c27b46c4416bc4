"""Test helpers for the insights tests: a keyword signal miner and a tiny programme."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from recsys import store
from recsys.schemas import (
    AuthorRole,
    FeedbackIn,
    MenteeIn,
    MentorIn,
    PairingIn,
    PairingStatus,
    Signal,
)

ORG = "acme"
AS_OF = dt.date(2024, 6, 1)

KEYWORDS: dict[str, tuple[str, ...]] = {
    Signal.time_constraints.value: ("no time", "too busy", "deadline"),
    Signal.unclear_goals.value: ("not sure what we", "no clear goal"),
    Signal.poor_match.value: ("not a good fit", "different field"),
    Signal.boundary_concern.value: ("inappropriate", "confidential"),
    Signal.low_commitment.value: ("cancelled again", "did not show"),
    Signal.positive_progress.value: ("great progress", "really helpful"),
}


@dataclass
class FakeSignal:
    label: str
    score: float
    evidence: list[str] = field(default_factory=list)


class FakeMiner:
    """Keyword rules per sentence: the evidence is the sentence that matched (a span)."""

    def __init__(self, version: str = "fake-1", score: float = 0.9) -> None:
        self.version = version
        self.score = score
        self.batches: list[int] = []

    def analyze(self, texts: Sequence[str]) -> list[list[FakeSignal]]:
        self.batches.append(len(texts))
        out: list[list[FakeSignal]] = []
        for text in texts:
            found: dict[str, FakeSignal] = {}
            for sentence in re.split(r"(?<=[.!?])\s+", text):
                low = sentence.lower()
                for label, words in KEYWORDS.items():
                    if any(w in low for w in words):
                        sig = found.setdefault(label, FakeSignal(label, self.score))
                        sig.evidence.append(sentence.strip())
            out.append(list(found.values()))
        return out

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        labels = [s.value for s in Signal]
        out = np.zeros((len(texts), len(labels)))
        for i, found in enumerate(self.analyze(texts)):
            for sig in found:
                out[i, labels.index(sig.label)] = sig.score
        return out


class LinearStubModel:
    """A fixed linear model over a few features (contributions = weight × value)."""

    def __init__(self, weights: dict[str, float], bias: float) -> None:
        self.weights = weights
        self.bias = bias

    @property
    def feature_names(self) -> list[str]:
        return list(self.weights)

    def contributions(self, frame: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame({k: frame[k].astype(float) * w for k, w in self.weights.items()})
        out["bias"] = self.bias
        return out

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        logit = self.contributions(frame).sum(axis=1).to_numpy()
        return np.asarray(1.0 / (1.0 + np.exp(-logit)))


RISK_STUB = LinearStubModel(
    {"recent_time_constraints": 1.5, "days_since_last_note": 0.05, "n_positive_progress": -1.0},
    bias=-3.0,
)

LONG_FILLER = (
    "We also talked about the quarterly planning cycle, the reorganisation of the platform "
    "team, a book about negotiation and how to prepare for the next promotion round. "
)


def person(id_: str, tz: str, seniority: int, dept: str, langs: list[str]) -> dict[str, Any]:
    return {
        "id": id_, "title": "Engineer", "department": dept, "seniority": seniority,
        "timezone": tz, "languages": langs, "skills": [],
    }  # fmt: skip


def seed_programme(session: Session, org: str = ORG) -> dict[str, str]:
    """Three mentors, four mentees, five pairings and their notes; returns note id -> text.

    * p_risky (active): two time-constraint notes in the last 30 days (25 and 20 days before
      AS_OF), from the mentee and the mentor; a note after AS_OF that must never count;
    * p_ok (active): recent progress notes;
    * p_boundary (active): one old boundary concern (120 days before AS_OF), else positive;
    * p_done (completed) and p_future (starts after AS_OF) are never scored.
    """
    store.ensure_org(session, org)
    mentors = [
        {**person("m_ny", "America/New_York", 6, "Sales", ["en"]), "bio": "", "capacity": 3},
        {**person("m_berlin", "Europe/Berlin", 5, "Eng", ["en", "de"]), "bio": "", "capacity": 3},
        {**person("m_paris", "Europe/Paris", 5, "Eng", ["en", "fr"]), "bio": "", "capacity": 0},
    ]
    mentees = [
        {**person(f"e{i}", "Europe/Berlin", 2, "Eng", ["en"]), "goals": "grow"} for i in range(1, 5)
    ]
    d = AS_OF
    pairings = [
        ("p_risky", "m_ny", "e1", d - dt.timedelta(days=150), None, "active"),
        ("p_ok", "m_berlin", "e2", d - dt.timedelta(days=100), None, "active"),
        ("p_boundary", "m_berlin", "e3", d - dt.timedelta(days=200), None, "active"),
        (
            "p_done",
            "m_ny",
            "e4",
            d - dt.timedelta(days=400),
            d - dt.timedelta(days=200),
            "completed",
        ),
        ("p_future", "m_ny", "e4", d + dt.timedelta(days=10), None, "active"),
    ]
    store.upsert_models(session, "mentors", org, [MentorIn(**m) for m in mentors])
    store.upsert_models(session, "mentees", org, [MenteeIn(**m) for m in mentees])
    store.upsert_models(
        session, "pairings", org,
        [
            PairingIn(id=p, mentor_id=m, mentee_id=e, started_at=s, ended_at=end,
                      status=PairingStatus(st))
            for p, m, e, s, end, st in pairings
        ],
    )  # fmt: skip
    notes = {
        "f1": ("p_risky", "mentee", 80, "Kick-off went fine. " + LONG_FILLER),
        "f2": (
            "p_risky",
            "mentee",
            25,
            "I am too busy with the release deadline this month. " + LONG_FILLER,
        ),
        "f3": ("p_risky", "mentor", 20, "We had no time to meet again. " + LONG_FILLER),
        "f4": ("p_ok", "mentee", 10, "Great progress on my design doc, really helpful session."),
        "f5": ("p_ok", "mentor", 3, "Great progress again."),
        "f6": (
            "p_boundary",
            "coordinator",
            120,
            "The mentee reported an inappropriate comment during a session. " + LONG_FILLER,
        ),
        "f7": ("p_boundary", "mentee", 5, "Great progress with my talk."),
        "f8": ("p_done", "mentee", 300, "Great progress overall."),
        # dated after AS_OF: must never influence anything computed as of AS_OF
        "f9": (
            "p_risky",
            "mentee",
            -5,
            "No time at all, we are too busy. Deadline after deadline.",
        ),
    }
    texts: dict[str, str] = {}
    rows = []
    for fid, (pid, role, days_before, text) in notes.items():
        rows.append(
            FeedbackIn(id=fid, pairing_id=pid, author_role=AuthorRole(role),
                       created_at=d - dt.timedelta(days=days_before), text=text)
        )  # fmt: skip
        texts[fid] = text.strip()  # the contract strips whitespace
    store.upsert_models(session, "feedback", org, rows)
    session.flush()
    return texts
