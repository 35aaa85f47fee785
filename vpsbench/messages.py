"""Wording shared by the one-line error messages: counted nouns and previews of name lists."""

from __future__ import annotations


def count(n: int, noun: str) -> str:
    """``1 problem``, ``2 problems``: ``n`` and the noun in the number it takes."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def names_preview(names: list[str], limit: int = 5) -> str:
    """The first ``limit`` names, then how many more there are."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more
