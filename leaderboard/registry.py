"""The registry: one validated JSON file per entry, ``<registry>/<id>.json``.

The shipped registry, ``leaderboard/entries/`` of the package, is read-only for the commands:
an installed package is replaced by the next upgrade, and with it anything written there. New
entries go into a registry the user names (``--registry DIR`` or ``$VPSBENCH_REGISTRY``);
``list`` and ``build`` show the shipped entries together with the user's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from vpsbench.atomic import write_text_atomically
from vpsbench_leaderboard.schema import EntryError, validate_entry
from vpsbench_leaderboard.splits import entry_gt_status

SHIPPED_REGISTRY = Path(__file__).resolve().parent / "entries"
DEFAULT_REGISTRY = SHIPPED_REGISTRY  # the name older code and tests import
REGISTRY_ENV = "VPSBENCH_REGISTRY"
NO_REGISTRY = (
    f"no registry to write to: name one with --registry DIR or ${REGISTRY_ENV} "
    "(the shipped leaderboard/entries is not written: an upgrade would delete it)"
)
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
        raise RegistryError(
            f"{root}: no such registry directory (leaderboard add/score create it on first write)"
        )
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


def user_registry(flag: str | Path | None = None) -> Path | None:
    """The user's registry: ``--registry`` if given, else ``$VPSBENCH_REGISTRY``, else None."""
    if flag:
        return Path(flag)
    env = os.environ.get(REGISTRY_ENV, "").strip()
    return Path(env).expanduser() if env else None


def is_checkout() -> bool:
    """Whether the package runs from a git checkout (where leaderboard/entries is source)."""
    return (SHIPPED_REGISTRY.parent.parent / ".git").exists()


def writable_registry(flag: str | Path | None = None) -> Path:
    """The registry ``add``/``score`` write into; never the installed package's own folder."""
    root = user_registry(flag)
    if root is None:
        raise RegistryError(NO_REGISTRY)
    # In a checkout, maintainers add shipped entries with --registry leaderboard/entries.
    if is_shipped(root) and not is_checkout():
        raise RegistryError(
            f"{root} is the installed package's registry, which the next upgrade deletes; "
            f"name your own with --registry DIR or ${REGISTRY_ENV}"
        )
    return root


def is_shipped(root: str | Path) -> bool:
    """Whether a directory is the shipped registry."""
    try:
        return Path(root).resolve() == SHIPPED_REGISTRY.resolve()
    except OSError:
        return False


def load_with_user(user: str | Path | None) -> tuple[list[dict], set[str]]:
    """The shipped entries plus the user's registry (if any), and the ids from the user's.

    An id in both is an error: the tables would show two rows under one id.
    """
    entries = load_entries(SHIPPED_REGISTRY)
    if user is None or is_shipped(user):
        return entries, set()
    mine = load_entries(user)
    shipped = {e["id"] for e in entries}
    clash = sorted(shipped & {e["id"] for e in mine})
    if clash:
        raise RegistryError(
            f"entry id {clash[0]!r} is in the shipped registry and in yours ({Path(user)}"
            f"/{clash[0]}.json); rename yours (its file name and id)"
            + (f" ({len(clash) - 1} more clash)" if len(clash) > 1 else "")
        )
    merged = sorted(entries + mine, key=lambda e: (e["dataset"], e["split"], e["id"]))
    return merged, {e["id"] for e in mine}


def entry_path(registry: str | Path, entry_id: str) -> Path:
    return Path(registry) / f"{entry_id}.json"


def check_can_add(registry: str | Path, entry_id: str, replace: bool = False) -> Path:
    """The path an entry would get; raise when it exists and may not be replaced."""
    root = Path(registry)
    if root.exists() and not root.is_dir():
        raise RegistryError(f"{root} is not a directory; a registry is a folder of entry files")
    path = entry_path(root, entry_id)  # a missing registry folder is created by the first write
    if path.exists() and not replace:
        raise RegistryError(
            f"an entry with id {entry_id!r} exists ({path}); choose another id or replace it"
        )
    return path


def check_verified_claim(entry: dict) -> None:
    """A reproduced entry may claim ``verified`` only when scored on its table's official GT."""
    if entry["source"]["type"] == "reproduced" and entry["verified"]:
        status = entry_gt_status(entry)
        if status != "verified":
            content = (entry["source"].get("gt") or {}).get("content_id")
            raise EntryError(
                f"{entry['id']}: verified is true, but its GT (content_id {content}) is "
                f"{status} for {entry['dataset']} {entry['split']}; set it to false"
            )


def add_entry(entry: dict, registry: str | Path | None = None, replace: bool = False) -> Path:
    """Validate and write an entry into ``registry`` (else ``$VPSBENCH_REGISTRY``); the file
    appears complete or not at all."""
    validate_entry(entry)
    check_verified_claim(entry)
    path = check_can_add(writable_registry(registry), entry["id"], replace)
    text = json.dumps(entry, indent=2, ensure_ascii=False) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomically(path, text)


def add_entry_file(
    path: str | Path, registry: str | Path | None = None, replace: bool = False
) -> Path:
    """Validate an entry file and copy it into the registry under its id."""
    return add_entry(read_entry(path), registry, replace)
