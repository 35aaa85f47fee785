"""The leaderboard tables, one per dataset split, shared by the terminal, Markdown and HTML."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from vpsbench_leaderboard.splits import Split, entry_gt_status, is_dirty, official_splits

DATASET_TITLES = {
    "cityscapes_vps": "Cityscapes-VPS",
    "viper": "VIPER",
    "vipseg": "VIPSeg",
    "kitti_step": "KITTI-STEP",
    "cityscapes_dvps": "Cityscapes-DVPS",
    "semkitti_dvps": "SemKITTI-DVPS",
    "synth": "vpsbench synthetic",
}
# Caveats that hold for every number of a dataset (shown once under its tables).
DATASET_CAVEATS = {
    "cityscapes_vps": "Results computed before the Sept-2020 fixes of the Cityscapes-VPS ground "
    "truth and evaluator are not comparable with the fixed evaluator, which vpsbench reproduces.",
    "vipseg": "VIPSeg numbers from different papers are not always comparable: the k sets "
    "({1,2,4,6,8} officially, {1,2,4,6} in some scripts), the short-video rule and evaluator "
    "bugs differ, and STQ computed before 2022-10-28 is invalid.",
}
SPLIT_ORDER = ("val", "test")
STATUS_LABELS = {
    "primary": "verified",
    "secondary": "unverified (secondary source)",
    "unverified": "unverified (recalled)",
}
# The badge of a reproduced row by the GT it was scored on (splits.entry_gt_status).
GT_LABELS = {
    "verified": "reproduced",
    "not verified": "reproduced, GT not verified",
    "mismatch": "reproduced, GT not official",
    "custom": "reproduced, custom GT",
}
DIGEST_UNKNOWN_NOTE = (
    "The official GT digest of this split is not recorded yet, so results scored here show "
    '"GT not verified": nothing proves they were scored on the official GT.'
)
CUSTOM_NOTE = (
    "Not an official split: scored on a GT of the submitter's choice (named with --split). "
    "Never verified, not comparable with the official tables."
)


@dataclass(frozen=True)
class Row:
    """One entry as the tables show it."""

    entry_id: str
    method: str
    variant: str
    vpq_k: dict[str, float | None]
    vpq: float | None
    things: float | None
    stuff: float | None
    stq: float | None
    kind: str  # "published" or "reproduced"
    source: str  # short text of the source cell
    source_title: str  # the full citation or command
    url: str | None
    verified: bool
    badge: str  # "verified", "unverified (...)", "reproduced[, GT not verified]", ...
    notes: str | None
    dirty: bool = False  # reproduced from a checkout with uncommitted changes
    mine: bool = False  # from the user's registry, not the shipped one


@dataclass
class Table:
    """The rows of one dataset split and the k labels any of them reports."""

    dataset: str
    split: str
    rows: list[Row] = field(default_factory=list)
    official: bool = True  # an official split (vpsbench_leaderboard.splits); else a custom table
    digest_known: bool = True  # the official GT's digest is recorded

    @property
    def table_id(self) -> str:
        return f"lb-{self.dataset}-{self.split}"

    @property
    def title(self) -> str:
        custom = "" if self.official else " (custom, not verified)"
        return f"{DATASET_TITLES.get(self.dataset, self.dataset)} · {self.split}{custom}"

    @property
    def k_labels(self) -> list[str]:
        return sorted({k for row in self.rows for k in row.vpq_k}, key=int)

    @property
    def count_text(self) -> str:
        return "1 entry" if len(self.rows) == 1 else f"{len(self.rows)} entries"

    @property
    def caveat(self) -> str | None:
        return DATASET_CAVEATS.get(self.dataset)

    @property
    def gt_note(self) -> str | None:
        """Why the rows of this table cannot be verified against an official GT, if so."""
        if not self.official:
            return CUSTOM_NOTE
        has_reproduced = any(row.kind == "reproduced" for row in self.rows)
        return DIGEST_UNKNOWN_NOTE if not self.digest_known and has_reproduced else None

    def numbered_notes(self) -> tuple[list[int | None], list[str]]:
        """Each row's footnote number (None without notes) and the distinct notes, in order."""
        notes: list[str] = []
        numbers: list[int | None] = []
        for row in self.rows:
            if row.notes and row.notes not in notes:
                notes.append(row.notes)
            numbers.append(notes.index(row.notes) + 1 if row.notes else None)
        return numbers, notes


def score(metrics: dict, *path: str) -> float | None:
    """A nested metric value, or None where the entry does not give it."""
    value = metrics
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def source_cell(entry: dict) -> tuple[str, str, str | None]:
    """(short text, full text, link) of an entry's source."""
    source = entry["source"]
    if source["type"] == "reproduced":
        commit = (source.get("commit") or "")[:7]
        short = f"vpsbench {source['vpsbench_version']}" + (f" @{commit}" if commit else "")
        full = source["command"]
        if is_dirty(source):
            # The commit alone does not give the code that scored it.
            short += " (dirty tree)"
            full += " (scored from a checkout with uncommitted changes)"
        return short, full, None
    citation = source["citation"]
    short = citation if len(citation) <= 60 else citation[:57].rstrip() + "…"
    where = f" ({source['table']})" if source.get("table") else ""
    return short, citation + where, source.get("url")


