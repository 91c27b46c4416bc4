"""The ranker's learned text projection: where goals and bios meet beyond raw similarity.

A pair of (d, r) maps, one for goal embeddings and one for bio embeddings, fitted by
:mod:`training.text_adapter` on the programme's own pairings and shipped inside the ranker
bundle (``text_projection.npz``), so training and serving compute ``text_adapted`` alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

PROJECTION_FILE = "text_projection.npz"


@dataclass(frozen=True)
class TextProjection:
    goal: np.ndarray  # (d, r) float32
    bio: np.ndarray  # (d, r) float32

    def __post_init__(self) -> None:
        if self.goal.ndim != 2 or self.goal.shape != self.bio.shape:
            raise ValueError(
                f"goal and bio maps must have the same (d, r) shape, got "
                f"{self.goal.shape} and {self.bio.shape}"
            )

    @property
    def maps(self) -> tuple[np.ndarray, np.ndarray]:
        return self.goal, self.bio

    def save(self, directory: Path) -> Path:
        path = directory / PROJECTION_FILE
        np.savez(path, goal=self.goal, bio=self.bio)
        return path

    @classmethod
    def load(cls, directory: Path) -> TextProjection | None:
        """The projection saved in ``directory``, or None when the bundle has none."""
        path = directory / PROJECTION_FILE
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            return cls(
                np.ascontiguousarray(data["goal"], np.float32),
                np.ascontiguousarray(data["bio"], np.float32),
            )
