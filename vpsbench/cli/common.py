"""Helpers shared by the subcommand modules: argument formatting and progress bars."""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

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
