"""The leaderboard entry schema (version 1) and its validation, with one message per problem.

An entry is one JSON object: a method's scores on one dataset split plus where they come from
(a publication, or a run of vpsbench). docs/LEADERBOARD.md describes every field.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable
from typing import Any

from vpsbench.metrics import METRICS, get_metric

SCHEMA_VERSION = 1
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,119}$")
K_LABEL_PATTERN = re.compile(r"^(0|[1-9][0-9]{0,3})$")
VC_KEY_PATTERN = re.compile(r"^vc_[1-9][0-9]{0,3}$")
GROUPS = ("all", "things", "stuff")
SOURCE_STATUSES = ("primary", "secondary", "unverified")
MAX_TEXT = 2000

TOP_REQUIRED = (
    "schema",
    "id",
    "method",
    "variant",
    "dataset",
    "split",
    "metrics",
    "source",
    "verified",
)
TOP_OPTIONAL = ("protocol", "notes")
PUBLISHED_REQUIRED = ("type", "citation", "url", "table", "status")
REPRODUCED_REQUIRED = ("type", "vpsbench_version", "command", "seed", "commit", "date", "hardware")
REPRODUCED_OPTIONAL = ("gt", "submission", "prediction_command", "dirty", "runs")
# One run of a multi-seed entry (source.runs): its seed, submission and scores; the entry's
# metrics are then the mean over the runs.
RUN_REQUIRED = ("seed", "submission", "metrics")
# A git commit, "-dirty" when the checkout had uncommitted changes (older entries say it so).
COMMIT_PATTERN = re.compile(r"^[0-9a-f]{7,40}(-dirty)?$")


class EntryError(ValueError):
    """An entry does not follow the schema; the message lists every problem with its field."""


class Checker:
    """Collects ``field: problem`` messages while an entry is walked."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.mean_of_runs = False  # counts may be means (non-integer) in a multi-run entry

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def keys(self, obj: Any, where: str, required: tuple, optional: tuple = ()) -> bool:
        """An object with the required keys and no others (typos such as "thing" are caught)."""
        if not isinstance(obj, dict):
            self.add(where, f"expected an object, got {type_name(obj)}")
            return False
        for key in required:
            if key not in obj:
                self.add(where, f'missing "{key}"')
        unknown = sorted(set(obj) - set(required) - set(optional))
        if unknown:
            self.add(where, f"unknown keys {unknown}; allowed: {sorted({*required, *optional})}")
        return True

    def text(self, value: Any, where: str, nullable: bool = False, limit: int = MAX_TEXT) -> None:
        if value is None and nullable:
            return
        if not isinstance(value, str) or not value.strip():
            self.add(
                where, f"expected a non-empty string{' or null' * nullable}, got {type_name(value)}"
            )
        elif len(value) > limit:
            self.add(where, f"longer than {limit} characters")
        elif any(ord(c) < 32 and c not in "\n\t" for c in value):
            self.add(where, "contains control characters")

    def number(self, value: Any, where: str, low: float | None, high: float | None) -> None:
        """A finite JSON number within [low, high], or null (a score the source does not give)."""
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.add(where, f"expected a number or null, got {type_name(value)}")
        elif not math.isfinite(value):
            self.add(where, "expected a finite number")
        elif (low is not None and value < low) or (high is not None and value > high):
            self.add(where, f"{value} is outside [{low}, {high}]")

    def count(self, value: Any, where: str) -> None:
        if value is None:
            return
        if self.mean_of_runs and isinstance(value, float):
            self.number(value, where, 0.0, None)  # the mean of per-run counts
            return
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.add(where, f"expected a non-negative integer or null, got {value!r}")


def type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def percent(check: Checker, value: Any, where: str) -> None:
    check.number(value, where, 0.0, 100.0)


def check_value(check: Checker, unit: str, value: Any, where: str) -> None:
    """A score of a declared unit: percent in [0, 100], signed percent <= 100, or a count."""
    if unit == "count":
        check.count(value, where)
    elif unit == "signed %":
        check.number(value, where, None, 100.0)
    else:
        percent(check, value, where)


