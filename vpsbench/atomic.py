"""Outputs written under a hidden temporary name and renamed into place: a reader never sees
half a file, and a stopped run (Ctrl-C, SIGTERM) leaves nothing behind."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vpsbench.termination import raise_if_terminated


def temporary_name(path: Path) -> Path:
    """The hidden name beside ``path`` that an output is written under before it is renamed."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def publish(tmp: Path | str, path: Path | str) -> None:
    """Rename the finished ``tmp`` to ``path``, unless SIGTERM arrived meanwhile."""
    raise_if_terminated()
    os.replace(tmp, path)


@contextmanager
def staged_file(path: str | Path, tmp: Path | None = None) -> Iterator[Path]:
    """The temporary name (``tmp``, else ``temporary_name(path)``) to write ``path`` under:
    renamed to ``path`` when the block ends (``publish``), removed if anything fails."""
    tmp = temporary_name(Path(path)) if tmp is None else tmp
    try:
        yield tmp
        publish(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` and rename ``tmp`` to ``path``; ``tmp`` is removed on any failure."""
    with staged_file(path) as tmp:
        write(tmp)
    return Path(path)


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically, as UTF-8."""
    return write_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


@contextmanager
def staged_directory(out_dir: str | Path) -> Iterator[Path]:
    """A hidden scratch directory beside ``out_dir`` to write a folder of outputs into; when
    the block ends its contents are published at ``out_dir`` (``publish_directory``), and on a
    failure or a stop (Ctrl-C, SIGTERM) it is removed, ``out_dir`` left as it was."""
    out_dir = Path(out_dir).absolute()  # "." has no name to put the scratch folder beside
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    try:
        yield stage
        raise_if_terminated()
        publish_directory(stage, out_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def publish_directory(stage: Path, out_dir: Path) -> None:
    """Put ``stage``'s contents at ``out_dir``: a rename where ``out_dir`` does not exist;
    into an existing directory (which may be a working directory or a mount point, so it
    stays) entry by entry, its old entries moved aside first and removed once the new ones are
    in place (moved back if a move fails)."""
    if not os.path.lexists(out_dir):
        stage.rename(out_dir)
        return
    if not out_dir.is_dir() or out_dir.is_symlink():
        out_dir.unlink()  # a file where the folder goes: replaced (overwrite was asked)
        stage.rename(out_dir)
        return
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    old.mkdir()
    moved_out, moved_in = [], []
    try:
        for entry in list(out_dir.iterdir()):
            entry.rename(old / entry.name)
            moved_out.append(entry.name)
        for entry in list(stage.iterdir()):
            entry.rename(out_dir / entry.name)
            moved_in.append(entry.name)
    except BaseException:
        for name in moved_in:
            (out_dir / name).rename(stage / name)
        for name in moved_out:
            (old / name).rename(out_dir / name)
        shutil.rmtree(old, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    stage.rmdir()
