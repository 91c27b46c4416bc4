"""Fit the ranker's text projection (``text_adapted``) on who was paired with whom.

Mentees write goals as problems ("my charts get ignored", "I dread my on-call week"); mentors
write bios as fields ("data storytelling", "incident response"). A general-purpose sentence
encoder keeps the two registers apart: on generated data the cosine of goals and bios
correlated 0.07 with the latent topic fit. The programme's own pairings say which goals went
with which bios, so two small linear maps of sentence vectors (goal side, bio side;
``d -> RANK``) are fitted with a contrastive loss: each pairing's goal should match its own
mentor's bio better than the other bios in the batch (in-batch negatives, symmetric InfoNCE).
A goal matches a bio sentence by sentence (:func:`features.text.adapted_similarity`: each
goal sentence's best match among the bio's, averaged), so the topic sentences meet without
being averaged with the rest. On held-out mentees (seed 3, ad hoc) the similarity correlated
0.45 with the topic fit within each mentee's candidates; mapping whole-text vectors instead
(the first version) gave 0.33, raw cosine 0.12.

Positives are the pairings that went well (completed with a high rating or goals met): a
programme's pairings were formed by whatever process it had, good and bad matches alike, and
only the good ones say which goals belong with which bios. Against fitting on every pairing
this raised NDCG@10 against the generator's truth on all five seeds tried (mean 0.738 ->
0.749; seeds 3/5/7/11/13). Programmes with fewer than ``MIN_PAIRS`` good pairings fall back
to all of them. How much the similarity is worth is still the ranker's to learn, from outcomes.

Mentors a mentee *asked for* from a logged list are positives too, whatever happened next (a
decline, a pairing that went wrong for other reasons): the mentee read the bio and judged it
relevant to their goal, which is exactly what this space should capture, and it is the one
signal about text that does not wait for an outcome. On seed 3 this raised the similarity's
within-mentee correlation with the topic fit from 0.434 to 0.457 and NDCG@10 against the
generator's truth on seeds 3 / 5 / 7 from 0.804 / 0.809 / 0.790 to 0.810 / 0.810 / 0.791
(within the spread, never lower). Tried, not kept: a list-wise loss over each logged list
(asked-for against shown-but-not-asked-for, weight 1 or 0.2) lowered the correlation to
0.39-0.44: a request also follows list position and chance, so the hard negatives are noisy.

No leakage into the ranker's rows: positives are pairings that started before the
validation cut-off, and each training row's ``text_adapted`` comes from a projection fitted
without its mentee's pairings (``FOLDS``-fold cross-fitting by mentee). Validation rows use
the projection fitted on all the pre-cut-off positives, which is also the one the bundle
serves. Programmes with fewer than ``MIN_PAIRS`` pairings in all get no projection (the column
is NaN and the ranker does without it).
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from features.labels import COMPLETED_HIGH
from features.pairs import FEATURE_NAMES
from features.text import adapted_similarity
from models.text_projection import TextProjection

if TYPE_CHECKING:
    from recsys.catalog import MenteeBatch, MentorCatalog
    from training.ranker import RankingDataset

log = logging.getLogger(__name__)
M = TypeVar("M")

# From sweeps on seeds 3/5/7/11/13 (NDCG@10 against the generator's truth, mean 0.770 here):
# rank 128 0.775, temperature 0.2 0.767 (both within noise); 15 passes of 128 took 23 s
# instead of 39 s for `recsys train ranker` (1,500 / 6,000) but gave 0.764, lower on 3 seeds.
RANK = 64
EPOCHS = 30
BATCH = 256
TEMPERATURE = 0.1
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-4
FOLDS = 4
MIN_PAIRS = 300
# Passes stop at this many optimiser steps (about 18 ms each here): convergence goes with
# steps, not passes, and a programme with 100k pairings would otherwise spend many minutes
# here (30 passes, 5 fits). 1,500 / 6,000 programmes take 420 steps per fit.
MAX_STEPS = 1000
COLUMN = FEATURE_NAMES.index("text_adapted")


@dataclass(frozen=True)
class AdapterConfig:
    rank: int = RANK
    epochs: int = EPOCHS
    batch: int = BATCH
    temperature: float = TEMPERATURE
    learning_rate: float = LEARNING_RATE
    weight_decay: float = WEIGHT_DECAY
    folds: int = FOLDS
    min_pairs: int = MIN_PAIRS
    max_steps: int = MAX_STEPS

    def epochs_for(self, n_pairs: int) -> int:
        """Passes over ``n_pairs`` positives: ``epochs``, fewer if that exceeds ``max_steps``."""
        batches = max(1, -(-n_pairs // self.batch))
        return max(1, min(self.epochs, self.max_steps // batches))


def fit_text_projection(
    goal_sents: np.ndarray,
    goal_mask: np.ndarray,
    bio_sents: np.ndarray,
    bio_mask: np.ndarray,
    pairs: np.ndarray,
    *,
    config: AdapterConfig | None = None,
    seed: int = 0,
) -> TextProjection:
    """Maps under which goal ``pairs[:, 0]`` matches bio ``pairs[:, 1]`` best.

    ``goal_sents`` (M, S, d) and ``bio_sents`` (N, T, d) are unit sentence vectors with
    boolean masks (M, S) and (N, T); ``pairs`` is (n, 2) of row indices (goal row, bio row).
    A goal and a bio are compared as the ranker's feature compares them
    (:func:`features.text.adapted_similarity`): each goal sentence's best match among the bio
    sentences, averaged over the goal sentences.
    """
    import torch

    cfg = config or AdapterConfig()
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    if len(pairs) < 2:
        raise ValueError("fitting a text projection needs at least two pairs")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    # only the rows in pairs, as float32 (a 100k-mentor catalog's float16 sentences stay put)
    goal_rows, goal_of = np.unique(pairs[:, 0], return_inverse=True)
    bio_rows, bio_of = np.unique(pairs[:, 1], return_inverse=True)
    pairs = np.column_stack([goal_of.ravel(), bio_of.ravel()])
    goals = torch.from_numpy(np.asarray(goal_sents[goal_rows], np.float32))
    bios = torch.from_numpy(np.asarray(bio_sents[bio_rows], np.float32))
    goal_ok = torch.from_numpy(np.asarray(goal_mask[goal_rows], bool))
    bio_ok = torch.from_numpy(np.asarray(bio_mask[bio_rows], bool))
    dim = goals.shape[-1]
    w_goal = torch.nn.Parameter(torch.randn(dim, cfg.rank) * 0.05)
    w_bio = torch.nn.Parameter(torch.randn(dim, cfg.rank) * 0.05)
    opt = torch.optim.Adam([w_goal, w_bio], lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    normalize = torch.nn.functional.normalize
    cross_entropy = torch.nn.functional.cross_entropy

    def similarity(gi: Any, bi: Any) -> Any:
        """Every goal of ``gi`` against every bio of ``bi``: (len(gi), len(bi))."""
        g = normalize(goals[gi] @ w_goal, dim=-1)
        b = normalize(bios[bi] @ w_bio, dim=-1)
        sims = torch.einsum("isr,jtr->ijst", g, b).masked_fill(~bio_ok[bi][None, :, None, :], -2.0)
        weight = goal_ok[gi].float()[:, None, :]
        return (sims.max(dim=3).values * weight).sum(-1) / weight.sum(-1).clamp(min=1.0)

    for _ in range(cfg.epochs_for(len(pairs))):
        order = rng.permutation(len(pairs))
        for lo in range(0, len(pairs), cfg.batch):
            batch = torch.from_numpy(pairs[order[lo : lo + cfg.batch]])
            if len(batch) < 2:
                continue  # one pair has no in-batch negative
            logits = similarity(batch[:, 0], batch[:, 1]) / cfg.temperature
            target = torch.arange(len(batch))
            loss = (cross_entropy(logits, target) + cross_entropy(logits.T, target)) / 2
            opt.zero_grad()
            loss.backward()
            opt.step()
    return TextProjection(
        w_goal.detach().numpy().astype(np.float32), w_bio.detach().numpy().astype(np.float32)
    )


def mentee_folds(mentee_ids: np.ndarray, folds: int) -> np.ndarray:
    """A stable fold per mentee id (the same across runs and processes)."""
    return np.fromiter(
        (zlib.crc32(str(m).encode()) % folds for m in mentee_ids), np.int64, len(mentee_ids)
    )


@dataclass(frozen=True)
class PositivePairs:
    """Who goes with whom, for the models fitted on text (this projection and the goal-to-tag
    model, :mod:`training.goal_tags`): distinct (mentee row, mentor row) pairs that started
    before the validation cut-off, the dataset row of each one's first occurrence, and what
    counted as positive."""

    pairs: np.ndarray  # (n, 2)
    first: np.ndarray  # (n,) dataset rows
    later: np.ndarray  # dataset rows on/after the cut-off (validation)
    kind: str  # "good_outcomes" or "all_pairings"
    requested_rows: int


def positive_pairs(ds: RankingDataset, min_pairs: int = MIN_PAIRS) -> PositivePairs:
    """The pairings that went well and the mentors mentees asked for, both before the
    validation cut-off; all pairings when fewer than ``min_pairs`` went well (module doc)."""
    from training.ranker import time_split

    later, _ = time_split(ds)
    paired = ~ds.from_log & ~later  # build_examples already dropped unknown mentors
    # mentors a mentee asked for from a logged list: the bio read as relevant to the goal,
    # whatever happened next (see the module docstring)
    requested = ds.from_log & ~later & (ds.requested if ds.requested is not None else False)
    kind = "good_outcomes"
    pairs, first = _unique_pairs(ds, (paired & (ds.labels >= COMPLETED_HIGH)) | requested)
    if len(pairs) < min_pairs:
        kind = "all_pairings"
        pairs, first = _unique_pairs(ds, paired | requested)
    return PositivePairs(pairs, first, later, kind, int(requested.sum()))


def cross_fitted(
    ds: RankingDataset,
    positives: PositivePairs,
    folds: int,
    fit: Callable[[np.ndarray, int], M],
    fill: Callable[[np.ndarray, M], None],
    *,
    seed: int = 0,
) -> M:
    """Fit on every positive pair and ``fill`` the validation rows with that model; fill each
    earlier row with a model fitted without its mentee's pairs (``folds`` folds by mentee),
    so no training row's column has seen its own pairing. Returns the full model."""
    full = fit(positives.pairs, seed)
    fill(positives.later, full)
    row_fold = mentee_folds(ds.mentee_ids, folds)
    pair_fold = row_fold[positives.first]
    for fold in range(folds):
        rows = ~positives.later & (row_fold == fold)
        if rows.any():
            fill(rows, fit(positives.pairs[pair_fold != fold], seed + 1 + fold))
    return full


