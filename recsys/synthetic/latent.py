"""The latent compatibility model behind the synthetic programme (documented in docs/demo-data.md).

A pairing's success has log-odds

    logit = intercept
          + w_topic   * topic_fit                 # mentee topic mixture vs mentor expertise
          + seniority_by_gap[mentor - mentee]     # ideal mentor 2-3 levels above, below is bad
          + w_timezone * shared_hours / 8         # overlap of 09-17 local working hours
          + w_structure * s_mentee * s_mentor     # structured (+1) vs informal (-1)
          + w_modality  * m_mentee * m_mentor     # written (+1) vs live (-1)
          + w_engagement * (engagement - 0.5)     # latent mentor trait, seen only in outcomes
          + w_load * load                         # other mentees the mentor has at the time
          + mentee_term                           # commitment, unclear goals, fear of feedback

and ``P(success) = sigmoid(logit)``. The realised outcome is ``u = logit + Logistic(0, 1)``, so
``P(u > 0) = sigmoid(logit)`` exactly; ``u`` drives status, rating and goals_met.

Everything here is pure numpy on arrays of traits; nothing reads files.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
I64 = NDArray[np.int64]

WORK_HOURS = 8.0  # 09:00-17:00 local


@dataclass(frozen=True)
class LatentModel:
    """Weights of the compatibility model (log-odds units)."""

    intercept: float = -1.7
    w_topic: float = 3.2
    family_similarity: float = 0.4
    # index = mentor seniority - mentee seniority + 7  (gap -7 .. +7)
    seniority_by_gap: tuple[float, ...] = (
        -1.8,
        -1.8,
        -1.8,
        -1.8,
        -1.8,
        -1.8,
        -1.6,  # mentor junior to mentee
        -0.9,  # same level
        0.1,
        0.9,
        0.9,
        0.4,
        -0.1,
        -0.3,
        -0.4,  # +1 .. +7
    )
    w_timezone: float = 1.8
    w_structure: float = 0.55
    w_modality: float = 0.45
    w_engagement: float = 2.6
    w_load: float = -0.5
    w_commitment: float = 0.5
    w_unclear_goals: float = -0.5
    w_feedback_anxiety: float = -0.35

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seniority_by_gap"] = list(self.seniority_by_gap)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LatentModel:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if "seniority_by_gap" in kw:
            kw["seniority_by_gap"] = tuple(float(x) for x in kw["seniority_by_gap"])
        return cls(**kw)

    def seniority_values(self, gap: NDArray[Any]) -> F32:
        table = np.asarray(self.seniority_by_gap, dtype=np.float32)
        return table[np.clip(np.asarray(gap, dtype=np.int64) + 7, 0, 14)]


@dataclass
class MentorTraits:
    """Latent and observable traits of all mentors, index i = ``mentor-{i+1}``."""

    expertise: F32  # (n, T) depth of expertise per topic, 0..1, at most 3 non-zero
    seniority: NDArray[np.int8]
    tz_index: NDArray[np.int16]
    languages: NDArray[np.int32]  # bit mask over the language list
    structure: NDArray[np.int8]  # +1 structured, -1 informal
    modality: NDArray[np.int8]  # +1 written/async, -1 live
    engagement: F32  # 0..1

    def __len__(self) -> int:
        return len(self.seniority)


@dataclass
class MenteeTraits:
    """Latent and observable traits of all mentees, index i = ``mentee-{i+1}``."""

    mixture: F32  # (n, T) topic mixture, rows sum to 1
    seniority: NDArray[np.int8]
    tz_index: NDArray[np.int16]
    languages: NDArray[np.int32]
    structure: NDArray[np.int8]
    modality: NDArray[np.int8]
    commitment: F32  # standard normal
    unclear_goals: NDArray[np.bool_]
    feedback_anxiety: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.seniority)


def topic_similarity(families: list[str], within_family: float) -> F32:
    """T x T: 1 on the diagonal, ``within_family`` for topics of the same family, else 0."""
    fam = np.asarray(families)
    sim = np.where(fam[:, None] == fam[None, :], within_family, 0.0).astype(np.float32)
    np.fill_diagonal(sim, 1.0)
    return sim


def smoothed_expertise(expertise: F32, similarity: F32, chunk: int = 20_000) -> F32:
    """Expertise credited to related topics: ``max_s sim[t, s] * expertise[s]`` per topic."""
    out = np.empty_like(expertise)
    for lo in range(0, len(expertise), chunk):
        block = expertise[lo : lo + chunk]
        nz_rows, nz_cols = np.nonzero(block)
        res = np.zeros_like(block)
        # at most a few non-zero topics per mentor: fold them in with a running max
        np.maximum.at(res, nz_rows, similarity[nz_cols] * block[nz_rows, nz_cols][:, None])
        out[lo : lo + chunk] = res
    return out


def timezone_overlap(offsets_hours: NDArray[Any]) -> F32:
    """Z x Z fraction of 09-17 local working hours two time zones share (1 = same zone)."""
    off = np.asarray(offsets_hours, dtype=np.float64)
    diff = np.abs(off[:, None] - off[None, :]) % 24.0
    diff = np.minimum(diff, 24.0 - diff)
    return (np.clip(WORK_HOURS - diff, 0.0, WORK_HOURS) / WORK_HOURS).astype(np.float32)


def mentee_terms(model: LatentModel, mentees: MenteeTraits) -> F32:
    """Per-mentee part of the logit (does not depend on the mentor)."""
    return (
        model.w_commitment * mentees.commitment
        + model.w_unclear_goals * mentees.unclear_goals.astype(np.float32)
        + model.w_feedback_anxiety * mentees.feedback_anxiety.astype(np.float32)
    ).astype(np.float32)


def mentor_terms(model: LatentModel, mentors: MentorTraits) -> F32:
    """Per-mentor part of the logit, load excluded."""
    return (model.w_engagement * (mentors.engagement - 0.5)).astype(np.float32)


# the terms of the logit, as PairComponents.terms names them
TERMS: tuple[str, ...] = (
    "topic",
    "seniority",
    "timezone",
    "structure",
    "modality",
    "engagement",
    "load",
    "mentee",
)


@dataclass
class PairComponents:
    """The terms of the logit for a batch of (mentee, mentor) pairs, before weighting."""

    topic_fit: F32
    seniority: F32  # already in logit units
    tz_overlap: F32
    structure: F32  # product of the two styles, -1 or +1
    modality: F32
    engagement: F32
    load: F32
    mentee_term: F32  # already in logit units

    def terms(self, model: LatentModel) -> dict[str, F32]:
        """Each term of the logit in log-odds units (``TERMS`` order; the intercept aside)."""
        return {
            "topic": model.w_topic * self.topic_fit,
            "seniority": self.seniority,
            "timezone": model.w_timezone * self.tz_overlap,
            "structure": model.w_structure * self.structure,
            "modality": model.w_modality * self.modality,
            "engagement": model.w_engagement * (self.engagement - 0.5),
            "load": model.w_load * self.load,
            "mentee": self.mentee_term,
        }

    def logit(self, model: LatentModel) -> F32:
        out = np.asarray(model.intercept, np.float32)
        for value in self.terms(model).values():  # summed in the order the model lists them
            out = out + value
        return out.astype(np.float32)


class CompatibilityModel:
    """Bound to one population: scores pairs and blocks of pairs."""

    def __init__(
        self,
        model: LatentModel,
        mentees: MenteeTraits,
        mentors: MentorTraits,
        topic_families: list[str],
        tz_offsets_hours: NDArray[Any],
    ) -> None:
        self.model = model
        self.mentees = mentees
        self.mentors = mentors
        self.similarity = topic_similarity(topic_families, model.family_similarity)
        self.smoothed = smoothed_expertise(mentors.expertise, self.similarity)
        self.tz_overlap = timezone_overlap(tz_offsets_hours)
        self.mentee_term = mentee_terms(model, mentees)
        self.mentor_term = mentor_terms(model, mentors)
        # seniority, time zone and the two styles are categorical: fold their terms into one
        # (mentee category x mentor category) table, so a pair costs one lookup
        n_tz = len(self.tz_overlap)
        self.mentee_cat = _categories(
            mentees.seniority, mentees.tz_index, mentees.structure, mentees.modality, n_tz
        )
        self.mentor_cat = _categories(
            mentors.seniority, mentors.tz_index, mentors.structure, mentors.modality, n_tz
        )
        sen, tz, st, mo = np.unravel_index(np.arange(8 * n_tz * 4), (8, n_tz, 2, 2))
        st_sign, mo_sign = 2 * st - 1, 2 * mo - 1
        self.context = (
            model.seniority_values(sen[None, :] - sen[:, None])
            + model.w_timezone * self.tz_overlap[tz[:, None], tz[None, :]]
            + model.w_structure * (st_sign[:, None] * st_sign[None, :])
            + model.w_modality * (mo_sign[:, None] * mo_sign[None, :])
        ).astype(np.float32)
        self._weighted_smoothed = (self.smoothed * model.w_topic).astype(np.float32)

    def components(
        self, mentee_idx: NDArray[Any], mentor_idx: NDArray[Any], load: NDArray[Any] | float = 0.0
    ) -> PairComponents:
        e = np.asarray(mentee_idx, dtype=np.int64)
        m = np.asarray(mentor_idx, dtype=np.int64)
        fit = np.einsum(
            "ij,ij->i", self.mentees.mixture[e], self.smoothed[m], dtype=np.float32
        ).astype(np.float32)
        gap = self.mentors.seniority[m].astype(np.int64) - self.mentees.seniority[e]
        return PairComponents(
            topic_fit=fit,
            seniority=self.model.seniority_values(gap),
            tz_overlap=self.tz_overlap[self.mentees.tz_index[e], self.mentors.tz_index[m]],
            structure=(self.mentees.structure[e] * self.mentors.structure[m]).astype(np.float32),
            modality=(self.mentees.modality[e] * self.mentors.modality[m]).astype(np.float32),
            engagement=self.mentors.engagement[m],
            load=np.broadcast_to(np.asarray(load, dtype=np.float32), e.shape).astype(np.float32),
            mentee_term=self.mentee_term[e],
        )

    def logit(
        self,
        mentee_idx: NDArray[Any],
        mentor_idx: NDArray[Any],
        load: NDArray[Any] | float = 0.0,
        chunk: int = 200_000,
    ) -> F32:
        """Log-odds of success for elementwise pairs (chunked to bound memory)."""
        e = np.asarray(mentee_idx, dtype=np.int64).ravel()
        m = np.asarray(mentor_idx, dtype=np.int64).ravel()
        ld = np.broadcast_to(np.asarray(load, dtype=np.float32), e.shape)
        out = np.empty(len(e), dtype=np.float32)
        for lo in range(0, len(e), chunk):
            ee, mm = e[lo : lo + chunk], m[lo : lo + chunk]
            fit = np.einsum("ij,ij->i", self.mentees.mixture[ee], self._weighted_smoothed[mm])
            out[lo : lo + chunk] = (
                fit
                + self.context[self.mentee_cat[ee], self.mentor_cat[mm]]
                + self.mentor_term[mm]
                + self.model.w_load * ld[lo : lo + chunk]
                + self.mentee_term[ee]
                + self.model.intercept
            )
        return out

    def logit_one(self, e: int, m: int, load: float = 0.0) -> float:
        """Log-odds for a single pair, without numpy's per-call array overhead."""
        fit = float(self.mentees.mixture[e] @ self._weighted_smoothed[m])
        return (
            fit
            + float(self.context[self.mentee_cat[e], self.mentor_cat[m]])
            + float(self.mentor_term[m])
            + self.model.w_load * load
            + float(self.mentee_term[e])
            + self.model.intercept
        )

    def mentor_block(self, mentor_idx: NDArray[Any]) -> MentorBlock:
        """The mentor-side arrays of a subset of mentors, gathered once for many blocks."""
        m = np.asarray(mentor_idx, dtype=np.int64)
        return MentorBlock(
            smoothed_t=np.ascontiguousarray(self._weighted_smoothed[m].T),
            cat=self.mentor_cat[m],
            term=self.mentor_term[m],
        )

    def logit_block(
        self, mentee_idx: NDArray[Any], load: NDArray[Any], mentors: MentorBlock | None = None
    ) -> F32:
        """(len(mentee_idx), n) log-odds against every mentor (or those of ``mentors``).

        ``load`` is per mentor of the block."""
        e = np.asarray(mentee_idx, dtype=np.int64)
        if mentors is None:
            out = self.mentees.mixture[e] @ self._weighted_smoothed.T
            cat, term = self.mentor_cat, self.mentor_term
        else:
            out = self.mentees.mixture[e] @ mentors.smoothed_t
            cat, term = mentors.cat, mentors.term
        out += self.context[self.mentee_cat[e]][:, cat]
        out += (term + self.model.w_load * np.asarray(load, dtype=np.float32))[None, :]
        out += (self.mentee_term[e] + self.model.intercept)[:, None]
        return out.astype(np.float32, copy=False)


@dataclass
class MentorBlock:
    smoothed_t: F32  # (topics, n) weighted smoothed expertise, transposed
    cat: NDArray[np.int64]
    term: F32


def _categories(
    seniority: NDArray[Any],
    tz_index: NDArray[Any],
    structure: NDArray[Any],
    modality: NDArray[Any],
    n_tz: int,
) -> NDArray[np.int64]:
    return (
        ((seniority.astype(np.int64) - 1) * n_tz + tz_index) * 4
        + (structure > 0) * 2
        + (modality > 0)
    ).astype(np.int64)


def sigmoid(x: NDArray[Any]) -> F32:
    return (1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float32)))).astype(np.float32)
