"""Helpers shared by the subcommand modules: argument formatting and progress bars."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

from vpsbench.io.archive import SubmissionLimits

T = TypeVar("T")


def add_command(
    subparsers: argparse._SubParsersAction, name: str, summary: str, description: str
) -> argparse.ArgumentParser:
    """Create a subcommand whose --help shows the summary, details and an example verbatim."""
    return subparsers.add_parser(
        name,
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
