"""Challenge-signal miner: a spaCy pipeline that finds the eight :class:`~recsys.schemas.Signal`
labels in a check-in note, each with a score in [0, 1] and its evidence clause(s).

Pipeline (``spacy.blank("en")``):

``signal_normalizer`` → ``signal_clauses`` → ``signal_scorer``
(+ ``textcat_multilabel``, kept disabled: the scorer runs its model on every clause).

* ``signal_normalizer`` sets sentence starts (spaCy's sentencizer rule, without building Token
  objects) and writes ``Token.norm_``: lower case, common typos and contractions fixed,
  a light stem, synonyms folded into concept tokens (``swamped``/``slammed``/``snowed`` → one
  feature) and a ``neg_`` prefix on the tokens inside a negation's scope. The text classifier
  reads n-grams of these norms, so it learns "never replies" apart from "replies quickly" and
  paraphrases share features with the phrasings seen in training.
* ``signal_clauses`` splits sentences at contrast connectives (but, although, however …) and
  flags clauses that are hypothetical ("if we ever …"), that report a discussion topic rather
  than the pairing ("we discussed the time constraints on her project"), or that describe a
  problem already resolved ("awkward at first, but …"). It also runs the high-recall rule layer
  for ``boundary_concern``.
* ``signal_scorer`` classifies every clause of a batch in one call (the evidence span comes for
  free; clause features are sliced from the normaliser's arrays, no ``Span`` per clause) and
  stores the raw per-clause probabilities. :func:`aggregate_note` turns them into note-level scores.

Scores are threshold-aligned: a per-label threshold tuned on validation data maps to 0.5, so
``score >= 0.5`` means "detected" for every label. Note text is confidential: nothing here logs it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from recsys.schemas import Signal

LABELS: tuple[str, ...] = tuple(s.value for s in Signal)
CHALLENGE_LABELS: tuple[str, ...] = tuple(s for s in LABELS if s != Signal.positive_progress.value)
BOUNDARY_INDEX = LABELS.index(Signal.boundary_concern.value)
POSITIVE_INDEX = LABELS.index(Signal.positive_progress.value)
CHALLENGE_MASK = np.array([label != Signal.positive_progress.value for label in LABELS])

DECISION_SCORE = 0.5
"""Calibrated score at which a signal counts as detected (every label's threshold maps here)."""
SUPPRESSED_FACTOR = 0.3
"""Calibrated scores of suppressed clauses are multiplied by this (keeps order, stays < 0.5)."""
BOUNDARY_RULE_SCORES = {2: 0.92, 1: 0.62}
"""Calibrated boundary score given by a strong (2) or weak (1) rule hit."""

MANIFEST_FILE = "signal_manifest.json"
PIPELINE_DIR = "pipeline"
TEXTCAT = "textcat_multilabel"
CLAUSES_KEY = "signal_clauses"
SCORES_KEY = "signal_clause_scores"

# ---------------------------------------------------------------------------------------------
# Normalisation: light stemming, typo/contraction fixes, concept folding, negation scope
# ---------------------------------------------------------------------------------------------

_TYPOS: dict[str, str] = {
    "cancelled": "cancel",
    "canceled": "cancel",
    "cancled": "cancel",
    "cancelld": "cancel",
    "cancellation": "cancel",
    "cancellations": "cancel",
    "cancelation": "cancel",
    "recieve": "receive",
    "recieved": "receive",
    "definately": "definitely",
    "alot": "lot",
    "tbh": "honestly",
    "imo": "opinion",
    "prob": "probably",
    "pls": "please",
    "msg": "message",
    "msgs": "message",
    "mtg": "meeting",
    "mtgs": "meeting",
    "wk": "week",
    "wks": "week",
    "sesh": "session",
    "seshes": "session",
    "convo": "conversation",
    "convos": "conversation",
    "u": "you",
    "ur": "your",
    "thru": "through",
    "tho": "though",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "w/": "with",
    "w/o": "without",
    "abt": "about",
    "rly": "really",
    "v": "very",
    "gonna": "going",
    "wanna": "want",
    "1:1": "session",
    "1:1s": "session",
    "1-1": "session",
    "121": "session",
    "one-on-one": "session",
    "catchup": "session",
    "catch-up": "session",
    "checkin": "session",
    "check-in": "session",
    "seperate": "separate",
    "occured": "occur",
    "untill": "until",
    "wierd": "weird",
    "awkard": "awkward",
    "freind": "friend",
    "beleive": "believe",
    "thier": "their",
}

_NEGATORS = frozenset(
    {
        "not",
        "n't",
        "nt",
        "never",
        "no",
        "nothing",
        "nobody",
        "none",
        "neither",
        "nor",
        "without",
        "cannot",
        "dont",
        "doesnt",
        "didnt",
        "wont",
        "cant",
        "havent",
        "hasnt",
        "hadnt",
        "isnt",
        "wasnt",
        "arent",
        "werent",
        "couldnt",
        "wouldnt",
        "shouldnt",
        "zero",
    }
)
_NEG_SCOPE_BREAK = frozenset(
    {
        ",",
        ".",
        ";",
        ":",
        "!",
        "?",
        "-",
        "—",
        "–",
        "(",
        ")",
        "but",
        "however",
        "although",
        "though",
        "yet",
        "whereas",
        "because",
        "since",
        "so",
        "and",
        "or",
        "while",
        "which",
        "who",
        "if",
        "unless",
        "except",
        "until",
        "till",
        "anymore",
    }
)
_NEG_SCOPE_MAX = 6
"""Negation scope (tokens) when no punctuation or conjunction closes it earlier."""

# Concept folding: every word (after stemming) in a group shares one feature. Groups are
# meaning classes, not labels: "feedback" and "criticism" fold together, the classifier still
# learns from context which label a clause carries.
_CONCEPTS: dict[str, tuple[str, ...]] = {
    "c_cancel": (
        "cancel",
        "reschedule",
        "postpone",
        "bail",
        "bailed",
        "rain-check",
        "raincheck",
        "scrap",
        "scrapped",
        "skip",
        "skipped",
        "ditch",
        "ditched",
        "call off",
        "drop",
        "dropped",
        "shelve",
        "shelved",
        "defer",
        "deferred",
        "rebook",
        "rebooked",
        "rearrange",
        "rearranged",
        "bumped",
        "lapse",
        "lapsed",
    ),
    "c_noshow": (
        "ghost",
        "ghosted",
        "flake",
        "flaked",
        "flaky",
        "no-show",
        "noshow",
        "absent",
        "absence",
        "vanish",
        "vanished",
        "disappear",
        "disappeared",
        "mia",
        "awol",
        "miss",
        "missed",
        "missing",
        "dropout",
        "dropouts",
        "forgot",
        "forget",
        "forgotten",
        "unprepared",
        "empty-handed",
        "truant",
    ),
    "c_late": ("late", "tardy", "latecomer", "lateness", "delayed", "overran", "behind"),
    "c_busy": (
        "busy",
        "swamped",
        "slammed",
        "snowed",
        "overloaded",
        "overwhelmed",
        "stretched",
        "underwater",
        "hectic",
        "crunch",
        "firefighting",
        "fire-fighting",
        "workload",
        "bandwidth",
        "overtime",
        "overworked",
        "frantic",
        "manic",
        "mad",
        "flat-out",
        "chaos",
        "chaotic",
        "juggling",
        "juggle",
        "pressure",
        "pressed",
        "rushed",
        "rush",
        "deadline",
        "deadlines",
        "crazy",
        "insane",
        "packed",
        "full-on",
        "backlog",
        "drowning",
        "stressful",
        "demanding",
        "capacity",
        "maxed",
        "overcommitted",
        "overstretched",
        "frazzled",
        "burnt",
        "burned",
        "exhausted",
        "knackered",
        "short-staffed",
        "understaffed",
        "relentless",
        "nonstop",
        "non-stop",
        "back-to-back",
        "double-booked",
        "urgent",
        "escalation",
        "outage",
        "busiest",
        "peak",
        "squeezed",
        "squeeze",
        "headroom",
        "wall-to-wall",
        "maxed-out",
        "run-ragged",
        "overstretch",
        "stretch",
        "frenetic",
    ),
    "c_calendar": (
        "calendar",
        "diary",
        "schedule",
        "slot",
        "availability",
        "window",
        "gap",
        "timeslot",
        "invite",
        "booking",
        "book",
        "booked",
        "clash",
        "clashes",
        "overlap",
        "timezone",
        "time-zone",
        "shift",
        "shifts",
        "rota",
        "roster",
    ),
    "c_reply": (
        "reply",
        "respond",
        "response",
        "answer",
        "answered",
        "ping",
        "pinged",
        "message",
        "messaged",
        "email",
        "emailed",
        "text",
        "texted",
        "slack",
        "slacked",
        "dm",
        "dms",
        "voicemail",
        "inbox",
        "chase",
        "chased",
        "chasing",
        "nudge",
        "nudged",
        "follow-up",
        "followup",
        "reach",
        "reached",
        "contact",
        "contacted",
        "hear",
        "heard",
        "acknowledge",
        "acknowledged",
        "unanswered",
        "unacknowledged",
        "unreturned",
        "contactable",
        "chaser",
        "chasers",
        "whatsapp",
        "callback",
        "reachable",
    ),
    "c_misread": (
        "misunderstand",
        "misunderstanding",
        "misunderstood",
        "miscommunication",
        "miscommunicate",
        "misread",
        "misinterpret",
        "misinterpreted",
        "mixup",
        "mix-up",
        "muddle",
        "muddled",
        "garbled",
        "interrupt",
        "interrupts",
        "interrupted",
        "interrupting",
        "dismissive",
        "dismiss",
        "dismisses",
        "dismissed",
        "listen",
        "listening",
        "listens",
        "cryptic",
        "one-way",
        "one-directional",
        "monologue",
        "lecture",
        "lectures",
        "lectured",
        "talked-over",
        "sideways",
        "crossed",
        "cross-purposes",
    ),
    "c_silence": (
        "silence",
        "silent",
        "unresponsive",
        "unreachable",
        "ignored",
        "ignore",
        "ignoring",
        "radio",
        "crickets",
        "void",
        "blank",
        "stonewall",
        "stonewalled",
        "dark",
        "quiet",
        "mute",
        "muted",
        "wordless",
        "unheard",
        "tumbleweed",
    ),
    "c_fear": (
        "afraid",
        "scared",
        "nervous",
        "anxious",
        "anxiety",
        "worried",
        "worry",
        "worries",
        "fear",
        "fearful",
        "terrified",
        "dread",
        "dreading",
        "hesitant",
        "reluctant",
        "uneasy",
        "wary",
        "apprehensive",
        "defensive",
        "freeze",
        "froze",
        "frozen",
        "panic",
        "panicked",
        "shy",
        "timid",
        "embarrassed",
        "embarrass",
        "ashamed",
        "flinch",
        "flinched",
        "intimidated",
        "daunted",
        "shaky",
        "clam",
        "clammed",
        "shut",
        "shuts",
        "withdrawn",
        "fragile",
        "sensitive",
        "bristle",
        "bristled",
        "tense",
        "tensed",
        "stung",
        "upset",
        "cry",
        "cried",
        "tears",
        "nervy",
        "jittery",
        "jumpy",
        "insecure",
        "insecurity",
        "exposed",
        "vulnerable",
        "self-conscious",
        "mortified",
        "petrified",
        "cagey",
        "guarded",
        "touchy",
        "prickly",
        "thin-skinned",
        "hurt",
        "offended",
        "offence",
        "offense",
        "sulk",
        "sulked",
        "sulky",
        "crumble",
        "crumbled",
        "flustered",
        "rattled",
        "deflated",
        "crushed",
        "emotional",
        "tearful",
        "teary",
        "dreaded",
        "scary",
        "daunting",
        "intimidating",
        "wince",
        "winced",
        "cringe",
    ),
    "c_critique": (
        "feedback",
        "criticism",
        "critique",
        "critical",
        "criticise",
        "criticize",
        "criticised",
        "criticized",
        "judge",
        "judged",
        "judgement",
        "judgment",
        "harsh",
        "blunt",
        "negative",
        "pushback",
        "push-back",
        "correction",
        "corrected",
        "comments",
        "notes",
        "input",
        "review",
        "scrutiny",
        "challenge",
        "challenged",
        "pointers",
        "constructive",
        "suggestion",
        "suggestions",
        "verdict",
        "assessment",
        "appraisal",
        "evaluation",
        "markup",
        "redline",
        "edits",
        "critic",
        "critiques",
        "criticisms",
        "pick",
        "nitpick",
    ),
    "c_unclear": (
        "unclear",
        "vague",
        "fuzzy",
        "lost",
        "aimless",
        "directionless",
        "unfocused",
        "confused",
        "confusing",
        "unsure",
        "drift",
        "drifting",
        "drifted",
        "wander",
        "wandering",
        "meander",
        "meandering",
        "rambling",
        "ramble",
        "circles",
        "undefined",
        "murky",
        "hazy",
        "woolly",
        "scattered",
        "shapeless",
        "random",
        "pointless",
        "purposeless",
        "unstructured",
        "nebulous",
        "clueless",
        "adrift",
        "aimlessly",
        "unfocussed",
        "ill-defined",
        "open-ended",
        "tangent",
        "tangents",
        "sidetracked",
        "formless",
        "undecided",
        "ambiguous",
        "blurry",
        "foggy",
        "uncertain",
        "rudderless",
        "haphazard",
        "ad-hoc",
        "wishy-washy",
        "unspecific",
        "nowhere",
    ),
    "c_goal": (
        "goal",
        "goals",
        "objective",
        "objectives",
        "aim",
        "aims",
        "target",
        "targets",
        "purpose",
        "direction",
        "focus",
        "plan",
        "plans",
        "outcome",
        "outcomes",
        "milestone",
        "milestones",
        "agenda",
        "priorities",
        "priority",
        "intention",
        "roadmap",
        "point",
        "structure",
        "okr",
        "okrs",
        "aspiration",
        "aspirations",
        "ambition",
        "ambitions",
        "expectation",
        "expectations",
        "remit",
        "deliverable",
        "deliverables",
        "endpoint",
        "destination",
        "through-line",
    ),
    "c_mismatch": (
        "mismatch",
        "mismatched",
        "incompatible",
        "clash",
        "clashed",
        "different",
        "unrelated",
        "irrelevant",
        "chemistry",
        "rapport",
        "gel",
        "gelled",
        "click",
        "clicked",
        "vibe",
        "vibes",
        "wavelength",
        "fit",
        "compatible",
        "aligned",
        "misaligned",
        "alignment",
        "odd",
        "strange",
        "awkward",
        "stilted",
        "forced",
        "clunky",
        "disconnect",
        "disconnected",
        "ill-suited",
        "unsuited",
        "misfit",
        "incompatibility",
        "friction",
        "grate",
        "grates",
        "grating",
        "inapplicable",
        "unrelatable",
        "generic",
        "relate",
        "relatable",
        "relevant",
        "applicable",
        "suited",
        "suit",
        "compatibility",
        "match",
        "matched",
        "pairing",
        "paired",
        "re-paired",
        "repair",
        "reassign",
        "reassigned",
        "reassignment",
        "swap",
        "switch",
    ),
    "c_expertise": (
        "expertise",
        "experience",
        "background",
        "field",
        "domain",
        "area",
        "specialism",
        "specialty",
        "speciality",
        "discipline",
        "niche",
        "track",
        "career",
        "path",
        "industry",
        "function",
        "profession",
        "skillset",
        "skills",
        "knowledge",
        "depth",
        "world",
        "sector",
        "specialisation",
        "specialization",
        "craft",
        "vocation",
        "expert",
        "specialist",
    ),
    "c_good": (
        "great",
        "brilliant",
        "fantastic",
        "excellent",
        "amazing",
        "wonderful",
        "superb",
        "awesome",
        "terrific",
        "outstanding",
        "helpful",
        "useful",
        "valuable",
        "insightful",
        "productive",
        "rewarding",
        "inspiring",
        "energising",
        "energizing",
        "encouraging",
        "supportive",
        "positive",
        "good",
        "nice",
        "solid",
        "fab",
        "fabulous",
        "lovely",
        "stellar",
        "excellent",
        "gold",
        "worthwhile",
        "beneficial",
        "enjoyable",
        "fruitful",
        "eye-opening",
        "illuminating",
        "empowering",
        "motivating",
        "uplifting",
        "impactful",
        "invaluable",
        "top-notch",
        "spot-on",
        "boost",
    ),
    "c_progress": (
        "progress",
        "improve",
        "improved",
        "improvement",
        "grow",
        "grown",
        "growth",
        "develop",
        "developed",
        "development",
        "confident",
        "confidence",
        "breakthrough",
        "milestone",
        "achieve",
        "achieved",
        "landed",
        "nailed",
        "succeeded",
        "success",
        "win",
        "wins",
        "stride",
        "momentum",
        "leap",
        "blossom",
        "blossomed",
        "flourish",
        "thrive",
        "thriving",
        "transformed",
        "shipped",
        "delivered",
        "promoted",
        "accomplish",
        "accomplished",
        "flourishing",
        "blossoming",
        "assertive",
        "self-assured",
        "headway",
        "unblocked",
        "levelled",
        "leveled",
        "upskilled",
        "capable",
        "competent",
        "mastered",
        "secured",
        "passed",
        "earned",
        "smashed",
        "aced",
        "breakthroughs",
        "advance",
        "advanced",
        "turnaround",
        "stepped",
    ),
    "c_thanks": (
        "thank",
        "thanks",
        "grateful",
        "appreciate",
        "appreciated",
        "gratitude",
        "glad",
        "happy",
        "pleased",
        "delighted",
        "thrilled",
        "chuffed",
    ),
    "c_commit": (
        "commitment",
        "committed",
        "effort",
        "engaged",
        "engagement",
        "invested",
        "motivated",
        "motivation",
        "enthusiasm",
        "enthusiastic",
        "interest",
        "interested",
        "bother",
        "bothered",
        "care",
        "cared",
        "prepare",
        "prepared",
        "prep",
        "homework",
        "actions",
        "follow",
        "followed",
        "follow-through",
        "distracted",
        "disengaged",
        "checked-out",
        "apathetic",
        "indifferent",
        "half-hearted",
        "halfhearted",
        "lukewarm",
        "minimal",
        "uninterested",
        "passive",
        "phone",
        "laptop",
        "multitasking",
        "multitask",
        "going through",
        "tick-box",
        "box-ticking",
        "motions",
        "disinterested",
        "unengaged",
        "unmotivated",
        "unbothered",
        "apathy",
        "legwork",
        "participation",
        "attendance",
        "attend",
        "attended",
        "effortless",
        "commit",
        "commits",
        "dedication",
        "dedicated",
        "keen",
        "keenness",
    ),
    "c_manager": (
        "manager",
        "boss",
        "supervisor",
        "director",
        "skip-level",
        "lead",
        "head",
        "vp",
        "management",
        "leadership",
        "exec",
        "executive",
    ),
    "c_disclose": (
        "told",
        "tell",
        "shared",
        "share",
        "repeated",
        "repeat",
        "passed",
        "relayed",
        "relay",
        "forwarded",
        "forward",
        "mentioned",
        "spread",
        "leaked",
        "leak",
        "disclosed",
        "disclose",
        "blabbed",
        "gossip",
        "gossiped",
        "gossiping",
        "cc'd",
        "cc",
        "screenshot",
        "screenshotted",
    ),
    "c_num": (
        "two",
        "three",
        "four",
        "five",
        "six",
        "several",
        "multiple",
        "2",
        "3",
        "4",
        "5",
        "6",
        "twice",
        "thrice",
        "third",
        "fourth",
        "second",
    ),
    "c_period": (
        "week",
        "weeks",
        "month",
        "months",
        "fortnight",
        "fortnights",
        "day",
        "days",
        "quarter",
        "sprint",
        "sprints",
    ),
    "c_session": (
        "session",
        "sessions",
        "meeting",
        "meetings",
        "call",
        "calls",
        "conversation",
        "conversations",
        "chat",
        "chats",
        "sync",
        "syncs",
    ),
}


def light_stem(word: str) -> str:
    """A small suffix stripper: enough to fold inflections (cancels/cancelled/cancelling)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    base = word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        base = word[:-3] + "y"
    elif word.endswith("ing") and len(word) > 5:
        base = word[:-3]
    elif (word.endswith("ed") and len(word) > 4) or (
        word.endswith("es") and word[:-2].endswith(("s", "x", "z", "ch", "sh"))
    ):
        base = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        base = word[:-1]
    elif word.endswith("ly") and len(word) > 5:
        base = word[:-2]
    if len(base) >= 4 and base[-1] == base[-2] and base[-1] not in "lsz":
        base = base[:-1]
    if len(base) > 3 and base.endswith("e"):
        base = base[:-1]
    return base


@lru_cache(maxsize=1)
def _concept_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for concept, words in _CONCEPTS.items():
        for word in words:
            if " " in word:
                continue
            table.setdefault(word, concept)
            table.setdefault(light_stem(word), concept)
    return table


@lru_cache(maxsize=50_000)
def normalize_word(lower: str) -> str:
    """Norm of one lower-cased token (without negation scope)."""
    lower = lower.replace("’", "'")
    lower = _TYPOS.get(lower, lower)
    if lower in _NEGATORS and lower not in ("no", "never", "nothing", "without", "zero"):
        return "NEG"
    table = _concept_table()
    if lower in table:
        return table[lower]
    stem = light_stem(lower)
    return table.get(stem, stem)


def _is_negator(lower: str, next_lower: str | None) -> bool:
    if lower not in _NEGATORS:
        return False
    # "no-show" is a thing that happened, not a negation
    return not (lower == "no" and next_lower in ("-", "show", "shows"))


_DO_FORMS = frozenset(
    {
        "do",
        "does",
        "did",
        "is",
        "was",
        "are",
        "were",
        "have",
        "has",
        "had",
        "could",
        "would",
        "should",
        "wo",
        "ca",
    }
)


@dataclass
class _TokenView:
    """Plain-Python copy of the token attributes the rules read (creating spaCy ``Token``
    objects one by one costs more than the rules themselves)."""

    lowers: list[str]
    starts: list[int]
    ends: list[int]
    is_alpha: list[bool]
    is_punct: list[bool]
    sent_starts: list[int]
    lower_text: str = ""  # the doc text, lower-cased, same character offsets
    negated: list[bool] = field(default_factory=list)


_VIEW_KEY = "_signal_token_view"


_SENTENCE_END_CHARS = frozenset(".!?…。！？")
_FEATURES_KEY = "_signal_norm_features"


def _sentence_starts(lowers: Sequence[str], is_punct: Sequence[bool]) -> list[int]:
    """spaCy's default sentencizer rule (a sentence starts at the first non-punctuation token
    after a run of ., ! or ?), computed on plain lists instead of token objects."""
    starts = [0]
    seen_end = False
    for i, low in enumerate(lowers):
        is_end = bool(low) and all(ch in _SENTENCE_END_CHARS for ch in low)
        if seen_end and not is_punct[i] and not is_end:
            starts.append(i)
            seen_end = False
        elif is_end:
            seen_end = True
    return starts


def _token_view(doc: Any) -> _TokenView:
    from spacy.attrs import IDX, IS_ALPHA, IS_PUNCT, IS_SPACE, LENGTH, LOWER, SPACY

    if len(doc) == 0:
        return _TokenView([], [], [], [], [], [])
    arr = doc.to_array([LOWER, IDX, LENGTH, IS_ALPHA, IS_PUNCT, IS_SPACE, SPACY])
    strings = doc.vocab.strings
    lowers = [strings[int(h)].replace("’", "'") for h in arr[:, 0]]
    starts = arr[:, 1].astype(np.int64).tolist()
    ends = (arr[:, 1] + arr[:, 2]).astype(np.int64).tolist()
    is_punct = (arr[:, 4].astype(bool) | arr[:, 5].astype(bool)).tolist()
    return _TokenView(
        lowers=lowers,
        starts=starts,
        ends=ends,
        is_alpha=arr[:, 3].astype(bool).tolist(),
        is_punct=is_punct,
        sent_starts=_sentence_starts(lowers, is_punct),
        lower_text="".join(
            low + " " if sp else low for low, sp in zip(lowers, arr[:, 6].tolist(), strict=True)
        ),
    )


def normalize_doc(doc: Any) -> Any:
    """Set ``token.norm_`` on every token (see module docstring) and the sentence starts."""
    from spacy.attrs import NORM, SENT_START

    view = _token_view(doc)
    lowers = view.lowers
    n = len(lowers)
    sent_start = set(view.sent_starts)
    norms = np.zeros((n, 2), dtype=np.uint64)
    negated = [False] * n
    add = doc.vocab.strings.add
    scope = 0
    for i in range(n):
        lower = lowers[i]
        nxt = lowers[i + 1] if i + 1 < n else None
        if lower == "nt" and i > 0 and lowers[i - 1] in _DO_FORMS:
            lower = "n't"
        norm = normalize_word(lower)
        if lower in _NEG_SCOPE_BREAK or i in sent_start:
            scope = 0
        if scope > 0 and view.is_alpha[i]:
            norm = "neg_" + norm
            negated[i] = True
            scope -= 1
        norms[i, 0] = add(norm)
        # SENT_START is 1 / -1; stored as uint64 -1 wraps, which from_array reads back as -1
        norms[i, 1] = 1 if i in sent_start else np.uint64(2**64 - 1)
        if _is_negator(lower, nxt):
            scope = _NEG_SCOPE_MAX
    if n:
        doc.from_array([NORM, SENT_START], norms)
    view.negated = negated
    doc.user_data[_VIEW_KEY] = view
    # the clause scorer reads the norms from here instead of building Span objects
    doc.user_data[_FEATURES_KEY] = (norms[:, 0].copy(), np.asarray(view.is_punct, dtype=bool))
    return doc


def in_negation_scope(token: Any) -> bool:
    return bool(token.norm_.startswith("neg_"))


# ---------------------------------------------------------------------------------------------
# Clauses and their flags
# ---------------------------------------------------------------------------------------------

_CONTRAST_SPLIT = ("but", "however", "although", "though", "whereas", "despite", "still")
_CONCESSIVE_START = (
    "although",
    "though",
    "even though",
    "despite",
    "even if",
    "while",
    "in spite of",
    "even with",
    "notwithstanding",
)
_POST_CONTRAST_START = (
    "but",
    "however",
    "that said",
    "having said",
    "whereas",
    "still",
    "yet",
    "mind you",
    "on the other hand",
    "even so",
    "then again",
)
_HYPOTHETICAL = re.compile(
    r"\b(if|unless|in case|what if|suppose|supposing|imagine|assuming|in the event|"
    r"should (?:she|he|they|we|i|it)|were (?:she|he|they|we|i) to|hypothetically)\b"
)
_NOT_HYPOTHETICAL_IF = re.compile(
    r"\b(?:sure|know|knows|wonder|wondering|unsure|ask|asked|asking|check|checking|see|doubt|"
    r"clear|idea|question|decide|tell|knew|even|as)\s+if\b"
    r"|\bif (?:i'?m|i am|i was|i'm being|i am being|we'?re|we are) (?:being )?"
    r"(?:honest|frank|candid|blunt|real|truthful)"
    r"|\bif anything\b(?! (?:ever|happen|came|comes|made|makes|goes|went))|\bif you ask me\b|\bif that makes sense\b|\bif not\b|\bas if\b"
)
_REPORTED_CONDITION = re.compile(
    r"\b(?:offered|offers|promised|promises|hinted|hints|implied|implies|threatened|"
    r"threatens|insisted|suggested|suggests|(?:said|says|told me|tells me) i'?d)\b.{0,60}\bif\b"
)
"""A condition someone actually put to the writer ("offered me a job if I …"): an event, so the
boundary rules still apply although the clause reads as hypothetical."""
_REAL_DESPITE_IF = re.compile(r"\b(again|still|another|keeps|kept|keep|already|once more)\b")
_TOPIC = re.compile(
    r"\b(?:we|i)\s+(?:\w+\s+)?(?:discuss\w*|talk\w*|went over|go(?:ing)? over|cover\w*|"
    r"explor\w*|brainstorm\w*|practi[cs]\w*|role[- ]?play\w*|rehears\w*|prepar\w*|prepp\w*|"
    r"plann\w*|review\w*|walk\w* through|unpack\w*|debrief\w*|dug into|dig\w* into|"
    r"look\w* at|work\w* on|work\w* through|chat\w* about|map\w* out|spent \w+ on|spoke about|"
    r"spoke through|touched on|mapped|compared notes on)\b"
    r"|\b(?:advice|tips|strategies|strategy|techniques|ideas|pointers|frameworks?|guidance)\s+"
    r"(?:on|about|for|around)\b"
    r"|\bhow (?:to|she|he|i|they) (?:could |can |might |should )?"
    r"(?:handle|deal|cope|manage|navigate|push back|respond|approach|tackle|give|ask|"
    r"prioriti[sz]e|negotiate|protect|set)\b"
    r"|\bhelped me (?:with|to|think|prepare|plan|handle|deal|navigate|work|figure|reframe)\b"
    r"|\b(?:her|his|their|the) (?:project|team|manager|stakeholders?|client|launch|reorg)'s\b"
)
_TOPIC_ANCHORS = re.compile(
    r"\b(we|we'?ve|we'?re|our|us|each other|sessions?|meetings?|mentoring|check-?ins?|"
    r"catch-?ups?|1:1s?)\b"
)
_RESOLVED = re.compile(
    r"\b(at first|initially|early on|in the beginning|to begin with|at the start|"
    r"used to|first (?:few|couple|two|three|month|weeks?|sessions?|meetings?)|originally|"
    r"back then|for a while there|in the early days|to start with)\b"
)
_RESOLUTION_FOLLOW = re.compile(
    r"\b(now|since then|these days|lately|recently|that'?s changed|has changed|have changed|"
    r"sorted|resolved|fixed|turned (?:a )?corner|much better|improved|anymore|no longer)\b"
)


@dataclass(frozen=True)
class Clause:
    """One clause of a note: character span plus the flags the aggregation rules use."""

    start: int
    end: int
    sentence: int
    kind: str  # "main" | "concessive" | "pre_contrast" | "post_contrast"
    hypothetical: bool = False
    topic: bool = False
    resolved: bool = False
    boundary_rule: int = 0  # 0 none, 1 weak, 2 strong
    token_start: int = -1  # token range in the doc, when known
    token_end: int = -1


def _split_points(view: _TokenView, start: int, end: int) -> list[int]:
    """Token indices where a new clause starts inside the sentence ``[start, end)``."""
    points: list[int] = []
    lowers = view.lowers
    opening = " ".join(lowers[start : start + 2])
    if opening.startswith(_CONCESSIVE_START):
        # "Although X, Y": the concessive part ends at the first comma
        comma = next((i for i in range(start + 1, end - 1) if lowers[i] == ","), None)
        if comma is not None:
            points.append(comma + 1)
    for i in range(start + 1, end):
        low = lowers[i]
        prev = lowers[i - 1]
        if low == ";":
            if i + 1 < end:
                points.append(i + 1)
            continue
        if low not in _CONTRAST_SPLIT:
            continue
        if low == "though" and prev in ("as", "even"):
            if prev == "even":
                points.append(i - 1)
            continue
        if low == "still" and prev not in (",", "but", "-", "—"):
            continue
        if low == "though" and (i == end - 1 or view.is_punct[i + 1]):
            # sentence-final "though" ("she's keen, though.") marks contrast with the
            # previous sentence, not a clause boundary
            continue
        if prev == "but":
            continue
        points.append(i)
    return sorted(set(points))


def _clause_kind(text_lower: str) -> str:
    if text_lower.startswith(_CONCESSIVE_START):
        return "concessive"
    if text_lower.startswith(_POST_CONTRAST_START):
        return "post_contrast"
    return "main"


def _is_hypothetical(text_lower: str) -> bool:
    cleaned = _NOT_HYPOTHETICAL_IF.sub(" ", text_lower)
    if not _HYPOTHETICAL.search(cleaned):
        return False
    return not _REAL_DESPITE_IF.search(cleaned)


def _is_topic(text_lower: str) -> bool:
    match = _TOPIC.search(text_lower)
    if match is None:
        return False
    return _TOPIC_ANCHORS.search(text_lower[match.end() :]) is None


def segment_clauses(doc: Any) -> list[Clause]:
    """Clauses of a normalised, sentence-split doc, with hypothetical/topic/resolved flags."""
    view = doc.user_data.pop(_VIEW_KEY, None)
    if view is None:
        normalize_doc(doc)
        view = doc.user_data.pop(_VIEW_KEY)
    text = view.lower_text
    n = len(view.lowers)
    sent_bounds = [*view.sent_starts, n]
    clauses: list[Clause] = []
    for s_idx, (s_start, s_end) in enumerate(pairwise(sent_bounds)):
        bounds = [s_start, *_split_points(view, s_start, s_end), s_end]
        pieces = [(a, b) for a, b in pairwise(bounds) if b > a]
        lowers_of = [text[view.starts[a] : view.ends[b - 1]] for a, b in pieces]
        kinds = [_clause_kind(low.lstrip(" ,;-")) for low in lowers_of]
        for k in range(len(kinds) - 1):
            if kinds[k] == "main" and kinds[k + 1] == "post_contrast":
                kinds[k] = "pre_contrast"
        if s_idx + 2 < len(sent_bounds):
            nxt_start, nxt_end = sent_bounds[s_idx + 1], sent_bounds[s_idx + 2]
            next_sent_lower = text[view.starts[nxt_start] : view.ends[nxt_end - 1]][:60]
        else:
            next_sent_lower = ""
        for k, (a, b) in enumerate(pieces):
            if all(view.is_punct[a:b]):
                continue
            lower = lowers_of[k]
            later = " ".join(lowers_of[k + 1 :])
            resolved = bool(_RESOLVED.search(lower)) and bool(
                kinds[k] in ("pre_contrast", "concessive")
                or _RESOLUTION_FOLLOW.search(later)
                or _RESOLUTION_FOLLOW.search(next_sent_lower)
            )
            hypothetical = _is_hypothetical(lower)
            topic = _is_topic(lower)
            rule_applies = not topic and (not hypothetical or _REPORTED_CONDITION.search(lower))
            rule = _boundary_rule_level(view, a, b, lower) if rule_applies else 0
            clauses.append(
                Clause(
                    start=view.starts[a],
                    end=view.ends[b - 1],
                    sentence=s_idx,
                    kind=kinds[k],
                    hypothetical=hypothetical,
                    topic=topic,
                    resolved=resolved,
                    boundary_rule=rule,
                    token_start=a,
                    token_end=b,
                )
            )
    return clauses


# ---------------------------------------------------------------------------------------------
# High-recall rule layer for boundary_concern
# ---------------------------------------------------------------------------------------------

_BOUNDARY_STRONG = re.compile(
    r"\b(inappropriat\w*|harass\w*|grop\w*|creep\w*|flirt\w*|sexual\w*|sexist\w*|racist\w*|"
    r"homophob\w*|transphob\w*|misogyn\w*|slurs?|bull(?:y|ied|ying)|confidential\w*|"
    r"gossip\w*|leak\w*|breach\w*|brib\w*|kickbacks?|fraud\w*|insider|nda|retaliat\w*|"
    r"discriminat\w*|misconduct|unethical|improper\w*|coerc\w*|predator\w*|lewd|"
    r"conflict of interest|conflicts of interest|behind my back|"
    r"off the record|asked me out|hit on me|hitting on me|"
    r"made a pass|date with (?:him|her)|on a date|kiss\w*|touch(?:ed|ing)|hugg?(?:ed|ing)|"
    r"(?:yell|shout|scream|swor)\w* at me|belittl\w*|demean\w*|humiliat\w*|"
    r"(?:my|her|his) (?:looks|appearance|body|figure|weight|outfit)|"
    r"(?:personal|private) (?:number|phone|instagram|address|life)|"
    r"hr (?:policy|issue|matter|complaint)|report(?:ed|ing)? (?:it |this |him |her )?to hr|"
    r"code of conduct|compliance|falsif\w*|fudg\w*|off the books|cover(?:ed|ing)? up|"
    r"client data|customer data|personal data|passwords?|credentials|share price|"
    r"(?:my|your) (?:login|log-in|access token|security token|badge)|"
    r"(?:asked for|requested|wanted|borrow\w*|use|using) my (?:access|login|account|"
    r"credentials|password|badge|token|security token|laptop)|"
    r"(?:gifts?|tickets|vouchers?|cash|money) (?:if|in return|in exchange|for)|"
    r"(?:back|round|up) to (?:his|her|their) (?:flat|house|apartment|place|room)|"
    r"stock tips?|non-public|regulator\w*|kept it quiet|keep it quiet|without (?:my )?"
    r"(?:consent|permission|asking)|wasn'?t (?:his|hers|theirs) to share|drunk|"
    r"hotel|late[- ]night (?:texts|messages|calls)|midnight (?:texts|messages|calls))\b"
)
_BOUNDARY_PROTECTED = (
    r"(?:appearance|looks|body|weight|figure|outfits?|clothes|clothing|dress|hair|age|accent|"
    r"religion|faith|race|ethnicity|skin|gender|sexuality|orientation|disabilit\w*|pregnan\w*|"
    r"relationship|love life|dating life|marriage|culture|nationality)"
)
_BOUNDARY_GROUPS = (
    r"(?:women|woman|girls|men|gay|lesbian|trans|black|asian|muslims?|jews?|jewish|christians?|"
    r"hindus?|disabled|older|immigrants?|foreigners|people of|people from)"
)
# A second, broader family of strong cues, by theme: personal remarks and mockery, romantic or
# after-hours advances, secrecy and cover-ups, rule-bending and data handling, money and favours,
# aggression and safety.
_BOUNDARY_STRONG_MORE = re.compile(
    r"\b((?:comments?|commented|commenting|remarks?|jokes?|joked|joking|mock\w*|made fun|"
    r"making fun|teas\w*|questions?) (?:\w+ ){0,3}(?:about|on|of) (?:my|their|her|his|your) "
    + _BOUNDARY_PROTECTED
    + r"|(?:mock\w*|ridicul\w*|made fun of|making fun of|laughed at|sneer\w*) (?:me|my)"
    r"|(?:talks?|talked|talking|spoke|speaks|jokes?|joked|comments?|remarks?) about "
    + _BOUNDARY_GROUPS
    + r"|(?:felt|feels|feel|feeling|was|got|is|getting) (?:a bit |really |very |too |quite )?"
    r"(?:unsafe|too personal|too intimate|too familiar|creepy|violated)"
    r"|made me (?:feel )?(?:really |very |so |quite )?(?:uncomfortable|uneasy|unsafe|"
    r"nervous to be alone)"
    r"|(?:darling|sweetheart|sweetie|babe|gorgeous|sexy|hottie)"
    r"|ask\w* (?:me )?(?:whether|if) i (?:was|am|had|have|were) (?:single|seeing|a boyfriend|"
    r"a girlfriend|a partner|married)|(?:boyfriend|girlfriend|love life|dating life)"
    r"|miss(?:es|ed)? me|(?:stood|standing|stands|sat|sitting|sits) (?:way )?too close"
    r"|(?:after hours|after work|late|evening|weekend)\b.{0,30}\b(?:bar|pub|hotel|home|flat)\b"
    r".{0,20}\bjust (?:the two of )?us|just (?:the two of )?us\b.{0,30}\b(?:drinks?|dinner|"
    r"bar|pub|hotel|flat|home|weekend)"
    r"|meet (?:up )?(?:at|in) (?:his|her|their) (?:home|flat|house|place|apartment|room)"
    r"|(?:followed|follows|following|added|adding|friended|messag\w*|dm'?d?) me on "
    r"(?:instagram|facebook|tiktok|snapchat|whatsapp|my personal|social|a dating)"
    r"|(?:my )?(?:social media|instagram|facebook|tiktok|photos|selfies)\b.{0,30}\b(?:personal|"
    r"comment\w*|lik(?:ed|ing|es) all)|personal (?:errands|favou?rs?|chores)"
    r"|(?:lend|loan|borrow|give) (?:him|her|them|me) (?:some )?(?:money|cash|a loan)"
    r"|(?:keep|keeping|kept) (?:it|this|that|our \w+|the \w+) (?:a )?secret|secret from"
    r"|(?:not|n'?t) to (?:tell|report|mention|say anything|raise|escalate|flag)"
    r"|(?:asked|told|wanted|pressured|pushed|encouraged|got) me to (?:lie|cover for|cover it|"
    r"sign (?:on (?:his|her|their) behalf|for (?:him|her|them))|sign the attendance|backdate|"
    r"bend|ignore the|skip the (?:audit|approval|checks|controls|security|review process))"
    r"|(?:bypass\w*|circumvent\w*|get(?:ting)? around|work(?:ing)? around|dodg\w*|"
    r"sidestep\w*|bend(?:ing)?|break(?:ing)?|ignor\w*) (?:the |our |a |some )?(?:security|"
    r"policy|policies|rules|regulations?|procurement|controls?|approval|audit|compliance|"
    r"data (?:protection|retention)|gdpr|law|legal|safeguarding|expense)"
    r"|(?:change|alter|doctor|tamper\w* with|massag\w*|edit|backdat\w*|fake|inflat\w*|pad) "
    r"(?:the |my |our |his |her )?(?:audit|findings|figures|numbers|results|records|"
    r"timesheets?|expenses?|invoices?|receipts)\b(?! (?:for|in) (?:my|our|the) (?:budget|plan|"
    r"forecast|deck|slides))"
    r"|expenses? without (?:receipts|approval)"
    r"|(?:share|send|pass|give|forward|show|hand|export|email|leak)\w* (?:on |over )?(?:him |her |"
    r"them |to (?:him|her|them) )?(?:our|the|my|some|internal|confidential)? ?(?:pricing|price "
    r"list|customer (?:list|records|details|data)|client (?:list|records|details)|salar\w*|"
    r"payroll|source code|trade secrets?|redundancy (?:list|plans)|layoff (?:list|plans)|bid "
    r"(?:details|numbers)|tender (?:details|documents))"
    r"|(?:details|list|names) of the (?:redundanc\w*|layoffs?|restructur\w*)"
    r"|(?:job|role|position|contract|reference|promotion)\b.{0,40}\b(?:if i|in return|in "
    r"exchange|as long as i)"
    r"|(?:threaten\w*|abusive|aggressive\w*|hostile|intimidating me|raised (?:his|her|their) "
    r"voice|lost (?:his|her|their) temper|unsafe|safeguarding|assault\w*|stalk\w*)"
    r"|(?:dinner|drinks?|lunch|coffee|a drink|a meal) alone|alone with (?:him|her|them)"
    r"|(?:back|round|up|over) to \w+(?:'s)? (?:flat|house|apartment|place|room|hotel)"
    r"|(?:messag|text|call|ring|phon|contact|email|dm)\w* me (?:late at night|late in the "
    r"evening|at midnight|at night|at weekends|on weekends|in the middle of the night|at \d)"
    r"|(?:late at night|at midnight|in the middle of the night)\b.{0,40}\b(?:personal|private|"
    r"non-work)"
    r"|hand on my|(?:grabb?|strok|rubb?)\w* my|put (?:his|her|their) (?:hand|arm)"
    r"|(?:gave|give|gives|promised|promises|offered|offers) me (?:a |an |some )?(?:gift|"
    r"tickets|voucher|favou?r|job|role|money|cash|bonus|discount|trip)\b.{0,40}\b(?:if|so that|"
    r"in return|in exchange)"
    r"|(?:lend|loan)\w* \w+ (?:some )?(?:money|cash)|borrow\w* (?:some )?(?:money|cash)"
    r"|(?:told|shared|showed|mentioned|disclosed|revealed)\w* (?:me |with me )?(?:a |another |"
    r"other )?(?:colleague'?s?|coworker'?s?|someone'?s|people'?s|peers'?|team ?mates?'?s?) "
    r"(?:salar\w*|pay|performance|health|medical|personal|disciplinary)"
    r"|skip (?:the )?(?:rules|audit|approval|policy|procurement|checks|controls|security)"
    r"|(?:copied|cc'?ed|bcc'?ed|looped) (?:in )?(?:my |our |the )?(?:manager|boss|director|"
    r"hr|team|lead|skip-level))\b"
)
# A third family, for phrasings the corpus barely covers: crossed lines named as such, crude or
# suggestive talk, intrusion into private life and home, data moved outside approved channels,
# favours to relatives' firms or vendors, and advancement traded for "friendliness".
_BOUNDARY_STRONG_EXTRA = re.compile(
    r"\b((?:cross\w*|overstep\w*|overstepp\w*|push\w*|ignor\w*|violat\w*|disrespect\w*|"
    r"test\w*) (?:my |the |our |a |some |professional |personal )?(?:line(?! manager)|boundar\w*)"
    r"|boundary (?:issue|problem|concern|violation)s?|out of line|overstepp?\w*|unprofessional"
    r"|crude|vulgar|lecherous|suggestive|innuendo\w*|dirty jokes?|off-colou?r|risqu\w*|"
    r"explicit (?:jokes?|photos?|images?|messages?|comments?)"
    r"|(?:stare|stares|stared|staring|ogl\w*|leer\w*) at (?:me|my)"
    r"|(?:personal|intrusive|invasive|prying) questions|intrusive|pry(?:ing|ed)? into"
    r"|(?:turned|turns|showed|shows|shown|came|comes|turning|showing) up (?:at|outside) my "
    r"(?:home|house|flat|door|apartment|place|gym)"
    r"|(?:my )?home address|where i live"
    r"|(?:contacted|called|messaged|emailed|rang) my (?:partner|wife|husband|family|parents|mum|"
    r"mom|dad|girlfriend|boyfriend)"
    r"|(?:pressur\w*|push\w*|bull\w*|guilt\w*) me into"
    r"|(?:send|share|pass|give|forward|export|email|leak|mov|upload|copy|cop(?:y|ied))\w* "
    r"(?:on |over )?(?:\w+ ){0,2}(?:internal|confidential|sensitive|restricted|proprietary) "
    r"(?:numbers|figures|data|docs|documents|files|reports|information|info|details|projects?)"
    r"|outside (?:the |our )?(?:approved|official|sanctioned|secure) (?:systems?|tools?|"
    r"channels?|platforms?)|personal (?:email|gmail|drive|dropbox) (?:account|address)?"
    r"|(?:friend|brother|sister|wife|husband|partner|cousin|son|daughter|mate)'?s? "
    r"(?:firm|company|business|agency|startup|consultancy)|(?:his|her|their) (?:vendor|"
    r"supplier|bid|tender)|give (?:\w+ )?(?:firm|company|agency|supplier) the contract"
    r"|(?:job|role|money|cash|tickets?|gifts?|bonus|promotion|raise|reference) if i"
    r"|(?:get on|get ahead|progress|be promoted|go far)\w* (?:faster |quicker |further )?if i"
    r"|(?:friendlier|nicer|more friendly|more flirty|flirtier) (?:with|to)"
    r"|side (?:company|business|hustle|venture)"
    r"|(?:comments?|commented|commenting|lik(?:es|ed|ing)) on (?:all )?my (?:photos|pictures|"
    r"posts|selfies|stories)|my private (?:social|accounts?|instagram|profile|page)"
    r"|(?:evaluat|assess|review|rat|grad|decid|judg|apprais)\w* (?:the mentee|their mentee|me|"
    r"my)\b.{0,30}\b(?:performance review|rating|appraisal|promotion|bonus)"
    r"|responsible for (?:my|their|the mentee'?s) (?:rating|review|appraisal|promotion|bonus|"
    r"pay)|like a conflict"
    r"|(?:threat\w*|blackmail\w*|extort\w*|quid pro quo|nepotis\w*|favouritism|favoritism)"
    r"|(?:called|calls|call) me (?:stupid|an idiot|useless|thick|dumb|sweetheart|darling|love|"
    r"names)|insult\w*|bad-?mouth\w*|slag\w* (?:me|off)"
    r"|(?:recorded|recording|records|filmed|photographed) (?:me|our|us)\b"
    r"|(?:religion|religious|politics|political views|church)\b.{0,25}\b(?:on me|push\w*|"
    r"convert\w*|preach\w*|lectur\w*)|(?:preach\w*|convert) (?:to )?me"
    r"|(?:massage|my (?:leg|knee|thigh|waist|shoulder)s?)\b"
    r"|(?:asked|invited|wants?|wanted) me (?:out |back )?(?:to|for) (?:his|her|their) "
    r"(?:home|house|flat|place|room|hotel)"
    r"|company (?:card|credit card) for (?:personal|his|her|their))\b"
)
_BOUNDARY_DISCLOSE = re.compile(
    r"\b(told|tells|telling|shared|sharing|shares|repeat\w*|passed|passing|relay\w*|"
    r"forward\w*|mention\w*|spread\w*|disclos\w*|blab\w*|brought (?:it )?up|cc'?d|"
    r"screenshot\w*|word got|got back to|found out|knew about|knows about|copied|cc'?ed|"
    r"looped in|read out|posted|quoted|(?:talk\w*|spoke|speaks|jok\w*) about (?:me|my|our|what))\b"
)
_BOUNDARY_PRIVATE = re.compile(
    r"\b(what i (?:told|said|shared|confided)|i'?d (?:told|said|shared|confided)|"
    r"i (?:had )?confided|private\w*|personal|sensitive|secret\w*|my (?:struggles|situation|"
    r"health|salary|pay|divorce|diagnosis|therapy|notes|doubts|concerns|worries|plans to "
    r"leave|job search|interview\w*|messages|mental health|family|illness|partner|personal "
    r"life|performance)|about me|our (?:sessions?|conversations?|chats?|talks?)|what we "
    r"(?:discussed|talked about|said)|what i'?d (?:mentioned|raised)|in confidence|"
    r"between (?:the two of )?us|salar\w*|(?:my )?job (?:interviews?|hunt\w*|applications?))\b"
)
_BOUNDARY_THIRD_PARTY = re.compile(
    r"\b(manager|boss|team|colleagues?|others|everyone|everybody|director|lead|supervisor|"
    r"people|hr|skip|whole|group|peers?|department|leadership|channel|stand-?up)\b"
)
_BOUNDARY_CONFLICT = re.compile(
    r"\b((?:is|he'?s|she'?s|being|also|now|became|becomes|become|be|will be|going to be|"
    r"'ll be) (?:my|our) (?:line |direct |"
    r"new |skip-level |acting )?(?:manager|boss|supervisor|reviewer|approver|assessor)|"
    r"reports? (?:in)?to (?:him|her|them)|(?:on|chairs?|sits on|sitting on) my "
    r"(?:promotion|review|assessment|interview|hiring) (?:panel|committee|board)|"
    r"(?:decide|decides|deciding|approves?|signs? off|sign off on|rates?|rating|evaluat\w*|"
    r"assess\w*|calibrat\w*|grad\w*|scor\w*|rank\w*) my (?:work for|probation|submission|"
    r"portfolio|promotion|raise|bonus|rating|"
    r"review|performance|pay|application|grade|level|case)|"
    r"(?:panel|committee|board) (?:deciding|for|that decides|reviewing) my|"
    r"(?:recruit|poach|hire|headhunt)\w* me|(?:her|his|their) (?:own )?(?:company|business|"
    r"startup|firm|side (?:hustle|business|gig)|agency|consultancy)|"
    r"(?:sell|selling|sold|pitch\w*) (?:me|us)|invest\w*|vendor|supplier|gifts?|"
    r"married to|dating|related to|relative|(?:her|his) (?:wife|husband|partner|brother|"
    r"sister|cousin|son|daughter)|same (?:role|job|position) (?:as|i)|compet\w* (?:with|for|"
    r"against) (?:me|her|him)|referral bonus|commission|favou?rs?|"
    r"(?:on|sits on|sitting on|chairs?|chairing|is on|joins?|joined) the (?:\w+ )?(?:hiring|"
    r"interview|promotion|selection|assessment|review|grading) (?:panel|committee|board)|"
    r"interview\w* me for|(?:approv|sign\w* off|decid)\w* (?:on )?my (?:bonus|pay|raise|"
    r"expenses|leave))\b"
)


def boundary_rule_level(span: Any) -> int:
    """2 when a strong boundary pattern fires outside negation scope, 1 for a weaker
    combination (a conflict of interest), 0 otherwise; ``span`` is a normalised spaCy span.
    A pattern whose words are all negated ("he has never said anything inappropriate")
    does not count."""
    doc = span.doc
    view = _token_view(doc)
    view.negated = [t.norm_.startswith("neg_") for t in doc]
    lower = span.text.lower().replace("’", "'")
    return _boundary_rule_level(view, span.start, span.end, lower)


def _boundary_rule_level(view: _TokenView, a: int, b: int, lower: str) -> int:
    offset = view.starts[a]

    def _outside_negation(match: re.Match[str]) -> bool:
        lo, hi = match.start() + offset, match.end() + offset
        words = [
            i for i in range(a, b) if view.starts[i] < hi and view.ends[i] > lo and view.is_alpha[i]
        ]
        return not words or not all(view.negated[i] for i in words)

    for pattern in (_BOUNDARY_STRONG, _BOUNDARY_STRONG_MORE, _BOUNDARY_STRONG_EXTRA):
        for match in pattern.finditer(lower):
            if _outside_negation(match):
                return 2
    disclose = [m for m in _BOUNDARY_DISCLOSE.finditer(lower) if _outside_negation(m)]
    if disclose and _BOUNDARY_PRIVATE.search(lower) and _BOUNDARY_THIRD_PARTY.search(lower):
        return 2
    for match in _BOUNDARY_CONFLICT.finditer(lower):
        if _outside_negation(match):
            return 1
    return 0


# ---------------------------------------------------------------------------------------------
# spaCy components and the text-classifier architecture
# ---------------------------------------------------------------------------------------------

_REGISTERED = False


def register_components() -> None:
    """Register the pipeline's factories and model architecture with spaCy (idempotent)."""
    global _REGISTERED
    if _REGISTERED:
        return
    from spacy.language import Language
    from spacy.util import registry

    @Language.component("signal_normalizer")
    def _normalizer(doc: Any) -> Any:
        return normalize_doc(doc)

    @Language.component("signal_clauses")
    def _clauses(doc: Any) -> Any:
        doc.user_data[CLAUSES_KEY] = segment_clauses(doc)
        return doc

    @Language.factory("signal_scorer", default_config={"textcat": TEXTCAT})
    def _scorer(nlp: Any, name: str, textcat: str) -> SignalClauseScorer:
        return SignalClauseScorer(nlp, name, textcat)

    registry.architectures.register("recsys.SignalNormBOW.v1", func=build_norm_bow_classifier)
    _REGISTERED = True


