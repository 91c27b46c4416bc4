from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.signals import (
    BOUNDARY_INDEX,
    DECISION_SCORE,
    LABELS,
    POSITIVE_INDEX,
    Clause,
    SignalMiner,
    aggregate_note,
    build_blank_pipeline,
    calibrate,
    light_stem,
    normalize_word,
)
from training.signals import DEFAULT_CORPUS_DIR, SignalTrainingParams, train_signal_pipeline


@pytest.fixture(scope="module")
def rules_nlp():
    """The pipeline up to the clause splitter (no trained component needed)."""
    nlp = build_blank_pipeline()
    with nlp.select_pipes(disable=["textcat_multilabel"]):
        yield nlp


@pytest.fixture(scope="module")
def tiny_miner(tmp_path_factory: pytest.TempPathFactory) -> SignalMiner:
    """A miner trained on a slice of the corpus: quick, good enough for behaviour checks."""
    corpus = tmp_path_factory.mktemp("corpus")
    # ~45% of the training rows: the corpus holds many paraphrases per label, and a smaller
    # slice can miss every phrasing of a plain "cancelled again" note
    for name, keep in (("train.jsonl", 2000), ("validation.jsonl", 150)):
        lines = (DEFAULT_CORPUS_DIR / name).read_text().splitlines()[:keep]
        (corpus / name).write_text("\n".join(lines) + "\n")
    (corpus / "test.jsonl").write_text((corpus / "validation.jsonl").read_text())
    out = tmp_path_factory.mktemp("miner")
    train_signal_pipeline(out, corpus_dir=corpus, params=SignalTrainingParams(epochs=5))
    return SignalMiner.load(out)


def _clauses(nlp, text: str) -> list[Clause]:
    return nlp(text).user_data["signal_clauses"]


def test_light_stem_folds_inflections() -> None:
    assert light_stem("missing") == light_stem("missed") == light_stem("misses")
    assert light_stem("replies") == light_stem("replied") == "reply"
    assert normalize_word("notes") != normalize_word("not")


def test_normalize_word_folds_synonyms_and_typos() -> None:
    assert normalize_word("swamped") == normalize_word("slammed") == normalize_word("busy")
    assert normalize_word("cancled") == normalize_word("postponed") == normalize_word("cancels")
    assert normalize_word("n't") == normalize_word("not") == "NEG"


def test_negation_scope_marks_following_tokens(rules_nlp) -> None:
    doc = rules_nlp("We haven't missed a single session, and she replies fast.")
    norms = {t.text: t.norm_ for t in doc}
    assert norms["missed"].startswith("neg_")
    assert norms["session"].startswith("neg_")
    assert not norms["replies"].startswith("neg_")  # the comma closes the scope


def test_no_show_is_not_a_negation(rules_nlp) -> None:
    doc = rules_nlp("Another no-show today.")
    assert not any(t.norm_.startswith("neg_") for t in doc)


def test_clause_flags(rules_nlp) -> None:
    (hyp,) = _clauses(rules_nlp, "If we ever ran out of time I'd send her a summary.")
    assert hyp.hypothetical
    (honest,) = _clauses(rules_nlp, "If I'm honest she rarely turns up.")
    assert not honest.hypothetical
    (topic,) = _clauses(rules_nlp, "We discussed the time constraints on her project.")
    assert topic.topic
    (ours,) = _clauses(rules_nlp, "We talked about why she keeps missing our sessions.")
    assert not ours.topic  # about the pairing itself
    first, second = _clauses(rules_nlp, "It was awkward at first, but we click now.")
    assert first.resolved and first.kind == "pre_contrast" and second.kind == "post_contrast"
    conc, main = _clauses(rules_nlp, "Although we're both swamped, we always meet.")
    assert conc.kind == "concessive" and main.kind == "main"


