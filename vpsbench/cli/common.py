"""Helpers shared by the subcommand modules: argument formatting, progress bars and worker
counts."""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from tqdm import tqdm

from vpsbench.atomic import write_text_atomically
from vpsbench.io.archive import SubmissionLimits

T = TypeVar("T")


def add_command(
    subparsers: argparse._SubParsersAction,
    name: str,
    summary: str,
    description: str,
    aliases: Sequence[str] = (),
) -> argparse.ArgumentParser:
    """Create a subcommand whose --help shows the summary, details and an example verbatim."""
    return subparsers.add_parser(
        name,
        aliases=list(aliases),
        help=summary,
        description=f"{summary}\n\n{description.strip()}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def progress(items: Iterable[T], enabled: bool, desc: str, unit: str = "it") -> Iterator[T]:
    """Wrap an iterable in a tqdm bar on stderr when enabled (a TTY and not --quiet)."""
    return iter(tqdm(items, desc=desc, unit=unit, disable=not enabled, leave=False))


def add_limit_options(p: argparse.ArgumentParser) -> None:
    """The submission size limits, with the same defaults for ``eval`` and ``leaderboard score``."""
    d = SubmissionLimits()
    g = p.add_argument_group("submission limits (a submission over one is refused)")
    g.add_argument(
        "--max-size-mb", type=float, default=d.max_total_bytes / 1e6,
        help="largest total uncompressed size of a zip or directory (default: %(default)g)",
    )  # fmt: skip
    g.add_argument(
        "--max-files", type=int, default=d.max_files,
        help="most files in a submission (default: %(default)s)",
    )  # fmt: skip
    g.add_argument(
        "--max-ratio", type=float, default=d.max_ratio,
        help="highest compression ratio of a zip member (default: %(default)g)",
    )  # fmt: skip
    g.add_argument(
        "--max-json-mb", type=float, default=d.max_json_bytes / 1e6,
        help="largest pred.json (default: %(default)g)",
    )  # fmt: skip
    g.add_argument(
        "--max-pixels", type=int, default=d.max_pixels,
        help="most pixels a pan_pred PNG header may declare (default: %(default)s, Pillow's)",
    )  # fmt: skip


def limits_from_args(args: argparse.Namespace) -> SubmissionLimits:
    """The limits given by ``add_limit_options``; a non-positive value is refused."""
    try:
        return SubmissionLimits(
            max_total_bytes=int(args.max_size_mb * 1e6),
            max_files=args.max_files,
            max_ratio=args.max_ratio,
            max_json_bytes=int(args.max_json_mb * 1e6),
            max_pixels=args.max_pixels,
        )
    except ValueError as err:
        raise ValueError(
            "--max-size-mb, --max-files, --max-json-mb and --max-pixels must be positive and "
            "--max-ratio > 1"
        ) from err


# cgroup v2: the process's group is named in /proc/self/cgroup ("0::/path"); its CPU quota
# and those of the groups above it are in cpu.max ("max 100000" or "QUOTA PERIOD").
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def cgroup_cpu_limit() -> float | None:
    """The CPU quota (in cores) of this process's cgroup v2 and its parents, or None."""
    try:
        lines = PROC_CGROUP.read_text().splitlines()
    except OSError:
        return None
    group = next((line[3:] for line in lines if line.startswith("0::")), None)
    if group is None:
        return None
    limits = []
    folder = CGROUP_ROOT / group.strip("/")
    while True:
        try:
            quota, period = (folder / "cpu.max").read_text().split()[:2]
            if quota != "max":
                limits.append(int(quota) / int(period))
        except (OSError, ValueError):
            pass
        if folder == CGROUP_ROOT or CGROUP_ROOT not in folder.parents:
            break
        folder = folder.parent
    return min(limits, default=None)


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup CPU quota
    (rounded up, as the JVM and Go do), at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    quota = cgroup_cpu_limit()
    if quota is not None:
        cores = min(cores, math.ceil(quota))
    return max(cores, 1)


def add_workers_option(p: argparse.ArgumentParser, what: str = "processes") -> None:
    """``--workers``, defaulting to the usable cores (the same for every command)."""
    p.add_argument(
        "--workers", type=int, default=usable_cores(), metavar="N",
        help=f"{what}, >= 1: this process and N - 1 workers (default: %(default)s, the usable "
        "cores)",
    )  # fmt: skip


def to_stdout(path: Path | None) -> bool:
    """Whether an output option was given as ``-``: standard output instead of a file."""
    return path is not None and str(path) == "-"


def write_output(path: Path, text: str) -> tuple[list[str], str | None]:
    """Write ``text`` (ending in one newline) to the file an output option names, atomically:
    (["wrote PATH"], None); for ``-``: ([], the text), for ``print_outputs`` to print."""
    text = text.rstrip("\n")
    if to_stdout(path):
        return [], text
    write_text_atomically(path, text + "\n")
    return [f"wrote {path}"], None


def print_outputs(table: str, written: Sequence[str], data: str | None = None) -> None:
    """The table and the "wrote ..." lines, then ``data`` (what an option given as ``-``
    asked for) on stdout; with data, the lines for a person go to stderr, so that a pipe
    (``--json - | jq``) receives the data alone."""
    console = sys.stdout if data is None else sys.stderr
    print(table, file=console)
    for line in written:
        print(line, file=console)
    if data is not None:
        console.flush()
        print(data)


def refuse_existing_output(path: Path, force: bool) -> None:
    """Refuse an existing output file before any work starts, in the command line's words."""
    if not force and Path(path).exists():
        raise ValueError(f"{path} exists (--force replaces it)")


def check_workers(args: argparse.Namespace) -> None:
    """Refuse ``--workers`` below 1 (0 means nothing sensible) with one line."""
    if getattr(args, "workers", 1) < 1:
        raise ValueError(f"--workers must be >= 1 (default: the {usable_cores()} usable cores)")


def add_global_flags(p: argparse.ArgumentParser, default: object = False) -> None:
    """``--debug`` and ``--quiet``. Subcommands add them with ``default=argparse.SUPPRESS``,
    so that a flag given before the subcommand is not reset by the subcommand's default."""
    p.add_argument(
        "--debug", action="store_true", default=default, help="show the traceback on errors"
    )
    p.add_argument("--quiet", action="store_true", default=default, help="no progress bars")
