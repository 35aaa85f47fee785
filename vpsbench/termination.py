"""SIGTERM (job schedulers, ``kill``) handled like Ctrl-C, so that the same cleanup runs.

Python runs a signal handler between bytecodes, and an exception it raises inside a weakref
callback or a ``__del__`` is printed as "Exception ignored" and lost. The handler therefore
also records the signal: ``raise_if_terminated`` (called before an output is published, when
a unified file's writer starts a video and whenever ``ordered_map`` hands over an item) and
the end of ``terminate_as_interrupt`` raise ``Terminated`` again, so a lost exception neither
publishes a file nor exits 0, and the work stops at the next video, not at its end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

_received: list[int] = []  # signals seen while terminate_as_interrupt is active


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same cleanup (partial files) runs."""


def raise_if_terminated() -> None:
    """Raise ``Terminated`` if SIGTERM arrived (even if its exception was swallowed)."""
    if _received:
        raise Terminated


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM raises ``Terminated`` in this process; a process forked
    from it dies of the signal as before. The previous handler comes back afterwards (main()
    may be called in a test)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers
        return
    owner = os.getpid()

    def handler(signum: int, frame) -> None:
        if os.getpid() != owner:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        _received.append(signum)
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
        raise_if_terminated()
    finally:
        signal.signal(signal.SIGTERM, previous)
        _received.clear()