def build_norm_bow_classifier(
    exclusive_classes: bool = False,
    ngram_size: int = 2,
    length: int = 262144,
    nO: int | None = None,
) -> Any:
    """spaCy's sparse bag-of-n-grams classifier, reading ``NORM`` (our normalised tokens)
    instead of ``ORTH``, and accepting clause ``Span`` objects as well as ``Doc`` objects."""
    from spacy.attrs import IS_PUNCT, IS_SPACE, NORM
    from spacy.ml.models.textcat import (
        SparseLinear_v2,
        resize_and_set_ref,
        resize_linear_weighted,
    )
    from spacy.ml.models.textcat import resizable as make_resizable
    from thinc.api import Logistic, Model, chain, with_cpu
    from thinc.layers.softmax_activation import softmax_activation

    def _norms(item: Any) -> np.ndarray:
        if isinstance(item, ClauseNorms):
            return item.norms
        # punctuation carries no signal and, as a feature, only teaches the model that a
        # trailing full stop matters; Doc and Span both have to_array
        arr = item.to_array([NORM, IS_PUNCT, IS_SPACE]).reshape(-1, 3)
        return arr[(arr[:, 1] == 0) & (arr[:, 2] == 0), 0].astype(np.uint64)

    def _forward(model: Any, docs: Any, is_train: bool) -> Any:
        # All clauses of the batch at once: one n-gram hashing pass over the concatenated
        # norms, keeping the n-grams that do not cross a clause boundary. A key repeated
        # within a clause is simply listed twice (the sparse layer sums, as counts would).
        ops = model.ops
        size = model.attrs["ngram_size"]
        per_item = [_norms(item) for item in docs]
        sizes = np.fromiter((len(a) for a in per_item), dtype=np.int64, count=len(per_item))
        unigrams = np.concatenate(per_item) if per_item else np.zeros(0, dtype=np.uint64)
        owner = np.repeat(np.arange(len(per_item)), sizes)
        key_parts = [unigrams]
        owner_parts = [owner]
        for n in range(2, size + 1):
            if len(unigrams) < n:
                break
            grams = np.asarray(ops.ngrams(n, ops.asarray(np.ascontiguousarray(unigrams))))
            inside = owner[: len(owner) - n + 1] == owner[n - 1 :]
            key_parts.append(grams[inside])
            owner_parts.append(owner[: len(owner) - n + 1][inside])
        keys = np.concatenate(key_parts)
        owners = np.concatenate(owner_parts)
        order = np.argsort(owners, kind="stable")
        lengths = ops.asarray(np.bincount(owners, minlength=len(per_item)), dtype="int32")
        keys_arr = ops.asarray(np.ascontiguousarray(keys[order]), dtype="uint64")
        vals_arr = ops.asarray(np.ones(len(keys), dtype=np.float32), dtype="f")

        def backprop(d_y: Any) -> list[Any]:
            return []

        return (keys_arr, vals_arr, lengths), backprop

    extract: Any = Model("extract_norm_ngrams", _forward, attrs={"ngram_size": ngram_size})
    length = 2 ** (length - 1).bit_length()
    sparse = SparseLinear_v2(nO=nO, length=length)
    # same structure as spaCy's TextCatBOW.v3, so textcat.add_label can resize the output
    resizable_layer: Any = make_resizable(
        sparse, resize_layer=partial(resize_linear_weighted, fill_defaults={"b": -10.0, "W": 0})
    )
    model: Any = chain(extract, resizable_layer)
    model = with_cpu(model, model.ops)
    output = softmax_activation() if exclusive_classes else Logistic()
    model = chain(model, with_cpu(output, output.ops))
    if nO is not None:
        model.set_dim("nO", nO)
    model.set_ref("output_layer", sparse)
    model.attrs["multi_label"] = not exclusive_classes
    model.attrs["resize_output"] = partial(resize_and_set_ref, resizable_layer=resizable_layer)
    return model


