from pathlib import Path

import numpy as np
import pytest

from features.style import (
    MIN_ABOUT,
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
from features.style_examples import STYLE_STATEMENTS
from recsys.schemas import MenteeIn, ModalityStyle, StructureStyle

D = 8


def _unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).astype(np.float32)


def _statement_vector(structure: int, modality: int) -> np.ndarray:
    """A statement's labels as a direction: structured / informal along basis vectors 0 / 1,
    written / live along 2 / 3, and "about something else" along the last one."""
    e = np.eye(D, dtype=np.float32)
    v = np.zeros(D, np.float32)
    for label, pos, neg in ((structure, 0, 1), (modality, 2, 3)):
        v = v + (e[pos] if label > 0 else e[neg] if label < 0 else 0.0)
    return _unit(v if v.any() else e[D - 1])


@pytest.fixture(scope="module")
def probe() -> StyleProbe:
    vectors = np.vstack([_statement_vector(s, m) for _, s, m in STYLE_STATEMENTS])
    assert len(vectors) == len(probe_texts())
    return StyleProbe.fit(vectors)


def test_statements_are_labelled_on_every_axis() -> None:
    assert len({text for text, *_ in STYLE_STATEMENTS}) == len(STYLE_STATEMENTS)  # no repeats
    for text, *labels in STYLE_STATEMENTS:
        assert len(labels) == len(STYLE_AXES) and set(labels) <= {-1, 0, 1}, text
    for j in range(len(STYLE_AXES)):
        for pole in (-1, 1):  # enough of each class to fit on
            assert sum(row[1 + j] == pole for row in STYLE_STATEMENTS) >= 20
    assert sum(row[1:] == (0, 0) for row in STYLE_STATEMENTS) >= 60


def test_fit_needs_one_vector_per_statement() -> None:
    with pytest.raises(ValueError, match="statements"):
        StyleProbe.fit(np.eye(D, dtype=np.float32))


def test_leaning_comes_from_the_sentence_most_about_the_axis(probe: StyleProbe) -> None:
    e = np.eye(D, dtype=np.float32)
    faint = _unit(e[D - 1] + 0.3 * e[0])  # about something else, faintly structured
    clear = _unit(e[0] + 0.2 * e[D - 1])  # clearly structured
    sentences = np.vstack([
        faint, clear,                      # text 0
        e[1], _unit(e[3] + 0.3 * e[2]),    # text 1: informal; rather live than written
        e[D - 1],                          # text 2: nothing about style
    ])  # fmt: skip
    owner = np.array([0, 0, 1, 1, 2])
    lean = style_leanings(sentences, owner, 4, probe)
    assert lean.shape == (4, len(STYLE_AXES))
    alone = style_leanings(np.vstack([faint, clear]), np.arange(2), 2, probe)
    assert alone[1, 0] > 0.5 and lean[0, 0] == pytest.approx(alone[1, 0])
    assert lean[1, 0] < -0.5  # informal
    assert lean[1, 1] < -0.5  # live
    assert lean[0, 1] == 0.0  # text 0 says nothing about writing vs talking
    assert (lean[2] == 0).all() and (lean[3] == 0).all()  # neutral text; text with no sentences


def test_probabilities_are_per_axis_distributions(probe: StyleProbe) -> None:
    e = np.eye(D, dtype=np.float32)
    p = probe.probabilities(np.vstack([e[0], e[D - 1]]))
    assert p.shape == (2, len(STYLE_AXES), 3)
    np.testing.assert_allclose(p.sum(axis=2), 1.0, rtol=1e-5)
    assert p[0, 0, 2] > 0.5  # structured: positive pole of the structure axis
    assert p[0, 1, 1] > 0.5  # and not about modality
    assert (1.0 - p[1, :, 1] < MIN_ABOUT).all()  # about something else on both axes


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
def test_real_encoder_reads_held_out_statements(tmp_path: Path) -> None:
    """Statements written apart from the training ones (evaluation/data/style_test.jsonl):
    most read on the right side, and none that names writing, speaking or plans as a topic
    read as a style. The centroid detector this replaced scored accuracy 0.55 / 0.77 and read
    a style into 42% / 21% of the statements about neither (torch)."""
    from evaluation.style_detection import load_style_test, style_detection_metrics
    from models.embedder import Embedder
    from recsys.settings import Settings

    embedder = Embedder.from_settings(Settings(home=tmp_path, encoder_backend="torch", threads=2))
    probe = StyleProbe.fit(embedder.encode(probe_texts()))
    texts, gold = load_style_test()
    lean = style_leanings(embedder.encode(texts), np.arange(len(texts)), len(texts), probe)
    metrics = style_detection_metrics(lean, gold)
    for axis in STYLE_AXES:  # measured (222 statements, session 27): 0.91 / 0.88
        assert metrics[f"accuracy_{axis.name}"] >= 0.85, metrics
    assert metrics["false_style"] <= 0.03, metrics  # measured: 0.024
    topic = {
        "I'd like to get better at writing proposals for funding.",
        "My aim is to speak more confidently in front of large audiences.",
        "I want to learn to plan a product launch from start to finish.",
    }
    rows = [texts.index(t) for t in topic]
    assert (lean[rows] == 0).all(), lean[rows]
    # nor do remarks about the person (not held-out statements: sentences a fit without
    # personal examples read as preferring live conversation)
    personal = ["I have two kids and a dog.", "Hi, I'm Sam.", ":) :) :)", "I like hiking."]
    lean = style_leanings(embedder.encode(personal), np.arange(4), 4, probe)
    assert (lean == 0).all(), lean
