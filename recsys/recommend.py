"""The recommend pipeline: embed goals → retrieve candidates → hard constraints → pair
features → ranker → reasons. Used as is by the CLI, the HTTP service and evaluation.

Retrieval (the first stage, see docs/retrieval.md) picks the ``n_candidates`` mentors the
ranker scores: a quarter are the nearest by goal–bio cosine (or, when the ranker has a learned
text space, the nearest in that space: see :func:`learned_nearest`), the rest the best by a
cheap pre-score (the cold-start prior over what is known without pair features) from a pool
of the ``n`` nearest and the ``n`` best by the profile part of that prior alone. With a
trained ranker compiled to lookup tables, the pre-score is the ranker's own score without the
sentence-matching columns instead (:func:`ranked_cut`), over a pool sized by the ``RANKED_*``
constants.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Literal, TypeVar

import numpy as np

from features.pairs import FEATURE_NAMES, PairFeatures, compute_pair_features
from features.profile import normalise_tags, shared_working_hours, utc_offset_hours
from features.text import adapted_similarity, masked_unit_mean, project_unit
from models.goal_tags import GoalTagModel
from models.ranker import COLD_START_WEIGHTS, RankerModel, cold_start_scores
from recsys.catalog import (
    MenteeBatch,
    MentorCatalog,
    half_to_float32,
    pair_inputs,
    sentence_inputs,
)
from recsys.reasons import ReasonContext, explain
from recsys.settings import CAPACITY_DECLINE_DAYS, LEARNED_EXACT_MAX

Strategy = Literal["model", "embedding"]
FirstStage = Literal["blend", "cosine"]
K = TypeVar("K")
V = TypeVar("V")

# First stage. Goal–bio cosine alone misses mentors whose fit is in the profile (overlapping
# working hours, a mentor a few levels up, free capacity): on generated data (1,500 mentors,
# 100 candidates) the champion's NDCG@10 went 0.690 -> ~0.746, recall of the true best 10
# 0.29 -> ~0.57. The nearest by cosine still fill ``COSINE_RESERVE`` of the slots, so a
# programme where the text decides keeps its best text matches.
COSINE_RESERVE = 0.25  # share of the slots kept for the nearest by cosine
PROFILE_POOL = 1.0  # profile-prior candidates in the pool per candidate slot
# With the ranker's learned text space (text_adapted), the reserved share goes to the nearest
# in that space instead, searched over every feasible mentor: a one-vector stand-in (the mean
# of the mapped bio sentences) shortlists LEARNED_SHORTLIST per slot, sentence matching picks.
# NDCG@10 against the generator's truth, seeds 3/5/7/11/13: 0.791/0.795/0.770/0.750/0.742 ->
# 0.811/0.818/0.799/0.785/0.768, about what re-ranking every mentor gives (0.813 on seed 3).
# The shortlist comes from MentorCatalog.learned_index: an exact FAISS scan up to
# LEARNED_EXACT_MAX mentors, an inverted file above (recsys.retrieval.learned). On a generated
# 30k-mentor programme, where the reserve used to stay cosine, NDCG@10 went 0.838 -> 0.896.
LEARNED_SHORTLIST = 2
# With the ranker's goal-to-tag model (text_goal_tags), this share of the slots more goes to
# the feasible mentors whose skill tags the goal calls for most, over every mentor.
TAG_RESERVE = 0.25
# tag_nearest first scores only the mentors listing one of the goal's likeliest tags, this many
# to start with, doubling until the answer is provably exact (see there). At 100k mentors,
# 300 goals (ad hoc), p50 / p99 of tag_nearest: 1.9 / 2.0 ms for a sparse mat-vec over every
# mentor; starting from 1 / 2 / 4 / 8 / 16 tags: 0.83 / 0.59 / 0.88 / 1.2 / 1.8 ms p50.
TAG_PRUNE = 2
PROFILE_MARGIN = 16  # cached profile candidates beyond the pool, for the mentee's exclusions
# With a ranker compiled to tables, the pool (the nearest by cosine, profile rows, reserved
# rows) is cut by the ranker's own score without sentence matching (ranked_cut) instead of
# the cold-start prior. Why: the mentors the ranker puts in its top 10 over every feasible
# mentor but the first stage missed were far down by cosine (median rank 389 of ~900) with a
# strong track record (success rate 0.75), which the prior does not read. Seed 3 (1,500
# mentors, 100 candidates), NDCG@10 against the generator's truth: prior cut 0.8969; ranked
# cut of the same pool 0.9003, with twice the profile rows 0.9011 (every feasible mentor
# ranked: 0.9010). The pool's rows cost features and table lookups (~5.6 us each at 100k
# mentors, ad hoc) and few of the cosine neighbours beyond the reserve make the cut, so the
# pool takes a quarter of the slots' nearest and 1.25 profile rows per slot (~200 rows), and
# the cut keeps 60% of the slots (the reserved half and the best tenth by the pool score)
# for sentence matching and the ranker: seed 3 0.9014, seed 7 0.8903 at 70% (full pool and
# all slots: 0.9011, 0.8901); 60% against 70%, seed 3's training-seed-2 model 0.9042 against
# 0.9040, seed 7 0.8909 against 0.8903, 1,000 / 3,000 0.8558 both, 400 / 1,200 0.8168
# against 0.8167. Half (the reserves alone) fell to 0.8728 / 0.8617.
RANKED_PROFILE_POOL = 1.25
RANKED_COSINE_POOL = 0.25
RANKED_KEEP = 0.6


@dataclass
class Recommendation:
    mentor_id: str
    rank: int
    score: float
    reasons: list[str]
    success_probability: float | None = None
    features: dict[str, float] = field(default_factory=dict)


@dataclass
class Candidates:
    """Feasible candidates for one mentee with their features (before the final cut to k)."""

    rows: np.ndarray
    retrieval_score: np.ndarray
    features: PairFeatures
    load: np.ndarray


@dataclass(frozen=True)
class ProfileGroups:
    """Active mentors with free capacity on a date, grouped by what the profile prior reads of
    them (UTC offset, seniority, free capacity): one prior score per group and mentee."""

    offset: np.ndarray  # (N,) UTC offset of every catalog row on the date, hours
    free: np.ndarray  # (N,) free capacity of every catalog row on the date
    track: np.ndarray  # (N,) smoothed success rate as of the date (0 where not feasible)
    group_offset: np.ndarray  # (G,)
    group_seniority: np.ndarray  # (G,)
    group_free: np.ndarray  # (G,)
    members: np.ndarray  # rows by group; within a group the best track record first
    bounds: np.ndarray  # (G + 1,): members[bounds[g]:bounds[g + 1]] form group g


def _seniority_prior() -> np.ndarray:
    """The cold-start prior's seniority term for each gap -7..7 (seniority is 1..8)."""
    x = np.zeros((2 * MAX_GAP + 1, len(FEATURE_NAMES)), np.float32)
    x[:, FEATURE_NAMES.index("seniority_gap")] = np.arange(-MAX_GAP, MAX_GAP + 1)
    return cold_start_scores(x)


