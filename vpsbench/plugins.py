"""How packages outside the core plug into it: Python entry points, read when needed.

The core ``vpsbench`` package imports none of the outer packages (converters, leaderboard,
reference model); they declare what they add in ``setup.cfg`` under these groups, and any
other installed distribution can add to them the same way:

* ``vpsbench.commands``: ``register(subparsers)`` functions that add ``vpsbench`` subcommands.
  One may also add converter options to ``eval`` (``subparsers.choices["eval"]``) and name
  their dests in its ``converter_options`` default; eval passes those given to the converter.
* ``vpsbench.converters``: per dataset name, a function ``(root, split, out, workers,
  progress, **options)`` (the release's labels as a unified GT file, for ``eval --gt ROOT``);
  its keyword parameters are the options it accepts, and eval refuses any other.
* ``vpsbench.demo_models``: an object with ``default_checkpoint()`` (a path or None) and
  ``predict(checkpoint, gt, out, progress)`` (``vpsbench demo`` runs it beside its predictions).
"""

from __future__ import annotations

from importlib.metadata import entry_points

COMMANDS = "vpsbench.commands"
CONVERTERS = "vpsbench.converters"
DEMO_MODELS = "vpsbench.demo_models"


def load_group(group: str) -> dict[str, object]:
    """Every entry point of ``group``, loaded, by name (sorted, so the order is stable)."""
    found = sorted(entry_points(group=group), key=lambda ep: ep.name)
    return {ep.name: ep.load() for ep in found}


def load_one(group: str, name: str) -> object | None:
    """The entry point ``name`` of ``group``, loaded, or None when nothing provides it."""
    for ep in entry_points(group=group):
        if ep.name == name:
            return ep.load()
    return None
