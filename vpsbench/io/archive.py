"""Safe extraction of untrusted zip archives (submissions) into a private temporary directory."""

from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath


class UnsafeArchiveError(ValueError):
    """The archive is rejected before anything is written: it could escape or exhaust disk."""


# Pillow's default Image.MAX_IMAGE_PIXELS: above it Pillow warns of a decompression bomb.
PILLOW_MAX_PIXELS = 1024 * 1024 * 1024 // 4 // 3


@dataclass(frozen=True)
class SubmissionLimits:
    """Upper bounds for an untrusted submission, shared by ``vpsbench eval`` and the leaderboard.

    Generous for Cityscapes-VPS (~300 PNGs of 2048x1024, a pred.json of a few MB).
    """

    max_total_bytes: int = 4_096_000_000  # archive (or directory) contents, uncompressed
    max_files: int = 20_000
    max_ratio: float = 200.0  # uncompressed / compressed size of one zip member
    max_depth: int = 2  # a zip inside a zip (pan_pred.zip inside submission.zip)
    max_json_bytes: int = 100_000_000  # pred.json; json.loads holds all of it in memory
    max_pixels: int = PILLOW_MAX_PIXELS  # declared by one PNG header, checked before decoding

    def __post_init__(self) -> None:
        if min(self.max_total_bytes, self.max_files, self.max_json_bytes, self.max_pixels) < 1:
            raise ValueError("submission limits must be positive")
        if self.max_ratio <= 1 or self.max_depth < 1:
            raise ValueError("the compression-ratio limit must be > 1 and the depth >= 1")


# The archive checks read the first four fields; the old name stays for existing callers.
ArchiveLimits = SubmissionLimits


def human_size(num_bytes: float) -> str:
    """A byte count as people read it: 512 B, 3.4 MB, 1.20 GB."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if num_bytes >= size:
            return f"{num_bytes / size:.2f} {unit}"
    return f"{int(num_bytes)} B"


def check_member(info: zipfile.ZipInfo) -> None:
    """Reject names that escape the target directory, links and special files."""
    name = info.filename
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or name.startswith(("/", "\\")) or ":" in path.parts[0]:
        raise UnsafeArchiveError(f"absolute path in archive: {name!r}")
    if ".." in path.parts:
        raise UnsafeArchiveError(f"path escapes the archive directory: {name!r}")
    mode = info.external_attr >> 16
    # Many writers store permission bits without a file type; only an explicit type is judged.
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        kind = "symlink" if stat.S_ISLNK(mode) else "special file"
        raise UnsafeArchiveError(f"{kind} in archive: {name!r}")


def check_archive(archive: zipfile.ZipFile, limits: ArchiveLimits) -> None:
    """Check every member and the totals against the limits, reading headers only."""
    members = archive.infolist()
    if len(members) > limits.max_files:
        raise UnsafeArchiveError(f"archive has {len(members)} files (limit {limits.max_files})")
    total = 0
    for info in members:
        check_member(info)
        total += info.file_size
        if info.compress_size and info.file_size / info.compress_size > limits.max_ratio:
            raise UnsafeArchiveError(
                f"{info.filename!r} expands {info.file_size / info.compress_size:.0f}x "
                f"(limit {limits.max_ratio:.0f}x): refusing a possible zip bomb"
            )
    if total > limits.max_total_bytes:
        raise UnsafeArchiveError(
            f"archive expands to {human_size(total)} (limit {human_size(limits.max_total_bytes)})"
        )


def extract_archive(path: Path, target: Path, limits: ArchiveLimits, depth: int = 1) -> None:
    """Extract a zip after checking it; nested ``.zip`` members are extracted beside them."""
    if depth > limits.max_depth:
        raise UnsafeArchiveError(f"{path.name}: archives nested deeper than {limits.max_depth}")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise UnsafeArchiveError(f"{path.name}: not a readable zip file ({err})") from err
    with archive:
        check_archive(archive, limits)
        for info in archive.infolist():
            destination = target.joinpath(*PurePosixPath(info.filename).parts)
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(destination, "wb") as dst:
                copy_limited(src, dst, info.file_size, info.filename)
    for nested in sorted(target.rglob("*.zip")):
        if nested != path:
            extract_archive(nested, nested.with_suffix(""), limits, depth + 1)
            nested.unlink()


def copy_limited(src, dst, declared: int, name: str) -> None:
    """Copy at most the declared size: a member lying about its size cannot fill the disk."""
    written = 0
    while chunk := src.read(1 << 20):
        written += len(chunk)
        if written > declared:
            raise UnsafeArchiveError(f"{name!r} is larger than its header declares")
        dst.write(chunk)


class PrivateDirectory:
    """A temporary directory readable only by us, always removed on exit."""

    def __enter__(self) -> Path:
        self.path = Path(tempfile.mkdtemp(prefix="vpsbench-"))
        return self.path

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