def fill_text_adapted(
    ds: RankingDataset,
    catalog: MentorCatalog,
    mentees: MenteeBatch,
    *,
    config: AdapterConfig | None = None,
    seed: int = 0,
) -> dict[str, Any] | None:
    """Fit the projection, write ``text_adapted`` into ``ds.x`` (cross-fitted, see the module
    docstring) and set ``ds.text_projection``. Returns how it was fitted, or None (and leaves
    the column NaN) when there are too few pairings."""
    cfg = config or AdapterConfig()
    positives = positive_pairs(ds, cfg.min_pairs)
    if len(positives.pairs) < cfg.min_pairs:
        log.info("%d pairings before the cut-off: no text projection", len(positives.pairs))
        ds.text_projection = None
        return None
    sentences = (mentees.goal_sent_vecs, mentees.goal_sent_mask,
                 catalog.bio_sent_vecs, catalog.bio_sent_mask)  # fmt: skip

    def fit(pairs: np.ndarray, fit_seed: int) -> TextProjection:
        return fit_text_projection(*sentences, pairs, config=cfg, seed=fit_seed)

    def fill(rows: np.ndarray, projection: TextProjection) -> None:
        ds.x[rows, COLUMN] = adapted_column(ds, rows, catalog, mentees, projection.maps)

    ds.text_projection = cross_fitted(ds, positives, cfg.folds, fit, fill, seed=seed)
    return {
        "rank": cfg.rank,
        "epochs": cfg.epochs_for(len(positives.pairs)),
        "temperature": cfg.temperature,
        "folds": cfg.folds,
        "pairs": len(positives.pairs),
        "positives": positives.kind,
        "requested_rows": positives.requested_rows,
    }


