"""Request builders and assertions shared by the serving tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from serving.engine import DetectedSignal


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


class FakeEngine:
    """A controllable engine: fixed versions, a ready flag, and failures on demand."""

    def __init__(self, *, ready: bool = True) -> None:
        self.ready = ready
        self.reloads = 0
        self.changed: list[tuple[str, list[str]]] = []
        self.said_full: list[tuple[str, str, Any]] = []

    def versions(self) -> dict[str, str | None]:
        return {"ranker": f"fake-{self.reloads}", "signals": None}

    async def recommend(
        self, org: str, mentee: Any, *, k: int, exclude: Any, as_of: Any, stored: bool = False
    ) -> Any:
        raise RuntimeError("secret internal detail")

    async def analyze(self, texts: Sequence[str]) -> list[list[DetectedSignal]]:
        if any("boom" in t for t in texts):
            raise RuntimeError("secret internal detail")
        return [[] for _ in texts]

    async def pairing_risk(self, org: str, pairing_id: str, as_of: Any) -> dict[str, Any] | None:
        return None

    def mentors_changed(self, org: str, mentor_ids: Any) -> None:
        self.changed.append((org, list(mentor_ids)))

    def capacity_declined(self, org: str, mentor_id: str, day: Any) -> None:
        self.said_full.append((org, mentor_id, day))

    def feedback_stored(self, org: str, feedback_ids: Sequence[str]) -> list[list[DetectedSignal]]:
        return [[] for _ in feedback_ids]

    async def reload(self) -> dict[str, str | None]:
        self.reloads += 1
        return self.versions()
