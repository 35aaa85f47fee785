"""Worker processes for the per-video jobs of converting and scoring."""

from __future__ import annotations

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


def ignore_sigint() -> None:
    """Pool initializer: Ctrl-C reaches the whole process group, and only the parent should
    react to it (with one line), not every worker with a traceback."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
