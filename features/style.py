"""Working-style preferences read from free text: how structured, and written or live.

Mentoring programmes ask both sides how they like to work because a mismatch there sinks
pairings that look right on topic: a mentee who wants agreed milestones and homework with a
mentor who prefers open-ended chats, or someone who thinks in writing with a mentor who only
does calls. Profiles rarely have a field for it, but people say it in their goals and bios.

Each axis has two poles described by short example statements (written for this project, not
taken from any dataset) plus a set of statements about something else entirely (topics,
background, logistics). A sentence counts as a statement about an axis when it is closer to
one of the poles than to the neutral set by more than :data:`MIN_RELEVANCE`; its leaning is
how much closer it is to one pole than to the other. Closeness is the cosine to the normalised
mean of a set's examples: a nearest-examples variant swung with every example added (a "not a
programme with homework" example pulled homework-loving sentences to the informal side), and
centroids of the same examples agreed better with the hidden styles of generated programmes
(docs/working-style.md). A text's leaning on an axis is that of its most relevant sentence,
or 0 when no sentence is about the axis.

The pair feature is the product of the two sides' leanings: positive when both lean the same
way, negative when they clash, 0 when either side says nothing. The ranker learns how much that
matters from outcomes. The examples and the threshold are part of :data:`STYLE_VERSION`, which
is part of the feature version, so a model is never served with a changed detector.

Everything here is pure numpy over unit sentence vectors; encoding the examples is the
caller's job (see ``recsys.catalog.style_probe``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_RELEVANCE = 0.05  # cosine margin over the neutral examples for "this sentence is about it"


@dataclass(frozen=True)
class StyleAxis:
    name: str
    positive: str  # what a positive leaning means, for reasons ("a structured approach")
    negative: str
    positive_examples: tuple[str, ...]
    negative_examples: tuple[str, ...]
    # the answers of a profile form's question about this axis (the contract's
    # ``style_<name>`` field): the positive pole's, then the negative pole's
    answers: tuple[str, str] = ("", "")


STYLE_AXES: tuple[StyleAxis, ...] = (
    StyleAxis(
        name="structure",
        positive="a structured approach: agreed goals, a plan and follow-up",
        negative="informal, open-ended conversations",
        answers=("structured", "informal"),
        positive_examples=(
            "I like a set agenda for every meeting and clear milestones to work towards.",
            "We should agree objectives up front and track progress against them.",
            "Give me assignments to complete between sessions.",
            "A regular cadence with action items and follow-up works best for me.",
            "I plan mentoring as a step-by-step programme with checkpoints.",
            "Formal goal setting and periodic progress reviews keep us on course.",
            "Each session has a prepared outline and we review what was done since last time.",
            "I hold mentees accountable to deadlines and written action plans.",
            "My mentees get a development plan, and we go through it point by point.",
            "I run sessions to a schedule and set tasks for the weeks in between.",
            "I bring templates and exercises so every meeting builds on the last.",
        ),
        negative_examples=(
            "I prefer casual, unstructured conversations.",
            "No fixed agenda, we just talk about whatever comes up.",
            "An easy-going relationship where we go with the flow suits me.",
            "I mostly want an occasional sounding board, nothing formal.",
            "Let's keep it light and spontaneous.",
            "Free-flowing discussions rather than a fixed plan.",
            "I don't believe in timetables or targets for mentoring; we just chat.",
            "We meet when something comes up and see where the talk goes.",
            "My mentoring is unplanned; each conversation follows what the mentee brings.",
            "I don't run sessions to a script, we just discuss what matters that day.",
            "Expect relaxed chats that go wherever they go.",
        ),
    ),
    StyleAxis(
        name="modality",
        positive="working in writing, in your own time",
        negative="live conversation: calls or meeting in person",
        answers=("written", "live"),
        positive_examples=(
            "I prefer communicating by email or chat.",
            "Asynchronous, written exchanges suit me best.",
            "I like to send comments on documents that can be read later.",
            "I'd rather exchange messages than meet.",
            "I reflect better in writing and like time to compose a reply.",
            "Written feedback I can come back to helps me most.",
            "Most of my mentoring happens over messages and shared notes.",
            "I give thorough written feedback on my mentees' work.",
            "I write things down and share notes rather than scheduling calls.",
        ),
        negative_examples=(
            "I'd like to meet in person or over video calls.",
            "Talking things through live works best for me.",
            "Regular calls where we speak directly are what I want.",
            "I prefer spoken conversation over written messages.",
            "Meeting over coffee beats any email thread.",
            "Real-time discussion helps me think.",
            "I mentor best face to face, in live conversation.",
            "I'd rather pick up the phone than write a long message.",
            "Seeing each other, even on video, matters more to me than messages.",
        ),
    ),
)

NEUTRAL_EXAMPLES: tuple[str, ...] = (
    "I want to get better at presenting to senior leaders.",
    "I have ten years of experience in corporate finance.",
    "I'm a software engineer on the platform team.",
    "I lead a team of six data analysts.",
    "I'd like to grow into a people-management role.",
    "My manager suggested I sign up for the programme.",
    "Happy to help anyone interested in product design.",
    "I struggle to prioritise when everything feels urgent.",
    "I've mentored a dozen people over the years.",
    "Before this I worked at two startups and a bank.",
    "Negotiating salary and scope is my main worry.",
    "My expertise is supply-chain planning and vendor contracts.",
    "I joined the company six months ago.",
    "Thanks for reading!",
    "I want to understand how to build reliable machine learning pipelines.",
    "I can help with stakeholder management and difficult conversations.",
)

STYLE_FEATURES: tuple[str, ...] = tuple(f"style_{a.name}_match" for a in STYLE_AXES)
# the contract's profile fields that answer each axis's question (schemas._PersonBase)
STYLE_ANSWER_FIELDS: tuple[str, ...] = tuple(f"style_{a.name}" for a in STYLE_AXES)
# The leaning of a stated answer: a form answer is the clearest statement of a style there is,
# so it reads a little stronger than the clearest sentence the detector finds (|leaning| at
# most 0.42 on the generated programme of docs/working-style.md).
STATED_LEANING = 0.5
STYLE_VERSION = hashlib.sha256(
    json.dumps(
        [[a.name, list(a.positive_examples), list(a.negative_examples)] for a in STYLE_AXES]
        + [list(NEUTRAL_EXAMPLES), MIN_RELEVANCE, STATED_LEANING]
    ).encode()
).hexdigest()[:12]


def probe_texts() -> list[str]:
    """Every example statement, in the order :class:`StyleProbe` expects their vectors."""
    out: list[str] = []
    for a in STYLE_AXES:
        out.extend(a.positive_examples)
        out.extend(a.negative_examples)
    out.extend(NEUTRAL_EXAMPLES)
    return out


@dataclass(frozen=True)
class StyleProbe:
    """The example sets as unit centroids of one encoder's vectors."""

    positive: np.ndarray  # (axes, d)
    negative: np.ndarray  # (axes, d)
    neutral: np.ndarray  # (d,)

    @classmethod
    def from_vectors(cls, vectors: np.ndarray) -> StyleProbe:
        """Centroids of the vectors of :func:`probe_texts` (same order)."""
        vectors = np.asarray(vectors, np.float32)
        pos, neg, at = [], [], 0
        for a in STYLE_AXES:
            pos.append(_centroid(vectors[at : at + len(a.positive_examples)]))
            at += len(a.positive_examples)
            neg.append(_centroid(vectors[at : at + len(a.negative_examples)]))
            at += len(a.negative_examples)
        neutral = _centroid(vectors[at : at + len(NEUTRAL_EXAMPLES)])
        return cls(np.vstack(pos), np.vstack(neg), neutral)