def check_fields(check: Checker, name: str, obj: Any, where: str, extra: tuple = ()) -> bool:
    """The headline fields metric ``name`` declares (``vpsbench.metrics``), all optional, each
    in its unit; nothing else but ``extra``. A wildcard field (``vc_*``) allows ``vc_<n>``."""
    fields = get_metric(name).fields
    if not isinstance(obj, dict):
        check.add(where, f"expected an object, got {type_name(obj)}")
        return False
    fixed = {f.key: f for f in fields if not f.key.endswith("*")}
    wild = [f for f in fields if f.key.endswith("*")]
    for key, value in obj.items():
        if key in extra:
            continue
        field = fixed.get(key)
        if field is None and wild and VC_KEY_PATTERN.match(key):
            field = wild[0]
        if field is None:
            allowed = sorted({*fixed, *extra, *(f"{f.key[:-1]}<n>" for f in wild)})
            check.add(where, f"unknown key {key!r}; allowed: {allowed}")
            continue
        check_value(check, field.unit, value, f"{where}.{key}")
    return True


def check_vpq(check: Checker, vpq: Any, where: str) -> None:
    """VPQ per window label k (the source's own labels, e.g. 0/5/10/15) and its mean."""
    if not check_fields(check, "vpq", vpq, where, extra=("k",)):
        return
    per_k = vpq.get("k", {})
    if not isinstance(per_k, dict):
        check.add(f"{where}.k", f"expected an object keyed by k label, got {type_name(per_k)}")
        return
    for label, scores in per_k.items():
        if not K_LABEL_PATTERN.match(label):
            check.add(f"{where}.k", f"k label {label!r} is not a non-negative integer")
        if check.keys(scores, f"{where}.k.{label}", (), GROUPS):
            for group in GROUPS:
                percent(check, scores.get(group), f"{where}.k.{label}.{group}")


def declared(name: str) -> Callable[[Checker, Any, str], None]:
    return lambda check, obj, where: check_fields(check, name, obj, where)


# Which scores an entry may hold: the headline fields every metric declares.
METRIC_CHECKS: dict[str, Callable[[Checker, Any, str], None]] = {
    name: check_vpq if name == "vpq" else declared(name) for name in METRICS
}