@pytest.mark.parametrize(
    "text",
    [
        "He repeated what I told him in confidence to my manager.",
        "She made a comment about my appearance that was inappropriate.",
        "He is now my line manager and sits on my promotion panel.",
        "She asked me to share client data outside the approved tools.",
        "He offered me a job at his firm if I shared our pricing.",
        "She keeps texting me late at night about her weekend.",
        "He pushed me to bypass the security review.",
        "She made fun of my accent in front of the team.",
        "He asked me to keep our meetings secret from my manager.",
        # the third rule family: named line-crossing, intrusion, data outside approved channels,
        # favours to relatives' firms, advancement traded for friendliness, conflicts of interest
        "Honestly he crossed a line last week.",
        "She turned up at my flat on Sunday.",
        "He encouraged me to pass on internal numbers to him.",
        "She wants me to give her friend's firm the contract.",
        "He said I'd get on faster if I was friendlier with the directors.",
        "She will be responsible for my rating which feels like a conflict.",
        "He told my boss about my job interviews.",
    ],
)
def test_boundary_rules_fire(rules_nlp, text: str) -> None:
    assert max(c.boundary_rule for c in _clauses(rules_nlp, text)) > 0


@pytest.mark.parametrize(
    "text",
    [
        "He has never said anything inappropriate.",
        "We discussed the confidentiality rules for her client.",
        "If he ever shared what I told him with my manager I'd report it.",
        "We met on Tuesday and planned the next quarter.",
        "She has grown so much in confidence since we started.",
        "We have some crossed wires between us.",
        "He gets touchy when I point out a gap in his draft.",
        "If anything ever made me uncomfortable I know who to talk to.",
        "She pushed the line manager for a decision on my transfer.",
        "He has never crossed a line with me.",
        "We agreed on the boundaries of the project scope.",
    ],
)
def test_boundary_rules_stay_quiet(rules_nlp, text: str) -> None:
    assert all(c.boundary_rule == 0 for c in _clauses(rules_nlp, text))


def test_sentences_are_split_without_the_spacy_sentencizer(rules_nlp) -> None:
    doc = rules_nlp("She cancelled again!! Third week in a row. But he is great?! ok")
    assert "sentencizer" not in rules_nlp.pipe_names
    assert [s.text for s in doc.sents] == [
        "She cancelled again!!",
        "Third week in a row.",
        "But he is great?!",
        "ok",
    ]
    assert [c.sentence for c in doc.user_data["signal_clauses"]] == [0, 1, 2, 3]


def test_calibrate_maps_threshold_to_decision_score() -> None:
    t = np.full(len(LABELS), 0.3)
    raw = np.array([0.0, 0.3, 1.0, 0.15, 0.65, 0.3, 0.3, 0.3])
    cal = calibrate(raw, t)
    assert cal[0] == 0.0 and cal[1] == pytest.approx(DECISION_SCORE) and cal[2] == 1.0
    assert cal[3] == pytest.approx(0.25) and cal[4] == pytest.approx(0.75)
    assert np.all(np.diff(calibrate(np.linspace(0, 1, 11)[:, None].repeat(8, 1), t)[:, 0]) >= 0)


def _raw(**scores: float) -> np.ndarray:
    row = np.full(len(LABELS), 0.01)
    for label, value in scores.items():
        row[LABELS.index(label)] = value
    return row


def test_aggregate_note_suppression_rules() -> None:
    text = "Although we're both swamped, we always make it work."
    clauses = [Clause(0, 28, 0, "concessive"), Clause(29, len(text), 0, "main")]
    raw = np.stack([_raw(time_constraints=0.9), _raw(positive_progress=0.8)])
    scores, found = aggregate_note(text, clauses, raw, np.full(len(LABELS), 0.5))
    assert scores[LABELS.index("time_constraints")] < DECISION_SCORE
    assert [s.label for s in found] == ["positive_progress"]
    assert found[0].evidence == ["we always make it work."]

    hyp = [Clause(0, len(text), 0, "main", hypothetical=True, boundary_rule=0)]
    scores, found = aggregate_note(text, hyp, _raw(low_commitment=0.99)[None], np.full(8, 0.5))
    assert found == [] and scores.max() < DECISION_SCORE


