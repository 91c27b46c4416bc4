import datetime as dt

import pytest
from pydantic import ValidationError

from recsys.schemas import MenteeIn, MentorIn, PairingIn


def _mentor(**kw):
    base = dict(id="m1", seniority=4, timezone="Europe/Berlin", languages=["en"], capacity=2)
    return MentorIn(**(base | kw))


def test_language_codes_are_normalised_and_deduplicated():
    assert _mentor(languages=["EN", "de", "en"]).languages == ["en", "de"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seniority", 9),
        ("timezone", "Mars/Olympus"),
        ("languages", []),
        ("languages", ["eng"]),
        ("capacity", -1),
    ],
)
def test_contract_violations_name_the_field(field, value):
    with pytest.raises(ValidationError) as exc:
        _mentor(**{field: value})
    assert exc.value.errors()[0]["loc"][0] == field


def test_unknown_fields_are_rejected():
    with pytest.raises(ValidationError):
        _mentor(salary=1)


def test_pairing_consistency():
    ok = dict(
        id="p", mentor_id="a", mentee_id="b", started_at=dt.date(2025, 1, 1), status="completed"
    )
    PairingIn(**ok, ended_at=dt.date(2025, 6, 1))
    with pytest.raises(ValidationError, match="before started_at"):
        PairingIn(**ok, ended_at=dt.date(2024, 6, 1))
    with pytest.raises(ValidationError, match="active pairing has no ended_at"):
        PairingIn(**(ok | {"status": "active"}), ended_at=dt.date(2025, 6, 1))
    with pytest.raises(ValidationError, match="same person"):
        PairingIn(**(ok | {"mentee_id": "a"}))


def test_mentee_needs_goals():
    with pytest.raises(ValidationError):
        MenteeIn(id="e", seniority=2, timezone="UTC", languages=["en"], goals="")
