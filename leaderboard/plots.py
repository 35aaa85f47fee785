"""matplotlib figures of the leaderboard: VPQ vs k per method, VPQ vs STQ across methods.

``figure_*`` return the matplotlib ``Figure`` (or None without data), ``plot_*`` save it.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox, ScaledTranslation

from vpsbench_leaderboard.tables import DATASET_TITLES, Row, Table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH = 6.4  # inches; the page shows the PNGs at most 620 px wide
LABEL_SIZE = 7  # points, the scatter's point labels
MARKER_SIZE = 36  # points^2, the scatter's markers


def label(row: Row) -> str:
    return f"{row.method} / {row.variant}" if row.variant else row.method


def dataset_title(dataset: str) -> str:
    return DATASET_TITLES.get(dataset, dataset)


def table_label(table: Table) -> str:
    """A table's name inside its dataset's panel: the split (custom ones say so)."""
    return table.split if table.official else f"{table.split} (custom, not verified)"


def nice_top(values: list[float]) -> float:
    """A y-axis top a little above the largest value: the next multiple of 10, at most 100."""
    return min(100.0, 10.0 * math.ceil((max(values) + 5) / 10))


def below_axes(fig: Figure, ax) -> ScaledTranslation:
    """The offset from the axes' bottom edge to just under their tick labels and x label
    (measured, in inches), for a legend or note that must not cover the data."""
    renderer = fig.canvas.get_renderer()
    below = ax.get_window_extent(renderer).y0 - ax.get_tightbbox(renderer).y0
    return ScaledTranslation(0, -(below / fig.dpi + 0.05), fig.dpi_scale_trans)


def figure_vpq_vs_k(table: Table) -> Figure | None:
    """VPQ (All) against k, one line per entry with at least two k values; dashed = unverified.
    y from 0, the legend under the axes."""
    rows = [r for r in table.rows if sum(v is not None for v in r.vpq_k.values()) >= 2]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(WIDTH, 3.3 + 0.17 * math.ceil(len(rows) / 2)))
    values = []
    for row in rows:
        points = sorted((int(k), v) for k, v in row.vpq_k.items() if v is not None)
        values += [v for _, v in points]
        ax.plot(
            [k for k, _ in points],
            [v for _, v in points],
            marker="o",
            linestyle="-" if row.verified else "--",
            label=label(row) + ("" if row.verified else " [unverified]"),
        )
    ax.set_xticks(sorted({int(k) for r in rows for k in r.vpq_k}))
    ax.set_ylim(0, nice_top(values))
    ax.set_xlabel("k (temporal window label of the source)")
    ax.set_ylabel("VPQ All (%)")
    ax.set_title(f"VPQ vs k: {table.title}", loc="left", fontsize=11)
    ax.grid(alpha=0.3)
    ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, 0),
        bbox_transform=ax.transAxes + below_axes(fig, ax),
        ncol=2 if len(rows) > 1 else 1,
        fontsize=7,
        frameon=False,
    )
    return fig


def scatter_panels(
    tables: list[Table],
) -> tuple[list[tuple[str, list[tuple[Table, list[Row]]]]], list[str]]:
    """The datasets with at least one entry that reports both VPQ and STQ, each with its tables
    and those rows (in table order), and the datasets left out for lack of such an entry."""
    panels: dict[str, list[tuple[Table, list[Row]]]] = {}
    datasets: list[str] = []
    for table in tables:
        if table.dataset not in datasets:
            datasets.append(table.dataset)
        rows = [r for r in table.rows if r.vpq is not None and r.stq is not None]
        if rows:
            panels.setdefault(table.dataset, []).append((table, rows))
    shown = [(d, panels[d]) for d in datasets if d in panels]
    return shown, [d for d in datasets if d not in panels]


def figure_vpq_vs_stq(tables: list[Table]) -> Figure | None:
    """Mean VPQ against STQ, one panel per dataset (one colour per split; hollow markers =
    unverified). Each point is labelled with its method where labels fit without overlapping;
    a panel too crowded for that numbers its points (best VPQ first) and lists the numbers
    under its axes. Datasets without an entry that reports both metrics are named at the top.
    """
    panels, left_out = scatter_panels(tables)
    if not panels:
        return None
    fig, grid = plt.subplots(len(panels), 1, figsize=(WIDTH, 3.4 * len(panels)), squeeze=False)
    axes = [row[0] for row in grid]
    heading = ["VPQ vs STQ (hollow markers: unverified)"]
    if left_out:
        names = ", ".join(dataset_title(d) for d in left_out)
        heading += textwrap.wrap(f"Not shown (no entry reports both VPQ and STQ): {names}", 100)
    for i, line in enumerate(heading):  # anchored in inches from the top: the height changes
        down = 0.08 if i == 0 else 0.2 + 0.13 * i
        fig.text(
            0.5,
            1,
            line,
            ha="center",
            va="top",
            fontsize=11 if i == 0 else 7,
            color="black" if i == 0 else "#444",
            transform=fig.transFigure + ScaledTranslation(0, -down, fig.dpi_scale_trans),
        )
    top = 0.3 + 0.13 * (len(heading) - 1)  # inches above the panels for the heading
    points: dict = {}
    for ax, (dataset, series) in zip(axes, panels, strict=True):
        points[ax] = draw_panel(ax, dataset, series)
    numbered: set = set()
    while True:  # label directly where possible; a panel whose labels collide gets numbers
        keys = sum(key_height(len(points[ax])) for ax in numbered)
        fig.set_size_inches(WIDTH, 3.4 * len(panels) + top + keys)
        fig.tight_layout(rect=(0, 0, 1, 1 - top / fig.get_figheight()))
        notes = {ax: place_labels(fig, ax, points[ax]) for ax in axes if ax not in numbered}
        crowded = [ax for ax, (_, fitted) in notes.items() if not fitted]
        if not crowded:
            break
        for made, _ in notes.values():  # the layout changes: every panel is labelled again
            for note in made:
                note.remove()
        for ax in crowded:
            numbered.add(ax)
            add_key(fig, ax, points[ax])
    for ax in numbered:
        place_labels(fig, ax, [(x, y, str(i), c) for i, (x, y, _, c) in enumerate(points[ax], 1)])
    return fig


def draw_panel(ax, dataset: str, series: list[tuple[Table, list[Row]]]) -> list[tuple]:
    """One dataset's scatter, limits, titles and split legend; its points as (STQ, VPQ, label,
    colour), best VPQ first."""
    points = []
    for color, (_, rows) in zip(colors(len(series)), series, strict=True):
        for row in rows:
            ax.scatter(
                row.stq,
                row.vpq,
                s=MARKER_SIZE,
                edgecolors=color,
                facecolors=color if row.verified else "none",
                linewidths=1.2,
                zorder=3,
            )
            points.append((row.stq, row.vpq, label(row), color))
    points.sort(key=lambda p: (-p[1], -p[0]))
    pad_limits(ax, [p[0] for p in points], [p[1] for p in points])
    ax.set_title(dataset_title(dataset), loc="left", fontsize=10)
    ax.set_xlabel("STQ (%)")
    ax.set_ylabel("VPQ (%)")
    ax.grid(alpha=0.3)
    handles = [
        Line2D([], [], marker="o", linestyle="none", color=color, label=table_label(table))
        for color, (table, _) in zip(colors(len(series)), series, strict=True)
    ]
    ax.legend(
        handles=handles,
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncol=len(handles),
        fontsize=7,
        frameon=False,
        borderaxespad=0.2,
    )
    return points


KEY_LINE = (LABEL_SIZE + 2.5) / 72  # inches per line of a panel's key


def key_rows(count: int) -> int:
    return count if count <= 6 else math.ceil(count / 2)


def key_height(count: int) -> float:
    """Inches a key of ``count`` points adds under its panel."""
    return key_rows(count) * KEY_LINE + 0.1


def add_key(fig: Figure, ax, points: list[tuple]) -> None:
    """The numbered list of a crowded panel's points under its x label, two columns when long,
    each number in its split's colour."""
    below = below_axes(fig, ax)
    per_column = key_rows(len(points))
    step = KEY_LINE
    for i, (_, _, text, color) in enumerate(points):
        column, line = divmod(i, per_column)
        shift = ScaledTranslation(0, -line * step, fig.dpi_scale_trans)
        ax.text(
            0.5 * column,
            0,
            f"{i + 1}  {text}",
            transform=ax.transAxes + below + shift,
            va="top",
            fontsize=LABEL_SIZE,
            color=color,
        )


