"""matplotlib figures of the leaderboard: VPQ vs k per method, VPQ vs STQ across methods."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt

from vpsbench_leaderboard.tables import DATASET_TITLES, Row, Table


def label(row: Row) -> str:
    return f"{row.method} / {row.variant}" if row.variant else row.method


def plot_vpq_vs_k(table: Table, path: Path) -> Path | None:
    """VPQ (All) against k, one line per entry with at least two k values; dashed = unverified."""
    rows = [r for r in table.rows if sum(v is not None for v in r.vpq_k.values()) >= 2]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for row in rows:
        points = sorted((int(k), v) for k, v in row.vpq_k.items() if v is not None)
        ax.plot(
            [k for k, _ in points],
            [v for _, v in points],
            marker="o",
            linestyle="-" if row.verified else "--",
            label=label(row) + ("" if row.verified else " [unverified]"),
        )
    ax.set_xticks(sorted({int(k) for r in rows for k in r.vpq_k}))
    ax.set_xlabel("k (temporal window label of the source)")
    ax.set_ylabel("VPQ All (%)")
    ax.set_title(f"VPQ vs k: {table.title}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return save(fig, path)


def plot_vpq_vs_stq(tables: list[Table], path: Path) -> Path | None:
    """Mean VPQ against STQ for every entry that reports both; hollow markers = unverified."""
    series = [(t, [r for r in t.rows if r.vpq is not None and r.stq is not None]) for t in tables]
    series = [(t, rows) for t, rows in series if rows]
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for color, (table, rows) in zip(colors(len(series)), series, strict=True):
        for row in rows:
            ax.scatter(
                row.stq,
                row.vpq,
                s=40,
                edgecolors=color,
                facecolors=color if row.verified else "none",
            )
            ax.annotate(
                label(row),
                (row.stq, row.vpq),
                fontsize=6,
                xytext=(4, 3),
                textcoords="offset points",
            )
        ax.scatter(
            [],
            [],
            color=color,
            label=DATASET_TITLES.get(table.dataset, table.dataset) + f" {table.split}",
        )
    ax.set_xlabel("STQ (%)")
    ax.set_ylabel("VPQ (%)")
    ax.set_title("VPQ vs STQ (hollow: unverified)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return save(fig, path)


def colors(n: int) -> list[str]:
    """n colours of the default cycle, repeated when there are more series than colours."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return [cycle[i % len(cycle)] for i in range(n)]


def save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
