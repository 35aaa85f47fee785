"""Outputs written under a hidden temporary name and renamed into place: a reader never sees
half a file, and a stopped run (Ctrl-C, SIGTERM) leaves nothing behind."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from vpsbench.termination import raise_if_terminated


def temporary_name(path: Path) -> Path:
    """The hidden name beside ``path`` that an output is written under before it is renamed."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def publish(tmp: Path | str, path: Path | str) -> None:
    """Rename the finished ``tmp`` to ``path``, unless SIGTERM arrived meanwhile."""
    raise_if_terminated()
    os.replace(tmp, path)


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` and rename ``tmp`` to ``path``; ``tmp`` is removed on any failure."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        write(tmp)
        publish(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    return write_atomically(path, lambda tmp: tmp.write_text(text))
