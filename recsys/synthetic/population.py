"""Sampling the people of the synthetic programme: observable attributes and latent traits.

Everything is vectorised with numpy; only the free texts are rendered per person (``texts.py``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from recsys.synthetic.latent import MenteeTraits, MentorTraits
from recsys.synthetic.texts import DEPARTMENTS, render_mentee_goals, render_mentor_bio, title_for
from recsys.synthetic.topics import TOPIC_INDEX, TOPICS

LANGUAGES: tuple[str, ...] = (
    "en",
    "de",
    "fr",
    "es",
    "pt",
    "it",
    "nl",
    "pl",
    "sv",
    "ja",
    "zh",
    "ko",
    "hi",
    "ar",
)
_LANG_BIT = {code: 1 << i for i, code in enumerate(LANGUAGES)}


@dataclass(frozen=True)
class Zone:
    name: str
    city: str
    local: tuple[str, ...]  # languages of the place (first is the main one)
    p_english: float  # chance a person there speaks English (1.0 where it is the local one)
    weight: float


ZONES: tuple[Zone, ...] = (
    Zone("America/New_York", "New York, US", ("en",), 1.0, 0.10),
    Zone("America/Chicago", "Chicago, US", ("en",), 1.0, 0.05),
    Zone("America/Denver", "Denver, US", ("en",), 1.0, 0.02),
    Zone("America/Los_Angeles", "San Francisco, US", ("en",), 1.0, 0.07),
    Zone("America/Toronto", "Toronto, CA", ("en", "fr"), 1.0, 0.03),
    Zone("America/Mexico_City", "Mexico City, MX", ("es",), 0.6, 0.02),
    Zone("America/Bogota", "Bogotá, CO", ("es",), 0.6, 0.015),
    Zone("America/Sao_Paulo", "São Paulo, BR", ("pt",), 0.55, 0.025),
    Zone("Europe/London", "London, UK", ("en",), 1.0, 0.10),
    Zone("Europe/Dublin", "Dublin, IE", ("en",), 1.0, 0.03),
    Zone("Europe/Berlin", "Berlin, DE", ("de",), 0.85, 0.07),
    Zone("Europe/Paris", "Paris, FR", ("fr",), 0.75, 0.04),
    Zone("Europe/Madrid", "Madrid, ES", ("es",), 0.75, 0.03),
    Zone("Europe/Amsterdam", "Amsterdam, NL", ("nl",), 0.97, 0.03),
    Zone("Europe/Warsaw", "Warsaw, PL", ("pl",), 0.85, 0.025),
    Zone("Europe/Stockholm", "Stockholm, SE", ("sv",), 0.97, 0.015),
    Zone("Europe/Lisbon", "Lisbon, PT", ("pt",), 0.85, 0.015),
    Zone("Europe/Rome", "Milan, IT", ("it",), 0.7, 0.015),
    Zone("Asia/Kolkata", "Bengaluru, IN", ("hi", "en"), 1.0, 0.07),
    Zone("Asia/Singapore", "Singapore, SG", ("en", "zh"), 1.0, 0.03),
    Zone("Asia/Tokyo", "Tokyo, JP", ("ja",), 0.5, 0.03),
    Zone("Asia/Shanghai", "Shanghai, CN", ("zh",), 0.5, 0.02),
    Zone("Asia/Seoul", "Seoul, KR", ("ko",), 0.6, 0.01),
    Zone("Asia/Dubai", "Dubai, AE", ("ar", "en"), 1.0, 0.01),
    Zone("Australia/Sydney", "Sydney, AU", ("en",), 1.0, 0.03),
    Zone("Pacific/Auckland", "Auckland, NZ", ("en",), 1.0, 0.01),
    Zone("Africa/Lagos", "Lagos, NG", ("en",), 1.0, 0.015),
    Zone("Africa/Johannesburg", "Johannesburg, ZA", ("en",), 1.0, 0.015),
    Zone("Africa/Nairobi", "Nairobi, KE", ("en",), 1.0, 0.01),
    Zone("Africa/Cairo", "Cairo, EG", ("ar",), 0.8, 0.01),
)

GROUPS: tuple[str, ...] = (
    "Women in Tech",
    "LGBTQ+ Network",
    "Parents Network",
    "Veterans Network",
    "First-Generation Professionals",
    "Black Professionals Network",
    "Disability & Neurodiversity",
    "Latinx Network",
    "Asian Heritage Network",
    "Early Careers",
)


def zone_offsets_hours(as_of: date) -> NDArray[np.float64]:
    """UTC offset of every zone at noon UTC on ``as_of`` (one offset per zone, DST as of then)."""
    moment = datetime.combine(as_of, time(12))
    out = []
    for z in ZONES:
        off = moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(z.name)).utcoffset()
        out.append(off.total_seconds() / 3600.0 if off is not None else 0.0)
    return np.asarray(out, dtype=np.float64)


def language_codes(mask: int) -> list[str]:
    return [code for i, code in enumerate(LANGUAGES) if mask >> i & 1]


def _sample_languages(rng: np.random.Generator, zone_idx: NDArray[Any]) -> NDArray[np.int32]:
    n = len(zone_idx)
    local_main = np.asarray([_LANG_BIT[z.local[0]] for z in ZONES], dtype=np.int32)
    local_second = np.asarray(
        [_LANG_BIT[z.local[1]] if len(z.local) > 1 else 0 for z in ZONES], dtype=np.int32
    )
    p_en = np.asarray([z.p_english for z in ZONES])
    mask = local_main[zone_idx].copy()
    mask |= np.where(rng.random(n) < 0.35, local_second[zone_idx], 0).astype(np.int32)
    mask |= np.where(rng.random(n) < p_en[zone_idx], _LANG_BIT["en"], 0).astype(np.int32)
    # some people speak a third language from elsewhere (expats, family)
    extra = rng.integers(0, len(LANGUAGES), n)
    mask |= np.where(rng.random(n) < 0.12, 1 << extra, 0).astype(np.int32)
    return mask


@dataclass
class People:
    """Observable attributes shared by mentors and mentees (arrays, one row per person)."""

    dept: NDArray[np.int16]
    seniority: NDArray[np.int8]
    zone: NDArray[np.int16]
    languages: NDArray[np.int32]
    structure: NDArray[np.int8]
    modality: NDArray[np.int8]
    show_structure: NDArray[np.bool_]
    show_modality: NDArray[np.bool_]
    topics: NDArray[np.int16]  # (n, 3) topic ids, -1 = none; first is the main one


def _sample_common(
    rng: np.random.Generator, n: int, seniority_p: NDArray[Any]
) -> dict[str, NDArray[Any]]:
    dept_w = np.asarray([d.weight for d in DEPARTMENTS])
    zone_w = np.asarray([z.weight for z in ZONES])
    zone = rng.choice(len(ZONES), n, p=zone_w / zone_w.sum()).astype(np.int16)
    return {
        "dept": rng.choice(len(DEPARTMENTS), n, p=dept_w / dept_w.sum()).astype(np.int16),
        "seniority": (rng.choice(8, n, p=seniority_p / seniority_p.sum()) + 1).astype(np.int8),
        "zone": zone,
        "languages": _sample_languages(rng, zone),
        "structure": np.where(rng.random(n) < 0.5, 1, -1).astype(np.int8),
        "modality": np.where(rng.random(n) < 0.45, 1, -1).astype(np.int8),
        "show_structure": rng.random(n) < 0.8,
        "show_modality": rng.random(n) < 0.75,
    }


def _home_topic_table() -> list[NDArray[np.int64]]:
    return [np.asarray([TOPIC_INDEX[k] for k in d.home_topics]) for d in DEPARTMENTS]


def _pick_topics(
    rng: np.random.Generator,
    dept: NDArray[Any],
    p_home: float,
    n_extra_p: tuple[float, float, float],
    global_w: NDArray[Any],
) -> NDArray[np.int16]:
    """Up to 3 distinct topics per person; the main one from the department with ``p_home``."""
    n = len(dept)
    home = _home_topic_table()
    main = rng.choice(len(TOPICS), n, p=global_w / global_w.sum())
    from_home = rng.random(n) < p_home
    u = rng.random(n)
    for d, topics in enumerate(home):
        sel = from_home & (dept == d)
        main[sel] = topics[(u[sel] * len(topics)).astype(np.int64)]
    n_extra = rng.choice(3, n, p=np.asarray(n_extra_p))
    out = np.full((n, 3), -1, dtype=np.int16)
    out[:, 0] = main
    for slot in (1, 2):
        cand = rng.choice(len(TOPICS), n, p=global_w / global_w.sum())
        clash = (cand == out[:, 0]) | (cand == out[:, 1])
        out[:, slot] = np.where((n_extra >= slot) & ~clash, cand, -1)
    # keep the valid extra topics packed to the left
    second_missing = (out[:, 1] < 0) & (out[:, 2] >= 0)
    out[second_missing, 1] = out[second_missing, 2]
    out[second_missing, 2] = -1
    return out


def sample_mentors(
    rng: np.random.Generator, n: int
) -> tuple[People, MentorTraits, dict[str, NDArray[Any]]]:
    """Mentors: senior-leaning, 1-3 areas of expertise, capacity, activity and engagement."""
    common = _sample_common(rng, n, np.asarray([0.01, 0.04, 0.10, 0.20, 0.22, 0.20, 0.15, 0.08]))
    supply_w = np.ones(len(TOPICS))  # mentors' expertise is spread more evenly than demand
    topics = _pick_topics(rng, common["dept"], 0.6, (0.3, 0.45, 0.25), supply_w)
    people = People(topics=topics, **common)
    depth = np.zeros((n, 3), dtype=np.float32)
    depth[:, 0] = rng.uniform(0.8, 1.0, n)
    depth[:, 1] = rng.uniform(0.45, 0.8, n)
    depth[:, 2] = rng.uniform(0.3, 0.6, n)
    expertise = np.zeros((n, len(TOPICS)), dtype=np.float32)
    rows = np.arange(n)
    for slot in range(3):
        ok = topics[:, slot] >= 0
        expertise[rows[ok], topics[ok, slot]] = depth[ok, slot]
    traits = MentorTraits(
        expertise=expertise,
        seniority=people.seniority,
        tz_index=people.zone,
        languages=people.languages,
        structure=people.structure,
        modality=people.modality,
        engagement=rng.beta(2.2, 1.8, n).astype(np.float32),
    )
    capacity = rng.choice(6, n, p=[0.08, 0.22, 0.32, 0.2, 0.1, 0.08]).astype(np.int16)
    active = rng.random(n) > 0.05
    # closed mentors (inactive or capacity 0) used to take mentees: their historical capacity
    hist_capacity = np.where((capacity == 0) | ~active, rng.integers(1, 4, n), capacity).astype(
        np.int16
    )
    extra = {
        "capacity": capacity,
        "active": active,
        "hist_capacity": hist_capacity,
        "years": np.clip(np.round(1 + 2.6 * people.seniority + rng.normal(0, 2, n)), 1, 40).astype(
            np.int16
        ),
        "has_location": rng.random(n) < 0.7,
        "group": np.where(rng.random(n) < 0.25, rng.integers(0, len(GROUPS), n), -1),
    }
    return people, traits, extra


def sample_mentees(rng: np.random.Generator, n: int) -> tuple[People, MenteeTraits]:
    """Mentees: junior-leaning, a topic mixture over 1-3 topics, and mentee-level traits."""
    common = _sample_common(rng, n, np.asarray([0.12, 0.24, 0.24, 0.18, 0.11, 0.07, 0.03, 0.01]))
    demand_w = np.asarray([t.weight for t in TOPICS])
    unclear = rng.random(n) < 0.12
    topics = _pick_topics(rng, common["dept"], 0.35, (0.45, 0.45, 0.10), demand_w)
    # people who don't know what they want spread over more topics
    people = People(topics=topics, **common)
    n_topics = (topics >= 0).sum(axis=1)
    w = np.zeros((n, 3), dtype=np.float32)
    w[:, 0] = rng.uniform(0.6, 0.9, n)
    w[:, 1] = np.where(n_topics >= 2, 1.0 - w[:, 0], 0.0)
    w[:, 2] = np.where(n_topics == 3, w[:, 1] * rng.uniform(0.3, 0.6, n), 0.0)
    w[:, 1] -= w[:, 2]
    w[n_topics == 1, 0] = 1.0
    flat = unclear & (n_topics >= 2)
    w[flat] = np.where(topics[flat] >= 0, 1.0, 0.0) / n_topics[flat, None]
    mixture = np.zeros((n, len(TOPICS)), dtype=np.float32)
    rows = np.arange(n)
    for slot in range(3):
        ok = topics[:, slot] >= 0
        mixture[rows[ok], topics[ok, slot]] += w[ok, slot]
    traits = MenteeTraits(
        mixture=mixture,
        seniority=people.seniority,
        tz_index=people.zone,
        languages=people.languages,
        structure=people.structure,
        modality=people.modality,
        commitment=rng.standard_normal(n).astype(np.float32),
        unclear_goals=unclear,
        feedback_anxiety=rng.random(n) < 0.15,
    )
    return people, traits


def render_mentors(
    seed: int,
    people: People,
    extra: dict[str, NDArray[Any]],
    start: int = 0,
    stop: int | None = None,
) -> list[dict[str, Any]]:
    """Contract rows for mentors ``start:stop`` (text rendering is seeded per chunk)."""
    stop = len(people.dept) if stop is None else stop
    rng = random.Random(f"mentors:{seed}:{start}")
    rows: list[dict[str, Any]] = []
    for i in range(start, stop):
        dept = DEPARTMENTS[int(people.dept[i])]
        sen = int(people.seniority[i])
        title = title_for(rng, dept, sen)
        topics = [int(t) for t in people.topics[i] if t >= 0]
        bio = render_mentor_bio(
            rng,
            title=title,
            department=dept.name,
            years=int(extra["years"][i]),
            topics=topics,
            structure=int(people.structure[i]),
            modality=int(people.modality[i]),
            show_structure=bool(people.show_structure[i]),
            show_modality=bool(people.show_modality[i]),
        )
        skills: list[str] = []
        for t in topics:
            tags = TOPICS[t].tags
            skills.extend(rng.sample(tags, k=min(len(tags), rng.randint(1, 3))))
        skills.extend(rng.sample(dept.skills, k=rng.randint(0, 2)))
        zone = ZONES[int(people.zone[i])]
        group = int(extra["group"][i])
        rows.append(
            {
                "id": mentor_id(i),
                "title": title,
                "department": dept.name,
                "seniority": sen,
                "timezone": zone.name,
                "languages": language_codes(int(people.languages[i])),
                "skills": list(dict.fromkeys(skills)),
                "bio": bio,
                "capacity": int(extra["capacity"][i]),
                "active": bool(extra["active"][i]),
                "location": zone.city if extra["has_location"][i] else None,
                "group": GROUPS[group] if group >= 0 else None,
            }
        )
    return rows


def render_mentees(
    seed: int,
    people: People,
    traits: MenteeTraits,
    excluded: NDArray[np.int64],
    start: int = 0,
    stop: int | None = None,
) -> list[dict[str, Any]]:
    """Contract rows for mentees ``start:stop``; ``excluded`` is (n, 2) mentor indices, -1 = none."""
    stop = len(people.dept) if stop is None else stop
    rng = random.Random(f"mentees:{seed}:{start}")
    rows: list[dict[str, Any]] = []
    for i in range(start, stop):
        dept = DEPARTMENTS[int(people.dept[i])]
        sen = int(people.seniority[i])
        title = title_for(rng, dept, sen)
        topics = [int(t) for t in people.topics[i] if t >= 0]
        goals = render_mentee_goals(
            rng,
            title=title,
            department=dept.name,
            topics=topics,
            unclear=bool(traits.unclear_goals[i]),
            structure=int(people.structure[i]),
            modality=int(people.modality[i]),
            show_structure=bool(people.show_structure[i]),
            show_modality=bool(people.show_modality[i]),
        )
        # mentees list what they already do (their current job), not what they want to learn
        n_skills = rng.choice((0, 0, 0, 1, 2, 2, 3, 4))
        skills = rng.sample(dept.skills, k=min(n_skills, len(dept.skills)))
        zone = ZONES[int(people.zone[i])]
        rows.append(
            {
                "id": mentee_id(i),
                "title": title,
                "department": dept.name,
                "seniority": sen,
                "timezone": zone.name,
                "languages": language_codes(int(people.languages[i])),
                "skills": skills,
                "goals": goals,
                "excluded_mentor_ids": [mentor_id(int(m)) for m in excluded[i] if m >= 0],
            }
        )
    return rows


def mentor_id(i: int) -> str:
    return f"mentor-{i + 1:06d}"


def mentee_id(i: int) -> str:
    return f"mentee-{i + 1:06d}"


def parse_index(person_id: str, prefix: str) -> int:
    """``mentor-000042`` -> 41; raises ``KeyError`` for ids of another kind."""
    head, _, num = person_id.rpartition("-")
    if head != prefix or not num.isdigit():
        raise KeyError(person_id)
    return int(num) - 1