@dataclass(frozen=True)
class ClauseNorms:
    """The feature norms of one clause (punctuation removed), precomputed by the normaliser:
    the classifier reads these instead of building a spaCy ``Span`` per clause."""

    norms: np.ndarray


class SignalClauseScorer:
    """Runs the (disabled) text classifier on every clause and stores the raw probabilities
    as ``doc.user_data["signal_clause_scores"]`` (n_clauses × len(LABELS))."""

    def __init__(self, nlp: Any, name: str, textcat: str) -> None:
        self.nlp = nlp
        self.name = name
        self.textcat = textcat

    def __call__(self, doc: Any) -> Any:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Any], batch_size: int = 256) -> Iterator[Any]:
        batch: list[Any] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._score_batch(batch)
                batch = []
        if batch:
            yield from self._score_batch(batch)

    def _score_batch(self, docs: list[Any]) -> list[Any]:
        textcat = self.nlp.get_pipe(self.textcat)
        order = [list(textcat.labels).index(label) for label in LABELS]
        spans: list[Any] = []
        counts: list[int] = []
        for doc in docs:
            clauses: list[Clause] = doc.user_data.get(CLAUSES_KEY, [])
            features = doc.user_data.pop(_FEATURES_KEY, None)
            for c in clauses:
                if features is not None and c.token_start >= 0:
                    norms, punct = features
                    keep = ~punct[c.token_start : c.token_end]
                    spans.append(ClauseNorms(norms[c.token_start : c.token_end][keep]))
                else:
                    spans.append(doc.char_span(c.start, c.end, alignment_mode="expand"))
            counts.append(len(clauses))
        if spans:
            probs = np.asarray(textcat.model.predict(spans), dtype=np.float32)[:, order]
        else:
            probs = np.zeros((0, len(LABELS)), dtype=np.float32)
        pos = 0
        for doc, count in zip(docs, counts, strict=True):
            doc.user_data[SCORES_KEY] = probs[pos : pos + count]
            pos += count
        return docs

    # spaCy serialisation hooks: the scorer has no weights of its own
    def to_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> None:
        Path(path).mkdir(parents=True, exist_ok=True)

    def from_disk(self, path: Path, *, exclude: Iterable[str] = ()) -> SignalClauseScorer:
        return self

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return b""

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> SignalClauseScorer:
        return self


