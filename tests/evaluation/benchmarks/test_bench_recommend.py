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
