import numpy as np

from features.pairs import FEATURE_NAMES
from features.style import STYLE_AXES, STYLE_FEATURES
from recsys.reasons import MAX_REASONS, ReasonContext, explain


def _ctx(mentee_style: tuple[float, ...] = ()) -> ReasonContext:
    return ReasonContext(
        goal_sentence="I want to run better experiments.",
        bio_sentence="I built the company's experimentation platform.",
        mentor_skills=["a/b testing"], mentor_languages=["en"], mentee_languages=["en"],
        mentor_department="R&D", mentee_department="Sales", past_completed=3, past_total=4,
        mentee_style=mentee_style,
    )  # fmt: skip


def _row(**values: float) -> np.ndarray:
    x = np.zeros(len(FEATURE_NAMES), np.float32)
    for name, v in values.items():
        x[FEATURE_NAMES.index(name)] = v
    return x


def _contrib(**values: float) -> np.ndarray:
    return np.append(_row(**values), 0.0)  # + bias column


def test_style_agreement_becomes_the_first_reason_when_it_helped_most() -> None:
    structure, modality = STYLE_FEATURES
    x = _row(**{structure: 0.04, modality: 0.02, "shared_hours": 5})
    c = _contrib(**{structure: 0.5, modality: 0.1, "shared_hours": 0.2})
    reasons = explain(x, c, _ctx(mentee_style=(0.2, -0.1)))
    assert reasons[0] == f"You both prefer {STYLE_AXES[0].positive}"
    assert f"You both prefer {STYLE_AXES[1].negative}" in reasons
    assert "5 shared working hours a day" in reasons
    assert 2 <= len(reasons) <= MAX_REASONS


def test_no_style_reason_on_a_clash_or_when_the_mentee_said_nothing() -> None:
    structure, _ = STYLE_FEATURES
    clash = explain(_row(**{structure: -0.04}), _contrib(**{structure: 0.3}), _ctx((0.2, 0.0)))
    silent = explain(_row(**{structure: 0.04}), _contrib(**{structure: 0.3}), _ctx((0.0, 0.0)))
    for reasons in (clash, silent):
        assert not any(r.startswith("You both prefer") for r in reasons)
        assert len(reasons) >= 2  # still two checkable facts


def test_few_commitment_concerns_is_a_reason_only_with_enough_notes() -> None:
    helped = _contrib(hist_low_commitment_rate=0.4, shared_hours=0.1)
    read = explain(
        _row(hist_low_commitment_rate=0.02, hist_notes=12, shared_hours=4), helped, _ctx()
    )
    assert read[0] == "Past check-ins rarely raised commitment concerns (12 notes)"
    unread = explain(
        _row(hist_low_commitment_rate=0.02, hist_notes=1, shared_hours=4), helped, _ctx()
    )
    assert not any("commitment" in r for r in unread)


def test_goal_tag_fit_is_a_skills_reason_listing_the_tags_the_goal_calls_for() -> None:
    from types import SimpleNamespace

    from recsys.recommend import reason_context

    catalog = SimpleNamespace(
        bio_sentences=[["I coach new managers."]], bio_sentence_style=[[False]],
        skills_raw=[["Golf", "Data-Storytelling", "SQL", "sql"]],
        languages=[frozenset({"en"})], department=np.array(["R&D"], object),
    )  # fmt: skip
    mentees = SimpleNamespace(
        goal_sentences=[["My charts get ignored."]], goal_sentence_style=[[False]],
        languages=[frozenset({"en"})],
        department=np.array(["Sales"], object), style=np.zeros((1, 2)),
    )  # fmt: skip
    probs = np.array([0.1, 0.6, 0.32], np.float32)  # columns: golf, data storytelling, sql
    index = {"golf": 0, "data storytelling": 1, "sql": 2}
    ctx = reason_context(catalog, mentees, 0, 0, 0, 0, completed=0, total=0,  # type: ignore[arg-type]
                         tag_probs=(probs, index))  # fmt: skip
    # one spelling per tag; golf, called for less than half as much as the goal's likeliest
    # tag, is left out
    assert ctx.mentor_skills == ["Data-Storytelling", "SQL"]
    x = _row(text_goal_tags=0.4, shared_hours=2)
    reasons = explain(x, _contrib(text_goal_tags=0.8, shared_hours=0.1), ctx)
    assert reasons[0] == "Skills relevant to your goals: Data-Storytelling, SQL"
    # a goal that calls for none of the mentor's tags (it wants pricing): no skills reason
    other = {**index, "pricing": 3}
    flat = reason_context(catalog, mentees, 0, 0, 0, 0, completed=0, total=0,  # type: ignore[arg-type]
                          tag_probs=(np.array([0.05, 0.03, 0.02, 0.9], np.float32), other))  # fmt: skip
    assert flat.mentor_skills == []
    reasons = explain(x, _contrib(text_goal_tags=0.8, shared_hours=0.1), flat)
    assert not any(r.startswith("Skills") for r in reasons) and len(reasons) >= 2
