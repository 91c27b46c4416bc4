"""Command-line checks that need no trained model (the training paths run in the end-to-end
test)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from recsys.cli import app


def test_train_names_the_objectives_it_knows(home: Path) -> None:
    result = CliRunner().invoke(app, ["train", "ranker", "--objective", "listwise"])
    assert result.exit_code == 2
    assert "--objective must be one of blend, lambdarank, pointwise" in result.output
    assert not (home / "recsys.db").exists()  # refused before touching the store


def test_train_refuses_a_ranker_of_no_members(home: Path) -> None:
    result = CliRunner().invoke(app, ["train", "ranker", "--members", "0"])
    assert result.exit_code == 2
    assert "--members" in result.output
    assert not (home / "recsys.db").exists()