def textcat_config(ngram_size: int = 2, length: int = 262144) -> dict[str, Any]:
    return {
        "threshold": 0.5,
        "model": {
            "@architectures": "recsys.SignalNormBOW.v1",
            "exclusive_classes": False,
            "ngram_size": ngram_size,
            "length": length,
            "nO": None,
        },
    }


def build_blank_pipeline(*, ngram_size: int = 2, length: int = 262144) -> Any:
    """The untrained pipeline: rule components plus an uninitialised, enabled text classifier
    (training disables it once trained, see :func:`finalize_pipeline`)."""
    import spacy

    register_components()
    nlp = spacy.blank("en")
    # no spaCy sentencizer: the normaliser applies the same rule without Token objects
    nlp.add_pipe("signal_normalizer")
    nlp.add_pipe("signal_clauses")
    textcat: Any = nlp.add_pipe(TEXTCAT, config=textcat_config(ngram_size, length))
    for label in LABELS:
        textcat.add_label(label)
    return nlp


def finalize_pipeline(nlp: Any) -> Any:
    """Disable the text classifier as a doc-level component and add the clause scorer."""
    if "signal_scorer" not in nlp.pipe_names:
        nlp.add_pipe("signal_scorer", config={"textcat": TEXTCAT})
    if TEXTCAT in nlp.pipe_names:
        nlp.disable_pipe(TEXTCAT)
    return nlp


