from collections.abc import Sequence

import numpy as np

from features.style import STATED_LEANING, STYLE_AXES
from recsys.catalog import MAX_SPLIT, MenteeBatch, MentorCatalog, encode_texts
from recsys.schemas import MenteeIn, MentorIn


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


def test_profiles_form_answers_set_their_working_style() -> None:
    base = {"seniority": 4, "timezone": "UTC", "languages": ["en"]}
    mentors = [
        MentorIn(id="m1", bio="I mentor.", capacity=1, style_structure="informal", **base),
        MentorIn(id="m2", bio="I mentor too.", capacity=1, **base),
    ]
    catalog = MentorCatalog.build("o", mentors, _fake_encode, "fake")
    unanswered = [m.model_copy(update={"style_structure": None}) for m in mentors]
    from_text = MentorCatalog.build("o", unanswered, _fake_encode, "fake").style
    assert catalog.style[0, 0] == -STATED_LEANING
    # the other axis and the other mentor are read from the text, as without the answer
    assert catalog.style[0, 1] == from_text[0, 1]
    np.testing.assert_array_equal(catalog.style[1], from_text[1])
    mentees = [MenteeIn(id="e1", goals="Grow.", style_modality="written", **base)]
    batch = MenteeBatch.build(mentees, _fake_encode, "fake")
    assert batch.style[0, 1] == STATED_LEANING


def _style_encode(texts: Sequence[str]) -> np.ndarray:
    """The style statements along one direction per pole (as in tests/features/test_style.py),
    anything else a random direction orthogonal to those four."""
    from features.style_examples import STYLE_STATEMENTS

    labels = {text: (s, m) for text, s, m in STYLE_STATEMENTS}
    rows = []
    for t in texts:
        v = np.zeros(16, np.float32)
        s, m = labels.get(t, (0, 0))
        if t.startswith("STYLE+"):  # a structured remark in the documents below
            s = 1
        v[0 if s > 0 else 1] += s != 0
        v[2 if m > 0 else 3] += m != 0
        if not v.any():
            v[4:] = _fake_encode([t])[0][4:]
        rows.append(v / np.linalg.norm(v))
    return np.vstack(rows).astype(np.float32)


def test_pieces_about_working_style_are_flagged() -> None:
    doc = "I lead the payments platform team. STYLE+ agendas please. I know card fraud well."
    only_style = "STYLE+ milestones and homework."
    enc = encode_texts(_style_encode, [doc, only_style], max_sentences=4, encoder_id="fake-style")
    assert enc.style[0, 0] > 0.5 and enc.style[1, 0] > 0.5  # both read as structured
    assert enc.pieces[0] == [
        "I lead the payments platform team.", "STYLE+ agendas please.", "I know card fraud well.",
    ]  # fmt: skip
    assert enc.piece_style == [[False, True, False], [True]]
    folded = encode_texts(_style_encode, [doc], max_sentences=2, encoder_id="fake-style")
    # a folded tail with a topic sentence is topic, and is quoted without the style remark
    assert folded.piece_style == [[False, False]]
    assert folded.pieces == [["I lead the payments platform team.", "I know card fraud well."]]
    assert encode_texts(_style_encode, [doc], max_sentences=4).piece_style == [[False] * 3]


def test_a_reason_quotes_topic_sentences_not_style_remarks() -> None:
    from recsys.recommend import reason_context

    base = {"seniority": 4, "timezone": "UTC", "languages": ["en"]}
    bio = "STYLE+ agendas please. I know card fraud well. I ran payments at a bank."
    catalog = MentorCatalog.build(
        "o", [MentorIn(id="m", bio=bio, capacity=1, **base)], _style_encode, "fake-style"
    )
    goals = "STYLE+ milestones and homework. I want to learn about card fraud."
    mentees = MenteeBatch.build(
        [MenteeIn(id="e", goals=goals, **base)], _style_encode, "fake-style"
    )
    # the features' best pair was the two style remarks: the reason quotes the closest topic
    # pieces instead
    ctx = reason_context(catalog, mentees, 0, 0, 0, 0, completed=0, total=0)
    assert ctx.goal_sentence == "I want to learn about card fraud."
    assert ctx.bio_sentence in {"I know card fraud well.", "I ran payments at a bank."}
    goal, bio_piece = (
        _style_encode([ctx.goal_sentence]),
        _style_encode(["I know card fraud well.", "I ran payments at a bank."]),
    )
    best = ["I know card fraud well.", "I ran payments at a bank."][
        int(np.argmax(bio_piece @ goal[0]))
    ]
    assert ctx.bio_sentence == best
    # a topic pair chosen by the features is quoted as it is
    same = reason_context(catalog, mentees, 0, 0, 1, 2, completed=0, total=0)
    assert (same.goal_sentence, same.bio_sentence) == (
        ctx.goal_sentence,
        "I ran payments at a bank.",
    )


def test_half_vectors_widen_to_numpys_float32_bits() -> None:
    from recsys.catalog import half_to_float32

    rng = np.random.default_rng(0)
    half = rng.normal(size=(30, 7, 16)).astype(np.float16)
    # zeros of both signs, subnormals, the smallest normal, the largest finite value
    half[0, 0, :8] = [0.0, -0.0, 1e-6, -3e-7, 6e-8, 6.104e-5, 65504.0, -65504.0]
    every = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    finite = every[np.isfinite(every)]
    for values in (half, half[::-1], finite):
        got = half_to_float32(values)
        expected = values.astype(np.float32)
        assert got.dtype == np.float32 and got.shape == values.shape
        assert np.array_equal(got.view(np.uint32), expected.view(np.uint32))
    # infinities and NaN take numpy's cast
    special = np.array([np.inf, -np.inf, np.nan, 1.5], np.float16)
    got = half_to_float32(special)
    assert np.isposinf(got[0]) and np.isneginf(got[1]) and np.isnan(got[2]) and got[3] == 1.5
