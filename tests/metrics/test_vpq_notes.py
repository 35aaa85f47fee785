"""A VPQ that cannot exist says why: in the summary, per video, and under the console table."""

from __future__ import annotations

import dataclasses

import numpy as np
from conftest import write_toy

from vpsbench.evaluation import evaluate
from vpsbench.format.reader import VPSFile
from vpsbench.metrics.core import LabelSpace, PairHistogram, VideoStats
from vpsbench.metrics.vpq import VPQ


def test_a_window_longer_than_the_videos_makes_vpq_null_with_its_reason(tmp_path, toy_gt):
    # The toy videos have 3 annotated frames; the Cityscapes-VPS protocol has windows up to 4.
    result = evaluate(toy_gt, write_toy(tmp_path / "pred.h5", kind="prediction"), metrics="vpq")
    vpq = result.summary["vpq"]
    assert vpq["all"] is None and vpq["k"]["10"]["all"] == 100.0
    why = "no video has 4 annotated frames (k=15); the longest has 3"
    assert vpq["empty"] == {"all": why, "things": why, "stuff": why}
    videos = result.to_dict()["per_video"]
    assert [v["vpq_note"] for v in videos] == [
        "VPQ needs 4 annotated frames (k=15), the video has 3"
    ] * 2
    assert f"VPQ, VPQ Th and VPQ St are empty: {why}" in result.table()
    assert f"* VPQ, VPQ Th and VPQ St are empty: {why}" in result.to_markdown()


def test_windows_that_fit_leave_no_note(tmp_path, toy_gt):
    with VPSFile(toy_gt) as f:
        protocol = dataclasses.replace(f.protocol, vpq_window_sizes=(1, 2, 3), vpq_k=(0, 5, 10))
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    result = evaluate(toy_gt, pred, metrics="vpq", protocol=protocol)
    assert result.summary["vpq"]["all"] == 100.0 and "empty" not in result.summary["vpq"]
    assert [v["vpq_note"] for v in result.to_dict()["per_video"]] == [None, None]
    assert "is empty" not in result.table()


def test_a_group_without_any_class_says_so():
    # Stuff only (category 0), in GT and prediction alike: Things has no class to average.
    space = LabelSpace(1000, 255, (0, 10), frozenset({10}))
    hist = PairHistogram(np.array([0]), np.array([0]), np.array([100]))
    metric = VPQ(space, window_sizes=(1,), k_labels=(0,))
    metric.update(VideoStats("v", ["a"], [hist], {}))
    result = metric.result()
    assert result["stuff"] == 100.0 and result["things"] is None and result["all"] == 100.0
    assert result["empty"] == {
        "things": "no thing class has a GT or predicted segment that counts at k=0 "
        "(TP + FP + FN = 0 for every one)"
    }
    assert metric.per_video()[0]["note"] == result["empty"]["things"]


def test_no_video_scored():
    metric = VPQ(LabelSpace(1000, 255, (0,), frozenset()), window_sizes=(1,), k_labels=(0,))
    assert metric.result()["empty"]["all"] == "no video was scored"
