"""Compose the signal corpus from hand-written fragments.

``python -m training.data.signals.compose`` rewrites ``train.jsonl`` and ``validation.jsonl``
(from ``fragments_train``) in this folder and ``evaluation/data/signals_test.jsonl`` (from
``fragments_test``). Output is deterministic for a given seed.

Each row: ``{"text", "labels", "spans"}`` where ``spans`` lists the character range and labels
of every fragment that carries a signal (training uses them to learn per clause; the test set
uses them to check evidence). Notes mix voices (mentee, mentor, coordinator), lengths, a few
typos and lower-case scribbles, multi-label notes, negated / hypothetical / off-topic fragments
and notes with no label at all.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from models.signals import LABELS
from training.data.signals import (
    fragments_test,
    fragments_train,
    fragments_train_more,
    fragments_train_third,
)

HERE = Path(__file__).resolve().parent
TEST_PATH = HERE.parents[2] / "evaluation" / "data" / "signals_test.jsonl"


@dataclass(frozen=True)
class Persona:
    subject: str
    obj: str
    possessive: str


def _persona(rng: random.Random, bank: Any, role: str) -> Persona:
    other = {
        "mentee": "mentor",
        "mentor": "mentee",
        "coordinator": rng.choice(["mentor", "mentee"]),
    }
    name, gender = rng.choice(bank.NAMES)
    pron = ("she", "her", "her") if gender == "f" else ("he", "him", "his")
    choice = rng.random()
    if choice < 0.45:
        return Persona(*pron)
    if choice < 0.75:
        return Persona(
            name,
            name if rng.random() < 0.5 else pron[1],
            f"{name}'s" if rng.random() < 0.5 else pron[2],
        )
    role_noun = f"my {other[role]}" if role != "coordinator" else f"the {other[role]}"
    return Persona(role_noun, pron[1], pron[2])


def _fill(fragment: str, persona: Persona) -> str:
    text = fragment.replace("{S}", persona.subject).replace("{O}", persona.obj)
    text = text.replace("{P}", persona.possessive)
    return text[0].upper() + text[1:] if text and text[0].islower() and fragment[0] == "{" else text


def _typo(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not candidates:
        return text
    i = rng.choice(candidates)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    swap = rng.random() < 0.5  # swap two letters, or drop one
    w = w[:j] + w[j + 1] + w[j] + w[j + 2 :] if swap else w[:j] + w[j + 1 :]
    words[i] = w
    return " ".join(words)


_ALTERNATIVES = re.compile(r"\(([^()]*\|[^()]*)\)")


def expand_template(rng: random.Random, template: str) -> str:
    """Pick one alternative from every ``(a|b|c)`` group and tidy the spacing."""
    text = _ALTERNATIVES.sub(lambda m: rng.choice(m.group(1).split("|")), template)
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s+([.,!?])", r"\1", text)


def _note(
    rng: random.Random,
    bank: Any,
    parts: list[tuple[str, list[str]]],
    *,
    n_neutral: int,
) -> dict[str, Any]:
    """Join labelled parts with neutral filler, optional opener / closer and noise."""
    role = rng.choice(["mentee", "mentee", "mentor", "mentor", "coordinator"])
    persona = _persona(rng, bank, role)
    pieces: list[tuple[str, list[str]]] = [(_fill(t, persona), labels) for t, labels in parts]
    neutral_templates: list[str] = getattr(bank, "NEUTRAL_TEMPLATES", [])
    for _ in range(n_neutral):
        if neutral_templates and rng.random() < 0.5:
            filler = expand_template(rng, rng.choice(neutral_templates))
        else:
            filler = rng.choice(bank.NEUTRAL)
        pieces.insert(rng.randrange(len(pieces) + 1), (_fill(filler, persona), []))
    opener = rng.choice(bank.OPENERS[role])
    if opener and rng.random() < 0.5:
        pieces.insert(0, (opener, []))
    if rng.random() < 0.2:
        pieces.append((rng.choice(bank.CLOSERS), []))
    terse = rng.random() < 0.1
    if rng.random() < 0.08:  # a typo in one piece (labels kept: people misspell)
        k = rng.randrange(len(pieces))
        pieces[k] = (_typo(rng, pieces[k][0]), pieces[k][1])
    text = ""
    spans: list[dict[str, Any]] = []
    for piece, labels in pieces:
        if terse:
            piece = piece.lower().rstrip(".")
        sep = "" if not text else (" " if not terse else rng.choice([". ", ", ", " - "]))
        text += sep
        if labels:
            spans.append({"start": len(text), "end": len(text) + len(piece), "labels": labels})
        text += piece
    labels_all = sorted({lab for _, labs in pieces for lab in labs}, key=LABELS.index)
    return {"text": text, "labels": labels_all, "spans": spans}


def compose(
    bank: Any,
    *,
    seed: int,
    single_per_label: int,
    multi: int,
    unlabelled: int,
    contrast_repeats: int,
    template_per_label: int = 0,
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    labelled: dict[str, list[str]] = bank.LABELLED
    for label in LABELS:
        frags = labelled[label]
        order = [frags[i % len(frags)] for i in range(single_per_label)]
        rng.shuffle(order)
        for frag in order:
            rows.append(_note(rng, bank, [(frag, [label])], n_neutral=rng.choice([0, 0, 1, 1, 2])))
    for _ in range(multi):
        a, b = rng.sample(list(LABELS), 2)
        parts: list[tuple[str, list[str]]] = [
            (rng.choice(labelled[a]), [a]),
            (rng.choice(labelled[b]), [b]),
        ]
        if rng.random() < 0.3:
            parts.append((rng.choice(bank.NEGATED + bank.HYPOTHETICAL + bank.OFF_TOPIC), []))
        rows.append(_note(rng, bank, parts, n_neutral=rng.choice([0, 1])))
    templates: dict[str, list[str]] = {
        label: getattr(bank, "TEMPLATES", {}).get(label, [])
        + getattr(bank, "TEMPLATES_EXTRA", {}).get(label, [])
        for label in LABELS
    }
    for label, label_templates in templates.items():
        if not label_templates:
            continue
        for k in range(template_per_label):
            frag = expand_template(rng, label_templates[k % len(label_templates)])
            rows.append(_note(rng, bank, [(frag, [label])], n_neutral=rng.choice([0, 0, 1])))
    negated_templates: list[str] = getattr(bank, "NEGATED_TEMPLATES", [])
    for k in range(template_per_label if negated_templates else 0):
        frag = expand_template(rng, negated_templates[k % len(negated_templates)])
        rows.append(_note(rng, bank, [(frag, [])], n_neutral=rng.choice([0, 1])))
    distractors = bank.NEGATED + bank.HYPOTHETICAL + bank.OFF_TOPIC
    for i in range(unlabelled):
        if i % 4 == 0:  # plain logistics note
            parts = [(rng.choice(bank.NEUTRAL), [])]
        else:
            parts = [(distractors[i % len(distractors)], [])]
            if rng.random() < 0.3:
                parts.append((rng.choice(distractors), []))
        rows.append(_note(rng, bank, parts, n_neutral=rng.choice([0, 1, 1, 2])))
    for _ in range(contrast_repeats):
        for frag, labels in bank.CONTRAST:
            rows.append(_note(rng, bank, [(frag, labels)], n_neutral=rng.choice([0, 1])))
    rng.shuffle(rows)
    return rows


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def split_bank(bank: Any, *, seed: int, share: float) -> tuple[Any, Any]:
    """Split every fragment list of ``bank`` into two disjoint banks (``share`` goes to the
    second). The validation split is built from fragments the model never trains on, so the
    thresholds tuned on it reflect unseen phrasing rather than memorised sentences."""

    def _rank(item: Any) -> str:
        # a fragment's side depends on its own text only, so adding fragments later does not
        # reshuffle the existing ones between training and validation
        text = item[0] if isinstance(item, tuple) else item
        return hashlib.sha256(f"{seed}:{text}".encode()).hexdigest()

    def _split(items: list[Any]) -> tuple[list[Any], list[Any]]:
        order = sorted(items, key=_rank)
        k = max(1, round(len(order) * share))
        return order[k:], order[:k]

    first: dict[str, Any] = {"OPENERS": bank.OPENERS, "CLOSERS": bank.CLOSERS, "NAMES": bank.NAMES}
    second = dict(first)
    # slot templates stay on the training side: validation measures unseen hand-written text
    first["TEMPLATES"] = getattr(bank, "TEMPLATES", {})
    first["TEMPLATES_EXTRA"] = getattr(bank, "TEMPLATES_EXTRA", {})
    first["NEUTRAL_TEMPLATES"] = getattr(bank, "NEUTRAL_TEMPLATES", [])
    first["NEGATED_TEMPLATES"] = getattr(bank, "NEGATED_TEMPLATES", [])
    first["LABELLED"], second["LABELLED"] = {}, {}
    for label, frags in bank.LABELLED.items():
        first["LABELLED"][label], second["LABELLED"][label] = _split(frags)
    for name in ("NEUTRAL", "NEGATED", "HYPOTHETICAL", "OFF_TOPIC", "CONTRAST"):
        first[name], second[name] = _split(getattr(bank, name))
    return SimpleNamespace(**first), SimpleNamespace(**second)


PARAPHRASE_BATCHES: tuple[Any, ...] = (fragments_train_more, fragments_train_third)
"""Later fragment batches merged into ``fragments_train`` (labelled fragments and distractors)."""


def training_bank() -> Any:
    """``fragments_train`` with the paraphrase batches of :data:`PARAPHRASE_BATCHES` merged in."""
    merged = {
        name: getattr(fragments_train, name) for name in dir(fragments_train) if name.isupper()
    }
    merged["LABELLED"] = {
        label: [*frags, *(f for batch in PARAPHRASE_BATCHES for f in batch.LABELLED.get(label, []))]
        for label, frags in fragments_train.LABELLED.items()
    }
    for name in ("NEUTRAL", "NEGATED", "HYPOTHETICAL", "OFF_TOPIC", "CONTRAST"):
        merged[name] = [
            *merged[name],
            *(item for batch in PARAPHRASE_BATCHES for item in getattr(batch, name, [])),
        ]
    return SimpleNamespace(**merged)


def main() -> None:
    train_bank, val_bank = split_bank(training_bank(), seed=7, share=0.2)
    write_jsonl(
        HERE / "train.jsonl",
        compose(
            train_bank,
            seed=13,
            single_per_label=150,
            multi=320,
            unlabelled=420,
            contrast_repeats=8,
            template_per_label=250,
        ),
    )
    write_jsonl(
        HERE / "validation.jsonl",
        compose(
            val_bank, seed=17, single_per_label=45, multi=80, unlabelled=110, contrast_repeats=4
        ),
    )
    test = compose(
        fragments_test, seed=2024, single_per_label=45, multi=80, unlabelled=110, contrast_repeats=3
    )
    write_jsonl(TEST_PATH, test)


if __name__ == "__main__":
    main()