def adapted_column(
    ds: RankingDataset,
    rows: np.ndarray,
    catalog: MentorCatalog,
    mentees: MenteeBatch,
    maps: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """``text_adapted`` of the dataset rows in ``rows`` (a mask) under the projection
    ``maps``: the serving computation (:func:`recsys.catalog.projected_sentences`), chunked."""
    from recsys.catalog import projected_sentences

    out = np.empty(int(rows.sum()), np.float32)
    for part, mr, er in row_chunks(ds, rows):
        goal_proj, bio_proj = projected_sentences(catalog, mr, mentees, er, maps)
        out[part] = adapted_similarity(
            goal_proj, mentees.goal_sent_mask[er], bio_proj, catalog.bio_sent_mask[mr]
        )
    return out


def row_chunks(
    ds: RankingDataset, rows: np.ndarray, size: int = 4096
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The rows in mask ``rows`` in chunks of about ``size``: (positions among those rows,
    their mentor rows, their mentee rows), so a column is computed in bounded memory."""
    picked = np.flatnonzero(rows)
    for part in np.array_split(np.arange(len(picked)), max(1, len(picked) // size + 1)):
        yield part, ds.mentor_rows[picked[part]], ds.mentee_rows[picked[part]]


def _unique_pairs(ds: RankingDataset, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (mentee row, mentor row) pairs of the rows in ``mask`` and the dataset
    row of each one's first occurrence."""
    pairs, first = np.unique(
        np.column_stack([ds.mentee_rows[mask], ds.mentor_rows[mask]]), axis=0, return_index=True
    )
    return pairs, np.flatnonzero(mask)[first]
