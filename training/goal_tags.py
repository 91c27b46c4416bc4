"""Fit the ranker's goal-to-tag model (``text_goal_tags``) on who was paired with whom.

The learned text space (:mod:`training.text_adapter`) matches goal sentences with bio
sentences: two free-text registers, both noisy. Mentors also list skill tags, a short and
deliberate statement of what they offer. Here each positive pair (a pairing that went well, or
a mentor the mentee asked for: :func:`training.text_adapter.positive_pairs`) teaches which
tags a goal like this one calls for: a linear layer over each goal sentence, pooled over the
sentences and soft-maxed over the tag vocabulary (:class:`models.goal_tags.GoalTagModel`), is
fitted to the mentor's tags (cross-entropy against the mentor's tags, equally weighted).
The column is the mean probability the model gives the candidate mentor's tags.

On a generated programme (1,500 mentors, 6,000 mentees, seed 3; 300 held-out mentees x 150
random mentors each, ad hoc) its within-mentee correlation with the latent topic fit was 0.60,
against 0.44 for ``text_adapted``, 0.13 for raw goal-bio cosine. Ranking quality is in the
README ("The ranker").

Fitting stops when the cross-entropy on a tenth of the pairs held out (by mentee) has not
improved for ``PATIENCE`` checks: the right number of steps grows with the programme
(programmes of a few hundred pairings overfit in a few hundred steps). The vocabulary is the
tags at least ``MIN_TAG_MENTORS`` mentors list (at most ``MAX_TAGS``, the most common): a tag
only one mentor has cannot be learned from pairings. Rows are cross-fitted like
``text_adapted`` (:func:`training.text_adapter.cross_fitted`), so no training row's value has
seen its own pairing.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from features.pairs import FEATURE_NAMES
from features.text import tag_coverage
from models.goal_tags import GoalTagModel
from training.text_adapter import (
    MIN_PAIRS,
    cross_fitted,
    mentee_folds,
    positive_pairs,
    row_chunks,
)

if TYPE_CHECKING:
    from recsys.catalog import MenteeBatch, MentorCatalog
    from training.ranker import RankingDataset

log = logging.getLogger(__name__)
COLUMN = FEATURE_NAMES.index("text_goal_tags")
# From a sweep on seed 3 (correlation with the latent topic fit, ad hoc): learning rate 0.01
# with 60 passes 0.58, 0.003 with 30 / 60 / 200 passes 0.61 / 0.62 / 0.60 (more passes
# overfit), weight decay 0.1-1 no better. Early stopping on held-out pairs replaces the pass
# count, which depends on the programme's size.
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-2
BATCH = 256
MAX_STEPS = 3000
CHECK_EVERY = 50  # steps between held-out checks
PATIENCE = 4  # checks without improvement before stopping
HOLDOUT = 0.1
MIN_TAG_MENTORS = 2
MAX_TAGS = 4096
FOLDS = 4


@dataclass(frozen=True)
class GoalTagConfig:
    learning_rate: float = LEARNING_RATE
    weight_decay: float = WEIGHT_DECAY
    batch: int = BATCH
    max_steps: int = MAX_STEPS
    check_every: int = CHECK_EVERY
    patience: int = PATIENCE
    holdout: float = HOLDOUT
    min_tag_mentors: int = MIN_TAG_MENTORS
    max_tags: int = MAX_TAGS
    folds: int = FOLDS
    min_pairs: int = MIN_PAIRS


def tag_vocabulary(
    mentor_tags: list[frozenset[str]], min_mentors: int = MIN_TAG_MENTORS, max_tags: int = MAX_TAGS
) -> tuple[str, ...]:
    """Tags listed by at least ``min_mentors`` mentors, the ``max_tags`` most common, sorted."""
    counts = Counter(t for tags in mentor_tags for t in tags)
    common = [t for t, c in counts.most_common(max_tags) if c >= min_mentors]
    return tuple(sorted(common))


def tag_targets(mentor_tags: list[frozenset[str]], vocab: tuple[str, ...]) -> np.ndarray:
    """(N, V) each mentor's known tags, equally weighted (rows sum to 1, or 0 without any)."""
    index = {t: i for i, t in enumerate(vocab)}
    out = np.zeros((len(mentor_tags), len(vocab)), np.float32)
    for r, tags in enumerate(mentor_tags):
        cols = [index[t] for t in tags if t in index]
        if cols:
            out[r, cols] = 1.0 / len(cols)
    return out


