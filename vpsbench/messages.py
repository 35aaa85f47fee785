"""Wording shared by the one-line error messages: counted nouns and previews of name lists."""

from __future__ import annotations


def count(n: int, noun: str) -> str:
    """``1 problem``, ``2 problems``: ``n`` and the noun in the number it takes."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def names_preview(names: list[str], limit: int = 5) -> str:
    """The first ``limit`` names, then how many more there are."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def spoken_list(items: list) -> str:
    """``2``, ``2 and 4``, ``2, 4 and 6``: items as a sentence lists them."""
    words = [str(item) for item in items]
    return " and ".join(words) if len(words) <= 2 else f"{', '.join(words[:-1])} and {words[-1]}"
