"""matplotlib figures of an evaluation: VPQ vs k, per-class VPQ, STQ per video.

Each ``figure_*`` function returns the matplotlib ``Figure`` (for tests and notebooks); the
``plot_*`` functions save it as a PNG. Every figure is titled with what it shows and, below,
the prediction's name, the GT's dataset and split and the protocol (``subtitle``).
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt
from matplotlib.patches import Patch
from matplotlib.transforms import ScaledTranslation

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from vpsbench.report.result import EvalResult

GROUPS = ("all", "things", "stuff")
# One colour per group, shared by the VPQ-vs-k lines and the per-class bars.
GROUP_COLORS = {"all": "#4c72b0", "things": "#dd8452", "stuff": "#55a868"}
OTHER_COLOR = "#8c8c8c"  # a class the category table does not know
MISSING_TEXT = "n/a"  # a bar's placeholder where there is no score
MISSING_CLASS = "n/a: in neither GT nor prediction"
MISSING_LEGEND = "n/a: no score (class in neither GT nor prediction)"
VERTICAL_VIDEOS = 24  # more videos than this: horizontal STQ bars (width stays bounded)
MAX_WIDTH = 10.0  # inches
MAX_ROWS_HEIGHT = 150.0  # inches of STQ rows (18000 px); beyond, only every n-th video is named


def prediction_name(summary: dict) -> str:
    """The prediction's file or folder name as the result's inputs record it."""
    pred = (summary.get("inputs") or {}).get("pred")
    return (Path(str(pred)).name or str(pred)) if pred else "prediction"


def subtitle(summary: dict) -> str:
    """``pred.h5 on synth val · protocol cityscapes_vps_official``: what was scored, how."""
    inputs = summary.get("inputs") or {}
    protocol = (summary.get("protocol") or {}).get("name") or "unknown"
    data = " ".join(str(inputs[key]) for key in ("dataset", "split") if inputs.get(key))
    scored = prediction_name(summary) + (f" on {data}" if data else "")
    return f"{scored} · protocol {protocol}"


def set_titles(ax, title: str, summary: dict, width: float) -> None:
    """The plot's name and below it the prediction and protocol (wrapped to the figure's
    width), both above the axes and flush with their left edge."""
    lines = textwrap.wrap(subtitle(summary), max(int(width * 14), 40))  # 8 pt characters
    ax.set_title("\n".join(lines), fontsize=8, color="#444", loc="left")
    ax.annotate(
        title,
        xy=(0, 1),
        xycoords="axes fraction",
        xytext=(0, 8 + 10 * len(lines)),
        textcoords="offset points",
        fontsize=11,
        ha="left",
        va="bottom",
    )


def legend_below(fig: Figure, ax) -> dict:
    """Legend placement centred under the axes, below their tick labels and x label (measured,
    so rotated labels are cleared too): off the data. Call it once the axes are labelled."""
    renderer = fig.canvas.get_renderer()
    below = ax.get_window_extent(renderer).y0 - ax.get_tightbbox(renderer).y0
    shift = ScaledTranslation(0, -(below / fig.dpi + 0.05), fig.dpi_scale_trans)
    return {
        "loc": "upper center",
        "bbox_to_anchor": (0.5, 0),
        "bbox_transform": ax.transAxes + shift,
    }


def as_float(value) -> float:
    return float("nan") if value is None else float(value)


def figure_vpq_vs_k(summary: dict) -> Figure:
    """Lines of VPQ All / Things / Stuff against the window label k; y from 0 to 100, the
    legend to the right of the axes."""
    vpq = summary["vpq"]
    ks = sorted(int(k) for k in vpq["k"])
    width = 6.4
    fig, ax = plt.subplots(figsize=(width, 3.8))
    for group in GROUPS:
        values = [as_float(vpq["k"][str(k)].get(group)) for k in ks]
        scored = [v for v in values if not math.isnan(v)]
        name = group if scored else f"{group} (no score)"
        ax.plot(ks, values, marker="o", label=name, color=GROUP_COLORS[group])
    unscored = [k for k in ks if all(vpq["k"][str(k)].get(g) is None for g in GROUPS)]
    for k in unscored:  # shown as missing, not left blank
        ax.text(k, 3, MISSING_TEXT, ha="center", va="bottom", fontsize=8, style="italic",
                color=OTHER_COLOR)  # fmt: skip
    ax.set_xlabel("k (temporal window label)")
    ax.set_ylabel("VPQ (%)")
    ax.set_xticks(ks)
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0, frameon=False)
    set_titles(ax, "VPQ vs k", summary, width)
    span = max(ks[-1] - ks[0], 1)
    ax.set_xlim(ks[0] - 0.06 * span, ks[-1] + 0.06 * span)  # an n/a at the last k stays inside
    why = (vpq.get("empty") or {}).get("all")
    if unscored and why:
        note = f"{MISSING_TEXT} at k={', '.join(map(str, unscored))}: {why}"
        place = legend_below(fig, ax)
        ax.text(0, 0, "\n".join(textwrap.wrap(note, int(width * 14))), fontsize=8, color="#444",
                ha="left", va="top", transform=place["bbox_transform"])  # fmt: skip
    return fig


def class_scores(result: EvalResult) -> list[tuple[str, bool | None, float]]:
    """(name, isthing, VPQ mean over k; NaN without a score) of every class of the per-class
    table, in its order: a class that no k scores stays, with NaN."""
    table = result.per_class
    if table.empty or "metric" not in table:
        return []
    vpq = table[table["metric"] == "vpq"]
    out = []
    for (_, name), rows in vpq.groupby(["category_id", "name"], sort=False):
        isthing = rows["isthing"].iloc[0] if "isthing" in rows else None
        isthing = None if isthing is None or isthing != isthing else bool(isthing)
        out.append((str(name), isthing, float(rows["pq"].astype(float).mean())))
    return out


def figure_per_class_vpq(result: EvalResult) -> Figure:
    """Horizontal bars of each class's VPQ averaged over k, coloured things / stuff; a class
    without a score is a hatched ``n/a`` placeholder, not a 0 bar and not left out."""
    scores = class_scores(result)
    width = 6.4
    fig, ax = plt.subplots(figsize=(width, 0.26 * max(len(scores), 3) + 1.9))
    colors = {True: GROUP_COLORS["things"], False: GROUP_COLORS["stuff"], None: OTHER_COLOR}
    for y, (_, isthing, value) in enumerate(scores):
        if math.isnan(value):
            ax.barh(y, 100, color="none", edgecolor="#b0b0b0", hatch="///", linewidth=0)
            ax.text(1.5, y, MISSING_CLASS, va="center", ha="left", fontsize=7, style="italic")
        else:
            ax.barh(y, value, color=colors[isthing])
            ax.text(value + 1, y, f"{value:.1f}", va="center", ha="left", fontsize=7)
    ax.set_yticks(range(len(scores)), [name for name, _, _ in scores])
    ax.set_ylim(len(scores) - 0.5, -0.5)  # first class on top
    ax.set_xlim(0, 109)  # room for the value of a bar near 100
    ax.set_xticks(range(0, 101, 20))
    ax.set_xlabel("VPQ (%), mean over k")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    handles = [
        Patch(color=GROUP_COLORS["things"], label="thing"),
        Patch(color=GROUP_COLORS["stuff"], label="stuff"),
    ]
    if any(isthing is None for _, isthing, _ in scores):
        handles.append(Patch(color=OTHER_COLOR, label="not in the category table"))
    if any(math.isnan(value) for _, _, value in scores):
        handles.append(
            Patch(facecolor="none", edgecolor="#b0b0b0", hatch="///", label=MISSING_LEGEND)
        )
    ax.legend(
        handles=handles,
        **legend_below(fig, ax),
        ncol=len(handles) if len(handles) < 4 else 2,
        fontsize=7,
        frameon=False,
    )
    set_titles(ax, "VPQ per class", result.summary, width)
    return fig


def figure_stq_per_video(result: EvalResult) -> Figure:
    """Bars of STQ per video with the split's STQ as a dashed line. Up to ``VERTICAL_VIDEOS``
    videos as columns (figure at most ``MAX_WIDTH`` wide); more as rows, so the width stays
    bounded however many videos there are."""
    table = result.per_video
    ids = [str(v) for v in table["video_id"]]
    values = [as_float(v) for v in table["stq"]]
    split_stq = (result.summary.get("stq") or {}).get("stq")
    vertical = len(ids) <= VERTICAL_VIDEOS
    if vertical:
        width = min(MAX_WIDTH, max(5.0, 0.38 * len(ids) + 2.5))
        fig, ax = plt.subplots(figsize=(width, 4.0))
    else:
        width = 6.4
        fig, ax = plt.subplots(figsize=(width, min(0.17 * len(ids), MAX_ROWS_HEIGHT) + 1.8))
    bar, line, span = (
        (ax.bar, ax.axhline, ax.set_ylim) if vertical else (ax.barh, ax.axvline, ax.set_xlim)
    )
    positions = list(range(len(ids)))
    scored = [(p, v) for p, v in zip(positions, values, strict=True) if not math.isnan(v)]
    missing = [p for p, v in zip(positions, values, strict=True) if math.isnan(v)]
    if scored:
        bar([p for p, _ in scored], [v for _, v in scored], color=GROUP_COLORS["all"])
    for p in missing:
        bar(p, 100, color="none", edgecolor="#b0b0b0", hatch="///", linewidth=0)
        xy = (p, 1.5) if vertical else (1.5, p)
        ax.text(
            *xy,
            MISSING_TEXT,
            fontsize=7,
            style="italic",
            rotation=90 if vertical else 0,
            ha="center" if vertical else "left",
            va="bottom" if vertical else "center",
        )
    if split_stq is not None:
        line(
            split_stq,
            color="#333",
            linestyle="--",
            linewidth=1,
            label=f"STQ of the split: {split_stq:.1f}",
        )
    span(0, 100)
    if vertical:
        rotate = len(ids) > 8 or max((len(i) for i in ids), default=0) > 6
        ax.set_xticks(
            positions,
            ids,
            rotation=60 if rotate else 0,
            ha="right" if rotate else "center",
            fontsize=8,
        )
        ax.set_xlabel("video")
        ax.set_ylabel("STQ (%)")
        ax.grid(axis="y", alpha=0.3)
    else:
        step = math.ceil(0.17 * len(ids) / MAX_ROWS_HEIGHT)  # every video while labels fit
        ax.set_yticks(positions[::step], ids[::step], fontsize=7)
        ax.set_ylim(len(ids) - 0.5, -0.5)
        ax.set_ylabel("video")
        ax.set_xlabel("STQ (%)")
        ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    if split_stq is not None:
        ax.legend(**legend_below(fig, ax), fontsize=7, frameon=False)
    set_titles(ax, f"STQ per video ({len(ids)} videos)", result.summary, width)
    return fig


def save(fig: Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_vpq_vs_k(summary: dict, path: Path) -> Path:
    return save(figure_vpq_vs_k(summary), path)


def plot_per_class_vpq(result: EvalResult, path: Path) -> Path:
    return save(figure_per_class_vpq(result), path)


def plot_stq_per_video(result: EvalResult, path: Path) -> Path:
    return save(figure_stq_per_video(result), path)


def write_plots(result: EvalResult, directory: Path) -> list[Path]:
    """Every plot the result has the data for, as PNG files in ``directory``."""
    written = []
    if "vpq" in result.summary:
        written.append(plot_vpq_vs_k(result.summary, directory / "vpq_vs_k.png"))
        written.append(plot_per_class_vpq(result, directory / "vpq_per_class.png"))
    if "stq" in result.per_video:
        written.append(plot_stq_per_video(result, directory / "stq_per_video.png"))
    return written
