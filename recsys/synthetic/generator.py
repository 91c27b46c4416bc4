"""Generate a realistic synthetic mentoring programme in the data-contract format.

``generate_programme`` writes ``mentors.jsonl``, ``mentees.jsonl``, ``pairings.jsonl``,
``feedback.jsonl`` and ``interactions.jsonl`` to ``out_dir`` and the ground truth to
``out_dir/ground_truth/`` (see ``ground_truth.py``). The latent model is documented in
``docs/demo-data.md``.

How the history comes about (a simulation, in start-date order):

1. A mentee asks for a mentor. The *legacy* matching tool draws candidates the way such tools
   do — same department, same tagged topic, or anyone speaking the language — scores them with
   a crude heuristic plus noise, and shows up to five.
2. The mentee requests mentors from the list (position bias plus how well the bio reads to
   them) until one accepts. A mentor declines when full, or with a probability that grows as
   their latent engagement falls. If all three requests fail, a coordinator assigns someone.
3. The pairing's success follows the latent model with the mentor's load at the start. Bad
   outcomes end early; pairings whose end lies after ``as_of`` are still ``active``.
4. Check-in notes reflect the pairing's latent problems, dated within the pairing.
"""

from __future__ import annotations

import heapq
import itertools
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray

from recsys.schemas import ModalityStyle, StructureStyle
from recsys.synthetic.ground_truth import GroundTruth, MentorState, save_ground_truth, top_mentors
from recsys.synthetic.latent import CompatibilityModel, LatentModel, sigmoid
from recsys.synthetic.population import (
    LANGUAGES,
    ZONES,
    mentee_id,
    mentor_id,
    render_mentees,
    render_mentors,
    sample_mentees,
    sample_mentors,
    zone_offsets_hours,
)
from recsys.synthetic.texts import NOTE_NEGATED, NOTE_NEUTRAL, ROLES, render_note
from recsys.synthetic.topics import TOPICS

ProgressFn = Callable[[str, int, int], None]

PROGRAMME_START = date(2023, 1, 1)
SHOWN = 5  # legacy list length
DRAWS = 10  # candidates the legacy tool draws before filtering
ATTEMPTS = 3  # requests a mentee makes before a coordinator steps in
EARLY_U = -1.6  # realised latent outcome below which a pairing ends early
BOUNDARY_RATE = 0.004
LOG_DAYS = 450  # the recommendation log covers the last ~15 months before as_of
HELDOUT_TOP_K = 20
CHUNK = 50_000

# interaction event codes, in the order they happen within a day
_SHOWN, _REQUESTED, _DECLINED, _ACCEPTED, _DECLINED_FULL = 0, 1, 2, 3, 4
_EVENT_NAMES = ("shown", "requested", "declined", "accepted", "declined")
# A mentor who is full says so (decline_reason no_capacity); other declines give no reason.
_EVENT_SUFFIX = ("", "", "", "", ',"decline_reason":"no_capacity"')
_PROBLEMS = 6  # note codes 0..5 are problems a pairing can have (boundary is drawn separately)


@dataclass
class GenerationSummary:
    """What was written where."""

    out_dir: Path
    ground_truth_dir: Path
    mentors: int
    mentees: int
    pairings: int
    feedback: int
    interactions: int
    heldout_mentees: int
    seconds: float
    paths: dict[str, Path] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "mentors": self.mentors,
            "mentees": self.mentees,
            "pairings": self.pairings,
            "feedback": self.feedback,
            "interactions": self.interactions,
        }


