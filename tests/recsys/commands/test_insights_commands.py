"""``recsys analyze-feedback`` input checks, ``recsys keys`` and ``recsys alerts`` on an empty
store (the trained-model paths run in the end-to-end test)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from recsys.cli import app
from recsys.commands.insights import read_feedback_rows


def test_feedback_rows_report_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text(
        '{"id": "a", "text": "We missed a session.", "pairing_id": "ignored"}\n'
        "\n"
        '{"id": 5, "text": "x"}\n'
        "not json\n"
        '{"id": "a", "text": "again"}\n'
        '{"id": "b"}\n'
        "[1, 2]\n"
    )
    rows, errors = read_feedback_rows(path)
    assert rows == [("a", "We missed a session.")]
    assert errors[0] == f"{path}:3: id: required, a non-empty string"
    assert errors[1].startswith(f"{path}:4: -: invalid JSON")
    assert errors[2:] == [
        f"{path}:5: id: duplicate of line 1",
        f"{path}:6: text: required, a string",
        f"{path}:7: -: expected a JSON object",
    ]


@pytest.mark.slow  # creates an MLflow store (~20 s) to look for a signal model
def test_analyze_feedback_rejects_bad_files_unless_told(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "notes.jsonl"
    path.write_text('{"id": "a", "text": "He cancelled twice!"}\n{"id": ""}\n')
    runner = CliRunner()
    bad = runner.invoke(app, ["analyze-feedback", str(path), "--json"])
    assert bad.exit_code == 1
    assert f"{path}:2: id:" in bad.output
    ok = runner.invoke(app, ["analyze-feedback", str(path), "--json", "--skip-invalid"])
    assert ok.exit_code == 0, ok.output
    # no signal model trained in this home: the keyword rules answer
    assert '{"id":"a","signals":[{"label":"low_commitment"' in ok.output


def test_keys_create_list_revoke(home: Path) -> None:
    runner = CliRunner()
    made = runner.invoke(
        app, ["keys", "create", "--org", "acme", "--name", "hr-app", "--role", "app",
              "--role", "coordinator", "--json"],
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    import json

    created = json.loads(made.stdout.strip().splitlines()[-1])
    assert created["key"].startswith("rsk_") and created["roles"] == ["app", "coordinator"]
    listed = runner.invoke(app, ["keys", "list", "--org", "acme", "--json"])
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(r["id"], r["revoked_at"]) for r in rows] == [(created["id"], None)]
    assert runner.invoke(app, ["keys", "revoke", created["id"]]).exit_code == 0
    assert runner.invoke(app, ["keys", "revoke", "nope"]).exit_code == 1
    listed = runner.invoke(app, ["keys", "list", "--json"])
    assert json.loads(listed.stdout.splitlines()[0])["revoked_at"] is not None
    bad_role = runner.invoke(app, ["keys", "create", "--name", "x", "--role", "root"])
    assert bad_role.exit_code == 2


def test_alerts_and_purge_on_an_empty_store(home: Path) -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["alerts", "list", "--json"])
    assert listed.exit_code == 0 and listed.stdout == ""
    assert runner.invoke(app, ["alerts", "list", "--status", "closed"]).exit_code == 2
    delivered = runner.invoke(app, ["alerts", "deliver", "--json"])
    assert delivered.exit_code == 0
    assert '"attempted":0' in delivered.stdout
    assert runner.invoke(app, ["alerts", "resolve", "7"]).exit_code == 1
    assert runner.invoke(app, ["feedback", "purge"]).exit_code == 2  # no retention configured
    purged = runner.invoke(app, ["feedback", "purge", "--older-than", "30"])
    assert purged.exit_code == 0 and "0 note(s)" in purged.stdout
