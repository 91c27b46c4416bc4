"""Text bank of the synthetic programme: breadth of topics and variety of phrasing."""

from __future__ import annotations

import random
import re

from recsys.schemas import Signal
from recsys.synthetic.texts import (
    DEPARTMENTS,
    NOTE_NEGATED,
    NOTE_SIGNALS,
    note_variants,
    render_mentee_goals,
    render_mentor_bio,
    render_note,
    title_for,
)
from recsys.synthetic.topics import TOPIC_INDEX, TOPICS


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]{4,}", text.lower()))


def test_topic_bank_is_broad() -> None:
    assert len(TOPICS) >= 40
    assert len({t.family for t in TOPICS}) >= 10
    for key in (
        "public_speaking",
        "negotiation",
        "writing",
        "returning_from_leave",
        "first_time_manager",
        "career_change",
        "budgeting",
        "recruiting",
    ):
        assert key in TOPIC_INDEX
    for t in TOPICS:
        assert t.problems and t.wants and len(t.expertise) >= 2 and t.tags, t.key
        # mentees write about themselves: first person, problem-oriented
        assert all(
            re.search(r"\b(I|I'm|I've|my|me|our|we|us)\b", p, re.IGNORECASE) for p in t.problems
        ), t.key


def test_goal_and_bio_vocabularies_of_a_topic_barely_overlap() -> None:
    """Within each topic, what mentees write and what mentors write share almost no words."""
    shared = 0
    for t in TOPICS:
        goal_words = set().union(*(_words(x) for x in t.problems + t.wants))
        bio_words = set().union(*(_words(x) for x in t.expertise))
        shared += len(
            goal_words & bio_words - {"with", "your", "that", "through", "without", "into", "from"}
        )
    assert shared <= 3


def test_renderers_vary_and_mention_style_differently() -> None:
    rng = random.Random(0)
    dept = DEPARTMENTS[0]
    bios = {
        render_mentor_bio(
            rng,
            title=title_for(rng, dept, 5),
            department=dept.name,
            years=12,
            topics=[TOPIC_INDEX["public_speaking"]],
            structure=1,
            modality=-1,
            show_structure=True,
            show_modality=True,
        )
        for _ in range(200)
    }
    goals = {
        render_mentee_goals(
            rng,
            title=title_for(rng, dept, 2),
            department=dept.name,
            topics=[TOPIC_INDEX["public_speaking"]],
            unclear=False,
            structure=1,
            modality=-1,
            show_structure=True,
            show_modality=True,
        )
        for _ in range(200)
    }
    assert len(bios) > 150 and len(goals) > 150
    assert all(g.count("I") >= 1 for g in goals)


def test_notes_cover_every_signal_and_role() -> None:
    rng = random.Random(1)
    assert tuple(s.value for s in Signal) == NOTE_SIGNALS
    for code in range(len(NOTE_SIGNALS) + 2):
        for role in range(3):
            variants = note_variants(code, role)
            assert variants and all("{" not in v for v in variants)
            assert render_note(rng, code, role)
    mentee_notes = " ".join(note_variants(0, 0))
    assert "my mentor" in mentee_notes.lower() and "my mentee" not in mentee_notes.lower()
    negated = " ".join(note_variants(NOTE_NEGATED, 0) + note_variants(NOTE_NEGATED, 1))
    assert re.search(r"\b(no|not|never|haven't|hasn't)\b", negated, re.IGNORECASE)


def test_pronoun_agreement() -> None:
    texts = [v for code in range(10) for role in range(3) for v in note_variants(code, role)]
    for bad in ("They hasn't", "She need;", "He think;", "she withdraw.", "They avoids"):
        assert not any(bad in t for t in texts), bad