def generate_programme(
    out_dir: Path,
    *,
    n_mentors: int,
    n_mentees: int,
    n_pairings: int | None = None,
    seed: int = 0,
    as_of: date = date(2026, 10, 1),
    feedback_rate: float = 1.0,
    heldout_fraction: float = 0.05,
    style_answer_rate: float = 0.0,
    progress: ProgressFn | None = None,
) -> GenerationSummary:
    """Write a synthetic programme to ``out_dir``; deterministic for a given ``seed``.

    ``n_pairings`` defaults to 1.3 per (non-held-out) mentee. ``feedback_rate`` is the mean
    number of check-in notes for a pairing of about five months. ``heldout_fraction`` of the
    mentees form a fresh cohort without any history, for offline evaluation.
    ``style_answer_rate``: the share of profiles whose form asked each working-style question
    and got the person's true answer (``style_structure`` / ``style_modality``); at 0, the
    default, the styles are only in the texts and the files are what they always were.
    """
    if n_mentors < 1 or n_mentees < 2:
        raise ValueError("need at least 1 mentor and 2 mentees")
    if not 0.0 <= heldout_fraction < 1.0:
        raise ValueError("heldout_fraction must be in [0, 1)")
    if feedback_rate < 0:
        raise ValueError("feedback_rate must be >= 0")
    if not 0.0 <= style_answer_rate <= 1.0:
        raise ValueError("style_answer_rate must be in [0, 1]")
    if as_of <= PROGRAMME_START + timedelta(days=60):
        raise ValueError(f"as_of must be after {PROGRAMME_START + timedelta(days=60)}")
    t0 = time.perf_counter()
    report: ProgressFn = progress or (lambda _stage, _done, _total: None)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    gt_dir = out_dir / "ground_truth"

    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    rng_mentors, rng_mentees, rng_excl, rng_heldout, rng_match, rng_out, rng_notes, _ = streams

    # ---- people
    report("people", 0, 1)
    m_people, m_traits, m_extra = sample_mentors(rng_mentors, n_mentors)
    e_people, e_traits = sample_mentees(rng_mentees, n_mentees)
    excluded = _sample_exclusions(
        rng_excl, e_people.dept, e_people.seniority, m_people.dept, m_people.seniority
    )
    n_heldout = round(heldout_fraction * n_mentees)
    heldout = np.zeros(n_mentees, dtype=bool)
    heldout[rng_heldout.choice(n_mentees, n_heldout, replace=False)] = True
    model = LatentModel()
    offsets = zone_offsets_hours(as_of)
    families = [t.family for t in TOPICS]
    compat = CompatibilityModel(model, e_traits, m_traits, families, offsets)
    report("people", 1, 1)

    # a stream of its own, so that programmes without answers stay byte for byte the same
    rng_answers = np.random.default_rng([seed, 23])
    m_answers = rng_answers.random((n_mentors, 2)) < style_answer_rate
    e_answers = rng_answers.random((n_mentees, 2)) < style_answer_rate

    paths = {
        stem: out_dir / f"{stem}.jsonl"
        for stem in ("mentors", "mentees", "pairings", "feedback", "interactions")
    }
    _write_rows(
        paths["mentors"],
        n_mentors,
        "mentors",
        report,
        lambda lo, hi: _with_style_answers(
            render_mentors(seed, m_people, m_extra, lo, hi), m_answers, m_people, lo
        ),
    )
    _write_rows(
        paths["mentees"],
        n_mentees,
        "mentees",
        report,
        lambda lo, hi: _with_style_answers(
            render_mentees(seed, e_people, e_traits, excluded, lo, hi), e_answers, e_people, lo
        ),
    )

    # ---- history
    n_req = n_pairings if n_pairings is not None else round(1.3 * (n_mentees - n_heldout))
    sim = _simulate_matching(
        rng_match,
        compat,
        n_req=n_req,
        as_of=as_of,
        heldout=heldout,
        excluded=excluded,
        mentor_dept=m_people.dept,
        mentor_main_topic=m_people.topics[:, 0],
        mentee_dept=e_people.dept,
        mentee_main_topic=e_people.topics[:, 0],
        capacity=m_extra["capacity"],
        active=m_extra["active"],
        hist_capacity=m_extra["hist_capacity"],
        report=report,
    )
    pair = _outcomes(rng_out, compat, sim, as_of)
    n_pair = len(pair["mentor"])
    ids = _Strings(n_mentors, n_mentees, PROGRAMME_START.toordinal() - 60, as_of.toordinal())
    ids.pairing = [pairing_id(i) for i in range(n_pair)]
    _write_rows(
        paths["pairings"],
        n_pair,
        "pairings",
        report,
        lambda lo, hi: _pairing_rows(pair, ids, lo, hi),
    )

    notes = _feedback(rng_notes, pair, feedback_rate, as_of)
    n_notes = len(notes["pairing"])
    _write_rows(
        paths["feedback"],
        n_notes,
        "feedback",
        report,
        lambda lo, hi: _feedback_rows(seed, notes, ids, lo, hi),
    )

    n_events = _write_interactions(paths["interactions"], sim, ids, report)

    # ---- ground truth
    report("ground_truth", 0, max(1, n_heldout))
    active_now = pair["status"] == 0
    load_now = np.bincount(pair["mentor"][active_now], minlength=n_mentors).astype(np.int32)
    state = MentorState(capacity=m_extra["capacity"], active=m_extra["active"], load=load_now)
    meta: dict[str, Any] = {
        "format": "recsys-synthetic-ground-truth/1",
        "seed": seed,
        "as_of": as_of.isoformat(),
        "programme_start": PROGRAMME_START.isoformat(),
        "counts": {
            "mentors": n_mentors,
            "mentees": n_mentees,
            "pairings": n_pair,
            "feedback": n_notes,
            "interactions": n_events,
            "heldout": n_heldout,
        },
        "zones": [z.name for z in ZONES],
        "languages": list(LANGUAGES),
        "note_codes": [
            "poor_match",
            "low_commitment",
            "time_constraints",
            "communication_breakdown",
            "fear_of_feedback",
            "unclear_goals",
            "boundary_concern",
            "positive_progress",
            "neutral",
            "negated",
        ],
        "problem_flags": [
            "poor_match",
            "low_commitment",
            "time_constraints",
            "communication_breakdown",
            "fear_of_feedback",
            "unclear_goals",
            "boundary_concern",
        ],
        "early_end_threshold_u": EARLY_U,
    }
    gt = GroundTruth(
        model=model,
        mentors=m_traits,
        mentees=e_traits,
        state=state,
        excluded=excluded,
        heldout=heldout,
        topic_keys=[t.key for t in TOPICS],
        topic_families=families,
        tz_offsets_hours=offsets,
        meta=meta,
    )
    heldout_idx = np.flatnonzero(heldout)
    heldout_top: list[tuple[NDArray[np.int64], NDArray[np.float32]]] = []
    for lo in range(0, len(heldout_idx), 1024):
        heldout_top.extend(top_mentors(gt, heldout_idx[lo : lo + 1024], HELDOUT_TOP_K))
        report("ground_truth", min(lo + 1024, n_heldout), max(1, n_heldout))
    save_ground_truth(
        gt_dir,
        gt,
        heldout_top=heldout_top,
        pairing_arrays={
            "mentor": pair["mentor"],
            "mentee": pair["mentee"],
            "logit": pair["logit"],
            "u": pair["u"],
            "load": pair["load"],
            "flags": pair["flags"],
            "coordinator_assigned": pair["fallback"],
        },
        feedback_codes=notes["code"],
    )
    report("ground_truth", max(1, n_heldout), max(1, n_heldout))
    return GenerationSummary(
        out_dir=out_dir,
        ground_truth_dir=gt_dir,
        mentors=n_mentors,
        mentees=n_mentees,
        pairings=n_pair,
        feedback=n_notes,
        interactions=n_events,
        heldout_mentees=n_heldout,
        seconds=time.perf_counter() - t0,
        paths=paths,
    )


