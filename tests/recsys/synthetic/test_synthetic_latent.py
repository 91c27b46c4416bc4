"""The latent compatibility model: each factor pulls in the documented direction."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from recsys.synthetic.latent import (
    TERMS,
    CompatibilityModel,
    LatentModel,
    sigmoid,
    smoothed_expertise,
    timezone_overlap,
    topic_similarity,
)
from recsys.synthetic.population import (
    ZONES,
    mentee_id,
    mentor_id,
    parse_index,
    sample_mentees,
    sample_mentors,
    zone_offsets_hours,
)
from recsys.synthetic.topics import TOPICS


@pytest.fixture(scope="module")
def compat() -> CompatibilityModel:
    rng = np.random.default_rng(0)
    _, mentors, _ = sample_mentors(rng, 300)
    _, mentees = sample_mentees(rng, 400)
    return CompatibilityModel(
        LatentModel(),
        mentees,
        mentors,
        [t.family for t in TOPICS],
        zone_offsets_hours(date(2026, 10, 1)),
    )


def test_timezone_overlap_counts_shared_working_hours() -> None:
    ov = timezone_overlap(np.array([0.0, 1.0, 5.5, 8.0, -10.0, 14.0]))
    assert np.allclose(np.diag(ov), 1.0)
    assert np.allclose(ov, ov.T)
    assert ov[0, 1] == pytest.approx(7 / 8)
    assert ov[0, 2] == pytest.approx(2.5 / 8)
    assert ov[0, 3] == 0.0
    assert ov[4, 5] == 1.0  # -10 and +14 are the same wall clock, a day apart


def test_zone_offsets_are_real() -> None:
    offsets = dict(zip((z.name for z in ZONES), zone_offsets_hours(date(2026, 1, 15)), strict=True))
    assert offsets["Europe/Berlin"] == 1.0
    assert offsets["Asia/Kolkata"] == 5.5
    assert offsets["America/Los_Angeles"] == -8.0


def test_seniority_is_best_two_to_three_levels_up() -> None:
    model = LatentModel()
    values = model.seniority_values(np.arange(-7, 8))
    best = set(np.flatnonzero(values == values.max()) - 7)
    assert best == {2, 3}
    assert (values[:8] < 0).all()  # a mentor at or below the mentee's level is bad
    assert values[7 + 1] < values[7 + 2] and values[7 + 6] < values[7 + 4]


def test_topic_fit_credits_related_expertise() -> None:
    families = ["a", "a", "b"]
    sim = topic_similarity(families, 0.4)
    expertise = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.5]], dtype=np.float32)
    smoothed = smoothed_expertise(expertise, sim)
    assert np.allclose(smoothed, [[1.0, 0.4, 0.0], [0.0, 0.0, 0.5]])


def test_fast_paths_agree_with_the_components(compat: CompatibilityModel) -> None:
    rng = np.random.default_rng(1)
    e = rng.integers(0, 400, 500)
    m = rng.integers(0, 300, 500)
    load = rng.integers(0, 4, 500)
    reference = compat.components(e, m, load).logit(compat.model)
    assert np.allclose(compat.logit(e, m, load), reference, atol=1e-5)
    assert compat.logit_one(int(e[0]), int(m[0]), float(load[0])) == pytest.approx(
        float(reference[0]), abs=1e-5
    )
    block = compat.logit_block(e[:4], np.zeros(300))
    for r in range(4):
        assert np.allclose(block[r], compat.logit(np.full(300, e[r]), np.arange(300)), atol=1e-5)


def test_terms_add_up_to_the_logit(compat: CompatibilityModel) -> None:
    rng = np.random.default_rng(2)
    e, m, load = rng.integers(0, 400, 200), rng.integers(0, 300, 200), rng.integers(0, 4, 200)
    c = compat.components(e, m, load)
    terms = c.terms(compat.model)
    assert tuple(terms) == TERMS
    np.testing.assert_allclose(
        compat.model.intercept + sum(terms.values()), c.logit(compat.model), atol=1e-5
    )
    # each term is its component under its weight: the style ones are +-weight
    np.testing.assert_allclose(np.abs(terms["structure"]), compat.model.w_structure, rtol=1e-6)
    np.testing.assert_allclose(terms["load"], compat.model.w_load * load, rtol=1e-6)


def test_several_factors_matter(compat: CompatibilityModel) -> None:
    """Topic fit must not dominate: among the mentors of matching topic, the other factors
    still spread the chance of success widely."""
    rng = np.random.default_rng(2)
    e = rng.integers(0, 400, 20_000)
    m = rng.integers(0, 300, 20_000)
    c = compat.components(e, m, rng.integers(0, 3, 20_000))
    md = compat.model
    spread = {
        "topic": np.std(md.w_topic * c.topic_fit),
        "seniority": np.std(c.seniority),
        "timezone": np.std(md.w_timezone * c.tz_overlap),
        "engagement": np.std(md.w_engagement * c.engagement),
        "load": np.std(md.w_load * c.load),
        "style": np.std(md.w_structure * c.structure + md.w_modality * c.modality),
    }
    total = sum(spread.values())
    assert spread["topic"] < 0.4 * total
    assert all(v > 0.05 * total for v in spread.values()), spread
    p = sigmoid(c.logit(md))
    assert 0.2 < p.mean() < 0.7


def test_model_round_trips_through_a_dict() -> None:
    model = LatentModel(w_topic=2.0)
    assert LatentModel.from_dict(model.to_dict()) == model


def test_ids_round_trip() -> None:
    assert parse_index(mentor_id(41), "mentor") == 41
    assert parse_index(mentee_id(0), "mentee") == 0
    with pytest.raises(KeyError):
        parse_index(mentor_id(3), "mentee")
    with pytest.raises(KeyError):
        parse_index("mentor-abc", "mentor")
