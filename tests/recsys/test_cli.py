"""Command-line checks that need no trained model (the training paths run in the end-to-end
test)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from recsys.cli import app
from recsys.settings import get_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("RECSYS_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    yield tmp_path / "home"
    get_settings.cache_clear()


def test_train_names_the_objectives_it_knows(home: Path) -> None:
    result = CliRunner().invoke(app, ["train", "ranker", "--objective", "listwise"])
    assert result.exit_code == 2
    assert "--objective must be one of blend, lambdarank, pointwise" in result.output
    assert not (home / "recsys.db").exists()  # refused before touching the store