MAX_GAP = 7
_SENIORITY_PRIOR = _seniority_prior()


def cheap_prior(
    cosine: np.ndarray | float, shared_hours: np.ndarray, free: np.ndarray, gap: np.ndarray
) -> np.ndarray:
    """The cold-start prior (:func:`models.ranker.cold_start_scores`) from what retrieval knows
    without pair features: goal–bio cosine, shared working hours, free capacity, seniority gap
    (the sentence-level and skills similarities count 0). Per-term, not through the feature
    matrix: 10x cheaper on a few hundred rows."""
    w = COLD_START_WEIGHTS
    band = _SENIORITY_PRIOR[np.clip(np.rint(gap), -MAX_GAP, MAX_GAP).astype(np.int64) + MAX_GAP]
    return (
        w.get("text_goal_bio", 0.0) * np.asarray(cosine, np.float64)
        + w.get("shared_hours", 0.0) * np.asarray(shared_hours, np.float64)
        + w.get("mentor_free_capacity", 0.0) * np.asarray(free, np.float64)
        + band
    )


class FeasibilityCache:
    """Active + free-capacity mask for all mentors, per as-of date (a few dates kept), and
    that mask narrowed to the mentors sharing a language with a mentee (per language set).

    Free capacity is what the store says (capacity above running pairings) *and* what the
    mentor said: one who declined a request with ``decline_reason: no_capacity`` in the last
    ``capacity_decline_days`` days is treated as full, so mentees are not sent to a mentor
    who has just told someone they have no room (stored capacities go stale), until one of
    their pairings ends."""

    def __init__(
        self,
        catalog: MentorCatalog,
        max_dates: int = 8,
        max_masks: int = 64,
        capacity_decline_days: int = CAPACITY_DECLINE_DAYS,
    ):
        self.catalog = catalog
        self.capacity_decline_days = capacity_decline_days
        self._by_date: OrderedDict[dt.date, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._allowed: OrderedDict[tuple[dt.date, frozenset[str]], np.ndarray] = OrderedDict()
        self._profiles: OrderedDict[dt.date, ProfileGroups] = OrderedDict()
        self._offsets: OrderedDict[dt.date, np.ndarray] = OrderedDict()
        self._history: OrderedDict[dt.date, dict[str, np.ndarray]] = OrderedDict()
        self._profile_rows: OrderedDict[tuple[Any, ...], np.ndarray] = OrderedDict()
        self._max = max_dates
        self._max_masks = max_masks
        # recommendations run on several threads; the LRU bookkeeping must not interleave
        self._lock = threading.RLock()

    def allowed(self, as_of: dt.date, languages: frozenset[str]) -> np.ndarray:
        """Rows that are active, have free capacity on ``as_of`` and share a language with a
        mentee speaking ``languages`` (read-only; copy before narrowing it further)."""

        def compute() -> np.ndarray:
            mask = self.base(as_of)[0] & self.catalog.shares_language(languages)
            mask.flags.writeable = False
            return mask

        return self._cached(self._allowed, (as_of, languages), self._max_masks, compute)

    def base(self, as_of: dt.date) -> tuple[np.ndarray, np.ndarray]:
        """(active and free on ``as_of``, load on ``as_of``) for every catalog row."""

        def compute() -> tuple[np.ndarray, np.ndarray]:
            rows = np.arange(len(self.catalog), dtype=np.int64)
            load = self.catalog.load(rows, as_of)
            said_full = self.catalog.history.said_full(
                rows, np.full(len(rows), np.datetime64(as_of, "D")), self.capacity_decline_days
            )
            return self.catalog.active & (self.catalog.capacity > load) & ~said_full, load

        return self._cached(self._by_date, as_of, self._max, compute)

    def capacity_declined(self, rows: Sequence[int], days: Sequence[dt.date]) -> None:
        """Mentors (catalog rows) just declined for ``no_capacity`` on ``days``: record it,
        and drop the masks built without it (rebuilt on next use)."""
        if not len(rows):
            return
        self.catalog.history.add_capacity_declines(
            np.asarray(rows, np.int64), np.array(days, dtype="datetime64[D]")
        )
        with self._lock:
            self._by_date.clear()
            self._allowed.clear()
            self._profiles.clear()
            self._profile_rows.clear()
            self._history.clear()

    @cached_property
    def _zones(self) -> tuple[np.ndarray, np.ndarray]:
        """(distinct time zones, zone of each catalog row): offsets are per zone and date."""
        zones, zone_of = np.unique(
            np.asarray(self.catalog.timezone, dtype=str), return_inverse=True
        )
        return zones, zone_of.reshape(-1)

    def offsets(self, as_of: dt.date) -> np.ndarray:
        """(N,) UTC offset of every catalog row on ``as_of``, hours (read-only): one
        :func:`utc_offset_hours` per time zone, not per mentor."""

        def compute() -> np.ndarray:
            zones, zone_of = self._zones
            zone_off = np.array([utc_offset_hours(str(z), as_of) for z in zones], np.float32)
            offset = zone_off[zone_of] if len(zones) else np.zeros(len(self.catalog), np.float32)
            offset.flags.writeable = False
            return offset

        return self._cached(self._offsets, as_of, self._max, compute)

    def history(self, as_of: dt.date) -> dict[str, np.ndarray]:
        """The track-record columns (``HISTORY_FEATURES``) of every catalog row as of
        ``as_of`` (read-only), so that a request gathers its candidates' instead of querying
        the pairing history for each."""

        def compute() -> dict[str, np.ndarray]:
            rows = np.arange(len(self.catalog), dtype=np.int64)
            columns = self.catalog.history.features(
                rows, np.full(len(rows), np.datetime64(as_of, "D"))
            )
            for values in columns.values():
                values.flags.writeable = False
            return columns

        return self._cached(self._history, as_of, self._max, compute)

    def profiles(self, as_of: dt.date) -> ProfileGroups:
        """The mentors who can take a mentee on ``as_of``, grouped for the profile prior."""

        def compute() -> ProfileGroups:
            ok, load = self.base(as_of)
            cat = self.catalog
            offset = self.offsets(as_of)
            free = (cat.capacity - load).astype(np.float32)
            rows = np.flatnonzero(ok)
            track = np.zeros(len(cat), np.float32)
            track[rows] = self.history(as_of)["hist_success_rate"][rows]
            keys = np.column_stack([offset[rows], cat.seniority[rows], free[rows]])
            uniq, group = np.unique(keys, axis=0, return_inverse=True)
            group = group.reshape(-1)
            order = np.lexsort((rows, -track[rows], group))
            bounds = np.searchsorted(group[order], np.arange(len(uniq) + 1))
            return ProfileGroups(
                offset=offset, free=free, track=track, group_offset=uniq[:, 0], group_seniority=uniq[:, 1],
                group_free=uniq[:, 2], members=rows[order], bounds=bounds,
            )  # fmt: skip

        return self._cached(self._profiles, as_of, self._max, compute)

    def profile_rows(
        self, as_of: dt.date, languages: frozenset[str], offset: float, seniority: float, n: int
    ) -> np.ndarray:
        """:func:`profile_rows` among the mentors :meth:`allowed` for ``languages``, cached: it
        depends on the mentee only through language set, UTC offset and seniority (read-only)."""

        def compute() -> np.ndarray:
            rows = profile_rows(
                self.profiles(as_of), self.allowed(as_of, languages), offset=offset,
                seniority=seniority, n=n,
            )  # fmt: skip
            rows.flags.writeable = False
            return rows

        key = (as_of, languages, offset, seniority, n)
        return self._cached(self._profile_rows, key, 8 * self._max_masks, compute)

    def _cached(self, lru: OrderedDict[K, V], key: K, limit: int, compute: Callable[[], V]) -> V:
        """``lru[key]``, computed on a miss; the least recently used entries beyond ``limit``
        are dropped."""
        with self._lock:
            hit = lru.get(key)
            if hit is None:
                hit = lru[key] = compute()
                while len(lru) > limit:
                    lru.popitem(last=False)
            else:
                lru.move_to_end(key)
            return hit


def nearest_feasible(
    catalog: MentorCatalog,
    feasibility: FeasibilityCache,
    mentees: MenteeBatch,
    j: int,
    **kwargs: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Catalog rows of the first stage's candidates for mentee ``j`` and their goal–bio
    cosines, by decreasing cosine (:func:`first_stage_candidates` without the features)."""
    rows, sims, _ = first_stage_candidates(catalog, feasibility, mentees, j, **kwargs)
    return rows, sims


def first_stage_candidates(
    catalog: MentorCatalog,
    feasibility: FeasibilityCache,
    mentees: MenteeBatch,
    j: int,
    *,
    n_candidates: int,
    as_of: dt.date,
    exclude: frozenset[str] = frozenset(),
    first_stage: FirstStage = "blend",
    text_maps: tuple[np.ndarray, np.ndarray] | None = None,
    learned_exact_max: int | None = LEARNED_EXACT_MAX,
    goal_tags: GoalTagModel | None = None,
    pool_score: Callable[[np.ndarray], np.ndarray] | None = None,
    keep: int = 0,
) -> tuple[np.ndarray, np.ndarray, PairFeatures | None]:
    """Catalog rows of ``n_candidates`` feasible mentors for mentee ``j``, their goal–bio
    cosines, by decreasing cosine, and (from :func:`ranked_cut`) their pair features without
    sentence matching.

    ``first_stage="cosine"``: the nearest by goal–bio cosine. ``"blend"`` (default): see the
    module docstring and :func:`blend_candidates`. The hard constraints are a row mask applied
    inside the index search (see :meth:`CandidateIndex.search_allowed`), so full mentors never
    crowd out feasible ones. With ``text_maps`` (the ranker's learned text space), the blend's
    reserved share is :func:`learned_nearest` instead of the nearest by cosine, searched
    exactly in catalogs of up to ``learned_exact_max`` mentors and approximately above
    (``None``: no learned reserve). With ``goal_tags`` (the ranker's goal-to-tag model),
    ``TAG_RESERVE`` of the slots also go to :func:`tag_nearest`. With ``pool_score`` (the
    ranker's :meth:`RankerModel.pool_score`), the pool is cut by it (:func:`ranked_cut`) to
    ``RANKED_KEEP`` of the slots, or ``keep`` (the mentors asked for) if more.
    """
    ok = feasibility.allowed(as_of, mentees.languages[j])
    banned = [catalog.row_of[m] for m in {*exclude, *mentees.excluded[j], mentees.ids[j]}
              if m in catalog.row_of]  # fmt: skip
    if banned:
        ok = ok.copy()
        ok[banned] = False
    rows, sims = catalog.nearest_rows(mentees.goal_vec[j], n_candidates, ok)
    if first_stage == "cosine" or len(rows) < n_candidates:  # or every allowed mentor is in
        return rows, sims, None
    groups = feasibility.profiles(as_of)
    offset = utc_offset_hours(mentees.timezone[j], as_of)
    seniority = float(mentees.seniority[j])
    n_profile = round((PROFILE_POOL if pool_score is None else RANKED_PROFILE_POOL) * n_candidates)
    # the cached rows for the mentee's languages, a margin deep for the excluded ones
    cached = feasibility.profile_rows(
        as_of, mentees.languages[j], offset, seniority, n_profile + PROFILE_MARGIN
    )
    profile = cached[ok[cached]][:n_profile]
    if len(profile) < n_profile and len(cached) == n_profile + PROFILE_MARGIN:  # many excluded
        profile = profile_rows(groups, ok, offset=offset, seniority=seniority, n=n_profile)
    reserve = round(COSINE_RESERVE * n_candidates)
    learned = (
        learned_nearest(catalog, mentees, j, ok, text_maps, reserve, exact_max=learned_exact_max)
        if text_maps is not None and learned_exact_max is not None
        else None
    )
    reserved = learned
    n_tagged = round(TAG_RESERVE * n_candidates)
    if goal_tags is not None and n_tagged > 0:
        base = learned if learned is not None else rows[:reserve]
        tagged = tag_nearest(catalog, mentees, j, ok, goal_tags, n_tagged + len(base))
        reserved = np.concatenate([base, tagged[~np.isin(tagged, base)][:n_tagged]])
    if pool_score is not None:
        near = rows[: round(RANKED_COSINE_POOL * n_candidates)]
        pool = np.concatenate([near, profile, reserved if reserved is not None else rows[:0]])
        return ranked_cut(
            catalog, feasibility, mentees, j, np.unique(pool), pool_score, as_of=as_of,
            n_candidates=max(round(RANKED_KEEP * n_candidates), min(keep, n_candidates)),
            reserved=reserved if reserved is not None else rows[:reserve], goal_tags=goal_tags,
        )  # fmt: skip
    rows, sims = blend_candidates(
        catalog, groups, mentees.goal_vec[j], rows, sims, profile, offset=offset,
        seniority=seniority, n_candidates=n_candidates, reserved=reserved,
    )  # fmt: skip
    return rows, sims, None


def learned_nearest(
    catalog: MentorCatalog,
    mentees: MenteeBatch,
    j: int,
    allowed: np.ndarray,
    text_maps: tuple[np.ndarray, np.ndarray],
    n: int,
    *,
    exact_max: int = LEARNED_EXACT_MAX,
) -> np.ndarray:
    """The ``n`` allowed rows nearest mentee ``j``'s goal in the ranker's learned text space
    (by :func:`features.text.adapted_match`, the ``text_adapted`` column), best first: the
    one-vector stand-ins shortlist ``LEARNED_SHORTLIST * n`` (exact up to ``exact_max``
    mentors, :meth:`MentorCatalog.learned_index`), sentence matching picks."""
    if n <= 0 or not allowed.any():
        return np.zeros(0, np.int64)
    goal_map, bio_map = text_maps
    goal, mask = mentees.goal_sent_vecs[j : j + 1], mentees.goal_sent_mask[j : j + 1]
    mapped = project_unit(goal, goal_map)  # (1, S, r)
    mean = masked_unit_mean(mapped, mask)[0]
    rows = catalog.learned_index(bio_map, exact_max).search(mean, LEARNED_SHORTLIST * n, allowed)
    if not len(rows):
        return rows
    sim = adapted_similarity(
        np.repeat(mapped, len(rows), axis=0), np.repeat(mask, len(rows), axis=0),
        half_to_float32(catalog.projected_bios(bio_map)[rows]), catalog.bio_sent_mask[rows],
    )  # fmt: skip
    return rows[np.lexsort((rows, -sim))[:n]]


def tag_nearest(
    catalog: MentorCatalog,
    mentees: MenteeBatch,
    j: int,
    allowed: np.ndarray,
    goal_tags: GoalTagModel,
    n: int,
) -> np.ndarray:
    """The ``n`` allowed rows whose skill tags mentee ``j``'s goal calls for most (the
    ``text_goal_tags`` column, :func:`features.text.tag_coverage`, over every mentor), best
    first; mentors without a known tag are never picked."""
    table = catalog.tag_table(goal_tags)
    probs = mentees.tag_probs(goal_tags, j)
    usable = table.tagged & allowed
    n = min(n, int(np.count_nonzero(usable)))
    if n <= 0:
        return np.zeros(0, np.int64)
    # A mentor's score is a mean over their tags, so it is at most the likeliest of them:
    # score the mentors who list one of the goal's `top` likeliest tags, and the answer is
    # exact once their n-th best beats the next tag's probability (everyone else's bound).
    order = np.argsort(-probs, kind="stable")
    top = TAG_PRUNE
    while top < len(order):
        listed = np.zeros(len(usable), bool)
        for t in order[:top]:
            listed[table.tag_rows[table.tag_bounds[t] : table.tag_bounds[t + 1]]] = True
        rows = np.flatnonzero(listed & usable)
        if len(rows) >= n:
            values = table.scores(rows, probs)
            pick = np.argpartition(values, len(values) - n)[-n:]
            if values[pick].min() > probs[order[top]]:
                return _best_first(rows[pick], values[pick])
        top *= 2
    # Every usable mentor (3.7 ms at 100k; no goal among 300 tried came here). Only usable
    # rows: a partition over a catalog that is mostly ties (the mentors a mentee with a rare
    # language cannot have) took 15 ms instead of 2 at 100k mentors.
    rows = np.flatnonzero(usable)
    values = table.scores(rows, probs)
    pick = np.argpartition(values, len(values) - n)[-n:]
    return _best_first(rows[pick], values[pick])


def _best_first(rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    return rows[np.lexsort((rows, -values))].astype(np.int64)


def profile_rows(
    groups: ProfileGroups, allowed: np.ndarray, *, offset: float, seniority: float, n: int
) -> np.ndarray:
    """The ``n`` allowed rows the profile prior (:func:`cheap_prior` without the text) rates
    best for a mentee at UTC ``offset`` with ``seniority``, best first; ties by track record,
    then row.

    One prior score per group, then whole groups best first: the cost grows with the number
    of groups and the rows taken, not with the catalog.
    """
    sizes = np.diff(groups.bounds)
    if n <= 0 or len(sizes) == 0:
        return np.zeros(0, np.int64)
    hours = shared_working_hours(np.full(1, offset, np.float32), groups.group_offset)
    gap = groups.group_seniority - np.float32(seniority)
    prior = cheap_prior(0.0, hours, groups.group_free, gap)
    order = np.argsort(-prior, kind="stable")
    ranked = prior[order]
    reach = np.cumsum(sizes[order])
    want = 2 * n  # groups holding twice the rows asked for, more if the mask drops too many
    while True:
        last = min(len(order), int(np.searchsorted(reach, want)) + 1)
        # and every group tied with the last one, so that ties go by track record below
        last = int(np.searchsorted(-ranked, -ranked[last - 1], side="right"))
        starts, counts = groups.bounds[order[:last]], sizes[order[:last]]
        index = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        taken, score = groups.members[index], np.repeat(ranked[:last], counts)
        ok = allowed[taken]
        taken, score = taken[ok], score[ok]
        if len(taken) >= n or last >= len(order):
            return taken[np.lexsort((taken, -groups.track[taken], -score))[:n]]
        want *= 4


def blend_candidates(
    catalog: MentorCatalog,
    groups: ProfileGroups,
    goal: np.ndarray,
    rows: np.ndarray,
    sims: np.ndarray,
    profile: np.ndarray,
    *,
    offset: float,
    seniority: float,
    n_candidates: int,
    reserved: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``n_candidates`` of the pool (cosine neighbours ``rows`` with cosines ``sims``, best
    first, ``profile`` rows and ``reserved`` rows): the ``reserved`` rows (default: the
    nearest ``COSINE_RESERVE`` share by cosine), then the best by :func:`cheap_prior` for a
    mentee with ``goal`` vector, UTC ``offset`` and ``seniority``. Returned by decreasing
    cosine."""
    extra = np.setdiff1d(profile, rows, assume_unique=True)
    if reserved is not None:
        extra = np.concatenate([extra, np.setdiff1d(reserved, np.concatenate([rows, extra]))])
    pool = np.concatenate([rows, extra])
    # einsum, not BLAS: one small mat-vec never pays for OpenBLAS threads (see index.py)
    extra_cos = np.einsum("ij,j->i", catalog.bio_vec[extra], goal.astype(np.float32))
    cos = np.concatenate([sims, extra_cos]).astype(np.float32)
    hours = shared_working_hours(np.full(1, offset, np.float32), groups.offset[pool])
    gap = catalog.seniority[pool] - np.float32(seniority)
    score = cheap_prior(cos, hours, groups.free[pool], gap)
    if reserved is None:
        score[: min(len(rows), round(COSINE_RESERVE * n_candidates))] = np.inf
    else:
        score[np.isin(pool, reserved[:n_candidates])] = np.inf
    keep = np.argsort(-score, kind="stable")[:n_candidates]
    keep = keep[np.argsort(-cos[keep], kind="stable")]
    return pool[keep], cos[keep]


def ranked_cut(
    catalog: MentorCatalog,
    feasibility: FeasibilityCache,
    mentees: MenteeBatch,
    j: int,
    pool: np.ndarray,
    pool_score: Callable[[np.ndarray], np.ndarray],
    *,
    as_of: dt.date,
    n_candidates: int,
    reserved: np.ndarray,
    goal_tags: GoalTagModel | None = None,
) -> tuple[np.ndarray, np.ndarray, PairFeatures]:
    """``n_candidates`` of the ``pool`` rows: the ``reserved`` ones, then the best by
    ``pool_score`` over their pair features without sentence matching (see
    ``RANKED_PROFILE_POOL``). Returned by decreasing goal–bio cosine, with it and with
    those features (:func:`candidate_features` adds the sentence columns)."""
    x = candidate_features(
        catalog, feasibility, mentees, j, pool, np.zeros(len(pool), np.float32), as_of=as_of,
        goal_tags=goal_tags, sentences=False,
    ).features  # fmt: skip
    score = pool_score(x.matrix)
    score[np.isin(pool, reserved[:n_candidates])] = np.inf
    keep = np.argsort(-score, kind="stable")[:n_candidates]
    keep = keep[np.argsort(-x.column("text_goal_bio")[keep], kind="stable")]
    kept = PairFeatures(
        matrix=x.matrix[keep], best_goal_sentence=x.best_goal_sentence[keep],
        best_bio_sentence=x.best_bio_sentence[keep],
    )  # fmt: skip
    return pool[keep], kept.column("text_goal_bio"), kept


def candidate_features(
    catalog: MentorCatalog,
    feasibility: FeasibilityCache,
    mentees: MenteeBatch,
    j: int,
    rows: np.ndarray,
    sims: np.ndarray,
    *,
    as_of: dt.date,
    text_maps: tuple[np.ndarray, np.ndarray] | None = None,
    goal_tags: GoalTagModel | None = None,
    sentences: bool = True,
    known: PairFeatures | None = None,
) -> Candidates:
    """Pair features of mentee ``j`` with candidate ``rows`` as of a date (``text_maps`` and
    ``goal_tags``: the ranker's text projection and goal-to-tag model,
    :attr:`RankerModel.text_maps`, :attr:`RankerModel.goal_tags`; ``sentences=False``: the
    ``SENTENCE_FEATURES`` columns left NaN, see :func:`recsys.catalog.pair_inputs`).
    ``known``: the rows' features without sentence matching (:func:`ranked_cut`), to which
    only the sentence columns are added."""
    _, base_load = feasibility.base(as_of)
    load = base_load[rows]
    if known is not None:
        sents = sentence_inputs(catalog, rows, mentees, np.full(len(rows), j), text_maps)
        return Candidates(
            rows=rows, retrieval_score=sims, features=known.with_sentences(sents), load=load
        )
    inputs = pair_inputs(
        catalog, rows, mentees, np.full(len(rows), j), np.full(len(rows), np.datetime64(as_of, "D")),
        load=load, text_maps=text_maps, goal_tags=goal_tags, sentences=sentences,
        mentor_offsets=feasibility.offsets(as_of)[rows],
        history={name: column[rows] for name, column in feasibility.history(as_of).items()},
    )  # fmt: skip
    return Candidates(
        rows=rows, retrieval_score=sims, features=compute_pair_features(inputs), load=load
    )


def retrieve_candidates(
    catalog: MentorCatalog,
    feasibility: FeasibilityCache,
    mentees: MenteeBatch,
    j: int,
    *,
    n_candidates: int,
    as_of: dt.date,
    exclude: frozenset[str] = frozenset(),
    first_stage: FirstStage = "blend",
    text_maps: tuple[np.ndarray, np.ndarray] | None = None,
    learned_exact_max: int | None = LEARNED_EXACT_MAX,
    goal_tags: GoalTagModel | None = None,
    pool_score: Callable[[np.ndarray], np.ndarray] | None = None,
    keep: int = 0,
) -> Candidates:
    """``n_candidates`` feasible mentors (:func:`first_stage_candidates`) with their
    features."""
    rows, sims, known = first_stage_candidates(
        catalog, feasibility, mentees, j, n_candidates=n_candidates, as_of=as_of, exclude=exclude,
        first_stage=first_stage, text_maps=text_maps, learned_exact_max=learned_exact_max,
        goal_tags=goal_tags, pool_score=pool_score, keep=keep,
    )  # fmt: skip
    return candidate_features(
        catalog, feasibility, mentees, j, rows, sims, as_of=as_of, text_maps=text_maps,
        goal_tags=goal_tags, known=known,
    )  # fmt: skip


def topic_sentence_pair(
    catalog: MentorCatalog, mentees: MenteeBatch, j: int, r: int, best_goal: int, best_bio: int
) -> tuple[int, int]:
    """The goal and bio pieces a "their experience matches your goal" reason quotes: the text
    features' best-matching pair, unless either piece is about working style ("I'd rather
    reply in my own time" against "I mentor best live" match closely, as two remarks on how
    to talk, not as expertise): then the closest pair of topic pieces, when both texts have
    one."""
    goal_style, bio_style = mentees.goal_sentence_style[j], catalog.bio_sentence_style[r]
    if not (_is_style(goal_style, best_goal) or _is_style(bio_style, best_bio)):
        return best_goal, best_bio
    goal_topic = [i for i, style in enumerate(goal_style) if not style]
    bio_topic = [i for i, style in enumerate(bio_style) if not style]
    if not goal_topic or not bio_topic:
        return best_goal, best_bio
    goal = mentees.goal_sent_vecs[j, goal_topic].astype(np.float32)
    bio = half_to_float32(catalog.bio_sent_vecs[r, bio_topic])
    g, b = np.unravel_index(int(np.argmax(goal @ bio.T)), (len(goal_topic), len(bio_topic)))
    return goal_topic[int(g)], bio_topic[int(b)]


def _is_style(piece_style: list[bool], i: int) -> bool:
    return bool(piece_style) and piece_style[min(i, len(piece_style) - 1)]


@lru_cache(maxsize=65536)
def _tag_of(skill: str) -> str:
    """A profile's skill as its tag (:func:`normalise_tags`), memoised: every recommendation's
    reasons look up each of the mentor's skills twice."""
    return next(iter(normalise_tags([skill])), "")


def reason_context(
    catalog: MentorCatalog,
    mentees: MenteeBatch,
    j: int,
    r: int,
    best_goal: int,
    best_bio: int,
    *,
    completed: int,
    total: int,
    tag_probs: tuple[np.ndarray, Mapping[str, int]] | None = None,
) -> ReasonContext:
    """The facts reasons may quote for mentee row ``j`` and catalog row ``r``; with
    ``tag_probs`` (the goal's probability of each tag and the tag columns, from the ranker's
    goal-to-tag model) the mentor's skills are those the goal calls for at least half as much
    as the tag it calls for most, likeliest first (none: the skills reason is not given)."""
    gs, bs = mentees.goal_sentences[j], catalog.bio_sentences[r]
    best_goal, best_bio = topic_sentence_pair(catalog, mentees, j, r, best_goal, best_bio)
    # one spelling per tag ("GDPR" and "gdpr" are one skill), the profile's order otherwise
    by_tag = {_tag_of(s): s for s in reversed(catalog.skills_raw[r])}
    skills = list(reversed(by_tag.values()))
    if tag_probs is not None:
        probs, index = tag_probs
        column = [index.get(_tag_of(s)) for s in skills]
        weight = [float(probs[c]) if c is not None else -1.0 for c in column]
        ranked = sorted(zip(weight, skills, strict=True), key=lambda p: -p[0])
        # "Skills relevant to your goals: privacy, salesforce" for a GDPR goal misleads: the
        # model spreads some probability over tags it has seen near such goals (salesforce
        # 0.019 against privacy 0.16 here), so tags far below the goal's likeliest are left out
        floor = float(np.max(probs)) / 2 if len(probs) else 0.0
        skills = [s for w, s in ranked if w >= floor]
    return ReasonContext(
        goal_sentence=gs[min(best_goal, len(gs) - 1)] if gs else "",
        bio_sentence=bs[min(best_bio, len(bs) - 1)] if bs else "",
        mentor_skills=skills,
        mentor_languages=sorted(catalog.languages[r]),
        mentee_languages=sorted(mentees.languages[j]),
        mentor_department=str(catalog.department[r]),
        mentee_department=str(mentees.department[j]),
        past_completed=completed,
        past_total=total,
        mentee_style=tuple(float(v) for v in mentees.style[j]),
    )


def rank_candidates(
    catalog: MentorCatalog,
    cands: Candidates,
    mentees: MenteeBatch,
    j: int,
    model: RankerModel,
    *,
    k: int,
    as_of: dt.date,
    strategy: Strategy = "model",
    explain_top: bool = True,
    exposure_penalty: np.ndarray | None = None,
) -> list[Recommendation]:
    """Score candidates, keep the best ``k``, attach reasons from feature contributions.

    ``exposure_penalty`` (per candidate, in score units) lets callers spread exposure.
    """
    if len(cands.rows) == 0:
        return []
    x = cands.features.matrix
    scores = model.score(x) if strategy == "model" else cands.retrieval_score.astype(np.float64)
    ranked_scores = scores - exposure_penalty if exposure_penalty is not None else scores
    top = np.argsort(-ranked_scores, kind="stable")[:k]
    probs = model.success_probability(scores[top]) if strategy == "model" else None
    contrib = model.contributions(x[top]) if explain_top else None
    tag_probs = None
    if explain_top:
        day = np.full(len(top), np.datetime64(as_of, "D"))
        totals, completed = catalog.history.completed_counts(cands.rows[top], day)
        tags = model.goal_tags
        if tags is not None:
            tag_probs = (mentees.tag_probs(tags, j), tags.index)
    out = []
    for rank, t in enumerate(top, start=1):
        reasons: list[str] = []
        if contrib is not None:
            ctx = reason_context(
                catalog, mentees, j, int(cands.rows[t]),
                int(cands.features.best_goal_sentence[t]), int(cands.features.best_bio_sentence[t]),
                completed=int(completed[rank - 1]), total=int(totals[rank - 1]),
                tag_probs=tag_probs,
            )  # fmt: skip
            reasons = explain(x[t], contrib[rank - 1], ctx)
        out.append(
            Recommendation(
                mentor_id=catalog.ids[int(cands.rows[t])],
                rank=rank,
                score=float(scores[t]),
                reasons=reasons,
                success_probability=float(probs[rank - 1]) if probs is not None else None,
            )
        )
    return out


def recommend(
    catalog: MentorCatalog,
    feasibility: FeasibilityCache,
    mentees: MenteeBatch,
    j: int,
    model: RankerModel,
    *,
    k: int = 10,
    as_of: dt.date,
    exclude: frozenset[str] = frozenset(),
    n_candidates: int = 100,
    strategy: Strategy = "model",
    first_stage: FirstStage | None = None,
    learned_exact_max: int | None = LEARNED_EXACT_MAX,
) -> list[Recommendation]:
    """The best ``k`` for mentee ``j``. ``first_stage`` defaults to ``"blend"`` for the model
    and to ``"cosine"`` for ``strategy="embedding"`` (retrieval order only, no re-ranking);
    ``learned_exact_max``: see :func:`nearest_feasible`."""
    stage: FirstStage = first_stage or ("cosine" if strategy == "embedding" else "blend")
    cands = retrieve_candidates(
        catalog, feasibility, mentees, j, n_candidates=max(n_candidates, k), as_of=as_of,
        exclude=exclude, first_stage=stage, text_maps=model.text_maps,
        learned_exact_max=learned_exact_max, goal_tags=model.goal_tags,
        pool_score=model.pool_score if model.scores_pools else None, keep=k,
    )  # fmt: skip
    return rank_candidates(catalog, cands, mentees, j, model, k=k, as_of=as_of, strategy=strategy)


__all__ = [
    "FEATURE_NAMES", "Candidates", "FeasibilityCache", "FirstStage", "Recommendation", "recommend",
]  # fmt: skip
