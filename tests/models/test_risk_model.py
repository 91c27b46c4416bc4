from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from models.risk import RiskModel


def _data(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(
        {
            "recent_time_constraints": rng.poisson(1.0, n).astype(float),
            "days_since_last_note": rng.uniform(0, 90, n),
            "noise": rng.normal(size=n),
        }
    )
    logit = 1.2 * x["recent_time_constraints"] + 0.04 * x["days_since_last_note"] - 3.0
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int).to_numpy()
    return x, y


@pytest.mark.parametrize("kind", ["lightgbm", "logistic"])
def test_fit_predict_contributions_roundtrip(kind: str, tmp_path: Path) -> None:
    x, y = _data()
    xt, yt = _data(seed=1)
    model = RiskModel(kind, params={"num_rounds": 100} if kind == "lightgbm" else None)  # type: ignore[arg-type]
    model.fit(x, y)
    p = model.predict_proba(xt)
    assert p.shape == (len(xt),) and ((p >= 0) & (p <= 1)).all()
    assert roc_auc_score(yt, p) > 0.75
    contrib = model.contributions(xt)
    assert list(contrib.columns) == [*x.columns, "bias"]
    logit = np.log(p / (1 - p))
    np.testing.assert_allclose(contrib.sum(axis=1).to_numpy(), logit, rtol=1e-6, atol=1e-6)
    # the informative features carry more weight than the noise column
    imp = model.feature_importance()
    assert imp["recent_time_constraints"] > imp["noise"]
    assert sum(imp.values()) == pytest.approx(1.0)

    path = model.save(tmp_path / kind)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["kind"] == kind and manifest["feature_names"] == list(x.columns)
    assert manifest["version"] == model.version and manifest["n_train"] == len(x)
    loaded = RiskModel.load(path)
    np.testing.assert_allclose(loaded.predict_proba(xt), p)
    assert loaded.version == model.version
    # column order and missing columns: aligned by name, missing treated as unknown
    shuffled = xt[list(reversed(xt.columns))]
    np.testing.assert_allclose(loaded.predict_proba(shuffled), p)
    assert np.isfinite(loaded.predict_proba(xt.drop(columns=["noise"]))).all()


def test_early_stopping_records_rounds_for_refit() -> None:
    x, y = _data()
    xv, yv = _data(seed=2)
    model = RiskModel("lightgbm", params={"num_rounds": 400}).fit(x, y, x_valid=xv, y_valid=yv)
    assert 1 <= model.params["num_rounds"] < 400


def test_refuses_single_class_and_unfitted_use(tmp_path: Path) -> None:
    x, _ = _data(50)
    with pytest.raises(ValueError):
        RiskModel().fit(x, np.zeros(50))
    with pytest.raises(RuntimeError):
        RiskModel().predict_proba(x)
    with pytest.raises(ValueError):
        RiskModel("svm")  # type: ignore[arg-type]


def test_load_rejects_a_tampered_model(tmp_path: Path) -> None:
    x, y = _data()
    path = RiskModel("logistic").fit(x, y).save(tmp_path / "m")
    params = json.loads((path / "logistic.json").read_text())
    params["intercept"] += 1.0
    (path / "logistic.json").write_text(json.dumps(params))
    with pytest.raises(ValueError):
        RiskModel.load(path)
