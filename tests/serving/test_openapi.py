"""The committed OpenAPI spec is the one the app serves."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from serving.openapi import render

SPEC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
HOW = "regenerate with: .venv/bin/python -m serving.openapi > docs/openapi.json"


def test_committed_spec_matches_the_served_one(client: TestClient) -> None:
    assert SPEC.exists(), f"docs/openapi.json is missing; {HOW}"
    served = client.get("/openapi.json").json()
    assert json.loads(SPEC.read_text()) == served, f"docs/openapi.json is stale; {HOW}"
    assert SPEC.read_text() == render(), f"docs/openapi.json is not formatted as generated; {HOW}"


def test_every_operation_documents_the_error_body(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if not path.startswith("/v1"):
                continue
            for status in ("401", "403", "422", "429"):
                ref = op["responses"][status]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (method, path, status)
