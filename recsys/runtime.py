"""Process-wide numeric runtime setup: thread counts and the torch-before-faiss import order.

torch and faiss each ship an OpenMP runtime. Importing faiss first and torch second can load
two different OpenMP libraries into one process, which crashes or deadlocks on some platforms;
importing torch first makes faiss reuse the already-loaded runtime. Every module in the project
therefore imports faiss through :func:`import_faiss`, never directly.

Thread counts are set explicitly because the defaults (one thread per visible core, per
library, plus inter-op pools) oversubscribe small serving hosts and make latency erratic.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from types import ModuleType

_THREAD_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

_lock = threading.Lock()
_configured_threads: int | None = None
_interop_set = False


def import_faiss() -> ModuleType:
    """Import and return ``faiss``, guaranteeing torch's OpenMP runtime is loaded first."""
    # Not a plain ``import torch`` line: import sorters would move it below faiss.
    importlib.import_module("torch")
    import faiss

    return faiss


def configure_threads(n: int) -> None:
    """Use ``n`` threads for torch, FAISS and BLAS; safe to call any number of times.

    Environment defaults are only filled in when unset, so an operator's explicit
    ``OMP_NUM_THREADS`` wins for libraries that read it later (LightGBM, onnxruntime).
    ``torch.set_num_interop_threads`` may only be called once per process (and not after
    inter-op work has started), so it is attempted once and a refusal is tolerated.
    """
    global _configured_threads, _interop_set
    if n < 1:
        raise ValueError(f"thread count must be >= 1, got {n}")
    with _lock:
        for var in _THREAD_ENV_VARS:
            os.environ.setdefault(var, str(n))
        if _configured_threads == n:
            return
        import torch

        torch.set_num_threads(n)
        if not _interop_set:
            _interop_set = True
            # Raises if already set or once inter-op work ran in this process: keep torch's value.
            with contextlib.suppress(RuntimeError):
                torch.set_num_interop_threads(n)
        faiss = import_faiss()
        faiss.omp_set_num_threads(n)
        # numpy's BLAS read OPENBLAS_NUM_THREADS when numpy was first imported, usually
        # before this runs: limit the already-loaded library directly.
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n, user_api="blas")
        _configured_threads = n


def name_os_thread(name: str | None = None) -> None:
    """Give the calling OS thread ``name`` (default: its Python thread name), so ``top -H``,
    ``ps -L`` and ``/proc/PID/task/*/comm`` tell the service's threads apart (Python 3.11
    leaves every thread named after the executable). Linux only; at most 15 bytes are kept,
    so a ``recsys-`` prefix is dropped first. Best effort: does nothing where unsupported."""
    if os.uname().sysname != "Linux":
        return
    label = (name or threading.current_thread().name).removeprefix("recsys-")
    with contextlib.suppress(OSError, AttributeError, ValueError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_name = 15
        libc.prctl(pr_set_name, label.encode()[:15], 0, 0, 0)


def init_worker_thread(threads: int) -> None:
    """Initializer for the service's worker pools: thread counts, then the OS thread name."""
    configure_threads(threads)
    name_os_thread()


def configured_threads() -> int | None:
    """The thread count last applied by :func:`configure_threads`, or None if never called."""
    return _configured_threads


def freeze_startup_objects() -> float:
    """Collect once, then move every object alive now (imported libraries, loaded models,
    catalogs: about a million at 100k mentors) out of the garbage collector's reach.

    A full collection traverses every tracked object while holding the GIL: 541 ms here with
    a 100k-mentor catalog loaded, a stall for every request in flight whenever it fires.
    Frozen objects are still freed by reference counting when dropped (an old catalog after a
    rebuild); only cyclic garbage among them would stay, and a catalog rebuild leaves ~140
    such objects. Returns the seconds the one-off collection took.
    """
    import gc
    import time

    start = time.perf_counter()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - start
