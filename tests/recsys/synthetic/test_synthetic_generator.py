"""The synthetic programme generator: contract-valid, consistent, deterministic, and with a
latent truth that the recorded history actually follows."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from recsys.schemas import ENTITY_FILES, Signal
from recsys.synthetic import generate_programme, load_ground_truth
from recsys.synthetic.generator import PROGRAMME_START, SHOWN
from recsys.synthetic.population import parse_index
from recsys.synthetic.texts import NOTE_NEGATED, NOTE_NEUTRAL, NOTE_SIGNALS
from recsys.synthetic.topics import TOPICS

AS_OF = date(2026, 10, 1)
N_MENTORS, N_MENTEES = 200, 300


def _read(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


@pytest.fixture(scope="module")
def programme(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("programme")
    stages: list[tuple[str, int, int]] = []
    summary = generate_programme(
        out,
        n_mentors=N_MENTORS,
        n_mentees=N_MENTEES,
        seed=7,
        as_of=AS_OF,
        progress=lambda s, d, t: stages.append((s, d, t)),
    )
    data = {stem: _read(out / f"{stem}.jsonl") for stem in ENTITY_FILES}
    return {"out": out, "summary": summary, "stages": stages, **data}


def test_summary_counts_match_files(programme: dict[str, Any]) -> None:
    summary = programme["summary"]
    for stem, n in summary.counts.items():
        assert len(programme[stem]) == n, stem
        assert summary.paths[stem].exists()
    assert summary.mentors == N_MENTORS and summary.mentees == N_MENTEES
    assert summary.pairings > 300 and summary.feedback > 100 and summary.interactions > 100
    assert summary.heldout_mentees == 15
    assert (summary.ground_truth_dir / "model.json").exists()


def test_progress_reports_every_stage_to_completion(programme: dict[str, Any]) -> None:
    last: dict[str, tuple[int, int]] = {}
    for stage, done, total in programme["stages"]:
        assert 0 <= done <= total
        last[stage] = (done, total)
    for stage in (
        "people",
        "mentors",
        "mentees",
        "matching",
        "pairings",
        "feedback",
        "interactions",
        "ground_truth",
    ):
        done, total = last[stage]
        assert done == total, stage


def test_every_row_is_contract_valid(programme: dict[str, Any]) -> None:
    for stem, schema in ENTITY_FILES.items():
        for row in programme[stem]:
            parsed = schema.model_validate(row)
            # exactly the contract's fields, nothing the schema would drop or default
            assert set(row) <= set(type(parsed).model_fields), stem


def test_ids_are_unique_and_well_formed(programme: dict[str, Any]) -> None:
    for stem, pattern in (
        ("mentors", r"mentor-\d{6}"),
        ("mentees", r"mentee-\d{6}"),
        ("pairings", r"pairing-\d{7}"),
        ("feedback", r"fb-\d{7}"),
    ):
        ids = [r["id"] for r in programme[stem]]
        assert len(set(ids)) == len(ids), stem
        assert all(re.fullmatch(pattern, i) for i in ids), stem


def test_referential_integrity(programme: dict[str, Any]) -> None:
    mentors = {r["id"]: r for r in programme["mentors"]}
    mentees = {r["id"]: r for r in programme["mentees"]}
    pairings = {r["id"]: r for r in programme["pairings"]}
    for p in pairings.values():
        mentor, mentee = mentors[p["mentor_id"]], mentees[p["mentee_id"]]
        assert set(mentor["languages"]) & set(mentee["languages"]), p["id"]
        assert p["mentor_id"] not in mentee["excluded_mentor_ids"]
    for f in programme["feedback"]:
        assert f["pairing_id"] in pairings
    for e in programme["interactions"]:
        assert e["mentor_id"] in mentors and e["mentee_id"] in mentees
        assert set(mentors[e["mentor_id"]]["languages"]) & set(mentees[e["mentee_id"]]["languages"])
    for m in mentees.values():
        assert all(x in mentors for x in m["excluded_mentor_ids"])


def test_population_is_varied(programme: dict[str, Any]) -> None:
    mentors, mentees = programme["mentors"], programme["mentees"]
    assert len({m["bio"] for m in mentors}) == len(mentors)
    assert len({m["goals"] for m in mentees}) == len(mentees)
    assert len({m["timezone"] for m in mentors + mentees}) >= 20
    assert len({m["department"] for m in mentors}) >= 10
    langs = Counter(code for m in mentors + mentees for code in m["languages"])
    assert langs["en"] / (len(mentors) + len(mentees)) > 0.7
    assert len(langs) >= 8
    assert any("en" not in m["languages"] for m in mentees)
    assert {m["seniority"] for m in mentors} >= {3, 4, 5, 6, 7}
    assert {m["capacity"] for m in mentors} == {0, 1, 2, 3, 4, 5}
    assert any(not m["active"] for m in mentors)
    assert any(m["location"] is None for m in mentors) and any(m["location"] for m in mentors)
    assert any(m["group"] is None for m in mentors) and any(m["group"] for m in mentors)
    assert any(not m["skills"] for m in mentees) and any(m["skills"] for m in mentees)
    assert 0.05 < np.mean([bool(m["excluded_mentor_ids"]) for m in mentees]) < 0.25


def test_dates_and_statuses_are_consistent(programme: dict[str, Any]) -> None:
    statuses: Counter[str] = Counter()
    for p in programme["pairings"]:
        start = date.fromisoformat(p["started_at"])
        assert PROGRAMME_START <= start <= AS_OF
        statuses[p["status"]] += 1
        if p["status"] == "active":
            assert p["ended_at"] is None and p["rating"] is None and p["goals_met"] is None
        else:
            end = date.fromisoformat(p["ended_at"])
            assert start < end <= AS_OF
            days = (end - start).days
            assert (80 <= days <= 290) if p["status"] == "completed" else (days <= 200)
    assert min(statuses.values()) > 0.05 * sum(statuses.values())
    assert statuses["completed"] > statuses["ended_early"]
    ratings = Counter(p["rating"] for p in programme["pairings"] if p["status"] == "completed")
    assert set(ratings) >= {1, 2, 3, 4, 5} - {1} and None not in ratings
    starts = sorted(p["started_at"] for p in programme["pairings"])
    assert starts[0] < "2023-07-01" and starts[-1] > "2026-06-01"


def test_active_pairings_respect_capacity(programme: dict[str, Any]) -> None:
    mentors = {r["id"]: r for r in programme["mentors"]}
    active = Counter(p["mentor_id"] for p in programme["pairings"] if p["status"] == "active")
    assert active, "a programme running until as_of has active pairings"
    for mentor_id, n in active.items():
        assert n <= mentors[mentor_id]["capacity"], mentor_id
        assert mentors[mentor_id]["active"], mentor_id


def test_feedback_is_dated_within_its_pairing(programme: dict[str, Any]) -> None:
    pairings = {r["id"]: r for r in programme["pairings"]}
    roles: Counter[str] = Counter()
    for f in programme["feedback"]:
        p = pairings[f["pairing_id"]]
        created = date.fromisoformat(f["created_at"])
        assert date.fromisoformat(p["started_at"]) < created
        if p["ended_at"] is None:
            assert created <= AS_OF
        else:
            assert created < date.fromisoformat(p["ended_at"])  # trouble shows before the end
        roles[f["author_role"]] += 1
    assert set(roles) == {"mentee", "mentor", "coordinator"}


def test_heldout_mentees_have_no_history(programme: dict[str, Any]) -> None:
    gt = load_ground_truth(programme["out"] / "ground_truth")
    heldout = set(gt.heldout_mentee_ids)
    assert len(heldout) == 15
    assert not heldout & {p["mentee_id"] for p in programme["pairings"]}
    assert not heldout & {e["mentee_id"] for e in programme["interactions"]}


def test_interaction_log_follows_the_legacy_process(programme: dict[str, Any]) -> None:
    events = programme["interactions"]
    assert {e["event"] for e in events} == {"shown", "requested", "accepted", "declined"}
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert all(1 <= e["position"] <= SHOWN for e in events)
    assert all(e["at"] <= AS_OF.isoformat() for e in events)
    pairs = defaultdict(list)
    for p in programme["pairings"]:
        pairs[(p["mentee_id"], p["mentor_id"])].append(p["started_at"])
    shown: set[tuple[str, str, int]] = set()
    requested: set[tuple[str, str, int]] = set()
    for e in events:
        key = (e["mentee_id"], e["mentor_id"], e["position"])
        if e["event"] == "shown":
            shown.add(key)
        elif e["event"] == "requested":
            assert key in shown  # one can only request what was shown
            requested.add(key)
        else:
            assert key in requested  # a mentor answers a request
        if e["event"] == "accepted":  # every acceptance became a pairing, starting after it
            assert any(s >= e["at"] for s in pairs[(e["mentee_id"], e["mentor_id"])])
    kinds = Counter(e["event"] for e in events)
    assert kinds["shown"] > 3 * kinds["requested"] > 0
    assert kinds["accepted"] > kinds["declined"] > 0
    # only a full mentor gives a reason (no_capacity); engagement declines give none
    reasons = Counter(
        (e["event"], e.get("decline_reason")) for e in events if "decline_reason" in e
    )
    assert set(reasons) == {("declined", "no_capacity")}
    assert 0 < reasons[("declined", "no_capacity")] < kinds["declined"]


def test_outcomes_follow_the_latent_model(programme: dict[str, Any]) -> None:
    gt = load_ground_truth(programme["out"] / "ground_truth")
    pairings = programme["pairings"]
    truth = np.load(programme["out"] / "ground_truth" / "pairings.npz")
    p = gt.expected_outcome(
        [r["mentee_id"] for r in pairings],
        [r["mentor_id"] for r in pairings],
        mentor_load=truth["load"].tolist(),
        feasible_only=False,
    )
    assert np.allclose(p, 1 / (1 + np.exp(-truth["logit"])), atol=1e-4)
    status = np.array([r["status"] for r in pairings])
    goals = np.array([r["goals_met"] for r in pairings], dtype=object)
    assert p[status == "completed"].mean() > p[status == "ended_early"].mean() + 0.2
    met = np.array([g is True for g in goals])
    missed = np.array([g is False for g in goals])
    assert p[met].mean() > p[missed].mean() + 0.15
    rating = np.array([r["rating"] or 0 for r in pairings])
    rated = rating > 0
    assert np.corrcoef(p[rated], rating[rated])[0, 1] > 0.3


def test_feedback_reflects_pairing_quality(programme: dict[str, Any]) -> None:
    codes = np.load(programme["out"] / "ground_truth" / "feedback_labels.npz")["code"]
    assert len(codes) == len(programme["feedback"])
    status = {r["id"]: r["status"] for r in programme["pairings"]}
    positive = NOTE_SIGNALS.index(Signal.positive_progress.value)
    by_status: dict[str, list[int]] = defaultdict(list)
    for f, code in zip(programme["feedback"], codes.tolist(), strict=True):
        by_status[status[f["pairing_id"]]].append(code)
    share_pos = {k: np.mean([c == positive for c in v]) for k, v in by_status.items()}
    assert share_pos["completed"] > share_pos["ended_early"] + 0.15
    assert {NOTE_NEUTRAL, NOTE_NEGATED} <= set(codes.tolist())
    assert len({f["text"] for f in programme["feedback"]}) > 0.5 * len(programme["feedback"])


_STOP = frozenset(
    (
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "my",
        "me",
        "it",
        "is",
        "are",
        "be",
        "been",
        "was",
        "were",
        "that",
        "this",
        "at",
        "as",
        "by",
        "from",
        "about",
        "so",
        "but",
        "not",
        "no",
        "can",
        "how",
        "what",
        "when",
        "who",
        "which",
        "their",
        "them",
        "they",
        "we",
        "our",
        "you",
        "your",
        "all",
        "any",
        "more",
        "most",
        "some",
        "than",
        "then",
        "there",
        "these",
        "those",
        "into",
        "over",
        "just",
        "also",
        "very",
        "really",
        "much",
        "have",
        "has",
        "had",
        "do",
        "does",
        "did",
        "get",
        "got",
        "want",
        "would",
        "like",
        "could",
        "should",
        "will",
        "one",
        "two",
        "up",
        "out",
        "its",
        "i'm",
        "i've",
        "i'd",
        "i",
    )
)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z][a-z\-']+", text.lower()) if len(w) > 2} - _STOP


def test_goals_share_few_keywords_with_their_best_mentors(programme: dict[str, Any]) -> None:
    """Good mentors are described in other words than the goals they fit: the word overlap
    with a mentee's five best true mentors is low and barely above that of random mentors."""
    gt = load_ground_truth(programme["out"] / "ground_truth")
    bios = {m["id"]: _words(m["bio"]) for m in programme["mentors"]}
    goals = {m["id"]: _words(m["goals"]) for m in programme["mentees"]}
    mentor_ids = list(bios)
    rng = np.random.default_rng(0)

    def jaccard(a: set[str], b: set[str]) -> float:
        return len(a & b) / max(1, len(a | b))

    best, rand = [], []
    for mentee, top in zip(
        gt.heldout_mentee_ids, gt.best_mentors(gt.heldout_mentee_ids, 5), strict=True
    ):
        best += [jaccard(goals[mentee], bios[m]) for m, _ in top]
        rand += [
            jaccard(goals[mentee], bios[mentor_ids[i]]) for i in rng.integers(0, len(mentor_ids), 5)
        ]
    assert np.mean(best) < 0.05
    assert np.mean(best) < 1.6 * np.mean(rand)
    # the skill tags of the topic a mentee asks about rarely appear in their goals
    tag_hits = 0
    for mentee in programme["mentees"]:
        text = mentee["goals"].lower()
        for topic in TOPICS:
            if any(p in mentee["goals"] for p in topic.problems):
                tag_hits += any(re.search(rf"\b{re.escape(t.lower())}\b", text) for t in topic.tags)
                break
    assert tag_hits < 0.1 * len(programme["mentees"])


