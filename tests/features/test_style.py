from pathlib import Path

import numpy as np
import pytest

from features.style import (
    NEUTRAL_EXAMPLES,
    STATED_LEANING,
    STYLE_ANSWER_FIELDS,
    STYLE_AXES,
    STYLE_FEATURES,
    StyleProbe,
    probe_texts,
    style_leanings,
    style_match,
    with_stated_styles,
)
from recsys.schemas import MenteeIn, ModalityStyle, StructureStyle

D = 8


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def probe() -> StyleProbe:
    """Axis j's poles along +/- basis vector j, the neutral set along the last basis vector."""
    e = np.eye(D, dtype=np.float32)
    rows = []
    for j, axis in enumerate(STYLE_AXES):
        rows += [e[2 * j]] * len(axis.positive_examples)
        rows += [e[2 * j + 1]] * len(axis.negative_examples)
    rows += [e[D - 1]] * len(NEUTRAL_EXAMPLES)
    assert len(rows) == len(probe_texts())
    return StyleProbe.from_vectors(np.vstack(rows))


def test_leaning_comes_from_the_most_relevant_sentence(probe: StyleProbe) -> None:
    e = np.eye(D, dtype=np.float32)
    sentences = np.vstack([
        _unit(e[D - 1] + 0.1 * e[0]),  # text 0: about something else, faintly structured
        _unit(e[0] + 0.2 * e[D - 1]),  # text 0: clearly structured
        e[1],                          # text 1: clearly informal
        _unit(e[3] + 0.3 * e[2]),      # text 1: rather live than written
        e[D - 1],                      # text 2: nothing about style
    ])  # fmt: skip
    owner = np.array([0, 0, 1, 1, 2])
    lean = style_leanings(sentences, owner, 4, probe)
    assert lean.shape == (4, len(STYLE_AXES))
    assert lean[0, 0] == pytest.approx(float(_unit(e[0] + 0.2 * e[D - 1])[0]))
    assert lean[1, 0] == pytest.approx(-1.0)
    assert -1.0 < lean[1, 1] < -0.5
    assert lean[0, 1] == 0.0  # text 0 says nothing about writing vs talking
    assert (lean[2] == 0).all() and (lean[3] == 0).all()  # neutral text; text with no sentences


def test_style_match_is_positive_when_both_lean_the_same_way() -> None:
    mentee = np.array([[0.5, -0.4], [0.5, 0.0]], np.float32)
    mentor = np.array([[0.6, 0.3], [-0.5, 0.9]], np.float32)
    cols = style_match(mentee, mentor)
    assert list(cols) == list(STYLE_FEATURES)
    s, m = cols[STYLE_FEATURES[0]], cols[STYLE_FEATURES[1]]
    assert s[0] > 0 and s[1] < 0  # agree / clash on structure
    assert m[0] < 0 and m[1] == 0  # clash on modality / the mentee did not say


def test_a_form_answer_outranks_the_text() -> None:
    text = np.array([[-0.2, 0.1], [0.3, 0.0], [0.0, -0.1]], np.float32)
    out = with_stated_styles(text, [("structured", None), (None, "live"), ("informal", "written")])
    np.testing.assert_allclose(
        out,
        [[STATED_LEANING, 0.1], [0.3, -STATED_LEANING], [-STATED_LEANING, STATED_LEANING]],
    )
    assert out[0, 0] > text.max()  # an answer reads stronger than any sentence here
    np.testing.assert_allclose(text[0], [-0.2, 0.1])  # the text leanings are not changed
    with pytest.raises(ValueError, match="modality"):
        with_stated_styles(text[:1], [(None, "phone")])


def test_the_contract_fields_answer_the_axes_questions() -> None:
    # schemas and the detector name the same poles, positive first
    assert STYLE_ANSWER_FIELDS == ("style_structure", "style_modality")
    enums = (StructureStyle, ModalityStyle)
    for axis, field, enum in zip(STYLE_AXES, STYLE_ANSWER_FIELDS, enums, strict=True):
        assert tuple(e.value for e in enum) == axis.answers
        assert field in MenteeIn.model_fields


@pytest.mark.slow
def test_real_encoder_reads_statements_it_was_not_given(tmp_path: Path) -> None:
    """Held-out phrasings (neither the examples nor the demo generator's) land on the right side."""
    from models.embedder import Embedder
    from recsys.settings import Settings

    embedder = Embedder.from_settings(Settings(home=tmp_path, encoder_backend="torch", threads=2))
    probe = StyleProbe.from_vectors(embedder.encode(probe_texts()))
    statements = {
        "Please set me homework and deadlines so I keep moving.": (1, 0),
        "We will write a mentoring plan with measurable goals in our first meeting.": (1, 0),
        "I'd like our chats to stay casual and unscripted.": (-1, None),
        "I'm happy to just grab a coffee now and then and talk.": (-1, -1),
        "I want to see you on a video call every week.": (None, -1),
        "I want to learn SQL and get better at data modelling.": (0, 0),
        "I have spent fifteen years in sales leadership.": (0, 0),
    }
    texts = list(statements)
    lean = style_leanings(embedder.encode(texts), np.arange(len(texts)), len(texts), probe)
    for text, row in zip(texts, lean, strict=True):
        for j, want in enumerate(statements[text]):
            if want is not None:
                assert np.sign(row[j]) == want, (text, STYLE_AXES[j].name, row[j])