def runs_note(entry: dict) -> str | None:
    """ "mean of 2 runs (seed 0: VPQ 50.7, seed 1: VPQ 53.1)" for a multi-run entry."""
    runs = entry["source"].get("runs")
    if not runs:
        return None
    parts = []
    for run in runs:
        vpq = run["metrics"].get("vpq", {}).get("all")
        score = f": VPQ {vpq:.1f}" if vpq is not None else ""
        parts.append(f"seed {run['seed']}{score}")
    return f"mean of {len(runs)} runs ({', '.join(parts)})"


def join_notes(*notes: str | None) -> str | None:
    kept = [n for n in notes if n]
    return "; ".join(kept) if kept else None


def make_row(entry: dict, splits: dict[tuple[str, str], Split], mine: bool = False) -> Row:
    """One entry as a row; its badge and ``verified`` come from the official GT digests."""
    metrics = entry["metrics"]
    kind = entry["source"]["type"]
    short, full, url = source_cell(entry)
    gt = entry_gt_status(entry, splits)
    if kind == "reproduced":
        badge, verified = GT_LABELS[gt], gt == "verified"
    else:
        badge = STATUS_LABELS[entry["source"]["status"]]
        verified = bool(entry["verified"]) and gt != "custom"  # custom tables: never verified
    return Row(
        entry_id=entry["id"],
        method=entry["method"],
        variant=entry.get("variant") or "",
        vpq_k={k: score(v, "all") for k, v in metrics.get("vpq", {}).get("k", {}).items()},
        vpq=score(metrics, "vpq", "all"),
        things=score(metrics, "vpq", "things"),
        stuff=score(metrics, "vpq", "stuff"),
        stq=score(metrics, "stq", "stq"),
        kind=kind,
        source=short,
        source_title=full,
        url=url,
        verified=verified,
        badge=badge,
        notes=join_notes(runs_note(entry), entry.get("notes")),
        dirty=kind == "reproduced" and is_dirty(entry["source"]),
        mine=mine,
    )


def rank_key(row: Row) -> tuple:
    """Best VPQ first; rows without VPQ after, by STQ; empty scores last."""
    return (row.vpq is None, -(row.vpq or 0.0), row.stq is None, -(row.stq or 0.0), row.method)


def dataset_key(dataset: str) -> tuple:
    order = list(DATASET_TITLES)
    return (order.index(dataset) if dataset in order else len(order), dataset)


def split_key(split: str) -> tuple:
    return (SPLIT_ORDER.index(split) if split in SPLIT_ORDER else len(SPLIT_ORDER), split)


def build_tables(
    entries: Iterable[dict],
    user_ids: Iterable[str] = (),
    splits: dict[tuple[str, str], Split] | None = None,
) -> list[Table]:
    """Entries grouped by dataset and split, each table ranked by VPQ; official tables first,
    custom ones after them. ``user_ids`` are the entries from the user's registry."""
    splits = official_splits() if splits is None else splits
    mine = set(user_ids)
    tables: dict[tuple[str, str], Table] = {}
    for entry in entries:
        key = (entry["dataset"], entry["split"])
        if key not in tables:
            split = splits.get(key)
            tables[key] = Table(
                *key, official=split is not None, digest_known=bool(split and split.digest_known)
            )
        tables[key].rows.append(make_row(entry, splits, entry["id"] in mine))
    ordered = sorted(
        tables.values(),
        key=lambda t: (not t.official, dataset_key(t.dataset), split_key(t.split)),
    )
    for table in ordered:
        table.rows.sort(key=rank_key)
    return ordered


def fmt(value: float | None) -> str:
    """A score with the decimals it needs: one when that is exact (57.5), else two (60.61, and
    reproduced scores); empty when the entry does not give it."""
    if value is None:
        return ""
    return f"{value:.1f}" if abs(value * 10 - round(value * 10)) < 1e-6 else f"{value:.2f}"


def score_columns(table: Table) -> list[tuple[str, str]]:
    """(key, header) of the numeric columns of a table."""
    columns = [(f"k{k}", f"k={k}") for k in table.k_labels]
    return [*columns, ("vpq", "VPQ"), ("things", "Things"), ("stuff", "Stuff"), ("stq", "STQ")]


def row_scores(row: Row, table: Table) -> list[float | None]:
    """The numeric cells of a row, in ``score_columns`` order."""
    return [row.vpq_k.get(k) for k in table.k_labels] + [row.vpq, row.things, row.stuff, row.stq]


def formatted_scores(table: Table) -> list[list[str]]:
    """Each row's score cells, each with the decimals it needs: padding 57.6 to 57.60 next to a
    24.99 would claim a precision the source did not give."""
    return [[fmt(v) for v in row_scores(row, table)] for row in table.rows]


def status_text(row: Row) -> str:
    """The status cell: the badge, and where the row comes from when that is the user."""
    return row.badge + (" · your registry" if row.mine else "")


def render_console(tables: list[Table]) -> str:
    """Plain-text tables for ``vpsbench leaderboard list``."""
    blocks = []
    for table in tables:
        header = ["method", *(h for _, h in score_columns(table)), "status"]
        lines = [header]
        for row, scores in zip(table.rows, formatted_scores(table), strict=True):
            name = f"{row.method} / {row.variant}" if row.variant else row.method
            dirty = " · dirty tree" if row.dirty else ""  # no source column here
            lines.append([name, *scores, status_text(row) + dirty])
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        text = [
            "  ".join(
                cell.ljust(w) if i in (0, len(line) - 1) else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
            for line in lines
        ]
        note = f"\n{table.gt_note}" if table.gt_note else ""
        blocks.append(f"{table.title}  ({table.count_text}){note}\n" + "\n".join(text))
    return "\n\n".join(blocks) if blocks else "no entries"