def scores_in(metrics: dict) -> list[float]:
    """Every number in a metrics object (to require at least one)."""
    found: list[float] = []
    for value in metrics.values():
        if isinstance(value, dict):
            found += scores_in(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            found.append(value)
    return found


def check_metrics(check: Checker, metrics: Any) -> None:
    if not check.keys(metrics, "metrics", (), tuple(METRIC_CHECKS)):
        return
    for name, validate in METRIC_CHECKS.items():
        if name in metrics:
            validate(check, metrics[name], f"metrics.{name}")
    if not scores_in(metrics):
        check.add("metrics", "no score at all; give at least one number")


def check_url(check: Checker, url: Any, where: str) -> None:
    """http(s) only: the URL becomes a link on the page (no javascript:, data: or file:)."""
    check.text(url, where, nullable=True, limit=500)
    if isinstance(url, str) and not re.match(r"^https?://[^\s\"'<>]+$", url):
        check.add(where, f"{url!r} is not an http(s) URL")


def check_published(check: Checker, source: dict) -> None:
    check.keys(source, "source", PUBLISHED_REQUIRED)
    check.text(source.get("citation"), "source.citation")
    check_url(check, source.get("url"), "source.url")
    check.text(source.get("table"), "source.table", nullable=True, limit=200)
    if source.get("status") not in SOURCE_STATUSES:
        check.add(
            "source.status",
            f"expected one of {list(SOURCE_STATUSES)}, got {source.get('status')!r}",
        )


def check_reproduced(check: Checker, source: dict) -> None:
    check.keys(source, "source", REPRODUCED_REQUIRED, REPRODUCED_OPTIONAL)
    for key in ("vpsbench_version", "command", "hardware"):
        check.text(source.get(key), f"source.{key}")
    check.text(source.get("commit"), "source.commit", nullable=True, limit=80)
    commit = source.get("commit")
    if isinstance(commit, str) and not COMMIT_PATTERN.match(commit):
        check.add("source.commit", f"{commit!r} is not a git commit (hex, optionally -dirty)")
    if "dirty" in source and not isinstance(source["dirty"], bool):
        check.add("source.dirty", f"expected true or false, got {type_name(source['dirty'])}")
    if isinstance(commit, str) and commit.endswith("-dirty") and source.get("dirty") is False:
        check.add("source.dirty", "false, but the commit says -dirty")
    check.text(source.get("prediction_command"), "source.prediction_command", nullable=True)
    seed = source.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        check.add("source.seed", f"expected an integer or null, got {type_name(seed)}")
    try:
        datetime.datetime.fromisoformat(str(source.get("date")))
    except ValueError:
        check.add("source.date", f"expected an ISO 8601 date, got {source.get('date')!r}")
    for key in ("gt", "submission"):
        if key in source and not isinstance(source[key], dict):
            check.add(f"source.{key}", f"expected an object, got {type_name(source[key])}")
    if "runs" in source:
        check_runs(check, source["runs"])


def check_runs(check: Checker, runs: Any) -> None:
    """Two or more runs, each with an integer seed, its submission and its own scores."""
    if not isinstance(runs, list) or len(runs) < 2:
        check.add("source.runs", "expected a list of at least two runs")
        return
    seeds = []
    for i, run in enumerate(runs):
        where = f"source.runs[{i}]"
        if not check.keys(run, where, RUN_REQUIRED):
            continue
        seed = run.get("seed")
        if isinstance(seed, bool) or not isinstance(seed, int):
            check.add(f"{where}.seed", f"expected an integer, got {type_name(seed)}")
        seeds.append(seed)
        if not isinstance(run.get("submission"), dict):
            check.add(f"{where}.submission", "expected an object")
        inner = Checker()
        check_metrics(inner, run.get("metrics"))
        check.problems += [f"{where}.{problem}" for problem in inner.problems]
    if len(set(map(str, seeds))) != len(seeds):
        check.add("source.runs", f"seeds {seeds} repeat")


def check_source(check: Checker, entry: dict) -> None:
    source = entry.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "published":
        check_published(check, source)
        # The flag means "read from the primary source"; a recalled or aggregated number is not.
        if entry.get("verified") is True and source.get("status") != "primary":
            check.add("verified", 'true needs source.status "primary" (read from the source)')
    elif kind == "reproduced":
        check_reproduced(check, source)
    else:
        check.add("source", 'expected an object with "type": "published" or "reproduced"')


def entry_problems(entry: Any) -> list[str]:
    """Every schema problem of an entry (empty when valid)."""
    check = Checker()
    if not check.keys(entry, "entry", TOP_REQUIRED, TOP_OPTIONAL):
        return check.problems
    if entry.get("schema") != SCHEMA_VERSION:
        check.add("schema", f"expected {SCHEMA_VERSION}, got {entry.get('schema')!r}")
    if not isinstance(entry.get("id"), str) or not ID_PATTERN.match(entry["id"]):
        check.add("id", f"{entry.get('id')!r} must match {ID_PATTERN.pattern}")
    check.text(entry.get("method"), "method", limit=200)
    check.text(entry.get("variant"), "variant", nullable=True, limit=200)
    for key in ("dataset", "split"):
        if not isinstance(entry.get(key), str) or not ID_PATTERN.match(entry[key]):
            check.add(key, f"{entry.get(key)!r} must be lower-case letters, digits, . _ -")
    if not isinstance(entry.get("verified"), bool):
        check.add("verified", f"expected true or false, got {type_name(entry.get('verified'))}")
    source = entry.get("source")
    check.mean_of_runs = isinstance(source, dict) and "runs" in source
    check_metrics(check, entry.get("metrics"))
    check.mean_of_runs = False
    check_source(check, entry)
    if "protocol" in entry and not isinstance(entry["protocol"], dict):
        check.add("protocol", f"expected an object, got {type_name(entry['protocol'])}")
    check.text(entry.get("notes"), "notes", nullable=True, limit=5000)
    return check.problems


def validate_entry(entry: Any, where: str = "entry") -> dict:
    """Return the entry if it is valid, else raise ``EntryError`` naming every problem."""
    problems = entry_problems(entry)
    if problems:
        listed = "; ".join(problems[:8])
        more = f" (and {len(problems) - 8} more)" if len(problems) > 8 else ""
        raise EntryError(f"{where}: invalid leaderboard entry: {listed}{more}")
    return entry


def slug(*parts: str | None) -> str:
    """A lower-case id from names: ``VPSNet-FuseTrack``, ``val`` -> ``vpsnet-fusetrack-val``."""
    text = "-".join(p for p in parts if p).replace("+", "p")  # DVIS++ -> dvispp, not dvis
    text = re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.")
    return text[:120].rstrip("-.") or "entry"
