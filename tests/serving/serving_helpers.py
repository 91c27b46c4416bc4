"""Request builders and assertions shared by the serving tests."""

from __future__ import annotations

from typing import Any


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def mentor(id_: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": id_,
        "title": "Staff engineer",
        "department": "Platform",
        "seniority": 6,
        "timezone": "Europe/Berlin",
        "languages": ["en", "de"],
        "skills": ["python", "kubernetes"],
        "bio": "I build distributed systems and coach engineers on system design and python.",
        "capacity": 2,
    }
    row.update(over)
    return row


def mentee(id_: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": id_,
        "title": "Engineer",
        "department": "Payments",
        "seniority": 2,
        "timezone": "Europe/Berlin",
        "languages": ["en"],
        "skills": ["python"],
        "goals": "I want to learn system design and distributed systems.",
    }
    row.update(over)
    return row


def pairing(id_: str, mentor_id: str, mentee_id: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": id_,
        "mentor_id": mentor_id,
        "mentee_id": mentee_id,
        "started_at": "2024-01-10",
        "status": "active",
    }
    row.update(over)
    return row


def feedback(id_: str, pairing_id: str, text: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": id_,
        "pairing_id": pairing_id,
        "author_role": "mentee",
        "created_at": "2024-02-01",
        "text": text,
    }
    row.update(over)
    return row


def assert_error(resp: Any, status: int, code: str) -> dict[str, Any]:
    """The one error body shape, with the expected status and code; returns ``error``."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"code", "message", "details"}, err
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"]
    assert "Traceback" not in resp.text
    return dict(err)
