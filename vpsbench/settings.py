"""Run-time settings from ``$VPSBENCH_*`` environment variables (per-frame kernels, PNG
decoder): how a named choice is read and checked, in one place for every setting."""

from __future__ import annotations

import os

PREFIX = "VPSBENCH_"


def current() -> dict[str, str]:
    """This process's ``$VPSBENCH_*`` variables, for ``adopt`` in another process."""
    return {name: value for name, value in os.environ.items() if name.startswith(PREFIX)}


def adopt(environment: dict[str, str]) -> None:
    """Make ``environment`` (another process's ``current()``) this process's settings."""
    for name in [name for name in os.environ if name.startswith(PREFIX)]:
        del os.environ[name]
    os.environ.update(environment)


def choose(env: str, requested: str | None, unavailable: dict[str, str | None]) -> str:
    """The choice ``requested``, else ``$env``, else ``auto`` (the first available one of
    ``unavailable``, whose values say why a choice cannot be used, None when it can)."""
    name = (requested or os.environ.get(env) or "auto").strip().lower()
    if name == "auto":
        return next(choice for choice, why in unavailable.items() if why is None)
    if name not in unavailable:
        raise ValueError(f"{env}={name!r}: choose auto, {' or '.join(unavailable)}")
    if unavailable[name] is not None:
        raise ValueError(f"{env}={name}, but {unavailable[name]}")
    return name
