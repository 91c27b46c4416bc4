"""The recommendation engine of one process: encoder, embedding cache, ranker, and a mentor
catalog + candidate index per organisation.

The CLI, the HTTP service and evaluation all go through :class:`RecommendationEngine`, so a
recommendation is computed the same way everywhere. Models load in the process that uses
them (never before a fork); the index is persisted per organisation and reused when the
mentor set is unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from models.ranker import ModelMismatchError, RankerModel
from recsys.catalog import MenteeBatch, MentorCatalog
from recsys.context import AppContext
from recsys.recommend import FeasibilityCache, Recommendation, recommend
from recsys.schemas import MenteeIn

log = logging.getLogger(__name__)
FINGERPRINT_FILE = "catalog.fingerprint"


@dataclass
class OrgState:
    catalog: MentorCatalog
    feasibility: FeasibilityCache
    # mentor id -> store ``row_version`` the catalog reflects (read before the rows, so a
    # write racing the read shows up as stale and is applied again, never missed)
    versions: dict[str, int] = field(default_factory=dict)

    @cached_property
    def version_sum(self) -> tuple[int, int]:
        """What :func:`recsys.snapshot.mentor_version_sum` reads while nothing changed."""
        return len(self.versions), sum(self.versions.values())


# More than this share of a catalog changed in the store at once (a roster replaced): rebuild
# it rather than update it (an HNSW index compacts itself past 20% of replaced rows anyway).
REBUILD_SHARE = 0.2

# API declines remembered per organisation for catalogs built after them (older ones are in the
# store, and outside any sensible decline window long before this many arrive).
API_DECLINES_KEPT = 10_000


def _apply_declines(state: OrgState, declines: Sequence[tuple[str, dt.date]]) -> None:
    row_of = state.catalog.row_of
    known = [(row_of[m], day) for m, day in declines if m in row_of]
    state.feasibility.capacity_declined([r for r, _ in known], [d for _, d in known])


class RecommendationEngine:
    def __init__(self, ctx: AppContext, ranker: RankerModel | None = None):
        self.ctx = ctx
        self.settings = ctx.settings
        self._ranker = None if ranker is None else self._prepared(ranker)
        self._orgs: dict[str, OrgState] = {}
        # no_capacity declines reported through the API (see capacity_declined)
        self._api_declines: dict[str, deque[tuple[str, dt.date]]] = {}
        self._lock = threading.RLock()
        self.ranker_run = None  # MLflow model version of the loaded ranker, if any

    # ------------------------------------------------------------------ models
    @cached_property
    def embedder(self):  # type: ignore[no-untyped-def]
        from models.embedder import Embedder

        return Embedder.from_settings(self.settings)

    @cached_property
    def cache(self):  # type: ignore[no-untyped-def]
        from recsys.retrieval.cache import EmbeddingCache

        return EmbeddingCache(self.ctx.engine)

    def encode_cached(self, texts: Sequence[str]) -> np.ndarray:
        return self.cache.encode_cached(self.embedder, list(texts))

    def encode_bulk(self, texts: Sequence[str]) -> np.ndarray:
        """:meth:`encode_cached` for texts read in bulk whose vectors the caller keeps (a
        catalog's bios, a training run's goals): not remembered in the cache's in-process
        LRU, which stays for mentees asked about one at a time."""
        return self.cache.encode_cached(self.embedder, list(texts), remember=False)

    @cached_property
    def inline_cache(self):  # type: ignore[no-untyped-def]
        from recsys.retrieval.cache import InlineVectorCache

        return InlineVectorCache(self.settings.inline_cache_entries)

    def encode_fresh(self, texts: Sequence[str]) -> np.ndarray:
        """Encode texts that are not stored (inline profiles): the database cache is never
        read or written; vectors are kept in the in-memory inline cache only."""
        return self.inline_cache.encode(self.embedder, list(texts))

    @property
    def ranker(self) -> RankerModel:
        if self._ranker is None:
            self._ranker = self._prepared(self.load_champion_ranker())
        return self._ranker

    def load_champion_ranker(self) -> RankerModel:
        """The ranker under the champion alias, or the cold-start scorer if none is trained."""
        from training.tracking import download_bundle

        found = download_bundle(self.settings, self.settings.ranker_model_name)
        if found is None:
            log.info("no trained ranker registered: using the cold-start scorer")
            return RankerModel.cold_start(self.embedder.encoder_id)
        path, mv = found
        try:
            model = RankerModel.load(path, expected_encoder_id=self.embedder.encoder_id)
        except ModelMismatchError as exc:
            log.warning("champion ranker unusable (%s): using the cold-start scorer", exc)
            return RankerModel.cold_start(self.embedder.encoder_id)
        model.manifest.run_id = mv.run_id
        self.ranker_run = mv
        return model

    def _prepared(self, ranker: RankerModel) -> RankerModel:
        """The ranker with the configured reason attribution, its lookup tables built now
        rather than by the first request."""
        ranker.attribution = self.settings.reason_attribution
        ranker.tables()
        return ranker

    def set_ranker(self, ranker: RankerModel) -> None:
        self._ranker = self._prepared(ranker)
        with self._lock:
            states = list(self._orgs.values())
        for state in states:
            self._warm_text_space(state)

    def _warm_text_space(self, state: OrgState) -> None:
        """Map the catalog's bio sentences into the ranker's learned text space now, off the
        request path: 1.1 s at 100k mentors, which the first request after a mentor write or
        a new champion would otherwise wait for; and read every mentor's tags into the
        goal-to-tag model's vocabulary (0.1 s at 100k)."""
        tags = self.ranker.goal_tags
        if tags is not None:
            state.catalog.tag_table(tags)
        maps = self.ranker.text_maps
        if maps is None:
            return
        exact_max = self.settings.learned_search
        if exact_max is None:
            state.catalog.projected_bios(maps[1])
        else:  # maps the bio sentences on the way (plus 0.2 s to build an IVF at 30k mentors)
            state.catalog.learned_index(maps[1], exact_max)

    @property
    def model_version(self) -> str:
        return self.ranker.version

    # ------------------------------------------------------------------ catalogs
    def org_state(self, org: str) -> OrgState:
        with self._lock:
            state = self._orgs.get(org)
            if state is None:
                state = self._orgs[org] = self._build_state(org)
                _apply_declines(state, list(self._api_declines.get(org, ())))
            return state

    def catalog(self, org: str) -> MentorCatalog:
        return self.org_state(org).catalog

    def invalidate(self, org: str | None = None) -> None:
        """Drop cached catalogs (after mentors or pairings changed); rebuilt on next use."""
        with self._lock:
            if org is None:
                self._orgs.clear()
            else:
                self._orgs.pop(org, None)

    def _build_state(self, org: str) -> OrgState:
        from recsys.snapshot import load_catalog, mentor_versions

        with self.ctx.sessions() as session:
            versions = mentor_versions(session, org)
            catalog = load_catalog(session, org, self.encode_bulk, self.embedder.encoder_id)
        catalog.index = self._index_for(catalog)
        return self._state_for(catalog, versions)

    def _state_for(self, catalog: MentorCatalog, versions: dict[str, int]) -> OrgState:
        return OrgState(
            catalog,
            FeasibilityCache(catalog, capacity_decline_days=self.settings.capacity_decline_days),
            versions,
        )

    def _index_dir(self, org: str) -> Path:
        return self.settings.index_dir / org

    def _index_for(self, catalog: MentorCatalog):  # type: ignore[no-untyped-def]
        from recsys.retrieval.index import CandidateIndex, IndexMismatchError

        directory = self._index_dir(catalog.org)
        stamp = directory / FINGERPRINT_FILE
        fingerprint = catalog.fingerprint
        if stamp.exists() and stamp.read_text() == fingerprint:
            try:
                index = CandidateIndex.load(directory, expected_encoder_id=catalog.encoder_id)
                index.ef_search = self.settings.hnsw_ef_search
                return index
            except IndexMismatchError as exc:
                log.warning("rebuilding index for %s: %s", catalog.org, exc)
        index = CandidateIndex.from_settings(
            catalog.ids, catalog.bio_vec, encoder_id=catalog.encoder_id, settings=self.settings
        )
        if len(catalog):
            index.save(directory)
            stamp.write_text(fingerprint)
        return index

    def capacity_declined(self, org: str, mentor_id: str, day: dt.date) -> None:
        """``mentor_id`` declined a request for ``no_capacity`` on ``day`` (reported through
        the API, after its commit): applied to the loaded catalog at once, no rebuild.

        Never waits for ``_lock``: a catalog rebuild holds it for seconds at 100k mentors. A
        rebuild may have read the store before this decline was committed, so the decline is
        also remembered and every newly built catalog applies the remembered ones (noted
        first, state read second: whichever way the two threads interleave, the new catalog
        gets it; applying one twice changes nothing)."""
        self._api_declines.setdefault(org, deque(maxlen=API_DECLINES_KEPT)).append((mentor_id, day))
        state = self._orgs.get(org)
        if state is not None:
            _apply_declines(state, [(mentor_id, day)])

    def refresh_mentors(self, org: str) -> None:
        """Rebuild the catalog from the store now (index reused when vectors are unchanged):
        at start-up and after writes behind the service's back (``recsys ingest``). 15 s at
        100k mentors, so writes through the API use :meth:`update_mentors` and
        :meth:`refresh_history` instead."""
        self.invalidate(org)
        self._warm(self.org_state(org))

    def _warm(self, state: OrgState) -> None:
        """Today's capacity and profile groups, the learned text space and the index's slot
        map, which the day's first request would otherwise pay for (~0.1 s at 100k mentors)."""
        state.catalog.map_slots()
        today = dt.date.today()
        state.feasibility.base(today)
        if self.settings.first_stage == "blend":
            state.feasibility.profiles(today)
        self._warm_text_space(state)

    def update_mentors(self, org: str, mentor_ids: Collection[str]) -> bool:
        """Mentors ``mentor_ids`` were upserted or deleted in the store (committed): apply just
        them to the loaded catalog and its FAISS index (upsert / remove, no rebuild), with the
        track record read again. In-flight requests finish on the catalog they started with.

        Returns False when ``org`` has no catalog loaded (the next use builds one)."""
        from recsys.snapshot import load_mentors, mentor_history, mentor_versions

        state = self._orgs.get(org)
        if state is None:
            return False
        old = state.catalog
        ids = sorted(set(mentor_ids))
        with self.ctx.sessions() as session:
            seen = mentor_versions(session, org, ids)
            found = load_mentors(session, org, ids)
            removed = set(mentor_ids) - {m.id for m in found}
            catalog = old.updated(
                found,
                removed,
                self.encode_bulk,
                lambda row_of: mentor_history(session, org, row_of),
            )
        moved = [
            m.id
            for m in found
            if m.id not in old.row_of
            or not np.array_equal(
                old.bio_vec[old.row_of[m.id]], catalog.bio_vec[catalog.row_of[m.id]]
            )
        ]
        index = catalog.index
        index.remove(sorted(removed))
        index.upsert(moved, catalog.bio_vec[[catalog.row_of[m] for m in moved]])
        versions = {m: v for m, v in state.versions.items() if m not in removed} | seen
        self._install(org, state, self._state_for(catalog, versions))
        return True

    def sync_mentors(self, org: str) -> int | None:
        """Bring ``org``'s loaded catalog up to date with mentors changed in the store by
        anyone (:meth:`stale_mentors`): an update of just them, or a rebuild when more than
        :data:`REBUILD_SHARE` of the catalog changed. Returns how many changed (None: no
        catalog loaded, nothing to do)."""
        stale = self.stale_mentors(org)
        if not stale:
            return stale if stale is None else 0
        state = self._orgs.get(org)
        if state is not None and len(stale) > REBUILD_SHARE * len(state.catalog):
            self.refresh_mentors(org)
        else:
            self.update_mentors(org, stale)
        return len(stale)

    def stale_mentors(self, org: str) -> list[str] | None:
        """Mentors whose stored row differs from what ``org``'s loaded catalog was built from
        (upserted, added or deleted by anyone: ``recsys ingest`` while serving, another
        process), compared by ``row_version``; apply them with :meth:`update_mentors`.
        While the count and sum of the versions match the catalog's, nothing is read (~10 ms
        at 100k mentors, index only). None when no catalog is loaded."""
        from recsys.snapshot import mentor_version_sum, mentor_versions

        state = self._orgs.get(org)
        if state is None:
            return None
        with self.ctx.sessions() as session:
            if mentor_version_sum(session, org) == state.version_sum:
                return []
            now = mentor_versions(session, org)
        known = state.versions
        changed = [m for m, v in now.items() if known.get(m) != v]
        return sorted([*changed, *(m for m in known if m not in now)])

    def refresh_history(self, org: str) -> bool:
        """Pairings changed (load and track record): read the track record again and keep
        the mentors' profiles, vectors and indexes as they are.

        Returns False when ``org`` has no catalog loaded (the next use builds one)."""
        from recsys.snapshot import mentor_history

        state = self._orgs.get(org)
        if state is None:
            return False
        with self.ctx.sessions() as session:
            history = mentor_history(session, org, state.catalog.row_of)
        catalog = state.catalog.with_history(history)
        self._install(org, state, self._state_for(catalog, state.versions))
        return True

    def _install(self, org: str, old: OrgState, new: OrgState) -> None:
        """Serve ``new`` in place of ``old``, with the API declines remembered, unless the
        catalog was dropped or rebuilt meanwhile (that one read the store later)."""
        _apply_declines(new, list(self._api_declines.get(org, ())))
        self._warm(new)
        with self._lock:
            if self._orgs.get(org) is old:
                self._orgs[org] = new

    def save_index(self, org: str) -> None:
        """Persist the loaded catalog's FAISS index with its fingerprint, so a restart after
        :meth:`update_mentors` loads it instead of building it (60 s at 100k mentors)."""
        state = self._orgs.get(org)
        if state is None or state.catalog.index is None or not len(state.catalog):
            return
        directory = self._index_dir(org)
        state.catalog.index.save(directory)
        (directory / FINGERPRINT_FILE).write_text(state.catalog.fingerprint)

    def embed_profiles(self, org: str) -> tuple[MentorCatalog, int]:
        """Embed every stored mentor bio and mentee goal of ``org`` (only texts not yet in the
        cache are encoded) and persist the index: a recommendation for a stored mentee then
        never encodes. Returns the catalog and the number of mentees."""
        from recsys.snapshot import load_mentees

        catalog = self.catalog(org)
        with self.ctx.sessions() as session:
            mentees = load_mentees(session, org)
        self.mentee_batch(mentees)
        return catalog, len(mentees)

    # ------------------------------------------------------------------ recommend
    def mentee_batch(self, mentees: Sequence[MenteeIn], *, cached: bool = True) -> MenteeBatch:
        return MenteeBatch.build(
            mentees, self.encode_cached if cached else self.encode_fresh, self.embedder.encoder_id
        )

    def recommend(
        self,
        org: str,
        mentees: Sequence[MenteeIn],
        *,
        k: int = 10,
        as_of: dt.date | None = None,
        exclude: Sequence[str] = (),
        cached_text: bool = True,
        strategy: str = "model",
        batch: MenteeBatch | None = None,
    ) -> list[list[Recommendation]]:
        """``batch``: ``mentees`` already encoded (:meth:`mentee_batch`)."""
        state = self.org_state(org)
        if batch is None:
            batch = self.mentee_batch(mentees, cached=cached_text)
        day = as_of or dt.date.today()
        model = self.ranker
        return [
            recommend(
                state.catalog,
                state.feasibility,
                batch,
                j,
                model,
                k=k,
                as_of=day,
                exclude=frozenset(exclude),
                n_candidates=self.settings.retrieval_candidates,
                strategy=strategy,  # type: ignore[arg-type]
                first_stage=None if strategy == "embedding" else self.settings.first_stage,
                learned_exact_max=self.settings.learned_search,
            )
            for j in range(len(mentees))
        ]