# ====================================================================== people extras
def _sample_exclusions(
    rng: np.random.Generator,
    mentee_dept: NDArray[Any],
    mentee_sen: NDArray[Any],
    mentor_dept: NDArray[Any],
    mentor_sen: NDArray[Any],
) -> NDArray[np.int64]:
    """(n_mentees, 2) excluded mentor indices (-1 = none): their manager, sometimes a reviewer."""
    n = len(mentee_dept)
    out = np.full((n, 2), -1, dtype=np.int64)
    order = np.lexsort((mentor_sen, mentor_dept))
    n_dept = int(max(mentor_dept.max(), mentee_dept.max())) + 1
    starts = np.searchsorted(mentor_dept[order], np.arange(n_dept + 1))
    has_manager = rng.random(n) < 0.10
    u = rng.random(n)
    pick = np.full(n, -1, dtype=np.int64)
    for d in range(len(starts) - 1):
        members = order[starts[d] : starts[d + 1]]
        sel = np.flatnonzero(has_manager & (mentee_dept == d))
        if len(members) == 0 or len(sel) == 0:
            continue
        sen_sorted = mentor_sen[members]
        first_senior = np.searchsorted(sen_sorted, mentee_sen[sel], side="right")
        span = len(members) - first_senior
        idx = np.where(
            span > 0,
            first_senior + (u[sel] * np.maximum(span, 1)).astype(np.int64),
            (u[sel] * len(members)).astype(np.int64),
        )
        pick[sel] = members[np.minimum(idx, len(members) - 1)]
    out[:, 0] = pick
    has_reviewer = rng.random(n) < 0.03
    reviewer = rng.integers(0, len(mentor_dept), n)
    second = has_reviewer & (reviewer != out[:, 0])
    out[second, 1] = reviewer[second]
    # keep the list packed to the left
    move = (out[:, 0] < 0) & (out[:, 1] >= 0)
    out[move, 0] = out[move, 1]
    out[move, 1] = -1
    return out


# ====================================================================== matching history
@dataclass
class _Simulation:
    start: NDArray[np.int64]  # ordinal day the pairing starts, per request
    request_at: NDArray[np.int64]
    mentee: NDArray[np.int64]
    shown: NDArray[np.int64]  # (n_req, SHOWN) mentor index, -1 = empty slot
    logged: NDArray[np.bool_]
    noise: NDArray[np.float32]
    boundary: NDArray[np.bool_]
    duration: NDArray[np.int64]
    early_fraction: NDArray[np.float64]
    # results per realised pairing
    p_request: list[int]
    p_mentor: list[int]
    p_load: list[int]
    p_logit: list[float]
    p_fallback: list[bool]
    p_end: list[int]
    # events (besides "shown") of logged requests
    ev_request: list[int]
    ev_slot: list[int]
    ev_kind: list[int]
    ev_attempt: list[int]


