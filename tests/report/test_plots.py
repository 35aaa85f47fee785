"""The report's figures: titles name the prediction and protocol, VPQ-vs-k from 0 with the
legend off the data, per-class bars by thing/stuff with missing classes marked, STQ per video
with labelled axes and a bounded width."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from conftest import write_toy
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from vpsbench.evaluation import evaluate
from vpsbench.report import EvalResult, write_report
from vpsbench.report.plots import (
    GROUP_COLORS,
    MAX_WIDTH,
    VERTICAL_VIDEOS,
    figure_per_class_vpq,
    figure_stq_per_video,
    figure_vpq_vs_k,
    write_plots,
)

PRED = "/some/where/preds/my_method_v2.h5"
PROTOCOL = "cityscapes_vps_official"
# (id, name, isthing, VPQ per k); None: the class has no score (in neither GT nor prediction)
CLASSES = [
    (0, "road", False, [90.0, 88.0]),
    (10, "sky", False, [95.0, 93.0]),
    (11, "person", True, [40.0, 30.0]),
    (13, "car", True, [0.0, 0.0]),  # a real 0: a bar of length 0, not "n/a"
    (15, "bus", True, [None, None]),
]


def summary(videos: int = 3) -> dict:
    return {
        "vpq": {
            "k": {
                "0": {"all": 70.0, "things": 50.0, "stuff": 85.0},
                "5": {"all": 65.0, "things": 45.0, "stuff": 80.0},
            }
        },
        "stq": {"stq": 61.5},
        "protocol": {"name": PROTOCOL},
        "inputs": {"gt": "/data/gt.h5", "pred": PRED, "dataset": "synth", "split": "val"},
    }


def result(videos: int = 3, stq=None) -> EvalResult:
    rows = []
    for cid, name, isthing, scores in CLASSES:
        for k, pq in zip((0, 5), scores, strict=True):
            pq = float("nan") if pq is None else pq
            rows.append(
                {
                    "metric": "vpq",
                    "name": name,
                    "isthing": isthing,
                    "k": k,
                    "category_id": cid,
                    "pq": pq,
                }
            )
        rows.append({"metric": "stq", "name": name, "isthing": isthing, "category_id": cid})
    values = stq if stq is not None else [50.0 + i % 40 for i in range(videos)]
    per_video = pd.DataFrame(
        {"video_id": [f"{i + 1:04d}" for i in range(len(values))], "stq": values}
    )
    return EvalResult(summary=summary(), per_class=pd.DataFrame(rows), per_video=per_video)


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(
    "make",
    [
        lambda r: figure_vpq_vs_k(r.summary),
        figure_per_class_vpq,
        figure_stq_per_video,
    ],
    ids=["vpq_vs_k", "per_class", "stq_per_video"],
)
def test_every_figure_is_titled_with_prediction_name_and_protocol(make):
    words = " ".join(texts(make(result())))
    assert "my_method_v2.h5" in words
    assert PROTOCOL in words
    assert "/some/where" not in words  # the name, not the whole path


def test_vpq_vs_k_starts_at_zero_with_the_legend_off_the_data():
    fig = figure_vpq_vs_k(summary())
    fig.tight_layout()
    renderer = drawn(fig)
    ax = fig.axes[0]
    assert ax.get_ylim() == (0, 100)
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["all", "things", "stuff"]
    assert not legend.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer))
    assert ax.get_xlabel() and ax.get_ylabel() == "VPQ (%)"


def test_vpq_vs_k_names_a_group_without_score():
    data = summary()
    for scores in data["vpq"]["k"].values():
        scores["things"] = None
    legend = figure_vpq_vs_k(data).axes[0].get_legend()
    assert "things (no score)" in [t.get_text() for t in legend.get_texts()]


def bars(ax) -> list[Rectangle]:
    return [p for p in ax.patches if isinstance(p, Rectangle)]


def test_per_class_has_one_bar_per_class_and_marks_the_missing_one():
    fig = figure_per_class_vpq(result())
    ax = fig.axes[0]
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == [name for _, name, _, _ in CLASSES]  # none dropped, table order
    patches = bars(ax)
    assert len(patches) == len(CLASSES)
    by_name = dict(zip(names, patches, strict=True))
    # the missing class: a hatched, unfilled placeholder labelled n/a, not a 0 bar
    bus = by_name["bus"]
    assert bus.get_hatch() and bus.get_facecolor()[3] == 0
    assert any(t.get_text().startswith("n/a") for t in ax.texts)
    # a real 0 stays a (zero-length) filled bar
    assert by_name["car"].get_width() == 0 and by_name["car"].get_facecolor()[3] == 1
    assert by_name["person"].get_width() == pytest.approx(35.0)  # mean over k
    # thing / stuff colours, and a legend that says so
    thing = by_name["person"].get_facecolor()
    stuff = by_name["road"].get_facecolor()
    assert thing != stuff and by_name["car"].get_facecolor() == thing
    assert matches(thing, GROUP_COLORS["things"]) and matches(stuff, GROUP_COLORS["stuff"])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["thing", "stuff"] and any("n/a" in t for t in labels)


def matches(rgba, hex_color: str) -> bool:
    from matplotlib.colors import to_rgba

    return all(math.isclose(a, b) for a, b in zip(rgba, to_rgba(hex_color), strict=True))


def test_per_class_without_missing_class_has_no_na_legend():
    data = result()
    table = data.per_class
    data.per_class = table[table["name"] != "bus"]
    ax = figure_per_class_vpq(data).axes[0]
    assert len(bars(ax)) == len(CLASSES) - 1
    assert not any("n/a" in t.get_text() for t in ax.get_legend().get_texts())


def test_stq_per_video_few_videos_are_labelled_columns():
    fig = figure_stq_per_video(result(videos=4, stq=[70.0, float("nan"), 55.0, 60.0]))
    ax = fig.axes[0]
    assert ax.get_xlabel() == "video" and ax.get_ylabel() == "STQ (%)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0001", "0002", "0003", "0004"]
    assert ax.get_ylim() == (0, 100)
    assert fig.get_figwidth() <= MAX_WIDTH
    # the unscored video is marked, not a 0 bar; the split's STQ is the legend's line
    assert any(t.get_text() == "n/a" for t in ax.texts)
    assert "STQ of the split: 61.5" in [t.get_text() for t in ax.get_legend().get_texts()]


@pytest.mark.parametrize("videos", [VERTICAL_VIDEOS, VERTICAL_VIDEOS + 1, 400])
def test_stq_per_video_width_is_bounded(videos):
    fig = figure_stq_per_video(result(videos=videos))
    ax = fig.axes[0]
    assert fig.get_figwidth() <= MAX_WIDTH
    assert len(bars(ax)) == videos
    if videos > VERTICAL_VIDEOS:  # rows: one named row per video, STQ along x
        assert ax.get_xlabel() == "STQ (%)" and ax.get_ylabel() == "video"
        assert len(ax.get_yticklabels()) == videos
    else:
        assert ax.get_xlabel() == "video" and ax.get_ylabel() == "STQ (%)"


def test_stq_legend_clears_rotated_video_names():
    fig = figure_stq_per_video(result(videos=VERTICAL_VIDEOS))
    fig.tight_layout()
    renderer = drawn(fig)
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)
    for label in [*ax.get_xticklabels(), ax.xaxis.label]:
        assert not legend.overlaps(label.get_window_extent(renderer))


def test_report_of_a_real_evaluation_writes_pngs(tmp_path, toy_gt):
    pred = write_toy(tmp_path / "toy_pred.h5", kind="prediction")
    evaluation = evaluate(toy_gt, pred)
    assert "toy_pred.h5" in " ".join(texts(figure_vpq_vs_k(evaluation.summary)))
    plt.close("all")
    written = write_plots(evaluation, tmp_path)
    assert {p.name for p in written} == {"vpq_vs_k.png", "vpq_per_class.png", "stq_per_video.png"}
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in written)
    report = write_report(evaluation, tmp_path / "report")
    assert {"vpq_vs_k.png", "vpq_per_class.png", "stq_per_video.png"} <= {p.name for p in report}
    assert not plt.get_fignums()  # every figure closed after saving


def test_vpq_vs_k_marks_a_k_without_any_score_and_says_why():
    data = summary()
    data["vpq"]["k"]["10"] = {"all": None, "things": None, "stuff": None}
    why = "no video has 3 annotated frames (k=10); the longest has 2"
    data["vpq"]["empty"] = {"all": why, "things": why, "stuff": why}
    fig = figure_vpq_vs_k(data)
    fig.tight_layout()
    renderer = drawn(fig)
    ax = fig.axes[0]
    marks = [t for t in ax.texts if t.get_text() == "n/a"]
    assert [t.get_position()[0] for t in marks] == [10]
    assert ax.get_xlim()[1] > 10  # the mark at the last k is inside the axes
    note = [t for t in ax.texts if t.get_text().startswith("n/a at k=10: ")]
    assert len(note) == 1 and why in note[0].get_text().replace("\n", " ")
    box = note[0].get_window_extent(renderer)
    assert box.y1 <= ax.xaxis.label.get_window_extent(renderer).y0  # below the x label
    assert box.y0 >= 0  # and inside the saved figure
    assert not [t for t in figure_vpq_vs_k(summary()).axes[0].texts if t.get_text() == "n/a"]
