"""Pure text-similarity features over sentence embeddings (L2-normalised vectors).

A mentee's goals and a mentor's bio are compared three ways: the whole texts, the best
matching pair of sentences (a one-line goal buried in a long bio still counts), and the goals
against the mentor's skills and title. Vectors are computed by the caller (cached encoder).
"""

from __future__ import annotations

import re

import numpy as np

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")


def split_sentences(text: str, max_sentences: int = 6, min_chars: int = 12) -> list[str]:
    """Split free text into at most ``max_sentences`` sentence-like pieces.

    Short fragments are merged into their neighbour so each piece carries meaning; the whole
    text is returned as one piece when it does not split.
    """
    parts = [p.strip() for p in _SENTENCE_END.split(text or "") if p and p.strip()]
    merged: list[str] = []
    for p in parts:
        if merged and len(p) < min_chars:
            merged[-1] = f"{merged[-1]} {p}"
        else:
            merged.append(p)
    if not merged:
        return [text.strip()] if text and text.strip() else []
    if len(merged) > max_sentences:
        merged = [*merged[: max_sentences - 1], " ".join(merged[max_sentences - 1 :])]
    return merged


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two aligned matrices of normalised vectors."""
    return np.einsum("ij,ij->i", a, b, dtype=np.float32)


def best_sentence_match(
    query_sents: np.ndarray, query_mask: np.ndarray, doc_sents: np.ndarray, doc_mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Max-sim between sentence sets, per pair.

    query_sents (n, S, d), doc_sents (n, T, d) with boolean masks (n, S), (n, T).
    Returns (best, mean_best, best_query_idx, best_doc_idx): the best single sentence pair,
    the mean over query sentences of their best match (coverage of all goals), and which
    sentences matched best (for reasons).
    """
    sims = np.einsum("nsd,ntd->nst", query_sents, doc_sents, dtype=np.float32)
    sims = np.where(query_mask[:, :, None] & doc_mask[:, None, :], sims, -np.inf)
    per_query = sims.max(axis=2)  # (n, S)
    flat = sims.reshape(len(sims), -1).argmax(axis=1)
    best_q, best_d = np.divmod(flat, sims.shape[2])
    best = per_query.max(axis=1)
    valid = np.isfinite(per_query)
    mean_best = np.where(valid, per_query, 0.0).sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
    best = np.where(np.isfinite(best), best, np.nan).astype(np.float32)
    return best, mean_best.astype(np.float32), best_q, best_d


def pad_sentences(vectors: list[np.ndarray], width: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Stack variable-length sentence matrices into (n, width, dim) plus a mask."""
    out = np.zeros((len(vectors), width, dim), dtype=np.float32)
    mask = np.zeros((len(vectors), width), dtype=bool)
    for i, v in enumerate(vectors):
        m = min(len(v), width)
        out[i, :m] = v[:m]
        mask[i, :m] = True
    return out, mask


def adapted_match(
    goal_proj: np.ndarray, goal_mask: np.ndarray, bio_proj: np.ndarray, bio_mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Goals against bios in the ranker's learned text space: each goal sentence's best match
    among the bio's sentences, averaged over the goal sentences; and the best single pair
    (goal sentence, bio sentence), which is the one worth quoting in a reason.

    ``goal_proj`` (n, S, r) and ``bio_proj`` (n, T, r) are sentence vectors already mapped into
    a shared space in which mentors sit close to the goals of the mentees they paired well with
    (``training.text_adapter``), so a goal put as a problem ("my charts get ignored") can meet
    expertise put as a field ("data storytelling"), which raw sentence similarity keeps apart.
    Matching sentence by sentence lets the topic sentences of a goal find the topic sentences
    of a bio without being averaged with the greetings and the hobbies.
    """
    _, mean_best, best_goal, best_bio = best_sentence_match(
        goal_proj, goal_mask, bio_proj, bio_mask
    )
    return mean_best, best_goal, best_bio


def adapted_similarity(
    goal_proj: np.ndarray, goal_mask: np.ndarray, bio_proj: np.ndarray, bio_mask: np.ndarray
) -> np.ndarray:
    """The ``text_adapted`` column: :func:`adapted_match`'s similarity alone."""
    return adapted_match(goal_proj, goal_mask, bio_proj, bio_mask)[0]


def masked_unit_mean(sentences: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The unit-length mean of each text's unmasked sentence vectors: (..., T, r) with mask
    (..., T) -> (..., r); a text with no sentence stays zero. The one-vector stand-in for a
    text in the learned space, computed alike for bios (cached) and goals (per request)."""
    mean = (np.asarray(sentences, np.float32) * mask[..., None]).sum(axis=-2)
    mean /= np.maximum(np.linalg.norm(mean, axis=-1, keepdims=True), 1e-12)
    return mean


def project_unit(vectors: np.ndarray, proj: np.ndarray, *, blas: bool = False) -> np.ndarray:
    """Vectors (the last axis, d) mapped by ``proj`` (d, r) and scaled to unit length; an
    all-zero (padding) vector stays zero.

    einsum unless ``blas``: a (100, 384) x (384, 64) product per request through OpenBLAS's
    threads doubled a request's CPU under load (helper threads spin), so serving maps one goal
    per request and reads the mentors' mapped bios from the catalog, mapped once with BLAS
    (:meth:`MentorCatalog.projected_bios`).
    """
    v, p = np.asarray(vectors, np.float32), np.asarray(proj, np.float32)
    if blas:
        out = (v.reshape(-1, v.shape[-1]) @ p).reshape(*v.shape[:-1], p.shape[1])
    else:
        out = np.einsum("...d,dr->...r", v, p)
    out /= np.maximum(np.linalg.norm(out, axis=-1, keepdims=True), 1e-12)
    return out.astype(np.float32, copy=False)


def tag_coverage(tag_probs: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """The ``text_goal_tags`` column: for each mentor, the mean over their skill tags of the
    probability the goal-to-tag model gives them. ``columns`` (n, K) are the vocabulary
    columns of each mentor's known tags, padded with V (``recsys.catalog.tag_column_table``);
    ``tag_probs`` is (n, V), one goal per row, or (V,), one goal for every row. Averaging, not
    summing, keeps a long tag list from winning by length. NaN where the mentor has no tag
    the model knows."""
    probs = np.asarray(tag_probs, np.float64)
    n_tags = probs.shape[-1]
    padded = np.concatenate([probs, np.zeros((*probs.shape[:-1], 1))], axis=-1)  # padding: 0
    values = padded[columns] if padded.ndim == 1 else np.take_along_axis(padded, columns, axis=1)
    counts = (columns < n_tags).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, values.sum(axis=1) / counts, np.nan).astype(np.float32)
