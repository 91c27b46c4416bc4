"""The baseline engine's rules: signals with evidence, negation, risk."""

from __future__ import annotations

from serving.engine import (
    BaselineEngine,
    DetectedSignal,
    ServingEngine,
    detect_signals,
    risk_from_signals,
)


def _labels(text: str) -> list[str]:
    return [s["label"] for s in detect_signals(text)]


def test_signals_carry_evidence_sentences() -> None:
    found = detect_signals("Good start. He cancelled twice! Also the time zone gap hurts.")
    by_label = {s["label"]: s for s in found}
    assert by_label["low_commitment"]["evidence"] == ["He cancelled twice!"]
    assert by_label["time_constraints"]["evidence"] == ["Also the time zone gap hurts."]
    assert all(0.0 < s["score"] <= 1.0 for s in found)


def test_negations_are_not_signals() -> None:
    assert _labels("We haven't missed a single session.") == []
    assert _labels("I was never afraid to ask questions.") == []
    assert _labels("We missed a session.") == ["low_commitment"]
    # a rule phrased as a negation still fires
    assert _labels("Honestly not a good fit for my goals.") == ["poor_match"]


def test_boundary_concern_always_scores_high() -> None:
    found = detect_signals("The conversation felt inappropriate.")
    assert found == [
        {"label": "boundary_concern", "score": 0.9,
         "evidence": ["The conversation felt inappropriate."]}
    ]  # fmt: skip
    progress: DetectedSignal = {"label": "positive_progress", "score": 1.0, "evidence": []}
    risk, reasons = risk_from_signals([*found, progress])
    assert risk == 0.9  # positive progress never damps a boundary concern
    assert reasons[0].startswith("boundary_concern")


def test_risk_combines_and_damps() -> None:
    assert risk_from_signals([])[0] == 0.0
    two: list[DetectedSignal] = [{"label": "low_commitment", "score": 0.5, "evidence": []},
           {"label": "poor_match", "score": 0.5, "evidence": []}]  # fmt: skip
    assert risk_from_signals(two)[0] == 0.75
    with_progress: list[DetectedSignal] = [
        *two,
        {"label": "positive_progress", "score": 1.0, "evidence": []},
    ]
    assert risk_from_signals(with_progress)[0] == 0.375


def test_baseline_satisfies_the_protocol() -> None:
    engine = BaselineEngine(sessions=None)  # type: ignore[arg-type]
    assert isinstance(engine, ServingEngine)
    assert set(engine.versions()) == {"recommender", "signals", "risk"}