def test_boundary_rule_survives_contrast() -> None:
    text = "She is helpful, but she commented on my looks."
    clauses = [
        Clause(0, 15, 0, "pre_contrast"),
        Clause(16, len(text), 0, "post_contrast", boundary_rule=2),
    ]
    raw = np.stack([_raw(positive_progress=0.9), _raw()])
    scores, found = aggregate_note(text, clauses, raw, np.full(len(LABELS), 0.5))
    assert scores[BOUNDARY_INDEX] >= 0.9 and scores[POSITIVE_INDEX] >= DECISION_SCORE
    boundary = next(s for s in found if s.label == "boundary_concern")
    assert boundary.evidence == ["but she commented on my looks."]


def test_trained_miner_detects_and_quotes_evidence(tiny_miner: SignalMiner) -> None:
    notes = [
        "Quick update. She cancelled our session again, third week in a row. Thanks!",
        "He made a comment about my appearance that made me uncomfortable.",
        "Really productive session, I left with three concrete next steps.",
    ]
    results = tiny_miner.analyze(notes)
    assert "low_commitment" in {s.label for s in results[0]}
    assert "boundary_concern" in {s.label for s in results[1]}
    assert "positive_progress" in {s.label for s in results[2]}
    for note, found in zip(notes, results, strict=True):
        for signal in found:
            assert 0.0 <= signal.score <= 1.0 and signal.score >= DECISION_SCORE
            assert signal.evidence and all(e in note for e in signal.evidence)


@pytest.mark.parametrize(
    "text",
    [
        "We haven't missed a single session.",
        "If we ever ran out of time I'd just send her a quick summary.",
        "We discussed the time pressure on her current project.",
        "We met on Tuesday for an hour.",
    ],
)
def test_trained_miner_ignores_non_signals(tiny_miner: SignalMiner, text: str) -> None:
    found = tiny_miner.analyze([text])[0]
    assert [s.label for s in found if s.label != "positive_progress"] == []


def test_scores_shape_range_and_empty_input(tiny_miner: SignalMiner) -> None:
    scores = tiny_miner.scores(["", "She never replies to my emails.", "ok"])
    assert scores.shape == (3, len(LABELS))
    assert np.all((scores >= 0) & (scores <= 1))
    assert tiny_miner.analyze([]) == []
    assert tiny_miner.analyze([""]) == [[]]


def test_clause_scorer_matches_the_classifier_on_spans(tiny_miner: SignalMiner) -> None:
    """The scorer's precomputed clause features give exactly what the classifier gives on
    spaCy spans (the path used in training)."""
    textcat = tiny_miner.nlp.get_pipe("textcat_multilabel")
    order = [list(textcat.labels).index(label) for label in LABELS]
    notes = [
        "She cancelled again, but the sessions are great. We don't click at all!",
        "Met on Tuesday.",
        "...",
        "i'm swamped - no time. he never replies; it's awkward",
    ]
    for doc in tiny_miner.nlp.pipe(notes):
        clauses = doc.user_data["signal_clauses"]
        spans = [doc[c.token_start : c.token_end] for c in clauses]
        expected = (
            np.asarray(textcat.model.predict(spans))[:, order]
            if spans
            else np.zeros((0, len(LABELS)))
        )
        np.testing.assert_allclose(doc.user_data["signal_clause_scores"], expected, atol=1e-6)


def test_save_load_round_trip(tiny_miner: SignalMiner, tmp_path: Path) -> None:
    notes = ["She cancelled again.", "We don't click at all.", "Nothing to report."]
    tiny_miner.save(tmp_path / "m")
    loaded = SignalMiner.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.scores(notes), tiny_miner.scores(notes))
    manifest = json.loads((tmp_path / "m" / "signal_manifest.json").read_text())
    assert manifest["labels"] == list(LABELS)
    assert set(manifest["thresholds"]) == set(LABELS)
    assert manifest["training_data_fingerprint"] and manifest["spacy_version"]
    assert loaded.manifest["thresholds"] == tiny_miner.manifest["thresholds"]
