"""Ground truth of a synthetic programme: latent traits, model weights, held-out mentees.

Written to ``<out>/ground_truth/`` by the generator; evaluation only, never ingested.

Files:
  model.json            weights of the latent model, topic list, zones, languages, as_of, counts
  mentors.npz           mentor traits (expertise, engagement, styles, ...) and state at as_of
  mentees.npz           mentee traits (topic mixture, styles, commitment, ...), exclusions, held-out flag
  heldout_top.jsonl     per held-out mentee: their best feasible mentors and expected outcomes
  pairings.npz          per pairing (id order): logit at start, realised latent u, load, problem flags
  feedback_labels.npz   per feedback note (id order): note code (0..7 signal, 8 neutral, 9 negated)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from recsys.synthetic.latent import (
    CompatibilityModel,
    LatentModel,
    MenteeTraits,
    MentorTraits,
    sigmoid,
)
from recsys.synthetic.population import mentee_id, mentor_id, parse_index

F32 = NDArray[np.float32]

MODEL_FILE = "model.json"
MENTORS_FILE = "mentors.npz"
MENTEES_FILE = "mentees.npz"
HELDOUT_FILE = "heldout_top.jsonl"
PAIRINGS_FILE = "pairings.npz"
FEEDBACK_LABELS_FILE = "feedback_labels.npz"


@dataclass
class MentorState:
    """Observable state of mentors at ``as_of`` that feasibility depends on."""

    capacity: NDArray[np.int16]
    active: NDArray[np.bool_]
    load: NDArray[np.int32]  # active pairings at as_of

    @property
    def open_slots(self) -> NDArray[np.bool_]:
        return self.active & (self.capacity > self.load)


class GroundTruth:
    """The latent truth of one generated programme; answers "how well would this pair go?"."""

    def __init__(
        self,
        *,
        model: LatentModel,
        mentors: MentorTraits,
        mentees: MenteeTraits,
        state: MentorState,
        excluded: NDArray[np.int64],
        heldout: NDArray[np.bool_],
        topic_keys: list[str],
        topic_families: list[str],
        tz_offsets_hours: NDArray[Any],
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.mentors = mentors
        self.mentees = mentees
        self.state = state
        self.excluded = excluded
        self.heldout = heldout
        self.topic_keys = topic_keys
        self.topic_families = list(topic_families)
        self.tz_offsets_hours = np.asarray(tz_offsets_hours, dtype=np.float64)
        self.meta = meta or {}
        self.compat = CompatibilityModel(model, mentees, mentors, topic_families, tz_offsets_hours)
        self.heldout_mentee_ids: list[str] = [mentee_id(int(i)) for i in np.flatnonzero(heldout)]

    # ---------------------------------------------------------------- queries
    def expected_outcome(
        self,
        mentee_ids: Sequence[str],
        mentor_ids: Sequence[str],
        mentor_load: Sequence[int] | None = None,
        *,
        feasible_only: bool = True,
    ) -> F32:
        """P(success) for elementwise (mentee, mentor) pairs, in [0, 1].

        ``mentor_load`` is the number of other mentees each mentor would have at the start;
        default: their active pairings at ``as_of``. With ``feasible_only`` (default) a pair
        that could not happen scores 0: no shared language, mentor excluded by the mentee,
        mentor inactive, or (when the load is the default) mentor already at capacity.
        """
        e, m, load = self._pairs(mentee_ids, mentor_ids, mentor_load)
        if len(e) == 0:
            return np.zeros(0, dtype=np.float32)
        p = sigmoid(self.compat.logit(e, m, load))
        if feasible_only:
            p[~self._feasible(e, m, check_capacity=mentor_load is None)] = 0.0
        return p

    def logit_terms(
        self,
        mentee_id: str,
        mentor_ids: Sequence[str],
        mentor_load: Sequence[int] | None = None,
    ) -> dict[str, F32]:
        """The terms of the success logit (``latent.TERMS``, log-odds) of one mentee with each
        of ``mentor_ids``: which parts of the latent model make a pair good or bad. The
        mentee's own term is the same whatever the mentor, so it is left out."""
        e, m, load = self._pairs([mentee_id] * len(mentor_ids), mentor_ids, mentor_load)
        terms = self.compat.components(e, m, load).terms(self.model)
        del terms["mentee"]
        return terms

    def _pairs(
        self,
        mentee_ids: Sequence[str],
        mentor_ids: Sequence[str],
        mentor_load: Sequence[int] | None,
    ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[Any]]:
        """Indices of elementwise (mentee, mentor) pairs and the mentors' load (default: their
        active pairings at ``as_of``)."""
        if len(mentee_ids) != len(mentor_ids):
            raise ValueError("mentee_ids and mentor_ids must have the same length")
        e = np.fromiter((parse_index(x, "mentee") for x in mentee_ids), np.int64, len(mentee_ids))
        m = np.fromiter((parse_index(x, "mentor") for x in mentor_ids), np.int64, len(mentor_ids))
        self._check_range(e, m)
        load = self.state.load[m] if mentor_load is None else np.asarray(mentor_load, np.float32)
        return e, m, load

    def expected_outcome_matrix(
        self,
        mentee_id: str,
        mentor_ids: Sequence[str],
        mentor_load: Sequence[int] | None = None,
        *,
        feasible_only: bool = True,
    ) -> F32:
        """P(success) of one mentee with each of ``mentor_ids`` (same rules as above)."""
        return self.expected_outcome(
            [mentee_id] * len(mentor_ids), mentor_ids, mentor_load, feasible_only=feasible_only
        )

    def best_mentors(self, mentee_ids: Sequence[str], k: int = 20) -> list[list[tuple[str, float]]]:
        """The ``k`` feasible mentors with the highest expected outcome, per mentee, best first."""
        e = np.fromiter((parse_index(x, "mentee") for x in mentee_ids), np.int64, len(mentee_ids))
        self._check_range(e, np.zeros(0, np.int64))
        return [
            [(mentor_id(int(mi)), float(p)) for mi, p in zip(idx, probs, strict=True)]
            for idx, probs in top_mentors(self, e, k)
        ]

    # ---------------------------------------------------------------- helpers
    def _check_range(self, e: NDArray[np.int64], m: NDArray[np.int64]) -> None:
        if len(e) and (e.min() < 0 or e.max() >= len(self.mentees)):
            raise KeyError("unknown mentee id")
        if len(m) and (m.min() < 0 or m.max() >= len(self.mentors)):
            raise KeyError("unknown mentor id")

    def _feasible(
        self, e: NDArray[np.int64], m: NDArray[np.int64], *, check_capacity: bool
    ) -> NDArray[np.bool_]:
        ok = (self.mentees.languages[e] & self.mentors.languages[m]) != 0
        ok &= (self.excluded[e, 0] != m) & (self.excluded[e, 1] != m)
        ok &= self.state.active[m]
        ok &= self.state.open_slots[m] if check_capacity else self.state.capacity[m] > 0
        return ok