def test_ground_truth_answers_queries(programme: dict[str, Any]) -> None:
    gt = load_ground_truth(programme["out"])  # the programme directory works too
    mentee = gt.heldout_mentee_ids[0]
    mentor_ids = [m["id"] for m in programme["mentors"]]
    row = gt.expected_outcome_matrix(mentee, mentor_ids)
    assert row.shape == (len(mentor_ids),)
    assert ((row >= 0) & (row <= 1)).all() and row.max() > 0.3
    pairs = gt.expected_outcome([mentee] * 3, mentor_ids[:3])
    assert np.allclose(pairs, row[:3])
    # infeasible pairs score 0: no shared language, or mentor inactive
    mentee_row = next(m for m in programme["mentees"] if m["id"] == mentee)
    for i, m in enumerate(programme["mentors"]):
        if not set(m["languages"]) & set(mentee_row["languages"]) or not m["active"]:
            assert row[i] == 0.0
    # heavier load, lower chance of success
    light = gt.expected_outcome([mentee], [mentor_ids[0]], mentor_load=[0], feasible_only=False)
    heavy = gt.expected_outcome([mentee], [mentor_ids[0]], mentor_load=[4], feasible_only=False)
    assert heavy[0] < light[0]
    # the stored top lists agree with the model
    stored = [
        orjson.loads(x)
        for x in (programme["out"] / "ground_truth" / "heldout_top.jsonl").read_bytes().splitlines()
    ]
    assert [s["mentee_id"] for s in stored] == gt.heldout_mentee_ids
    first = stored[0]["top_mentors"]
    assert first == sorted(first, key=lambda x: -x["expected_outcome"])
    again = gt.expected_outcome_matrix(mentee, [x["mentor_id"] for x in first])
    assert np.allclose(again, [x["expected_outcome"] for x in first], atol=1e-4)
    assert again[0] >= row.max() - 1e-6
    with pytest.raises(KeyError):
        gt.expected_outcome(["mentee-999999"], [mentor_ids[0]])
    with pytest.raises(ValueError):
        gt.expected_outcome([mentee], mentor_ids[:2])
    # the logit's terms, by mentor: with the intercept and the mentee's own term they are
    # the expected outcome of every pair, feasible or not
    terms = gt.logit_terms(mentee, mentor_ids)
    assert "mentee" not in terms and {"topic", "engagement", "structure"} <= set(terms)
    own = gt.compat.mentee_term[parse_index(mentee, "mentee")]
    logit = gt.model.intercept + own + sum(terms.values())
    every = gt.expected_outcome_matrix(mentee, mentor_ids, feasible_only=False)
    np.testing.assert_allclose(1 / (1 + np.exp(-logit)), every, atol=1e-5)


