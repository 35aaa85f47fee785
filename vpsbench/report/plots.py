"""matplotlib figures of an evaluation: VPQ vs k, per-class VPQ, STQ per video."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt

if TYPE_CHECKING:
    from vpsbench.report.result import EvalResult

GROUPS = ("all", "things", "stuff")


def plot_vpq_vs_k(summary: dict, path: Path) -> Path:
    """Line plot of VPQ All / Things / Stuff against the window label k."""
    vpq = summary["vpq"]
    ks = [int(k) for k in vpq["k"]]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for group in GROUPS:
        values = [vpq["k"][str(k)][group] for k in ks]
        ax.plot(ks, [float("nan") if v is None else v for v in values], marker="o", label=group)
    ax.set_xlabel("k (temporal window)")
    ax.set_ylabel("VPQ (%)")
    ax.set_xticks(ks)
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, path)


def plot_per_class_vpq(result: EvalResult, path: Path) -> Path:
    """Horizontal bars of each class's VPQ averaged over k."""
    table = result.per_class
    vpq = table[table["metric"] == "vpq"]
    mean = vpq.groupby(["category_id", "name"], sort=False)["pq"].mean().dropna()
    fig, ax = plt.subplots(figsize=(5, 0.3 * max(len(mean), 3) + 1))
    ax.barh([name for _, name in mean.index], mean.values, color="#4c72b0")
    ax.invert_yaxis()
    ax.set_xlabel("VPQ (%), mean over k")
    ax.set_xlim(0, 100)
    return save(fig, path)


def plot_stq_per_video(result: EvalResult, path: Path) -> Path:
    """Bars of STQ per video."""
    table = result.per_video
    fig, ax = plt.subplots(figsize=(max(4, 0.3 * len(table) + 1), 3.5))
    ax.bar(table["video_id"].astype(str), table["stq"].astype(float), color="#55a868")
    ax.set_ylabel("STQ (%)")
    ax.set_ylim(0, 100)
    ax.tick_params(axis="x", labelrotation=90)
    return save(fig, path)


def save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_plots(result: EvalResult, directory: Path) -> list[Path]:
    """Every plot the result has the data for, as PNG files in ``directory``."""
    written = []
    if "vpq" in result.summary:
        written.append(plot_vpq_vs_k(result.summary, directory / "vpq_vs_k.png"))
        written.append(plot_per_class_vpq(result, directory / "vpq_per_class.png"))
    if "stq" in result.per_video:
        written.append(plot_stq_per_video(result, directory / "stq_per_video.png"))
    return written