def fit_goal_tags(
    goal_sents: np.ndarray,
    goal_mask: np.ndarray,
    targets: np.ndarray,
    vocab: tuple[str, ...],
    pairs: np.ndarray,
    *,
    config: GoalTagConfig | None = None,
    seed: int = 0,
) -> GoalTagModel:
    """A model under which goal ``pairs[:, 0]`` calls for the tags ``targets[pairs[:, 1]]``.

    ``goal_sents`` (M, S, d) unit sentence vectors with an (M, S) mask; ``targets`` (N, V)
    from :func:`tag_targets`; pairs whose mentor has no known tag are left out."""
    import torch

    cfg = config or GoalTagConfig()
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    pairs = pairs[targets[pairs[:, 1]].sum(axis=1) > 0]
    if len(pairs) < 2 or not vocab:
        raise ValueError("fitting a goal-to-tag model needs two pairs with known tags")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    # hold out a tenth of the mentees' pairs for early stopping
    held = mentee_folds(pairs[:, 0].astype(str), max(2, round(1 / cfg.holdout))) == 0
    if held.all() or not held.any():
        held = np.zeros(len(pairs), bool)
    goal_rows, goal_index = np.unique(pairs[:, 0], return_inverse=True)
    sents = torch.from_numpy(np.asarray(goal_sents[goal_rows], np.float32))
    ok = torch.from_numpy(np.asarray(goal_mask[goal_rows], bool))
    target = torch.from_numpy(targets[pairs[:, 1]])
    goal_of = torch.from_numpy(goal_index.ravel())
    layer = torch.nn.Linear(sents.shape[-1], len(vocab))
    opt = torch.optim.AdamW(layer.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)

    def loss_of(idx: np.ndarray) -> Any:
        i = torch.from_numpy(idx)
        logits = layer(sents[goal_of[i]]).masked_fill(~ok[goal_of[i]][..., None], -1e9)
        # log-mean-exp over the goal's sentences: one sentence naming a need is enough
        pooled = torch.logsumexp(logits, dim=1) - torch.log(
            ok[goal_of[i]].sum(1, keepdim=True).clamp(min=1).float()
        )
        return -(target[i] * torch.log_softmax(pooled, dim=-1)).sum(1).mean()

    train_idx, held_idx = np.flatnonzero(~held), np.flatnonzero(held)
    best, best_state, stale, step = np.inf, None, 0, 0
    while step < cfg.max_steps and stale < cfg.patience:
        order = rng.permutation(train_idx)
        for lo in range(0, len(order), cfg.batch):
            loss = loss_of(order[lo : lo + cfg.batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if len(held_idx) and step % cfg.check_every == 0:
                with torch.no_grad():
                    value = float(loss_of(held_idx))
                if value < best - 1e-4:
                    best, stale = value, 0
                    best_state = {k: v.clone() for k, v in layer.state_dict().items()}
                else:
                    stale += 1
            if step >= cfg.max_steps or stale >= cfg.patience:
                break
    if best_state is not None:
        layer.load_state_dict(best_state)
    return GoalTagModel(
        layer.weight.detach().numpy().T.astype(np.float32).copy(),
        layer.bias.detach().numpy().astype(np.float32).copy(),
        vocab,
    )


def goal_tags_column(
    ds: RankingDataset,
    rows: np.ndarray,
    catalog: MentorCatalog,
    mentees: MenteeBatch,
    model: GoalTagModel,
) -> np.ndarray:
    """``text_goal_tags`` of the dataset rows in ``rows`` (a mask): the serving computation
    (:func:`recsys.catalog.goal_tag_probs`, :func:`features.text.tag_coverage`), chunked."""
    from recsys.catalog import goal_tag_probs, tag_column_table

    columns = tag_column_table(catalog.skills, model)
    out = np.empty(int(rows.sum()), np.float32)
    for part, mr, er in row_chunks(ds, rows):
        out[part] = tag_coverage(goal_tag_probs(model, mentees, er), columns[mr])
    return out


def fill_goal_tags(
    ds: RankingDataset,
    catalog: MentorCatalog,
    mentees: MenteeBatch,
    *,
    config: GoalTagConfig | None = None,
    seed: int = 0,
) -> tuple[GoalTagModel | None, dict[str, Any] | None]:
    """Fit the model, write ``text_goal_tags`` into ``ds.x`` (cross-fitted) and return it with
    how it was fitted; (None, None), leaving the column NaN, with too few pairings or tags."""
    cfg = config or GoalTagConfig()
    vocab = tag_vocabulary(catalog.skills, cfg.min_tag_mentors, cfg.max_tags)
    targets = tag_targets(catalog.skills, vocab)
    positives = positive_pairs(ds, cfg.min_pairs)
    usable = int((targets[positives.pairs[:, 1]].sum(axis=1) > 0).sum()) if vocab else 0
    if usable < cfg.min_pairs:
        log.info("%d positive pairs with known tags: no goal-to-tag model", usable)
        return None, None

    def fit(pairs: np.ndarray, fit_seed: int) -> GoalTagModel:
        return fit_goal_tags(
            mentees.goal_sent_vecs, mentees.goal_sent_mask, targets, vocab, pairs,
            config=cfg, seed=fit_seed,
        )  # fmt: skip

    def fill(rows: np.ndarray, model: GoalTagModel) -> None:
        ds.x[rows, COLUMN] = goal_tags_column(ds, rows, catalog, mentees, model)

    model = cross_fitted(ds, positives, cfg.folds, fit, fill, seed=seed)
    return model, {
        "tags": len(vocab),
        "pairs": usable,
        "positives": positives.kind,
        "folds": cfg.folds,
        "min_tag_mentors": cfg.min_tag_mentors,
    }
