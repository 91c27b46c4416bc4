"""MLflow set-up must not leak one home's store into another's settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recsys.settings import Settings
from training.tracking import setup_mlflow


@pytest.mark.slow  # creates an MLflow SQLite store (~10-20 s of migrations)
def test_setup_mlflow_leaves_the_environment_as_the_user_set_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    first = Settings(home=tmp_path / "a")
    setup_mlflow(first)
    # mlflow.set_tracking_uri exports MLFLOW_TRACKING_URI; Settings would read it as the
    # user's choice and point every later home at the first one's store.
    assert "MLFLOW_TRACKING_URI" not in os.environ
    second = Settings(home=tmp_path / "b")
    assert str(tmp_path / "b") in second.resolved_mlflow_uri
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert Settings(home=tmp_path / "c").resolved_mlflow_uri == "http://tracking.example:5000"
