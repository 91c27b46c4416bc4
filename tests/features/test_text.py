import numpy as np

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


def test_projected_cosine_is_cosine_under_identity_maps_and_follows_the_maps():
    from features.text import projected_cosine

    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 6)).astype(np.float32)
    b = rng.normal(size=(5, 6)).astype(np.float32)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b /= np.linalg.norm(b, axis=1, keepdims=True)
    eye = np.eye(6, dtype=np.float32)
    assert np.allclose(projected_cosine(a, b, eye, eye), np.einsum("ij,ij->i", a, b), atol=1e-6)
    # a map that sends both sides onto the first axis makes every pair agree up to sign
    first = np.zeros((6, 1), np.float32)
    first[0, 0] = 1.0
    assert np.allclose(np.abs(projected_cosine(a, b, first, first)), 1.0, atol=1e-5)
