"""What vpsbench knows of one dataset: the record each dataset module fills in once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vpsbench.format.schema import Category, Protocol


@dataclass(frozen=True)
class Dataset:
    """One dataset: its canonical name (as files and the leaderboard spell it), the spellings
    also accepted, its categories, label divisor and protocols (the first is the default), the
    release layouts its converter reads and how to recognise one on disk."""

    name: str
    title: str
    categories: tuple[Category, ...]
    protocols: tuple[Protocol, ...]
    label_divisor: int = 1000
    aliases: tuple[str, ...] = ()
    layouts: str = ""
    source: str = ""
    # Whether a directory holds this dataset's release for a split (None: not a release).
    detect: Callable[[Path, str], bool] | None = None
    category_json: Callable[[], str] | None = None

    @property
    def protocol(self) -> Protocol:
        """The default (official) protocol."""
        return self.protocols[0]
