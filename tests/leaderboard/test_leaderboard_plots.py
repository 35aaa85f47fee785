"""The leaderboard's figures: VPQ vs STQ one panel per dataset with readable (non-overlapping)
labels, VPQ vs k from 0 with the legend off the data."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import pytest
from matplotlib.text import Annotation

from vpsbench_leaderboard.plots import (
    figure_vpq_vs_k,
    figure_vpq_vs_stq,
    plot_vpq_vs_stq,
    scatter_panels,
)
from vpsbench_leaderboard.registry import DEFAULT_REGISTRY, load_entries
from vpsbench_leaderboard.tables import Row, Table, build_tables


def row(method: str, vpq=None, stq=None, verified=True, vpq_k=None, variant="") -> Row:
    return Row(
        entry_id=method.lower(),
        method=method,
        variant=variant,
        vpq_k=vpq_k or {},
        vpq=vpq,
        things=None,
        stuff=None,
        stq=stq,
        kind="published",
        source="",
        source_title="",
        url=None,
        verified=verified,
        badge="",
        notes=None,
    )


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def labels(ax) -> list[Annotation]:
    return [t for t in ax.texts if isinstance(t, Annotation)]


def all_text(fig) -> str:
    return " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))


def assert_readable(fig) -> None:
    """Every point label inside its axes and no two labels of a panel overlapping."""
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        frame = ax.get_window_extent(renderer)
        boxes = [note.get_window_extent(renderer) for note in labels(ax)]
        for box in boxes:
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1, box
            assert frame.y0 <= box.y0 and box.y1 <= frame.y1, box
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b), (a, b)


def test_one_panel_per_dataset_with_data_and_the_rest_named():
    tables = [
        Table("cityscapes_vps", "val", [row("A", 60, 55), row("B", 58, None)]),
        Table("cityscapes_vps", "test", [row("C", 57, 54, verified=False)]),
        Table("kitti_step", "val", [row("D", None, 70)]),  # STQ only: no panel
        Table("vipseg", "val", [row("E", 30, 33)]),
    ]
    fig = figure_vpq_vs_stq(tables)
    assert len(fig.axes) == 2
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["Cityscapes-VPS", "VIPSeg"]
    # one legend entry per split of the panel's dataset
    splits = [[t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes]
    assert splits == [["val", "test"], ["val"]]
    # every entry with both metrics is a point, labelled with its method
    assert [len(ax.collections) for ax in fig.axes] == [2, 1]
    assert sorted(n.get_text() for n in labels(fig.axes[0])) == ["A", "C"]
    assert "KITTI-STEP" in all_text(fig) and "Not shown" in all_text(fig)
    assert_readable(fig)


def test_shipped_leaderboard_scatter_is_readable():
    tables = build_tables(load_entries(DEFAULT_REGISTRY))
    panels, _ = scatter_panels(tables)
    with_both = {
        t.dataset for t in tables if any(r.vpq is not None and r.stq is not None for r in t.rows)
    }
    fig = figure_vpq_vs_stq(tables)
    assert len(fig.axes) == len(panels) == len(with_both)
    assert_readable(fig)


def test_crowded_panel_numbers_its_points_and_lists_them():
    crowd = [
        row(f"Method-{i}", 55 + (i % 4) * 0.3, 60 + (i // 4) * 0.3, variant="a long variant")
        for i in range(16)
    ]
    tables = [Table("cityscapes_vps", "val", crowd), Table("vipseg", "val", [row("E", 30, 33)])]
    fig = figure_vpq_vs_stq(tables)
    crowded, sparse = fig.axes
    numbers = sorted(int(n.get_text()) for n in labels(crowded))
    assert numbers == list(range(1, 17))
    key = [t.get_text() for t in crowded.texts if not isinstance(t, Annotation)]
    assert len(key) == 16 and all("Method-" in t for t in key)
    assert key[0].startswith("1  ")  # best VPQ first
    assert [n.get_text() for n in labels(sparse)] == ["E"]  # the other panel keeps its label
    assert_readable(fig)


def test_scatter_without_data_is_none(tmp_path):
    tables = [Table("kitti_step", "val", [row("D", None, 70)])]
    assert figure_vpq_vs_stq(tables) is None
    assert plot_vpq_vs_stq(tables, tmp_path / "x.png") is None
    assert not (tmp_path / "x.png").exists()


def test_vpq_vs_k_starts_at_zero_with_the_legend_under_the_axes():
    k = {"0": 60.0, "5": 55.0, "10": 52.0}
    table = Table("cityscapes_vps", "val", [row("A", vpq_k=k), row("B", vpq_k={"0": 50.0})])
    fig = figure_vpq_vs_k(table)
    fig.tight_layout()
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    bottom, top = ax.get_ylim()
    assert bottom == 0 and 60 < top <= 100
    assert len(ax.lines) == 1  # B has one k only
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.y1 <= ax.get_window_extent(renderer).y0
    assert not legend.overlaps(ax.xaxis.label.get_window_extent(renderer))
