"""The benchmark's server-CPU accounting counts every worker process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from evaluation.benchmarks.bench_recommend import thread_cpu_seconds

BURN = "import time\nt = time.time()\nwhile time.time() - t < 30: pass\n"  # until killed


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_server_cpu_includes_spawned_worker_processes() -> None:
    # a parent that spawns a CPU-burning child and waits on it, like uvicorn's worker manager
    spawn = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {BURN!r}])"
    parent = subprocess.Popen([sys.executable, "-c", spawn], start_new_session=True)
    try:
        time.sleep(0.4)  # started, still burning
        before = thread_cpu_seconds(parent.pid)
        time.sleep(0.3)
        after = thread_cpu_seconds(parent.pid)
        assert after[""][1] > before[""][1], "the child's CPU was not counted"
        # threads of both processes are listed
        assert len(after) >= 3
    finally:
        os.killpg(parent.pid, signal.SIGKILL)
        parent.wait(timeout=30)


@pytest.mark.slow
def test_ranker_from_serves_the_other_stores_champion(tmp_path) -> None:
    """``--ranker-from``: another store's champion becomes this store's, scoring the same."""
    import lightgbm as lgb
    import mlflow.lightgbm
    import numpy as np

    from evaluation.benchmarks.bench_recommend import import_champion
    from features.pairs import FEATURE_NAMES, FEATURE_VERSION
    from models.ranker import RankerManifest, RankerModel
    from recsys.context import AppContext
    from recsys.settings import Settings
    from training.tracking import download_bundle, log_training_run

    rng = np.random.default_rng(0)
    x = rng.random((200, len(FEATURE_NAMES)))
    booster = lgb.train(
        {"objective": "regression", "num_leaves": 3, "verbosity": -1},
        lgb.Dataset(x, x[:, 0] + rng.normal(0, 0.1, len(x))),
        num_boost_round=20,
    )
    manifest = RankerManifest(list(FEATURE_NAMES), FEATURE_VERSION, "enc", "pointwise")
    bundle = RankerModel(booster, manifest).save(tmp_path / "bundle")
    source = Settings(home=tmp_path / "source")
    log_training_run(
        source, model_name=source.ranker_model_name, run_name="t", params={},
        metrics={"val_ndcg@10": 0.5}, primary_metric="val_ndcg@10", bundle_dir=bundle,
        log_model=lambda name: mlflow.lightgbm.log_model(
            booster, name="model", registered_model_name=name
        ),
    )  # fmt: skip
    ctx = AppContext(Settings(home=tmp_path / "bench"))
    version = import_champion(ctx, tmp_path / "source")
    found = download_bundle(ctx.settings, ctx.settings.ranker_model_name)
    assert found is not None and str(found[1].version) == version
    served = RankerModel.load(found[0])
    np.testing.assert_allclose(served.score(x[:10]), RankerModel(booster, manifest).score(x[:10]))
    with pytest.raises(SystemExit, match="no champion"):
        import_champion(ctx, tmp_path / "empty")
