"""In-memory, columnar views of profiles used by training and serving alike.

:class:`MentorCatalog` holds one organisation's mentors as arrays (profile fields, text
embeddings, track record) plus the FAISS :class:`CandidateIndex` over their bios.
:class:`MenteeBatch` holds the mentee side of a set of pairs. :func:`pair_inputs` joins the two
into :class:`features.pairs.PairInputs` — the one path from profiles to features, so what the
ranker was trained on is exactly what it sees when serving.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from features.history import MentorHistory, PairingHistory
from features.pairs import PairInputs, SentenceInputs
from features.profile import normalise_tags, utc_offset_hours
from features.style import (
    STYLE_ANSWER_FIELDS,
    STYLE_AXES,
    StyleProbe,
    probe_texts,
    read_styles,
    with_stated_styles,
)
from features.text import (
    masked_unit_mean,
    pad_sentences,
    project_unit,
    split_sentences,
    tag_coverage,
)
from recsys.retrieval.index import StaleSlotsError
from recsys.schemas import MenteeIn, MentorIn

if TYPE_CHECKING:
    from models.goal_tags import GoalTagModel
    from recsys.retrieval.learned import LearnedSpaceIndex

MAX_BIO_SENTENCES = 4
# mappings of rows to index slots tried per search before a moved slot table is an error: a
# compaction swaps slots at most once per build, which takes seconds
SLOT_MAP_TRIES = 3
MAX_GOAL_SENTENCES = 4
MAX_SPLIT = 16  # sentences encoded per text; the rest of a longer text is encoded as one


class Encoder(Protocol):
    @property
    def encoder_id(self) -> str: ...
    @property
    def dim(self) -> int: ...


EncodeFn = Callable[[Sequence[str]], np.ndarray]
"""Texts -> unit vectors; usually ``EmbeddingCache.encode_cached`` bound to an embedder."""


def skills_text(title: str, skills: Sequence[str]) -> str:
    """What a mentor's title and tags say, as one sentence for the encoder."""
    tags = ", ".join(skills)
    return f"{title}. {tags}".strip(". ") if tags else (title or "mentor")


def half_to_float32(a: np.ndarray) -> np.ndarray:
    """``a.astype(np.float32)`` for the catalog's float16 vectors, bit for bit, in integer
    operations: numpy casts float16 one element at a time. Features of 100 candidates on a
    1,500-mentor catalog (4 x 384 sentence values each) 1.36 -> 1.24 ms (session 29, ad hoc).
    A float16's magnitude bits shifted into a float32's (<< 13) read as the value times
    2**-112, exactly, subnormals included; multiplying by 2**112 restores it, and the sign
    bit moves across. Infinities and NaN (none in unit vectors) take numpy's cast."""
    if a.dtype != np.float16:
        return a.astype(np.float32)
    bits = a.view(np.uint16).astype(np.uint32)
    if ((bits & 0x7C00) == 0x7C00).any():  # an exponent of all ones: inf or NaN
        return a.astype(np.float32)
    out = ((bits & 0x7FFF) << 13).view(np.float32) * np.float32(2.0**112)
    return cast(np.ndarray, (out.view(np.uint32) | ((bits & 0x8000) << 16)).view(np.float32))


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


@dataclass
class EncodedTexts:
    """What the encoder makes of a list of documents (bios or goals)."""

    whole: np.ndarray  # (n, d) unit mean of every sentence vector
    pieces: list[list[str]]  # at most ``max_sentences`` per document: sentences, the tail joined
    piece_vecs: list[np.ndarray]  # their unit vectors (the joined tail: mean of its sentences)
    style: np.ndarray  # (n, len(STYLE_AXES)) working-style leanings (features.style)
    width: int  # max_sentences
    # per piece, whether it is about working style (a folded tail: all of it); the reasons
    # never quote one as expertise or goal (recsys.recommend.reason_context)
    piece_style: list[list[bool]]

    def padded(self) -> tuple[np.ndarray, np.ndarray]:
        """The pieces' vectors as (n, width, d) plus their mask."""
        dim = self.whole.shape[1] if len(self.whole) else 0
        return pad_sentences(self.piece_vecs, self.width, dim)