def _centroid(vectors: np.ndarray) -> np.ndarray:
    c = vectors.mean(axis=0)
    return (c / max(float(np.linalg.norm(c)), 1e-12)).astype(np.float32)


def style_leanings(
    sentences: np.ndarray, owner: np.ndarray, n: int, probe: StyleProbe
) -> np.ndarray:
    """Leaning of each of ``n`` texts on each axis, in [-1, 1]: (n, len(STYLE_AXES)) float32.

    ``sentences`` (m, d) are unit vectors of every sentence of the texts and ``owner`` (m,)
    the text each belongs to. A text with no sentence about an axis gets 0 there.
    """
    out = np.zeros((n, len(STYLE_AXES)), np.float32)
    if len(sentences) == 0:
        return out
    sentences = np.asarray(sentences, np.float32)
    owner = np.asarray(owner, np.int64)
    pos = sentences @ probe.positive.T  # (m, axes)
    neg = sentences @ probe.negative.T
    neutral = sentences @ probe.neutral
    relevance = np.maximum(pos, neg) - neutral[:, None]
    lean = np.clip(pos - neg, -1.0, 1.0)
    for j in range(len(STYLE_AXES)):
        # per text, its most relevant sentence (ties: the first)
        order = np.lexsort((-relevance[:, j], owner))
        first = np.ones(len(order), bool)
        first[1:] = owner[order][1:] != owner[order][:-1]
        best = order[first]
        about = relevance[best, j] > MIN_RELEVANCE
        out[owner[best[about]], j] = lean[best[about], j]
    return out


def with_stated_styles(leanings: np.ndarray, answers: Sequence[Sequence[str | None]]) -> np.ndarray:
    """``leanings`` (n, axes) read from texts, overridden where a profile answers an axis's
    question: ``answers[i][j]`` is text ``i``'s answer on axis ``j`` (one of the axis's
    ``answers``, or None: not asked or not answered), which becomes +-``STATED_LEANING``.
    What a person ticks in a form outranks what a sentence of theirs suggests."""
    out = np.array(leanings, np.float32, copy=True)
    for i, row in enumerate(answers):
        for j, answer in enumerate(row):
            if answer is None:
                continue
            pole = STYLE_AXES[j].answers
            if answer not in pole:
                raise ValueError(f"unknown {STYLE_AXES[j].name} answer {answer!r}")
            out[i, j] = STATED_LEANING if answer == pole[0] else -STATED_LEANING
    return out


def style_match(mentee_style: np.ndarray, mentor_style: np.ndarray) -> dict[str, np.ndarray]:
    """Pair features: per axis, the product of both sides' leanings."""
    prod = np.asarray(mentee_style, np.float32) * np.asarray(mentor_style, np.float32)
    return {name: prod[:, j] for j, name in enumerate(STYLE_FEATURES)}
