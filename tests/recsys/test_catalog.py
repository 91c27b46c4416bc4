from collections.abc import Sequence

import numpy as np

from features.style import STYLE_AXES
from recsys.catalog import MAX_SPLIT, encode_texts


def _fake_encode(texts: Sequence[str]) -> np.ndarray:
    """Deterministic unit vectors per text (the real encoder is exercised elsewhere)."""
    out = np.vstack([np.random.default_rng(abs(hash(t)) % 2**32).normal(size=16) for t in texts])
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def test_long_texts_keep_every_sentence_in_the_whole_vector_and_fold_the_tail() -> None:
    long_doc = " ".join(f"This is sentence number {i} of the bio." for i in range(6))
    enc = encode_texts(_fake_encode, [long_doc, "Only one sentence here."], max_sentences=4)
    sents = [f"This is sentence number {i} of the bio." for i in range(6)]
    v = _fake_encode(sents)
    assert enc.pieces[0] == [*sents[:3], " ".join(sents[3:])]
    assert enc.piece_vecs[0].shape == (4, 16)
    np.testing.assert_allclose(enc.piece_vecs[0][:3], v[:3], atol=1e-6)
    tail = v[3:].mean(axis=0)
    np.testing.assert_allclose(enc.piece_vecs[0][3], tail / np.linalg.norm(tail), atol=1e-6)
    whole = v.mean(axis=0)
    np.testing.assert_allclose(enc.whole[0], whole / np.linalg.norm(whole), atol=1e-6)
    assert enc.pieces[1] == ["Only one sentence here."]
    assert enc.style.shape == (2, len(STYLE_AXES)) and not enc.style.any()  # no probe given


def test_sentences_past_the_split_limit_are_encoded_together() -> None:
    seen: list[str] = []

    def encode(texts: Sequence[str]) -> np.ndarray:
        seen.extend(texts)
        return _fake_encode(texts)

    doc = " ".join(f"Sentence number {i} is here." for i in range(MAX_SPLIT + 3))
    encode_texts(encode, [doc], max_sentences=4)
    assert len(seen) == MAX_SPLIT
