import numpy as np
import pytest

from features.text import best_sentence_match, pad_sentences, split_sentences


def test_split_sentences_merges_fragments_and_caps_count():
    assert split_sentences("I lead teams. Ok. I coach new managers!") == [
        "I lead teams. Ok.",
        "I coach new managers!",
    ]
    assert len(split_sentences(". ".join(f"Sentence number {i}" for i in range(10)), 4)) == 4
    assert split_sentences("") == []


def test_best_sentence_match_finds_the_matching_pair():
    e = np.eye(4, dtype=np.float32)
    q, qm = pad_sentences([e[[0, 1]]], 3, 4)
    d, dm = pad_sentences([e[[2, 1, 3]]], 3, 4)
    best, mean_best, bq, bd = best_sentence_match(q, qm, d, dm)
    assert best[0] == 1.0 and (bq[0], bd[0]) == (1, 1)
    assert mean_best[0] == 0.5  # one of two goal sentences is covered


def test_adapted_similarity_is_sentence_max_sim_in_the_mapped_space():
    from features.text import adapted_similarity, project_unit

    rng = np.random.default_rng(0)
    goals, gm = pad_sentences([rng.normal(size=(2, 6)), rng.normal(size=(3, 6))], 3, 6)
    bios, bm = pad_sentences([rng.normal(size=(3, 6)), rng.normal(size=(1, 6))], 3, 6)
    eye = np.eye(6, dtype=np.float32)
    g, b = project_unit(goals, eye), project_unit(bios, eye)
    assert np.allclose(np.linalg.norm(g[gm], axis=1), 1.0) and not g[~gm].any()  # padding stays 0
    # identity maps: the mean over goal sentences of their best cosine with a bio sentence
    cos = np.einsum("nsd,ntd->nst", g, b)
    expect = [cos[0, :2, :3].max(axis=1).mean(), cos[1, :3, :1].max(axis=1).mean()]
    assert np.allclose(adapted_similarity(g, gm, b, bm), expect, atol=1e-6)
    # maps sending both sides onto one axis: sentences on the same side of it agree fully
    first = np.zeros((6, 1), np.float32)
    first[0, 0] = 1.0
    same = adapted_similarity(
        project_unit(np.abs(goals), first), gm, project_unit(np.abs(bios), first), bm
    )
    assert np.allclose(same, 1.0, atol=1e-6)
    assert np.array_equal(project_unit(goals, eye, blas=True).shape, g.shape)
    assert np.allclose(project_unit(goals, eye, blas=True), g, atol=1e-6)


def test_tag_coverage_is_the_mean_probability_of_the_mentors_known_tags():
    from features.text import tag_coverage

    probs = np.array([0.6, 0.3, 0.1], np.float32)  # sql, python, coaching
    columns = np.array([[0, 1], [0, 3], [3, 3]])  # padded with 3, past the vocabulary
    got = tag_coverage(np.tile(probs, (3, 1)), columns)
    assert got[0] == pytest.approx(0.45)  # mean, not sum: a long list does not win by length
    assert got[1] == pytest.approx(0.6)  # padding is neither scored nor counted
    assert np.isnan(got[2])  # no known tag: nothing to say
    assert np.array_equal(tag_coverage(probs, columns), got, equal_nan=True)  # one goal, all rows
