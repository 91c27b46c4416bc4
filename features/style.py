"""Working-style preferences read from free text: how structured, and written or live.

Mentoring programmes ask both sides how they like to work because a mismatch there sinks
pairings that look right on topic: a mentee who wants agreed milestones and homework with a
mentor who prefers open-ended chats, or someone who thinks in writing with a mentor who only
does calls. Profiles rarely have a field for it, but people say it in their goals and bios.

Each axis has a small classifier over sentence vectors: a multinomial logistic regression
with three classes (the positive pole, the negative pole, not about this axis), fitted on the
labelled statements of :mod:`features.style_examples` (written for this project, not taken
from any dataset). Many of that set's "not about it" statements mention writing, speaking,
plans or meetings as a *topic* ("I need help writing design documents"): the centroid
detector this replaced read those as styles, and missed plain statements such as "Please, no
rigid programme" (docs/working-style.md). A sentence is about an axis when the classifier
gives its two poles together more than :data:`MIN_ABOUT`; its leaning is P(positive pole) -
P(negative pole). A text's leaning on an axis is that of its sentence most likely about the
axis, or 0 when no sentence is.

The pair feature is the product of the two sides' leanings: positive when both lean the same
way, negative when they clash, 0 when either side says nothing. The ranker learns how much that
matters from outcomes. The statements, the regularisation and the threshold are part of
:data:`STYLE_VERSION`, which is part of the feature version, so a model is never served with a
changed detector.

Fitting needs the statements' vectors, which the caller encodes (``recsys.catalog.style_probe``,
once per process and encoder); reading texts is pure numpy over unit sentence vectors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from features.style_examples import STYLE_STATEMENTS

# "About this axis": the two poles together more likely than "something else".
MIN_ABOUT = 0.5
# Inverse L2 strength of the classifiers. Chosen by 5-fold cross-validation on the shipped
# statements alone (accuracy structure / modality: C=1 0.78 / 0.78, C=4 0.87 / 0.79, C=16
# 0.90 / 0.81, C=32 0.91 / 0.83, C=64 0.91 / 0.82).
STYLE_C = 32.0


@dataclass(frozen=True)
class StyleAxis:
    name: str
    positive: str  # what a positive leaning means, for reasons ("a structured approach")
    negative: str
    # the answers of a profile form's question about this axis (the contract's
    # ``style_<name>`` field): the positive pole's, then the negative pole's
    answers: tuple[str, str] = ("", "")


STYLE_AXES: tuple[StyleAxis, ...] = (
    StyleAxis(
        name="structure",
        positive="a structured approach: agreed goals, a plan and follow-up",
        negative="informal, open-ended conversations",
        answers=("structured", "informal"),
    ),
    StyleAxis(
        name="modality",
        positive="working in writing, in your own time",
        negative="live conversation: calls or meeting in person",
        answers=("written", "live"),
    ),
)

STYLE_FEATURES: tuple[str, ...] = tuple(f"style_{a.name}_match" for a in STYLE_AXES)
# the contract's profile fields that answer each axis's question (schemas._PersonBase)
STYLE_ANSWER_FIELDS: tuple[str, ...] = tuple(f"style_{a.name}" for a in STYLE_AXES)
# The leaning of a stated answer: a form answer is as clear a statement of a style as there
# is, so it reads as the detector's certainty (a leaning of P(pole) - P(other pole) = 1).
STATED_LEANING = 1.0
STYLE_VERSION = hashlib.sha256(
    json.dumps(
        [
            [a.name for a in STYLE_AXES],
            [list(s) for s in STYLE_STATEMENTS],
            STYLE_C,
            MIN_ABOUT,
            STATED_LEANING,
        ]
    ).encode()
).hexdigest()[:12]


def probe_texts() -> list[str]:
    """Every labelled statement, in the order :meth:`StyleProbe.fit` expects their vectors."""
    return [text for text, *_ in STYLE_STATEMENTS]


@dataclass(frozen=True)
class StyleProbe:
    """One fitted three-class classifier per axis over one encoder's unit sentence vectors.

    Classes in order: the negative pole, not about the axis, the positive pole.
    """

    weights: np.ndarray  # (axes, 3, d)
    bias: np.ndarray  # (axes, 3)

    @classmethod
    def fit(cls, vectors: np.ndarray) -> StyleProbe:
        """Fit on the vectors of :func:`probe_texts` (same order). Deterministic (L-BFGS)."""
        from sklearn.linear_model import LogisticRegression  # fitting only; reading is numpy

        vectors = np.asarray(vectors, np.float32)
        if len(vectors) != len(STYLE_STATEMENTS):
            raise ValueError(f"{len(vectors)} vectors for {len(STYLE_STATEMENTS)} statements")
        weights, bias = [], []
        for j in range(len(STYLE_AXES)):
            labels = np.array([row[1 + j] for row in STYLE_STATEMENTS])
            model = LogisticRegression(C=STYLE_C, max_iter=5000).fit(vectors, labels)
            assert list(model.classes_) == [-1, 0, 1]
            weights.append(model.coef_)
            bias.append(model.intercept_)
        return cls(np.stack(weights).astype(np.float32), np.stack(bias).astype(np.float32))

    def probabilities(self, sentences: np.ndarray) -> np.ndarray:
        """(m, axes, 3) class probabilities of each sentence: negative pole, neither, positive."""
        axes, classes, dim = self.weights.shape
        flat = np.asarray(sentences, np.float32) @ self.weights.reshape(axes * classes, dim).T
        logits = flat.reshape(len(flat), axes, classes) + self.bias[None]
        logits -= logits.max(axis=2, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=2, keepdims=True)


def read_styles(
    sentences: np.ndarray, owner: np.ndarray, n: int, probe: StyleProbe
) -> tuple[np.ndarray, np.ndarray]:
    """The leaning of each of ``n`` texts on each axis, in [-1, 1] ((n, len(STYLE_AXES))
    float32), and whether each sentence is about a working style at all ((m,) bool: about
    some axis, as :data:`MIN_ABOUT` decides).

    ``sentences`` (m, d) are unit vectors of every sentence of the texts and ``owner`` (m,)
    the text each belongs to. A text with no sentence about an axis gets 0 there.
    """
    out = np.zeros((n, len(STYLE_AXES)), np.float32)
    if len(sentences) == 0:
        return out, np.zeros(0, bool)
    owner = np.asarray(owner, np.int64)
    p = probe.probabilities(sentences)
    about = 1.0 - p[:, :, 1]  # (m, axes)
    lean = p[:, :, 2] - p[:, :, 0]
    for j in range(len(STYLE_AXES)):
        # per text, its sentence most likely about the axis (ties: the first)
        order = np.lexsort((-about[:, j], owner))
        first = np.ones(len(order), bool)
        first[1:] = owner[order][1:] != owner[order][:-1]
        best = order[first]
        stated = about[best, j] > MIN_ABOUT
        out[owner[best[stated]], j] = lean[best[stated], j]
    return out, np.asarray((about > MIN_ABOUT).any(axis=1))


def style_leanings(
    sentences: np.ndarray, owner: np.ndarray, n: int, probe: StyleProbe
) -> np.ndarray:
    """The texts' leanings of :func:`read_styles`."""
    return read_styles(sentences, owner, n, probe)[0]


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
