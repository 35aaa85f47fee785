"""Worker processes for the per-video jobs of converting and scoring."""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import signal
from collections.abc import Sequence
from multiprocessing.context import BaseContext


def worker_context(preload: Sequence[str] = ()) -> BaseContext:
    """A forkserver context (spawn where there is none) whose server imports ``preload``.

    forkserver: workers start clean, without the parent's open HDF5 handles. Importing the
    workers' modules once in the server, before it forks them, saves each worker that import
    (about 0.3 s for a converter module on a busy 2-core machine).
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    # Takes effect when the server starts (the first pool of the process); later calls are
    # harmless no-ops for a running server.
    context.set_forkserver_preload(list(preload))
    return context


def start_server(context: BaseContext) -> None:
    """Start a forkserver context's server now, without waiting for its imports: they overlap
    whatever the parent does before it starts its pool (e.g. scanning a release)."""
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


# glibc's mallopt parameters (malloc.h) and the largest mmap threshold it accepts on 64-bit.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_MAX = 32 << 20


def keep_freed_memory(trim_threshold: int = 512 << 20) -> bool:
    """Let glibc serve frame-sized arrays from the heap and keep freed memory for the next
    frame, instead of mapping and unmapping every array (page faults on every frame).

    A worker allocates and frees the same few 2-8 MB arrays per frame; with glibc's defaults
    each is a fresh mmap whose pages fault in again, which costs about as much as decoding on
    a 2-core machine and does not scale to 2 workers (benchmarks/bench_convert.py). Returns
    whether the setting took (False off glibc, e.g. macOS: nothing changes there).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)) and bool(
        mallopt(_M_TRIM_THRESHOLD, trim_threshold)
    )


def init_worker() -> None:
    """Pool initializer of converting and scoring workers: Ctrl-C is the parent's
    (``ignore_sigint``), freed frame buffers are reused (``keep_freed_memory``)."""
    ignore_sigint()
    keep_freed_memory()


def ignore_sigint() -> None:
    """Pool initializer: Ctrl-C reaches the whole process group, and only the parent should
    react to it (with one line), not every worker with a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
