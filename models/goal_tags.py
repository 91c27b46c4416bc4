"""Which mentor skill tags a goal calls for: the ranker's goal-to-tag model.

Mentees write goals as problems ("I produce charts that nobody looks at"); mentors list the
skills they offer as tags ("data storytelling", "dashboards"). A tag is the clearest statement
of expertise a profile has, and a programme's own pairings say which tags served which goals.
This model reads a goal sentence by sentence and gives a probability over the tag vocabulary:
a linear layer per sentence, pooled over the goal's sentences (log-mean-exp, so one sentence
that names a need is enough), then a softmax. It is fitted by :mod:`training.goal_tags` on the
pairings that went well and shipped in the ranker bundle (``goal_tags.npz``), so training and
serving compute the ``text_goal_tags`` column alike (:func:`features.text.tag_coverage`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

GOAL_TAGS_FILE = "goal_tags.npz"


@dataclass(frozen=True)
class GoalTagModel:
    weight: np.ndarray  # (d, V) float32
    bias: np.ndarray  # (V,) float32
    vocab: tuple[str, ...]  # normalised tags (features.profile.normalise_tags), column order
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.weight.ndim != 2 or self.weight.shape[1] != len(self.vocab):
            raise ValueError(
                f"weight must be (d, {len(self.vocab)}) for {len(self.vocab)} tags, "
                f"got {self.weight.shape}"
            )
        if self.bias.shape != (len(self.vocab),):
            raise ValueError(f"bias must be ({len(self.vocab)},), got {self.bias.shape}")
        object.__setattr__(self, "index", {t: i for i, t in enumerate(self.vocab)})

    def tag_probs(self, goal_sents: np.ndarray, goal_mask: np.ndarray) -> np.ndarray:
        """(n, V) probability of each tag for n goals given as (n, S, d) sentence vectors and
        an (n, S) mask. A goal with no sentence gets the model's prior (its bias alone)."""
        sents = np.asarray(goal_sents, np.float32)
        mask = np.asarray(goal_mask, bool)
        logits = np.einsum("nsd,dv->nsv", sents, self.weight) + self.bias
        logits = np.where(mask[..., None], logits, -np.inf)
        top = logits.max(axis=1, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        with np.errstate(divide="ignore"):
            pooled = (
                np.log(np.exp(logits - top).sum(axis=1))
                + top[:, 0]
                - np.log(np.maximum(mask.sum(axis=1, keepdims=True), 1))
            )
        empty = ~mask.any(axis=1)
        pooled[empty] = self.bias
        pooled -= pooled.max(axis=1, keepdims=True)
        probs = np.exp(pooled)
        return (probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)

    def save(self, directory: Path) -> Path:
        path = directory / GOAL_TAGS_FILE
        np.savez(path, weight=self.weight, bias=self.bias, vocab=json.dumps(list(self.vocab)))
        return path

    @classmethod
    def load(cls, directory: Path) -> GoalTagModel | None:
        """The model saved in ``directory``, or None when the bundle has none."""
        path = directory / GOAL_TAGS_FILE
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            return cls(
                np.ascontiguousarray(data["weight"], np.float32),
                np.ascontiguousarray(data["bias"], np.float32),
                tuple(json.loads(str(data["vocab"]))),
            )
