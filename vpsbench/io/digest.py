"""Content digests of files and folders (submissions, checkpoints)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_digest(path: Path) -> str:
    """sha256 of a file, or of a folder's sorted (relative path, content digest) pairs."""
    digest = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()
    for item in sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink()):
        digest.update(f"{item.relative_to(path).as_posix()}\0{file_digest(item)}\n".encode())
    return digest.hexdigest()