def pad_limits(ax, xs: list[float], ys: list[float]) -> None:
    """Axis limits around the points with room for their labels (more to the right, where
    labels go first)."""
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    dx, dy = max(x1 - x0, 4.0), max(y1 - y0, 4.0)
    ax.set_xlim(x0 - 0.12 * dx, x1 + 0.35 * dx)
    ax.set_ylim(y0 - 0.15 * dy, y1 + 0.2 * dy)


def candidates():
    """Where a label may go, nearest first: (dx, dy) in points from its point and the text's
    alignment. Beyond the first ring a thin leader line joins label and point."""
    for radius in (5, 12, 20, 30, 42):
        yield from (
            (radius, 0.5 * radius, "left", "bottom"),
            (radius, -0.5 * radius, "left", "top"),
            (-radius, 0.5 * radius, "right", "bottom"),
            (-radius, -0.5 * radius, "right", "top"),
            (0, radius, "center", "bottom"),
            (0, -radius, "center", "top"),
            (radius, 0, "left", "center"),
            (-radius, 0, "right", "center"),
        )


def place_labels(fig: Figure, ax, points: list[tuple]) -> tuple[list, bool]:
    """Label each (x, y, text, colour) at the first position (nearest first) whose text stays
    inside the axes and overlaps no marker and no label placed before; where none is free, at
    the nearest one inside the axes. A simple stand-in for adjustText: the labels take no part
    in the layout, so call it once the figure is laid out. Returns the labels and whether every
    one found a free place."""
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    radius = math.sqrt(MARKER_SIZE) / 2 * fig.dpi / 72 + 1  # a marker, in display pixels
    taken = []
    for x, y, *_ in points:
        px, py = ax.transData.transform((x, y))
        taken.append(Bbox.from_extents(px - radius, py - radius, px + radius, py + radius))
    made, fitted = [], True
    for x, y, text, _ in points:
        fallback = None
        for place in candidates():
            note = annotate(ax, x, y, text, place)
            box = note.get_window_extent(renderer).padded(1.5)
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0
            inside = inside and box.y1 <= frame.y1
            if inside and not any(box.overlaps(other) for other in taken):
                taken.append(box)
                made.append(note)
                break
            note.remove()
            if inside and fallback is None:
                fallback = place, box
        else:
            fitted = False
            place, box = fallback or (next(candidates()), None)
            made.append(annotate(ax, x, y, text, place))
            if box is not None:
                taken.append(box)
    return made, fitted


def annotate(ax, x: float, y: float, text: str, place: tuple):
    dx, dy, ha, va = place
    note = ax.annotate(
        text,
        (x, y),
        xytext=(dx, dy),
        textcoords="offset points",
        ha=ha,
        va=va,
        fontsize=LABEL_SIZE,
        arrowprops=None if max(abs(dx), abs(dy)) <= 5 else LEADER,
    )
    note.set_in_layout(False)
    return note


LEADER = {"arrowstyle": "-", "color": "#999", "linewidth": 0.6, "shrinkA": 0, "shrinkB": 3}


def colors(n: int) -> list[str]:
    """n colours of the default cycle, repeated when there are more series than colours."""
    cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    return [cycle[i % len(cycle)] for i in range(n)]


def save(fig: Figure | None, path: Path, layout: bool = True) -> Path | None:
    if fig is None:
        return None
    if layout:
        fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_vpq_vs_k(table: Table, path: Path) -> Path | None:
    return save(figure_vpq_vs_k(table), path)


def plot_vpq_vs_stq(tables: list[Table], path: Path) -> Path | None:
    # laid out already: the labels were placed for these axes positions
    return save(figure_vpq_vs_stq(tables), path, layout=False)