def top_mentors(
    gt: GroundTruth, mentee_idx: NDArray[np.int64], k: int, block: int = 64
) -> list[tuple[NDArray[np.int64], F32]]:
    """Best ``k`` feasible mentors (open slots, shared language, not excluded) per mentee."""
    cols = np.flatnonzero(gt.state.open_slots)  # only mentors who could take someone now
    position = np.full(len(gt.mentors), -1, dtype=np.int64)
    position[cols] = np.arange(len(cols))
    load = gt.state.load[cols].astype(np.float32)
    mentor_block = gt.compat.mentor_block(cols)
    col_langs = gt.mentors.languages[cols]
    out: list[tuple[NDArray[np.int64], F32]] = []
    k_eff = min(k, len(cols))
    if k_eff == 0:
        return [(np.zeros(0, np.int64), np.zeros(0, np.float32)) for _ in mentee_idx]
    for lo in range(0, len(mentee_idx), block):
        e = mentee_idx[lo : lo + block]
        logits = gt.compat.logit_block(e, load, mentor_block)
        logits[(gt.mentees.languages[e][:, None] & col_langs[None, :]) == 0] = -np.inf
        rows = np.arange(len(e))
        for c in (0, 1):
            ex = position[np.maximum(gt.excluded[e, c], 0)]
            has = (gt.excluded[e, c] >= 0) & (ex >= 0)
            logits[rows[has], ex[has]] = -np.inf
        part = np.argpartition(-logits, k_eff - 1, axis=1)[:, :k_eff]
        vals = np.take_along_axis(logits, part, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        part = np.take_along_axis(part, order, axis=1)
        vals = np.take_along_axis(vals, order, axis=1)
        for r in range(len(e)):
            finite = np.isfinite(vals[r])
            out.append((cols[part[r][finite]].astype(np.int64), sigmoid(vals[r][finite])))
    return out


def save_ground_truth(
    gt_dir: Path,
    gt: GroundTruth,
    *,
    heldout_top: list[tuple[NDArray[np.int64], F32]],
    pairing_arrays: dict[str, NDArray[Any]],
    feedback_codes: NDArray[np.int8],
) -> None:
    gt_dir.mkdir(parents=True, exist_ok=True)
    meta = dict(gt.meta)
    meta["model"] = gt.model.to_dict()
    meta["topics"] = gt.topic_keys
    meta["topic_families"] = gt.topic_families
    meta["tz_offsets_hours"] = [float(x) for x in gt.tz_offsets_hours]
    meta["heldout_mentee_ids"] = gt.heldout_mentee_ids
    (gt_dir / MODEL_FILE).write_bytes(orjson.dumps(meta, option=orjson.OPT_INDENT_2))
    mt, me = gt.mentors, gt.mentees
    np.savez(
        gt_dir / MENTORS_FILE,
        expertise=mt.expertise,
        seniority=mt.seniority,
        tz_index=mt.tz_index,
        languages=mt.languages,
        structure=mt.structure,
        modality=mt.modality,
        engagement=mt.engagement,
        capacity=gt.state.capacity,
        active=gt.state.active,
        load=gt.state.load,
    )
    np.savez(
        gt_dir / MENTEES_FILE,
        mixture=me.mixture,
        seniority=me.seniority,
        tz_index=me.tz_index,
        languages=me.languages,
        structure=me.structure,
        modality=me.modality,
        commitment=me.commitment,
        unclear_goals=me.unclear_goals,
        feedback_anxiety=me.feedback_anxiety,
        excluded=gt.excluded,
        heldout=gt.heldout,
    )
    np.savez(gt_dir / PAIRINGS_FILE, allow_pickle=False, **pairing_arrays)
    np.savez(gt_dir / FEEDBACK_LABELS_FILE, code=feedback_codes)
    heldout_idx = np.flatnonzero(gt.heldout)
    with (gt_dir / HELDOUT_FILE).open("wb") as fh:
        for e, (idx, probs) in zip(heldout_idx, heldout_top, strict=True):
            fh.write(
                orjson.dumps(
                    {
                        "mentee_id": mentee_id(int(e)),
                        "top_mentors": [
                            {"mentor_id": mentor_id(int(m)), "expected_outcome": round(float(p), 5)}
                            for m, p in zip(idx, probs, strict=True)
                        ],
                    }
                )
            )
            fh.write(b"\n")


def load_ground_truth(gt_dir: Path) -> GroundTruth:
    """Load what :func:`save_ground_truth` wrote (``gt_dir`` is ``<out>/ground_truth``)."""
    gt_dir = Path(gt_dir)
    if not (gt_dir / MODEL_FILE).exists() and (gt_dir / "ground_truth" / MODEL_FILE).exists():
        gt_dir = gt_dir / "ground_truth"  # accept the programme directory too
    meta = orjson.loads((gt_dir / MODEL_FILE).read_bytes())
    with np.load(gt_dir / MENTORS_FILE) as m:
        mentors = MentorTraits(
            expertise=m["expertise"],
            seniority=m["seniority"],
            tz_index=m["tz_index"],
            languages=m["languages"],
            structure=m["structure"],
            modality=m["modality"],
            engagement=m["engagement"],
        )
        state = MentorState(capacity=m["capacity"], active=m["active"], load=m["load"])
    with np.load(gt_dir / MENTEES_FILE) as e:
        mentees = MenteeTraits(
            mixture=e["mixture"],
            seniority=e["seniority"],
            tz_index=e["tz_index"],
            languages=e["languages"],
            structure=e["structure"],
            modality=e["modality"],
            commitment=e["commitment"],
            unclear_goals=e["unclear_goals"],
            feedback_anxiety=e["feedback_anxiety"],
        )
        excluded = e["excluded"]
        heldout = e["heldout"]
    return GroundTruth(
        model=LatentModel.from_dict(meta["model"]),
        mentors=mentors,
        mentees=mentees,
        state=state,
        excluded=excluded,
        heldout=heldout,
        topic_keys=list(meta["topics"]),
        topic_families=list(meta["topic_families"]),
        tz_offsets_hours=np.asarray(meta["tz_offsets_hours"]),
        meta=meta,
    )
