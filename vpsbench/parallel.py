"""Worker processes for the per-video jobs of converting and scoring."""

from __future__ import annotations

import concurrent.futures
import ctypes
import ctypes.util
import functools
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.context import BaseContext
from typing import TypeVar

from vpsbench import settings
from vpsbench.termination import raise_if_terminated

T = TypeVar("T")
R = TypeVar("R")


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


def init_worker(environment: dict[str, str] | None = None) -> None:
    """Pool initializer of converting and scoring workers: Ctrl-C is the parent's
    (``ignore_sigint``), freed frame buffers are reused (``keep_freed_memory``), and the
    parent's ``$VPSBENCH_*`` settings (``settings.current()`` there) are this worker's: it is
    forked from the forkserver, which keeps the environment of its own start."""
    ignore_sigint()
    keep_freed_memory()
    if environment is not None:
        settings.adopt(environment)


def ignore_sigint() -> None:
    """Pool initializer: Ctrl-C reaches the whole process group, and only the parent should
    react to it (with one line), not every worker with a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def ordered_map(
    function: Callable[[T], R],
    items: Sequence[T],
    workers: int,
    context: BaseContext,
    ahead: int = 2,
    chunk: int = 1,
) -> Iterator[R]:
    """``function(item)`` of every item, yielded in order, computed by ``workers`` processes:
    this one and ``workers - 1`` pool workers (``context``), with at most ``ahead`` items per
    process started before the one the caller waits for.

    This process computes the next item itself whenever the result it waits for is not ready:
    while the pool's first worker starts (a quarter of a second of imports on a 2-core
    machine: a sixth of scoring W1 with 2 workers), and when the pool falls behind.
    ``function`` must be picklable by reference. The error raised is that of the first
    failing item in order, as with ``map``, whichever process met an error first; then (or on
    an interrupt) the queued items are dropped and only the running ones are waited for.
    ``chunk`` > 1 makes each task a run of that many items (fewer round trips to the pool).
    """
    for result in _ordered_results(function, items, workers, context, ahead, chunk):
        raise_if_terminated()  # a SIGTERM lost in a finalizer stops the run here, not at its end
        yield result


def _ordered_results(
    function: Callable[[T], R],
    items: Sequence[T],
    workers: int,
    context: BaseContext,
    ahead: int,
    chunk: int,
) -> Iterator[R]:
    items = list(items)
    if chunk > 1 and workers > 1:
        runs = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        for results in _ordered_results(
            functools.partial(_map_list, function), runs, workers, context, ahead, 1
        ):
            yield from results
        return
    if workers <= 1 or len(items) <= 1:
        yield from map(function, items)
        return
    pool = concurrent.futures.ProcessPoolExecutor(
        workers - 1, mp_context=context, initializer=init_worker, initargs=(settings.current(),)
    )
    # Starting a worker blocks until the server has imported its modules (and holds the
    # pool's lock meanwhile): done in a thread, while this process computes the first items.
    failed: list[BaseException] = []
    starting = threading.Thread(target=_start_worker, args=(pool, failed), daemon=True)
    starting.start()
    try:
        started: dict[int, concurrent.futures.Future | None] = {}  # None: computed here
        done: dict[int, concurrent.futures.Future] = {}  # finished, in or out of order
        upcoming = 0  # the first item not started
        for wanted in range(len(items)):
            while wanted not in done:
                if not starting.is_alive():
                    if failed:  # raised here, not printed by the thread
                        raise failed[0]
                    while upcoming < len(items) and _in_pool(started) < ahead * (workers - 1):
                        started[upcoming] = pool.submit(function, items[upcoming])
                        upcoming += 1
                future = started.get(wanted)
                helping = upcoming < len(items) and len(started) < ahead * workers
                if future is not None and (future.done() or not helping):
                    concurrent.futures.wait([future])
                    done[wanted] = future
                else:  # not started, or not ready: compute the next item here, not wait
                    started[upcoming] = None
                    done[upcoming] = _computed_here(function, items[upcoming])
                    upcoming += 1
            del started[wanted]
            # An item's error is raised in item order, whichever process met it first.
            yield done.pop(wanted).result()
    except BaseException:
        starting.join()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    starting.join()
    pool.shutdown(wait=True)


def _computed_here(function: Callable[[T], R], item: T) -> concurrent.futures.Future:
    """``function(item)`` computed now, as a finished future (its error kept for later)."""
    future: concurrent.futures.Future = concurrent.futures.Future()
    try:
        future.set_result(function(item))
    except Exception as err:  # an interrupt (BaseException) is not kept: it stops at once
        future.set_exception(err)
    return future


def _in_pool(started: dict) -> int:
    return sum(future is not None for future in started.values())


def _map_list(function: Callable[[T], R], items: list[T]) -> list[R]:
    return [function(item) for item in items]


def _start_worker(pool: concurrent.futures.ProcessPoolExecutor, failed: list) -> None:
    """Make the pool start a worker (by a first, empty task); an error is kept in ``failed``."""
    try:
        pool.submit(_nothing)
    except BaseException as err:  # handed to the calling thread
        failed.append(err)


def _nothing() -> None:
    """The empty task that starts a pool's first worker."""
