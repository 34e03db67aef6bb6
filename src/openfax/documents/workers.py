"""The process pool that renders long PDFs on every core, started on first use and kept.

PDFium is not thread-safe and Pillow's coders hold the GIL, so only processes run pages
in parallel. Workers come from a fork server that has already imported the renderers, so
starting one costs milliseconds, and a worker that crashes on a hostile file takes no more
than its own pages down.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def worker_count() -> int:
    """Number of CPUs this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def pool() -> ProcessPoolExecutor:
    """The shared pool, one worker per CPU."""
    global _pool
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["openfax.documents.pdf"])
            _pool = ProcessPoolExecutor(max_workers=worker_count(), mp_context=context)
        return _pool


def discard_pool() -> None:
    """Forget a pool whose worker died, so the next call starts a fresh one."""
    global _pool
    with _lock:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