# ---------------------------------------------------------------------------------------------
# Aggregation: clause probabilities + flags → calibrated note-level scores and evidence
# ---------------------------------------------------------------------------------------------


def calibrate(raw: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Piecewise-linear map per label sending 0 → 0, threshold → 0.5, 1 → 1."""
    raw = np.clip(np.asarray(raw, dtype=np.float64), 0.0, 1.0)
    t = np.clip(np.asarray(thresholds, dtype=np.float64), 1e-6, 1 - 1e-6)
    low = 0.5 * raw / t
    high = 0.5 + 0.5 * (raw - t) / (1.0 - t)
    return np.where(raw < t, low, high)


def clause_scores(clauses: Sequence[Clause], raw: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Calibrated per-clause scores after the negation-independent rules:

    * hypothetical clauses carry no signal; off-topic and resolved clauses carry no challenge;
    * a concessive clause ("although we're both swamped, …") carries no challenge unless the
      rest of its sentence does; likewise the clause before "but" when what follows is
      positive and carries no challenge ("it's been slow, but we've really found our feet");
    * ``boundary_concern`` ignores the contrast rules and is raised by the rule layer.
    """
    n = len(clauses)
    if n == 0:
        return np.zeros((0, len(LABELS)))
    cal = calibrate(raw, thresholds)
    detected = cal >= DECISION_SCORE
    challenge_hit = (detected & CHALLENGE_MASK).any(axis=1)
    out = cal.copy()
    contrast_mask = CHALLENGE_MASK.copy()
    contrast_mask[BOUNDARY_INDEX] = False
    for k, clause in enumerate(clauses):
        if clause.hypothetical:
            out[k] *= SUPPRESSED_FACTOR
            if clause.boundary_rule:  # only set for conditions actually put to the writer
                rule_score = BOUNDARY_RULE_SCORES[clause.boundary_rule]
                out[k, BOUNDARY_INDEX] = max(out[k, BOUNDARY_INDEX], rule_score)
            continue
        if clause.topic:
            out[k, CHALLENGE_MASK] *= SUPPRESSED_FACTOR
        if clause.resolved:
            out[k, contrast_mask] *= SUPPRESSED_FACTOR
        same = [j for j in range(n) if j != k and clauses[j].sentence == clause.sentence]
        if (
            clause.kind == "concessive"
            and same
            and not any(challenge_hit[j] for j in same if clauses[j].kind != "concessive")
        ):
            out[k, contrast_mask] *= SUPPRESSED_FACTOR
        if clause.kind == "pre_contrast" and k + 1 < n:
            nxt = k + 1
            if (
                clauses[nxt].sentence == clause.sentence
                and detected[nxt, POSITIVE_INDEX]
                and not challenge_hit[nxt]
            ):
                out[k, contrast_mask] *= SUPPRESSED_FACTOR
        if clause.boundary_rule:
            rule_score = BOUNDARY_RULE_SCORES[clause.boundary_rule]
            out[k, BOUNDARY_INDEX] = max(out[k, BOUNDARY_INDEX], rule_score)
    return out


@dataclass
class DetectedSignal:
    label: str
    score: float
    evidence: list[str] = field(default_factory=list)


def aggregate_note(
    text: str, clauses: Sequence[Clause], raw: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, list[DetectedSignal]]:
    """Note-level calibrated scores (max over clauses) and the detected signals with their
    evidence clauses (exact substrings of ``text``, in reading order)."""
    per_clause = clause_scores(clauses, raw, thresholds)
    if len(clauses) == 0:
        return np.zeros(len(LABELS)), []
    note = per_clause.max(axis=0)
    found: list[DetectedSignal] = []
    for j, label in enumerate(LABELS):
        if note[j] < DECISION_SCORE:
            continue
        evidence = [
            text[c.start : c.end]
            for k, c in enumerate(clauses)
            if per_clause[k, j] >= DECISION_SCORE
        ]
        found.append(
            DetectedSignal(
                label=label, score=round(float(note[j]), 4), evidence=list(dict.fromkeys(evidence))
            )
        )
    return note, found


# ---------------------------------------------------------------------------------------------
# The public wrapper
# ---------------------------------------------------------------------------------------------


def fingerprint_rows(rows: Iterable[dict[str, Any]]) -> str:
    """SHA-256 over the canonical JSON of training rows (identifies the data, not the text)."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode())
        digest.update(b"\n")
    return digest.hexdigest()


class SignalMiner:
    """Load / save / run a trained signal pipeline. ``scores`` columns follow ``LABELS``
    (the :class:`~recsys.schemas.Signal` enum order)."""

    def __init__(
        self, nlp: Any, thresholds: dict[str, float], manifest: dict[str, Any] | None = None
    ) -> None:
        register_components()
        self.nlp = finalize_pipeline(nlp)
        self.thresholds = {label: float(thresholds[label]) for label in LABELS}
        self._threshold_array = np.array([self.thresholds[label] for label in LABELS])
        import spacy

        base = dict(manifest or {})
        base.update(
            {
                "labels": list(LABELS),
                "thresholds": self.thresholds,
                "decision_score": DECISION_SCORE,
                "spacy_version": spacy.__version__,
                "pipeline": list(self.nlp.pipe_names),
            }
        )
        base.setdefault("training_data_fingerprint", None)
        self.manifest: dict[str, Any] = base

    @classmethod
    def load(cls, path: Path) -> SignalMiner:
        import spacy

        register_components()
        path = Path(path)
        manifest = json.loads((path / MANIFEST_FILE).read_text())
        nlp = spacy.load(path / PIPELINE_DIR)
        return cls(nlp, manifest["thresholds"], manifest)

    def save(self, path: Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.nlp.to_disk(path / PIPELINE_DIR)
        (path / MANIFEST_FILE).write_text(json.dumps(self.manifest, indent=2, sort_keys=True))

    def _docs(self, texts: Sequence[str], batch_size: int) -> Iterator[Any]:
        return self.nlp.pipe((t if t else " " for t in texts), batch_size=batch_size)

    def clause_details(
        self, texts: Sequence[str], batch_size: int = 256
    ) -> list[tuple[list[Clause], np.ndarray]]:
        """Per note: its clauses and raw classifier probabilities (used by training)."""
        return [
            (doc.user_data[CLAUSES_KEY], doc.user_data[SCORES_KEY])
            for doc in self._docs(texts, batch_size)
        ]

    def analyze(self, texts: Sequence[str], batch_size: int = 256) -> list[list[DetectedSignal]]:
        results: list[list[DetectedSignal]] = []
        for text, doc in zip(texts, self._docs(texts, batch_size), strict=True):
            _, found = aggregate_note(
                text, doc.user_data[CLAUSES_KEY], doc.user_data[SCORES_KEY], self._threshold_array
            )
            results.append(found)
        return results

    def scores(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float64)
        for i, (text, doc) in enumerate(zip(texts, self._docs(texts, batch_size), strict=True)):
            out[i], _ = aggregate_note(
                text, doc.user_data[CLAUSES_KEY], doc.user_data[SCORES_KEY], self._threshold_array
            )
        return out

    def with_thresholds(self, thresholds: dict[str, float]) -> SignalMiner:
        return SignalMiner(self.nlp, thresholds, self.manifest)


ProgressCallback = Callable[[str, float], None]