def test_same_seed_same_bytes_other_seed_other_programme(tmp_path: Path) -> None:
    def files(out: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    kwargs: dict[str, Any] = {"n_mentors": 40, "n_mentees": 60, "as_of": AS_OF}
    generate_programme(tmp_path / "a", seed=3, **kwargs)
    generate_programme(tmp_path / "b", seed=3, **kwargs)
    generate_programme(tmp_path / "c", seed=4, **kwargs)
    a, b, c = files(tmp_path / "a"), files(tmp_path / "b"), files(tmp_path / "c")
    assert a == b
    assert a["mentors.jsonl"] != c["mentors.jsonl"]
    assert a["pairings.jsonl"] != c["pairings.jsonl"]


def test_requested_pairing_count_and_options(tmp_path: Path) -> None:
    s = generate_programme(
        tmp_path,
        n_mentors=50,
        n_mentees=80,
        n_pairings=120,
        seed=1,
        feedback_rate=0.0,
        heldout_fraction=0.0,
    )
    assert s.pairings == 120 and s.feedback == 0 and s.heldout_mentees == 0


def test_style_answers_are_the_true_styles(tmp_path: Path) -> None:
    generate_programme(tmp_path, n_mentors=60, n_mentees=80, seed=2, style_answer_rate=0.6)
    gt = load_ground_truth(tmp_path)
    for kind, traits in (("mentors", gt.mentors), ("mentees", gt.mentees)):
        rows = [orjson.loads(x) for x in (tmp_path / f"{kind}.jsonl").read_bytes().splitlines()]
        answered = [r for r in rows if "style_structure" in r]
        assert 0.3 * len(rows) < len(answered) < 0.9 * len(rows)
        for r in answered:
            i = parse_index(r["id"], kind[:-1])
            want = "structured" if traits.structure[i] > 0 else "informal"
            assert r["style_structure"] == want
        for r in rows:
            if "style_modality" in r:
                i = parse_index(r["id"], kind[:-1])
                assert r["style_modality"] == ("written" if traits.modality[i] > 0 else "live")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_mentors": 0},
        {"n_mentees": 1},
        {"heldout_fraction": 1.0},
        {"feedback_rate": -1.0},
        {"style_answer_rate": 1.5},
        {"as_of": date(2023, 1, 2)},
    ],
)
def test_rejects_bad_arguments(tmp_path: Path, kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"n_mentors": 10, "n_mentees": 10, **kwargs}
    with pytest.raises(ValueError):
        generate_programme(tmp_path, **args)
