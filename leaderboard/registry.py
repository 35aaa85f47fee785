"""The registry: one validated JSON file per entry, ``<registry>/<id>.json``.

The default registry is ``leaderboard/entries/`` in this repository; every function takes
another directory (tests and private leaderboards use their own).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from leaderboard.schema import EntryError, validate_entry

DEFAULT_REGISTRY = Path(__file__).resolve().parent / "entries"
MAX_ENTRY_BYTES = 1 << 20  # an entry is a few kB; anything larger is not an entry


class RegistryError(ValueError):
    """The registry cannot be read or written as asked; the message names the file."""


def reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    """json object hook: a key given twice is ambiguous (json would keep the last silently)."""
    keys = [k for k, _ in pairs]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise EntryError(f"duplicate keys {duplicates}")
    return dict(pairs)


def reject_constant(name: str) -> None:
    raise EntryError(f"{name} is not a valid JSON number")


def parse_entry_text(text: str, where: str) -> dict:
    """Strict JSON (no NaN/Infinity, no duplicate keys), validated against the schema."""
    try:
        data = json.loads(
            text, object_pairs_hook=reject_duplicate_keys, parse_constant=reject_constant
        )
    except json.JSONDecodeError as err:
        raise EntryError(f"{where}: not valid JSON: {err}") from err
    except EntryError as err:
        raise EntryError(f"{where}: {err}") from err
    return validate_entry(data, where)


def read_entry(path: str | Path) -> dict:
    """Load and validate one entry file."""
    path = Path(path)
    if not path.is_file():
        raise RegistryError(f"{path}: no such file")
    if path.stat().st_size > MAX_ENTRY_BYTES:
        raise EntryError(f"{path.name}: larger than {MAX_ENTRY_BYTES} bytes; not an entry")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise EntryError(f"{path.name}: not UTF-8 text ({err})") from err
    return parse_entry_text(text, path.name)


def load_entries(registry: str | Path = DEFAULT_REGISTRY) -> list[dict]:
    """Every entry of the registry, validated, sorted by dataset, split and id."""
    root = Path(registry)
    if not root.is_dir():
        raise RegistryError(f"{root}: no such registry directory")
    entries = []
    for path in sorted(root.glob("*.json")):
        entry = read_entry(path)
        if path.name != f"{entry['id']}.json":
            raise EntryError(f"{path.name}: the file must be named after its id ({entry['id']})")
        entries.append(entry)
    return sorted(entries, key=lambda e: (e["dataset"], e["split"], e["id"]))


def list_entries(
    registry: str | Path = DEFAULT_REGISTRY, dataset: str | None = None, split: str | None = None
) -> list[dict]:
    """The entries of one dataset and/or split (all when both are None)."""
    return [
        e
        for e in load_entries(registry)
        if (dataset is None or e["dataset"] == dataset) and (split is None or e["split"] == split)
    ]


def entry_path(registry: str | Path, entry_id: str) -> Path:
    return Path(registry) / f"{entry_id}.json"


def check_can_add(registry: str | Path, entry_id: str, replace: bool = False) -> Path:
    """The path an entry would get; raise when it exists and may not be replaced."""
    root = Path(registry)
    if not root.is_dir():
        raise RegistryError(f"{root}: no such registry directory")
    path = entry_path(root, entry_id)
    if path.exists() and not replace:
        raise RegistryError(
            f"an entry with id {entry_id!r} exists ({path}); choose another id or replace it"
        )
    return path


def add_entry(entry: dict, registry: str | Path = DEFAULT_REGISTRY, replace: bool = False) -> Path:
    """Validate and write an entry; the file appears complete or not at all."""
    validate_entry(entry)
    path = check_can_add(registry, entry["id"], replace)
    text = json.dumps(entry, indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{entry['id']}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def add_entry_file(
    path: str | Path, registry: str | Path = DEFAULT_REGISTRY, replace: bool = False
) -> Path:
    """Validate an entry file and copy it into the registry under its id."""
    return add_entry(read_entry(path), registry, replace)