def _pools(keys: NDArray[Any], n_keys: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Members sorted by key and the start offset of every key (length n_keys + 1)."""
    order = np.argsort(keys, kind="stable").astype(np.int64)
    starts = np.searchsorted(keys[order], np.arange(n_keys + 1)).astype(np.int64)
    return order, starts


def _simulate_matching(
    rng: np.random.Generator,
    compat: CompatibilityModel,
    *,
    n_req: int,
    as_of: date,
    heldout: NDArray[np.bool_],
    excluded: NDArray[np.int64],
    mentor_dept: NDArray[Any],
    mentor_main_topic: NDArray[Any],
    mentee_dept: NDArray[Any],
    mentee_main_topic: NDArray[Any],
    capacity: NDArray[Any],
    active: NDArray[np.bool_],
    hist_capacity: NDArray[Any],
    report: ProgressFn,
) -> _Simulation:
    mt, me = compat.mentors, compat.mentees
    n_m = len(mt)
    as_of_ord = as_of.toordinal()
    first = PROGRAMME_START.toordinal()
    report("matching", 0, n_req)

    # requests: the programme grows, so later dates are denser
    u = rng.random(n_req)
    frac = np.where(rng.random(n_req) < 0.5, np.sqrt(u), u)
    start = np.sort(first + np.floor(frac * (as_of_ord - first + 1)).astype(np.int64))
    start = np.minimum(start, as_of_ord)
    request_at = start - rng.integers(7, 22, n_req)
    all_mentor_langs = int(np.bitwise_or.reduce(mt.languages))
    pool = np.flatnonzero(~heldout & ((me.languages & all_mentor_langs) != 0))
    if len(pool) == 0:
        raise ValueError("no mentee shares a language with any mentor")
    mentee = pool[rng.integers(0, len(pool), n_req)]

    # closed mentors (inactive or capacity 0 today) stopped taking mentees long enough ago
    # that all their pairings have ended by as_of
    closed = ~active | (capacity == 0)
    cutoff = np.where(closed, as_of_ord - 300 - rng.integers(0, 400, n_m), np.iinfo(np.int64).max)

    # ---- candidate draws of the legacy tool: department, tagged topic, or language pool
    dept_order, dept_starts = _pools(
        mentor_dept, int(max(mentor_dept.max(), mentee_dept.max())) + 1
    )
    topic_order, topic_starts = _pools(mentor_main_topic, len(TOPICS))
    lang_bits = ((mt.languages[:, None] >> np.arange(len(LANGUAGES))) & 1).astype(bool)
    lang_members = [np.flatnonzero(lang_bits[:, b]) for b in range(len(LANGUAGES))]
    lang_starts = np.concatenate([[0], np.cumsum([len(x) for x in lang_members])]).astype(np.int64)
    lang_flat = np.concatenate(lang_members).astype(np.int64)
    e_bits = ((me.languages[:, None] >> np.arange(len(LANGUAGES))) & 1).astype(bool)
    spoken = np.asarray([len(x) > 0 for x in lang_members])
    # the language the tool searches in: one of the mentee's that some mentor speaks
    e_lang = np.argmax(np.where(e_bits & spoken, rng.random(e_bits.shape), -1.0), axis=1)

    shown = np.full((n_req, SHOWN), -1, dtype=np.int64)
    fit_shown = np.zeros((n_req, SHOWN), dtype=np.float32)
    logit_shown = np.zeros((n_req, SHOWN), dtype=np.float32)
    for lo in range(0, n_req, CHUNK):
        hi = min(lo + CHUNK, n_req)
        e = mentee[lo:hi]
        n = hi - lo
        src = rng.choice(3, (n, DRAWS), p=[0.4, 0.3, 0.3])
        r = rng.random((n, DRAWS))
        group_lo = np.empty((n, DRAWS), dtype=np.int64)
        group_n = np.empty((n, DRAWS), dtype=np.int64)
        flat = np.empty((n, DRAWS), dtype=np.int64)
        for s, (order, starts, key) in enumerate(
            (
                (dept_order, dept_starts, mentee_dept[e]),
                (topic_order, topic_starts, mentee_main_topic[e]),
                (lang_flat, lang_starts, e_lang[e]),
            )
        ):
            sel = src == s
            k = np.broadcast_to(key[:, None], (n, DRAWS))[sel]
            group_lo[sel] = starts[k]
            group_n[sel] = starts[k + 1] - starts[k]
            pos = group_lo[sel] + (r[sel] * np.maximum(group_n[sel], 1)).astype(np.int64)
            flat[sel] = order[np.minimum(pos, len(order) - 1)]
        cand = np.where(group_n > 0, flat, -1)
        valid = cand >= 0
        c = np.maximum(cand, 0)
        valid &= (mt.languages[c] & me.languages[e][:, None]) != 0
        valid &= (c != excluded[e, 0][:, None]) & (c != excluded[e, 1][:, None])
        valid &= start[lo:hi, None] < cutoff[c]
        # drop duplicates within a row
        srt = np.argsort(np.where(valid, c, -1 - np.arange(DRAWS)), axis=1, kind="stable")
        cs = np.take_along_axis(np.where(valid, c, -1 - np.arange(DRAWS)), srt, axis=1)
        dup = np.zeros_like(valid)
        dup_sorted = np.concatenate([np.zeros((n, 1), bool), cs[:, 1:] == cs[:, :-1]], axis=1)
        np.put_along_axis(dup, srt, dup_sorted, axis=1)
        valid &= ~dup
        legacy = (
            1.0 * (mentor_dept[c] == mentee_dept[e][:, None])
            + 1.0 * (mentor_main_topic[c] == mentee_main_topic[e][:, None])
            + 0.6 * (mt.seniority[c] > me.seniority[e][:, None])
            + rng.gumbel(size=(n, DRAWS))
        )
        legacy = np.where(valid, legacy, -np.inf)
        top = np.argsort(-legacy, axis=1, kind="stable")[:, :SHOWN]
        top_valid = np.take_along_axis(valid, top, axis=1)
        shown[lo:hi] = np.where(top_valid, np.take_along_axis(c, top, axis=1), -1)
        ok = shown[lo:hi] >= 0
        rows = np.broadcast_to(e[:, None], (n, SHOWN))[ok]
        comp = compat.components(rows, shown[lo:hi][ok], 0.0)
        fit_shown[lo:hi][ok] = comp.topic_fit
        logit_shown[lo:hi][ok] = comp.logit(compat.model)
        report("matching", lo // 2, n_req)

    # ---- the mentee's order of requests: position bias + how relevant the bio reads
    pref = -0.3 * np.arange(SHOWN)[None, :] + 2.0 * fit_shown + rng.gumbel(size=(n_req, SHOWN))
    pref = np.where(shown >= 0, pref, -np.inf)
    attempt_slot = np.argsort(-pref, axis=1, kind="stable")[:, :ATTEMPTS]
    attempt_slot = np.where(np.take_along_axis(shown, attempt_slot, axis=1) >= 0, attempt_slot, -1)
    p_decline = (0.04 + 0.4 * (1.0 - mt.engagement) ** 2).astype(np.float64)
    decline_u = rng.random((n_req, ATTEMPTS))

    sim = _Simulation(
        start=start,
        request_at=request_at,
        mentee=mentee,
        shown=shown,
        logged=request_at >= as_of_ord - LOG_DAYS,
        noise=rng.logistic(size=n_req).astype(np.float32),
        boundary=rng.random(n_req) < BOUNDARY_RATE,
        duration=rng.choice(np.array([91, 122, 152, 182, 182, 213, 244, 274]), n_req)
        + rng.integers(-10, 11, n_req),
        early_fraction=rng.uniform(0.15, 0.65, n_req),
        p_request=[],
        p_mentor=[],
        p_load=[],
        p_logit=[],
        p_fallback=[],
        p_end=[],
        ev_request=[],
        ev_slot=[],
        ev_kind=[],
        ev_attempt=[],
    )
    _run_requests(
        sim,
        compat,
        attempt_slot,
        decline_u,
        p_decline,
        logit_shown,
        excluded,
        capacity,
        hist_capacity,
        cutoff,
        lang_flat,
        lang_starts,
        e_lang,
        rng,
        report,
    )
    report("matching", n_req, n_req)
    return sim


def _run_requests(
    sim: _Simulation,
    compat: CompatibilityModel,
    attempt_slot: NDArray[np.int64],
    decline_u: NDArray[np.float64],
    p_decline: NDArray[np.float64],
    logit_shown: NDArray[np.float32],
    excluded: NDArray[np.int64],
    capacity: NDArray[Any],
    hist_capacity: NDArray[Any],
    cutoff: NDArray[np.int64],
    lang_flat: NDArray[np.int64],
    lang_starts: NDArray[np.int64],
    e_lang: NDArray[np.int64],
    rng: np.random.Generator,
    report: ProgressFn,
) -> None:
    """The sequential part: mentor load changes with every accepted request."""
    n_req = len(sim.start)
    n_m = len(capacity)
    w_load = compat.model.w_load
    heaps: list[list[int]] = [[] for _ in range(n_m)]
    cap_hist = hist_capacity.tolist()
    cap_now = np.where(cutoff < np.iinfo(np.int64).max, 0, capacity).tolist()
    cut = cutoff.tolist()
    p_dec = p_decline.tolist()
    start = sim.start.tolist()
    mentee = sim.mentee.tolist()
    shown = sim.shown.tolist()
    slots = attempt_slot.tolist()
    dec_u = decline_u.tolist()
    base = logit_shown.tolist()
    logged = sim.logged.tolist()
    noise = sim.noise.tolist()
    boundary = sim.boundary.tolist()
    duration = sim.duration.tolist()
    early_frac = sim.early_fraction.tolist()
    excl = excluded.tolist()
    e_lang_l = e_lang.tolist()
    lang_lo = lang_starts.tolist()
    lang_list = lang_flat.tolist()
    e_langs = [
        [b for b in range(len(LANGUAGES)) if mask >> b & 1]
        for mask in compat.mentees.languages.tolist()
    ]
    fallback_rng = random.Random(int(rng.integers(0, 2**63)))
    heappop, heappush = heapq.heappop, heapq.heappush
    for i in range(n_req):
        s = start[i]
        chosen = -1
        logit0 = 0.0
        load = 0
        for j in range(ATTEMPTS):
            slot = slots[i][j]
            if slot < 0:
                break
            m = shown[i][slot]
            h = heaps[m]
            while h and h[0] <= s:
                heappop(h)
            cap = cap_hist[m] if s < cut[m] else cap_now[m]
            full = len(h) >= cap
            accept = not full and dec_u[i][j] >= p_dec[m]
            if logged[i]:
                sim.ev_request.extend((i, i))
                sim.ev_slot.extend((slot, slot))
                answer = _ACCEPTED if accept else _DECLINED_FULL if full else _DECLINED
                sim.ev_kind.extend((_REQUESTED, answer))
                sim.ev_attempt.extend((j, j))
            if accept:
                chosen, logit0, load = m, base[i][slot], len(h)
                break
        fallback = chosen < 0
        if fallback:  # a coordinator finds someone who speaks the language and has room
            e = mentee[i]
            b = e_lang_l[e]
            lo, hi = lang_lo[b], lang_lo[b + 1]
            candidates: Iterable[int] = (
                lang_list[lo + int(fallback_rng.random() * (hi - lo))]
                for _ in range(25 if hi > lo else 0)
            )
            for m in itertools.chain(
                candidates, _scan(e_langs[e], lang_list, lang_lo, fallback_rng)
            ):
                if m in excl[e]:
                    continue
                h = heaps[m]
                while h and h[0] <= s:
                    heappop(h)
                if len(h) < (cap_hist[m] if s < cut[m] else cap_now[m]):
                    chosen, load = m, len(h)
                    logit0 = compat.logit_one(e, m)
                    break
            if chosen < 0:
                continue  # nobody free: the request lapses
        logit = logit0 + w_load * load
        u = logit + noise[i]
        dur = duration[i]
        if u < EARLY_U or boundary[i]:
            dur = max(14, int(dur * early_frac[i]))
        end = s + dur
        heappush(heaps[chosen], end)
        sim.p_request.append(i)
        sim.p_mentor.append(chosen)
        sim.p_load.append(load)
        sim.p_logit.append(logit)
        sim.p_fallback.append(fallback)
        sim.p_end.append(end)
        if i % 100_000 == 0:
            report("matching", n_req // 2 + i // 2, n_req)


def _scan(
    languages: list[int], members: list[int], starts: list[int], rng: random.Random
) -> Iterator[int]:
    """Every mentor speaking one of ``languages``, each pool from a random offset."""
    for b in languages:
        lo, hi = starts[b], starts[b + 1]
        if hi > lo:
            k = lo + int(rng.random() * (hi - lo))
            yield from members[k:hi]
            yield from members[lo:k]


# ====================================================================== outcomes
def _outcomes(
    rng: np.random.Generator, compat: CompatibilityModel, sim: _Simulation, as_of: date
) -> dict[str, NDArray[Any]]:
    """Status, dates, rating, goals_met and latent problem flags of every realised pairing."""
    req = np.asarray(sim.p_request, dtype=np.int64)
    n = len(req)
    mentor = np.asarray(sim.p_mentor, dtype=np.int64)
    mentee = sim.mentee[req]
    load = np.asarray(sim.p_load, dtype=np.int32)
    logit = np.asarray(sim.p_logit, dtype=np.float32)
    u = (logit + sim.noise[req]).astype(np.float32)
    start = sim.start[req]
    end = np.asarray(sim.p_end, dtype=np.int64)
    boundary = sim.boundary[req]
    as_of_ord = as_of.toordinal()
    early = (u < EARLY_U) | boundary
    status = np.where(end > as_of_ord, 0, np.where(early, 2, 1)).astype(np.int8)  # 0 active
    rating = np.clip(np.round(3.2 + 0.6 * u + rng.normal(0, 0.6, n)), 1, 5).astype(np.int8)
    rating_null = (status == 0) | ((status == 2) & (rng.random(n) < 0.5))
    goals_met = (u > 0).astype(np.int8)  # success in the latent model = goals met
    goals_null = (status == 0) | ((status == 2) & ((rng.random(n) < 0.3) | boundary))
    # latent problems of the pairing, from the terms of its logit
    flags = np.zeros((n, _PROBLEMS + 1), dtype=bool)
    for lo in range(0, n, 200_000):
        sl = slice(lo, lo + 200_000)
        c = compat.components(mentee[sl], mentor[sl], load[sl])
        style = c.structure + c.modality
        flags[sl, 0] = (c.topic_fit < 0.35) | (c.seniority < 0)
        flags[sl, 1] = (c.engagement < 0.35) | (compat.mentees.commitment[mentee[sl]] < -0.9)
        flags[sl, 2] = (c.tz_overlap < 0.5) | (load[sl] >= 2)
        flags[sl, 3] = (style <= -2) | ((style == 0) & (rng.random(len(style)) < 0.4))
    flags[:, 4] = compat.mentees.feedback_anxiety[mentee]
    flags[:, 5] = compat.mentees.unclear_goals[mentee]
    flags[:, 6] = boundary
    return {
        "mentor": mentor,
        "mentee": mentee,
        "start": start,
        "end": end,
        "status": status,
        "rating": np.where(rating_null, 0, rating).astype(np.int8),
        "goals_met": np.where(goals_null, -1, goals_met).astype(np.int8),
        "u": u,
        "logit": logit,
        "load": load,
        "flags": flags,
        "fallback": np.asarray(sim.p_fallback, dtype=bool),
    }


def _with_style_answers(
    rows: list[dict[str, Any]], answered: NDArray[np.bool_], people: Any, lo: int
) -> list[dict[str, Any]]:
    """Rows ``lo:`` with the working-style answers of those whose form asked (``answered``:
    (n, 2) structure, modality), each the person's true style."""
    if not answered.any():
        return rows
    for k, row in enumerate(rows):
        i = lo + k
        if answered[i, 0]:
            structure = (
                StructureStyle.structured if people.structure[i] > 0 else StructureStyle.informal
            )
            row["style_structure"] = structure.value
        if answered[i, 1]:
            modality = ModalityStyle.written if people.modality[i] > 0 else ModalityStyle.live
            row["style_modality"] = modality.value
    return rows


_STATUS = ("active", "completed", "ended_early")


class _Strings:
    """Id and date strings, built once: formatting them per row dominates writing time."""

    def __init__(self, n_mentors: int, n_mentees: int, first_day: int, last_day: int) -> None:
        self.mentor = [mentor_id(i) for i in range(n_mentors)]
        self.mentee = [mentee_id(i) for i in range(n_mentees)]
        self.pairing: list[str] = []
        self.first_day = first_day
        self.days = [date.fromordinal(d).isoformat() for d in range(first_day, last_day + 1)]

    def iso(self, ordinal: int) -> str:
        return self.days[ordinal - self.first_day]


def pairing_id(i: int) -> str:
    return f"pairing-{i + 1:07d}"


def feedback_id(i: int) -> str:
    return f"fb-{i + 1:07d}"


def _pairing_rows(
    p: dict[str, NDArray[Any]], ids: _Strings, lo: int, hi: int
) -> list[dict[str, Any]]:
    rows = []
    iso, days, first = ids.iso, ids.days, ids.first_day
    mentor, mentee = p["mentor"][lo:hi].tolist(), p["mentee"][lo:hi].tolist()
    start, end, status = (
        p["start"][lo:hi].tolist(),
        p["end"][lo:hi].tolist(),
        p["status"][lo:hi].tolist(),
    )
    rating, goals = p["rating"][lo:hi].tolist(), p["goals_met"][lo:hi].tolist()
    for k in range(hi - lo):
        st = status[k]
        rows.append(
            {
                "id": ids.pairing[lo + k],
                "mentor_id": ids.mentor[mentor[k]],
                "mentee_id": ids.mentee[mentee[k]],
                "started_at": days[start[k] - first],
                "ended_at": None if st == 0 else iso(end[k]),
                "status": _STATUS[st],
                "rating": rating[k] or None,
                "goals_met": None if goals[k] < 0 else bool(goals[k]),
            }
        )
    return rows


# ====================================================================== feedback
def _feedback(
    rng: np.random.Generator, p: dict[str, NDArray[Any]], rate: float, as_of: date
) -> dict[str, NDArray[Any]]:
    """Notes per pairing: how many, when, by whom, and what kind (code 0..9)."""
    n = len(p["mentor"])
    last = np.where(p["status"] == 0, as_of.toordinal(), p["end"] - 1)
    span = last - p["start"]
    u = p["u"]
    lam = rate * np.clip(span / 150.0, 0.25, 1.6) * np.where(u < 0, 1.3, 1.0)
    count = np.where(span >= 3, rng.poisson(lam), 0)
    boundary = p["flags"][:, 6]
    count = np.where(boundary & (span >= 3), np.maximum(count, 1), count)
    pn = np.repeat(np.arange(n), count)
    m = len(pn)
    code = np.full(m, NOTE_NEUTRAL, dtype=np.int8)
    p_good = sigmoid(1.2 * u[pn] + 0.4)
    good = rng.random(m) < p_good
    r = rng.random(m)
    code[good] = np.where(r[good] < 0.58, 7, np.where(r[good] < 0.8, NOTE_NEUTRAL, NOTE_NEGATED))
    bad = ~good
    flags = p["flags"][pn[bad], :_PROBLEMS]
    keys = np.where(flags, rng.random(flags.shape), -1.0)
    has = keys.max(axis=1) >= 0
    mild = np.where(r[bad] < 0.5, NOTE_NEUTRAL, np.where(r[bad] < 0.75, 2, 1))
    code[bad] = np.where(has, keys.argmax(axis=1), mild)
    # trouble shows up later in a pairing than good news does
    frac = rng.random(m)
    frac = np.where(code <= 6, frac**0.6, frac)
    created = p["start"][pn] + 1 + np.floor(frac * (span[pn] - 1)).astype(np.int64)
    # a boundary problem is reported in the pairing's last note, which is what ends it early
    is_last = np.zeros(m, dtype=bool)
    if m:
        ends_of_group = np.cumsum(count)[count > 0] - 1
        is_last[ends_of_group] = True
    code = np.where(boundary[pn] & is_last, 6, code).astype(np.int8)
    created = np.where(boundary[pn] & is_last, last[pn], created)
    role = rng.choice(3, m, p=[0.5, 0.3, 0.2]).astype(np.int8)
    order = np.lexsort((np.arange(m), created))
    return {
        "pairing": pn[order],
        "created": created[order],
        "code": code[order],
        "role": role[order],
    }


def _feedback_rows(
    seed: int, notes: dict[str, NDArray[Any]], ids: _Strings, lo: int, hi: int
) -> list[dict[str, Any]]:
    days, first = ids.days, ids.first_day
    rng = random.Random(f"notes:{seed}:{lo}")
    pairing = notes["pairing"][lo:hi].tolist()
    created = notes["created"][lo:hi].tolist()
    code = notes["code"][lo:hi].tolist()
    role = notes["role"][lo:hi].tolist()
    return [
        {
            "id": feedback_id(lo + k),
            "pairing_id": ids.pairing[pairing[k]],
            "author_role": ROLES[role[k]],
            "created_at": days[created[k] - first],
            "text": render_note(rng, code[k], role[k]),
        }
        for k in range(hi - lo)
    ]


# ====================================================================== interactions
def _write_interactions(path: Path, sim: _Simulation, ids: _Strings, report: ProgressFn) -> int:
    """The legacy recommendation log, in date order; returns the number of events."""
    logged = np.flatnonzero(sim.logged)
    shown_ok = sim.shown[logged] >= 0
    sh_req = np.broadcast_to(logged[:, None], shown_ok.shape)[shown_ok]
    sh_slot = np.broadcast_to(np.arange(SHOWN)[None, :], shown_ok.shape)[shown_ok]
    ev_req = np.concatenate([sh_req, np.asarray(sim.ev_request, dtype=np.int64)])
    ev_slot = np.concatenate([sh_slot, np.asarray(sim.ev_slot, dtype=np.int64)])
    ev_kind = np.concatenate([np.zeros(len(sh_req), np.int64), np.asarray(sim.ev_kind, np.int64)])
    ev_attempt = np.concatenate(
        [np.zeros(len(sh_req), np.int64), np.asarray(sim.ev_attempt, np.int64)]
    )
    # shown on the request day; the j-th request two days later each, the answer the day after
    at = sim.request_at[ev_req] + np.where(
        ev_kind == _SHOWN, 0, 2 * ev_attempt + (ev_kind != _REQUESTED)
    )
    at = np.minimum(at, sim.start[ev_req])
    seq = 10 * ev_attempt + ev_kind
    order = np.lexsort((ev_slot, seq, ev_req, at))
    n = len(order)
    report("interactions", 0, max(n, 1))
    with path.open("wb") as fh:
        for lo in range(0, n, 4 * CHUNK):
            o = order[lo : lo + 4 * CHUNK]
            req, slot, kind, day = ev_req[o], ev_slot[o], ev_kind[o], at[o]
            mentees = sim.mentee[req].tolist()
            mentors = sim.shown[req, slot].tolist()
            me_ids, mt_ids, days, first = ids.mentee, ids.mentor, ids.days, ids.first_day
            lines = [
                f'{{"mentee_id":"{me_ids[e]}","mentor_id":"{mt_ids[m]}","at":"{days[d - first]}",'
                f'"position":{s + 1},"event":"{_EVENT_NAMES[k]}"{_EVENT_SUFFIX[k]}}}\n'
                for e, m, d, s, k in zip(
                    mentees, mentors, day.tolist(), slot.tolist(), kind.tolist(), strict=True
                )
            ]
            fh.write("".join(lines).encode())
            report("interactions", min(lo + 4 * CHUNK, n), max(n, 1))
    return n


# ====================================================================== writing
def _write_rows(
    path: Path,
    n: int,
    stage: str,
    report: ProgressFn,
    make_rows: Callable[[int, int], Iterable[dict[str, Any]]],
) -> None:
    report(stage, 0, max(n, 1))
    dumps = orjson.dumps
    with path.open("wb") as fh:
        for lo in range(0, n, CHUNK):
            hi = min(lo + CHUNK, n)
            fh.write(b"\n".join(dumps(r) for r in make_rows(lo, hi)) + b"\n")
            report(stage, hi, max(n, 1))
    if n == 0:
        path.touch()