def encode_texts(
    encode: EncodeFn, docs: Sequence[str], max_sentences: int, encoder_id: str | None = None
) -> EncodedTexts:
    """Whole-text, per-piece and working-style vectors for each document.

    Every sentence is encoded on its own (up to :data:`MAX_SPLIT`): a style sentence like
    "no agendas, please" is only recognisable alone, and the encoder's cost is per token, so
    short sequences cost no more than the pieces they make up. The whole text is the normalised
    mean of its sentence vectors (long bios are not truncated by the encoder's 256-token
    window); the text features see at most ``max_sentences`` pieces, the last one standing for
    the rest of the text. Styles are read when ``encoder_id`` names the encoder (zeros
    otherwise), and so is which pieces are about working style rather than the text's topic.
    """
    sentences = [split_sentences(d, MAX_SPLIT) or [d or "-"] for d in docs]
    flat = [s for sents in sentences for s in sents]
    vecs = encode(flat) if flat else np.zeros((0, 0), np.float32)
    owner = np.repeat(np.arange(len(sentences)), [len(s) for s in sentences])
    if encoder_id is not None and flat:
        style, about_style = read_styles(
            vecs, owner, len(sentences), style_probe(encode, encoder_id)
        )
    else:
        style = np.zeros((len(sentences), len(STYLE_AXES)), np.float32)
        about_style = np.zeros(len(flat), bool)
    pieces: list[list[str]] = []
    piece_vecs: list[np.ndarray] = []
    piece_style: list[list[bool]] = []
    whole = []
    pos = 0
    for sents in sentences:
        v = vecs[pos : pos + len(sents)]
        about = about_style[pos : pos + len(sents)].tolist()
        pos += len(sents)
        whole.append(v.mean(axis=0))
        if len(sents) > max_sentences:
            head = max_sentences - 1
            tail_style = all(about[head:])
            # a folded tail is quoted without its style remarks (its vector keeps them)
            tail = [
                t for t, a in zip(sents[head:], about[head:], strict=True) if tail_style or not a
            ]
            pieces.append([*sents[:head], " ".join(tail)])
            piece_vecs.append(np.vstack([v[:head], _unit_rows(v[head:].mean(axis=0)[None])]))
            piece_style.append([*about[:head], tail_style])
        else:
            pieces.append(sents)
            piece_vecs.append(v)
            piece_style.append(about)
    whole_mat = _unit_rows(np.vstack(whole)) if whole else np.zeros((0, 0), np.float32)
    return EncodedTexts(whole_mat, pieces, piece_vecs, style, max_sentences, piece_style)


_PROBES: dict[str, StyleProbe] = {}
_PROBES_LOCK = threading.Lock()


def style_probe(encode: EncodeFn, encoder_id: str) -> StyleProbe:
    """The working-style detector fitted on this encoder's vectors of the labelled statements,
    once per process (~0.3 s: encoding 250 sentences and two small logistic regressions)."""
    probe = _PROBES.get(encoder_id)  # every request asks: no lock once computed
    if probe is not None:
        return probe
    with _PROBES_LOCK:
        probe = _PROBES.get(encoder_id)
        if probe is None:
            probe = _PROBES[encoder_id] = StyleProbe.fit(encode(probe_texts()))
        return probe


