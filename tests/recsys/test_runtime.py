from __future__ import annotations

import sys

import pytest

from recsys import runtime


def test_import_faiss_loads_torch_first() -> None:
    faiss = runtime.import_faiss()
    assert "torch" in sys.modules
    assert hasattr(faiss, "IndexFlatIP")


def test_configure_threads_applies_to_torch_and_faiss_and_is_idempotent() -> None:
    import torch

    faiss = runtime.import_faiss()
    before = torch.get_num_interop_threads()
    runtime.configure_threads(1)
    runtime.configure_threads(1)  # second call must not raise (interop threads are set once)
    assert torch.get_num_threads() == 1
    assert faiss.omp_get_max_threads() == 1
    assert runtime.configured_threads() == 1
    from threadpoolctl import threadpool_info

    blas = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(n == 1 for n in blas)
    runtime.configure_threads(2)
    assert torch.get_num_threads() == 2
    assert faiss.omp_get_max_threads() == 2
    assert torch.get_num_interop_threads() in {before, 1}


def test_configure_threads_rejects_nonpositive() -> None:
    with pytest.raises(ValueError):
        runtime.configure_threads(0)


def test_freeze_startup_objects_takes_them_out_of_full_collections() -> None:
    import gc

    from recsys.runtime import freeze_startup_objects

    survivors = [[i] for i in range(10_000)]  # long-lived, GC-tracked
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() >= len(survivors)
        assert not any(o is survivors for o in gc.get_objects())  # no longer scanned
    finally:
        gc.unfreeze()  # leave the test process as it was


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="thread names via /proc")
def test_name_os_thread_sets_the_kernel_thread_name_without_the_prefix() -> None:
    import threading
    from pathlib import Path

    seen: list[str] = []

    def body() -> None:
        runtime.name_os_thread()
        seen.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip())
        runtime.name_os_thread("recsys-a-name-longer-than-fifteen-bytes")
        seen.append(Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip())

    thread = threading.Thread(target=body, name="recsys-recommend_3")
    thread.start()
    thread.join()
    assert seen == ["recommend_3", "a-name-longer-t"]