def language_bits(languages: Sequence[frozenset[str]], vocab: dict[str, int]) -> np.ndarray:
    """Languages as bitsets (n, words) of uint64 for a vectorised "share a language" test."""
    for langs in languages:
        for code in langs:
            vocab.setdefault(code, len(vocab))
    words = max(1, (len(vocab) + 63) // 64)
    bits = np.zeros((len(languages), words), dtype=np.uint64)
    for i, langs in enumerate(languages):
        for code in langs:
            b = vocab[code]
            bits[i, b // 64] |= np.uint64(1) << np.uint64(b % 64)
    return bits


@dataclass
class MentorCatalog:
    org: str
    ids: list[str]
    row_of: dict[str, int]
    seniority: np.ndarray
    timezone: list[str]
    languages: list[frozenset[str]]
    lang_vocab: dict[str, int]
    lang_bits: np.ndarray
    skills: list[frozenset[str]]
    skills_raw: list[list[str]]
    department: np.ndarray
    capacity: np.ndarray
    active: np.ndarray
    location: list[str | None]
    group: list[str | None]
    bio_sentences: list[list[str]]
    bio_sentence_style: list[list[bool]]  # per piece: about working style (EncodedTexts)
    bio_vec: np.ndarray  # (N, d) float32
    skills_vec: np.ndarray  # (N, d) float16 (memory: 100k mentors ≈ 77 MB)
    bio_sent_vecs: np.ndarray  # (N, T, d) float16
    bio_sent_mask: np.ndarray  # (N, T)
    style: np.ndarray  # (N, len(STYLE_AXES)) working-style leanings of the bios
    history: MentorHistory
    encoder_id: str
    index: Any = None  # CandidateIndex, attached by the serving engine / evaluation
    # ((id(index), slot_version), slot of each row or None when slot == row, row of each slot)
    _slot_map: tuple[tuple[int, int], np.ndarray | None, np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )
    # (bio map, every bio sentence mapped by it): the ranker's text space, once per ranker
    _projected: tuple[np.ndarray, np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )
    # (bio map, exact_max, the search over its bio means): see learned_index
    _learned: tuple[np.ndarray, int, Any] | None = field(default=None, repr=False, compare=False)
    # (goal-to-tag model, its TagTable): see tag_table
    _tag_table: tuple[Any, TagTable] | None = field(default=None, repr=False, compare=False)

    def tag_table(self, model: GoalTagModel) -> TagTable:
        """Every mentor's skill tags as columns of ``model``'s vocabulary, cached while the
        same model is in use (a racing second build is harmless); the first-stage search over
        every mentor reads it."""
        cached = self._tag_table
        if cached is not None and cached[0] is model:
            return cached[1]
        table = TagTable.of(tag_column_table(self.skills, model), len(model.vocab))
        self._tag_table = (model, table)
        return table

    def projected_bios(self, bio_map: np.ndarray) -> np.ndarray:
        """Every mentor's bio sentences in the learned text space of ``bio_map``: (N, T, r)
        unit vectors, float16 like ``bio_sent_vecs`` (100k mentors, 4 pieces each, rank 64:
        51 MB), cached while the same map is in use (a racing second computation is
        harmless). Training reads the same cache, so both see the same rounded values."""
        cached = self._projected
        if cached is not None and cached[0] is bio_map:
            return cached[1]
        n, width, _ = self.bio_sent_vecs.shape
        projected = np.empty((n, width, bio_map.shape[1]), np.float16)
        for lo in range(0, n, 4096):  # bounded temporaries at 100k mentors
            projected[lo : lo + 4096] = project_unit(
                self.bio_sent_vecs[lo : lo + 4096], bio_map, blas=True
            )
        self._projected = (bio_map, projected)
        return projected

    def learned_index(self, bio_map: np.ndarray, exact_max: int) -> LearnedSpaceIndex:
        """The search over every mentor's one-vector stand-in in the learned space of
        ``bio_map`` (the unit mean of the mapped bio sentences; exact up to ``exact_max``
        mentors, IVF above: :mod:`recsys.retrieval.learned`), cached alike."""
        from recsys.retrieval.learned import LearnedSpaceIndex

        cached = self._learned
        if cached is not None and cached[0] is bio_map and cached[1] == exact_max:
            return cast(LearnedSpaceIndex, cached[2])
        index = LearnedSpaceIndex(self._learned_means(bio_map), exact_max=exact_max)
        self._learned = (bio_map, exact_max, index)
        return index

    def _learned_means(self, bio_map: np.ndarray) -> np.ndarray:
        """Each mentor's one-vector stand-in in the learned space of ``bio_map``."""
        projected = self.projected_bios(bio_map)
        means = np.empty((len(projected), bio_map.shape[1]), np.float32)
        for lo in range(0, len(projected), 4096):
            means[lo : lo + 4096] = masked_unit_mean(
                projected[lo : lo + 4096], self.bio_sent_mask[lo : lo + 4096]
            )
        return means

    def __len__(self) -> int:
        return len(self.ids)

    # ------------------------------------------------------------------ retrieval
    def map_slots(self) -> None:
        """Map the index's slots to this catalog's rows now, off the request path: after the
        index changed (a mentor update) the first search would otherwise pay for it (80 ms
        at 100k mentors)."""
        if self.index is not None:
            self._slot_mapping()

    def _slot_mapping(self) -> tuple[int, np.ndarray | None, np.ndarray]:
        """(the index's slot version, slot of each row or None when every row sits in its own
        slot, row of each slot).

        Cached until the index moves ids between slots (``slot_version``).
        """
        index = self.index
        cached = self._slot_map
        if cached is None or cached[0] != (id(index), index.slot_version):
            version, row_slot, slot_count = index.slot_table(self.ids)
            slot_row = np.full(slot_count, -1, np.int64)
            present = row_slot >= 0
            slot_row[row_slot[present]] = np.flatnonzero(present)
            identity = slot_count == len(self.ids) and bool(
                (row_slot == np.arange(len(self.ids))).all()
            )
            cached = ((id(index), version), None if identity else row_slot, slot_row)
            self._slot_map = cached
        return cached[0][1], cached[1], cached[2]

    def nearest_rows(
        self, query: np.ndarray, k: int, allowed_rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The best ``k`` rows by bio cosine to ``query`` among ``allowed_rows`` (bool per row).

        Returns (rows, cosines), best first; fewer than ``k`` only when fewer are allowed.
        """
        for attempt in range(SLOT_MAP_TRIES):
            version, row_slot, slot_row = self._slot_mapping()
            if row_slot is None:
                slot_mask = allowed_rows
            else:
                slot_mask = np.zeros(len(slot_row), dtype=bool)
                slot_mask[row_slot[allowed_rows & (row_slot >= 0)]] = True
            try:
                slots, sims = self.index.search_allowed(query, k, slot_mask, version)
            except StaleSlotsError:
                # a compaction moved the slots between the mapping and the search: the
                # mask would allow whichever mentors now sit in those slots
                if attempt == SLOT_MAP_TRIES - 1:
                    raise
                continue
            rows = slot_row[slots]
            keep = rows >= 0
            return rows[keep], sims[keep]
        raise AssertionError("unreachable")

    @property
    def fingerprint(self) -> str:
        """Changes whenever a mentor's id or vectors change (index cache key); the same for
        the same mentors in any row order, as a catalog updated in place (:meth:`updated`)
        and one read afresh from the store order rows differently."""
        order = sorted(range(len(self.ids)), key=self.ids.__getitem__)
        h = hashlib.sha256(self.encoder_id.encode())
        h.update("\n".join(self.ids[i] for i in order).encode())
        h.update(np.ascontiguousarray(self.bio_vec[order]).tobytes())
        return h.hexdigest()

    @classmethod
    def build(
        cls,
        org: str,
        mentors: Sequence[MentorIn],
        encode: EncodeFn,
        encoder_id: str,
        history: MentorHistory | None = None,
    ) -> MentorCatalog:
        ids = [m.id for m in mentors]
        bios = encode_texts(encode, [m.bio for m in mentors], MAX_BIO_SENTENCES, encoder_id)
        bio_vec = bios.whole
        sent_vecs, sent_mask = bios.padded()
        sk = encode([skills_text(m.title, m.skills) for m in mentors]) if mentors else bio_vec
        languages = [frozenset(m.languages) for m in mentors]
        vocab: dict[str, int] = {}
        if history is None:  # no track record: profiles only
            empty = np.array([], dtype="datetime64[D]")
            history = MentorHistory(
                PairingHistory(
                    mentor=np.array([], np.int64), started=empty, ended=empty,
                    success=np.array([]), early=np.array([]), rating=np.array([]),
                    goals_met=np.array([]),
                )
            )  # fmt: skip
        return cls(
            org=org,
            ids=ids,
            row_of={m: i for i, m in enumerate(ids)},
            seniority=np.array([m.seniority for m in mentors], np.float32),
            timezone=[m.timezone for m in mentors],
            languages=languages,
            lang_vocab=vocab,
            lang_bits=language_bits(languages, vocab),
            skills=[normalise_tags(m.skills) for m in mentors],
            skills_raw=[list(m.skills) for m in mentors],
            department=np.array([m.department for m in mentors], dtype=object),
            capacity=np.array([m.capacity for m in mentors], np.float32),
            active=np.array([m.active for m in mentors], bool),
            location=[m.location for m in mentors],
            group=[m.group for m in mentors],
            bio_sentences=bios.pieces,
            bio_sentence_style=bios.piece_style,
            bio_vec=bio_vec,
            style=stated_styles(bios.style, mentors),
            skills_vec=sk.astype(np.float16),
            bio_sent_vecs=sent_vecs.astype(np.float16),
            bio_sent_mask=sent_mask,
            history=history,
            encoder_id=encoder_id,
        )

    def with_history(self, history: MentorHistory) -> MentorCatalog:
        """The same mentors with a new track record (pairings or responses changed): every
        array, the FAISS index and the learned-space caches are shared, not copied."""
        return replace(self, history=history)

    def updated(
        self,
        mentors: Sequence[MentorIn],
        removed: Collection[str],
        encode: EncodeFn,
        history_for: Callable[[dict[str, int]], MentorHistory],
    ) -> MentorCatalog:
        """A new catalog with ``mentors`` upserted (edited ones keep their row, new ones are
        appended) and the ``removed`` ids dropped, without re-reading or re-encoding the
        others: only the upserted mentors' texts go through ``encode``.

        Arrays are copied, never written in place, so a request still reading this catalog
        sees it unchanged. ``history_for(row_of)`` builds the track record for the new rows.
        The ranker's learned text space is carried over (only the upserted bios are mapped)
        and its search keeps its trained lists. ``index`` is shared: the caller applies the
        same upserts and removals to it (:meth:`CandidateIndex.upsert` / ``remove``).
        """
        last = {m.id: m for m in mentors if m.id not in removed}  # the last upsert of an id wins
        part = MentorCatalog.build(self.org, list(last.values()), encode, self.encoder_id)
        dropped = set(removed) & self.row_of.keys()
        if dropped:
            keep = np.fromiter((i for i, m in enumerate(self.ids) if m not in dropped), np.int64)
            ids = [self.ids[i] for i in keep]
            row_of = {m: i for i, m in enumerate(ids)}
        else:  # C-level copies: no Python loop over 100k mentors while holding the GIL
            keep, ids, row_of = np.arange(len(self.ids)), list(self.ids), dict(self.row_of)
        # where each upserted mentor lands: its own row when it was there, else appended
        target = np.empty(len(part), np.int64)
        for j, mentor_id in enumerate(part.ids):
            row = row_of.get(mentor_id)
            if row is None:
                row = row_of[mentor_id] = len(ids)
                ids.append(mentor_id)
            target[j] = row
        n_new = len(ids) - len(keep)

        kept_all = len(keep) == len(self.ids)  # nothing removed: plain copies, no gathers

        def merged(old: np.ndarray, new: np.ndarray) -> np.ndarray:
            if kept_all and not n_new and np.array_equal(old[target], new):
                return old  # e.g. bio vectors after a capacity edit: shared, not copied
            out = np.empty((len(keep) + n_new, *old.shape[1:]), old.dtype)
            out[: len(keep)] = old if kept_all else old[keep]
            if len(target):
                out[target] = new
            return out

        def merged_list(old: list[Any], new: list[Any]) -> list[Any]:
            out = (list(old) if kept_all else [old[i] for i in keep]) + [None] * n_new
            for j, row in enumerate(target):
                out[row] = new[j]
            return out

        vocab = dict(self.lang_vocab)
        part_bits = language_bits(part.languages, vocab)  # new codes get new bits in vocab
        old_bits = self.lang_bits
        if part_bits.shape[1] > old_bits.shape[1]:
            old_bits = np.pad(old_bits, ((0, 0), (0, part_bits.shape[1] - old_bits.shape[1])))
        bio_sent_vecs = merged(self.bio_sent_vecs, part.bio_sent_vecs)
        bio_sent_mask = merged(self.bio_sent_mask, part.bio_sent_mask)
        catalog = MentorCatalog(
            org=self.org,
            ids=ids,
            row_of=row_of,
            seniority=merged(self.seniority, part.seniority),
            timezone=merged_list(self.timezone, part.timezone),
            languages=merged_list(self.languages, part.languages),
            lang_vocab=vocab,
            lang_bits=merged(old_bits, part_bits),
            skills=merged_list(self.skills, part.skills),
            skills_raw=merged_list(self.skills_raw, part.skills_raw),
            department=merged(self.department, part.department),
            capacity=merged(self.capacity, part.capacity),
            active=merged(self.active, part.active),
            location=merged_list(self.location, part.location),
            group=merged_list(self.group, part.group),
            bio_sentences=merged_list(self.bio_sentences, part.bio_sentences),
            bio_sentence_style=merged_list(self.bio_sentence_style, part.bio_sentence_style),
            bio_vec=merged(self.bio_vec, part.bio_vec),
            skills_vec=merged(self.skills_vec, part.skills_vec),
            bio_sent_vecs=bio_sent_vecs,
            bio_sent_mask=bio_sent_mask,
            style=merged(self.style, part.style),
            history=history_for(row_of),
            encoder_id=self.encoder_id,
            index=self.index,
        )
        projected = self._projected
        if bio_sent_vecs is self.bio_sent_vecs and bio_sent_mask is self.bio_sent_mask:
            catalog._projected, catalog._learned = projected, self._learned  # same bios
        elif projected is not None:
            bio_map, mapped = projected
            part_mapped = np.empty((len(part), *mapped.shape[1:]), mapped.dtype)
            if len(part):
                part_mapped[:] = project_unit(part.bio_sent_vecs, bio_map, blas=True)
            catalog._projected = (bio_map, merged(mapped, part_mapped))
            learned = self._learned
            if learned is not None and learned[0] is bio_map:
                means = merged(learned[2].vectors, masked_unit_mean(
                    part_mapped, part.bio_sent_mask))  # fmt: skip
                catalog._learned = (bio_map, learned[1], learned[2].rebuilt(means))
        tagged = self._tag_table
        if tagged is not None:
            model, table = tagged
            columns = table.columns
            part_columns = tag_column_table(part.skills, model, width=columns.shape[1])
            if part_columns.shape[1] > columns.shape[1]:  # a mentor with more tags than any
                pad = part_columns.shape[1] - columns.shape[1]
                columns = np.pad(columns, ((0, 0), (0, pad)), constant_values=len(model.vocab))
            merged_table = TagTable.of(merged(columns, part_columns), len(model.vocab))
            catalog._tag_table = (model, merged_table)
        return catalog

    # ------------------------------------------------------------------ constraints
    def mentee_language_bits(self, languages: Sequence[str]) -> np.ndarray:
        bits = np.zeros(self.lang_bits.shape[1], dtype=np.uint64)
        for code in languages:
            b = self.lang_vocab.get(code)
            if b is not None:
                bits[b // 64] |= np.uint64(1) << np.uint64(b % 64)
        return bits

    def shares_language(self, languages: Sequence[str] | frozenset[str]) -> np.ndarray:
        """Per row: does the mentor speak at least one of ``languages``."""
        bits = self.mentee_language_bits(sorted(languages))
        return (self.lang_bits & bits).any(axis=1)

    def load(self, rows: np.ndarray, as_of: dt.date) -> np.ndarray:
        day = np.full(len(rows), np.datetime64(as_of, "D"))
        return self.history.load(np.asarray(rows, np.int64), day)


@dataclass
class MenteeBatch:
    """The mentee side: one row per mentee, with goal embeddings."""

    ids: list[str]
    seniority: np.ndarray
    timezone: list[str]
    languages: list[frozenset[str]]
    skills: list[frozenset[str]]
    department: np.ndarray
    excluded: list[frozenset[str]]
    goal_sentences: list[list[str]]
    goal_sentence_style: list[list[bool]]  # per piece: about working style (EncodedTexts)
    goal_vec: np.ndarray
    goal_sent_vecs: np.ndarray  # (M, S, d) float32
    goal_sent_mask: np.ndarray
    style: np.ndarray  # (M, len(STYLE_AXES)) working-style leanings of the goals
    # (goal-to-tag model, row, its tag probabilities): the last row asked for, see tag_probs
    _tag_probs: tuple[Any, int, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def tag_probs(self, model: GoalTagModel, j: int) -> np.ndarray:
        """(V,) tag probabilities of row ``j``'s goal under ``model``. A request reads them
        three times (first stage, features, reasons), so the last row's are kept."""
        cached = self._tag_probs
        if cached is not None and cached[0] is model and cached[1] == j:
            return cached[2]
        probs = model.tag_probs(self.goal_sent_vecs[j : j + 1], self.goal_sent_mask[j : j + 1])[0]
        self._tag_probs = (model, j, probs)
        return probs

    @classmethod
    def build(cls, mentees: Sequence[MenteeIn], encode: EncodeFn, encoder_id: str) -> MenteeBatch:
        goals = encode_texts(encode, [m.goals for m in mentees], MAX_GOAL_SENTENCES, encoder_id)
        sv, sm = goals.padded()
        return cls(
            ids=[m.id for m in mentees],
            seniority=np.array([m.seniority for m in mentees], np.float32),
            timezone=[m.timezone for m in mentees],
            languages=[frozenset(m.languages) for m in mentees],
            skills=[normalise_tags(m.skills) for m in mentees],
            department=np.array([m.department for m in mentees], dtype=object),
            excluded=[frozenset(m.excluded_mentor_ids) for m in mentees],
            goal_sentences=goals.pieces,
            goal_sentence_style=goals.piece_style,
            goal_vec=goals.whole,
            goal_sent_vecs=sv,
            goal_sent_mask=sm,
            style=stated_styles(goals.style, mentees),
        )


def stated_styles(
    leanings: np.ndarray, people: Sequence[MentorIn] | Sequence[MenteeIn]
) -> np.ndarray:
    """Working-style leanings read from the texts, with the profiles' form answers
    (``style_<axis>`` fields) in their place where given (:func:`features.style.with_stated_styles`)."""
    answers = [[getattr(p, name) for name in STYLE_ANSWER_FIELDS] for p in people]
    if not any(a is not None for row in answers for a in row):
        return leanings
    return with_stated_styles(leanings, answers)


def pair_inputs(
    catalog: MentorCatalog,
    mentor_rows: np.ndarray,
    mentees: MenteeBatch,
    mentee_rows: np.ndarray,
    dates: np.ndarray,
    *,
    load: np.ndarray | None = None,
    exclude_self: np.ndarray | None = None,
    text_maps: tuple[np.ndarray, np.ndarray] | None = None,
    goal_tags: GoalTagModel | None = None,
    sentences: bool = True,
    mentor_offsets: np.ndarray | None = None,
    history: dict[str, np.ndarray] | None = None,
) -> PairInputs:
    """Aligned inputs for pairs (catalog row i, mentee row j, as-of date) — training and serving
    (``text_maps`` / ``goal_tags``: the ranker's text projection and goal-to-tag model).
    ``sentences=False`` leaves out the sentence vectors (the ``SENTENCE_FEATURES`` columns
    come out NaN), for the first stage's pool; ``mentor_offsets`` and ``history``: the
    mentors' UTC offsets and track-record columns on the dates, when the caller has them."""
    mr = np.asarray(mentor_rows, np.int64)
    er = np.asarray(mentee_rows, np.int64)
    days = np.asarray(dates, dtype="datetime64[D]")
    if load is None:
        load = catalog.history.load(mr, days, exclude_self)
    # one offset per distinct (mentee, day), not per pair: a request's pairs all share one
    # (the key is unique while the dates span under 2^20 days)
    day_number = days.astype(np.int64)
    day_number = day_number - (day_number.min() if len(day_number) else 0)
    _, first, back = np.unique((er << 20) + day_number, return_index=True, return_inverse=True)
    mentee_off = np.fromiter(
        (utc_offset_hours(mentees.timezone[j], d)
         for j, d in zip(er[first], days[first].astype(object), strict=True)),
        np.float32, count=len(first),
    )[back.ravel()]  # fmt: skip
    mentor_off = (
        np.asarray(mentor_offsets, np.float32) if mentor_offsets is not None else np.fromiter(
            (utc_offset_hours(catalog.timezone[i], d)
             for i, d in zip(mr, days.astype(object), strict=True)),
            np.float32, count=len(mr),
        )
    )  # fmt: skip

    return PairInputs(
        goal_vec=mentees.goal_vec[er],
        bio_vec=catalog.bio_vec[mr],
        skills_vec=half_to_float32(catalog.skills_vec[mr]),
        sentences=sentence_inputs(catalog, mr, mentees, er, text_maps) if sentences else None,
        mentee_seniority=mentees.seniority[er],
        mentor_seniority=catalog.seniority[mr],
        mentee_utc_offset=mentee_off,
        mentor_utc_offset=mentor_off,
        mentee_languages=[mentees.languages[j] for j in er],
        mentor_languages=[catalog.languages[i] for i in mr],
        mentee_department=mentees.department[er],
        mentor_department=catalog.department[mr],
        mentee_skills=[mentees.skills[j] for j in er],
        mentor_skills=[catalog.skills[i] for i in mr],
        mentor_capacity=catalog.capacity[mr],
        mentor_load=load,
        mentee_style=mentees.style[er],
        mentor_style=catalog.style[mr],
        history=history if history is not None else catalog.history.features(mr, days),
        goal_tag_probs=goal_tag_probs(goal_tags, mentees, er) if goal_tags is not None else None,
        mentor_tag_columns=(
            catalog.tag_table(goal_tags).columns[mr] if goal_tags is not None else None
        ),
    )


@dataclass(frozen=True)
class TagTable:
    """Every mentor's known skill tags under one goal-to-tag model: ``columns`` (N, K) int32
    vocabulary columns padded with V (so catalog updates merge rows like any other array),
    ``tagged`` the mentors with at least one known tag, and ``tag_rows`` / ``tag_bounds`` the
    mentors listing each tag (rows of tag ``t``: ``tag_rows[tag_bounds[t]:tag_bounds[t + 1]]``)."""

    columns: np.ndarray
    tagged: np.ndarray
    tag_rows: np.ndarray
    tag_bounds: np.ndarray

    @classmethod
    def of(cls, columns: np.ndarray, n_tags: int) -> TagTable:
        known = columns < n_tags
        counts = known.sum(axis=1)
        tags = columns[known]
        order = np.argsort(tags, kind="stable")
        owners = np.repeat(np.arange(len(columns), dtype=np.int64), counts)
        return cls(
            columns, counts > 0, owners[order],
            np.searchsorted(tags[order], np.arange(n_tags + 1)).astype(np.int64),
        )  # fmt: skip

    def scores(self, rows: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """``text_goal_tags`` of mentors ``rows`` for a goal's tag probabilities ``probs``."""
        return tag_coverage(probs, self.columns[rows])


def tag_column_table(
    skills: Sequence[frozenset[str]], model: GoalTagModel, width: int = 1
) -> np.ndarray:
    """(len(skills), K >= width) int32 vocabulary columns of each mentor's known tags, padded
    with ``len(model.vocab)``."""
    known = [[model.index[t] for t in tags if t in model.index] for tags in skills]
    table = np.full((len(known), max([width, *map(len, known)])), len(model.vocab), np.int32)
    for row, cols in enumerate(known):
        table[row, : len(cols)] = cols
    return table


def goal_tag_probs(model: GoalTagModel, mentees: MenteeBatch, er: np.ndarray) -> np.ndarray:
    """(len(er), V) tag probabilities of mentee rows ``er``, each distinct goal read once."""
    distinct, back = np.unique(er, return_inverse=True)
    if len(distinct) == 1:  # serving: one mentee's candidates
        return np.broadcast_to(
            mentees.tag_probs(model, int(distinct[0])), (len(er), len(model.vocab))
        )
    probs = model.tag_probs(mentees.goal_sent_vecs[distinct], mentees.goal_sent_mask[distinct])
    return probs[back.ravel()]


def sentence_inputs(
    catalog: MentorCatalog,
    mr: np.ndarray,
    mentees: MenteeBatch,
    er: np.ndarray,
    text_maps: tuple[np.ndarray, np.ndarray] | None = None,
) -> SentenceInputs:
    """The sentence vectors of pairs (catalog row, mentee row), projected into the ranker's
    learned text space too where ``text_maps`` is given."""
    goal_proj, bio_proj = (
        projected_sentences(catalog, mr, mentees, er, text_maps)
        if text_maps is not None
        else (None, None)
    )
    return SentenceInputs(
        goal_sents=mentees.goal_sent_vecs[er], goal_mask=mentees.goal_sent_mask[er],
        bio_sents=half_to_float32(catalog.bio_sent_vecs[mr]), bio_mask=catalog.bio_sent_mask[mr],
        goal_proj=goal_proj, bio_proj=bio_proj,
    )  # fmt: skip


def projected_sentences(
    catalog: MentorCatalog,
    mr: np.ndarray,
    mentees: MenteeBatch,
    er: np.ndarray,
    text_maps: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """``goal_proj`` / ``bio_proj`` of :class:`PairInputs` for pairs (catalog row, mentee
    row): each distinct goal's sentences mapped once (one goal per request when serving),
    bio sentences from the catalog's cache."""
    goal_map, bio_map = text_maps
    distinct, back = np.unique(er, return_inverse=True)
    goals = project_unit(mentees.goal_sent_vecs[distinct], goal_map)
    return goals[back.ravel()], half_to_float32(catalog.projected_bios(bio_map)[mr])
