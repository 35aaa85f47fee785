"""``evaluate``: GT categories checked, VC lengths from the protocol, empty values explained."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from conftest import write_toy

from vpsbench import evaluate
from vpsbench.evaluation import EvaluationError
from vpsbench.format import VPSFile, VPSWriter
from vpsbench.format.schema import FileInfo, GroundTruthRef
from vpsbench.metrics.consistency import VideoConsistency
from vpsbench.metrics.core import LabelSpace, VideoStats


def copy_as_prediction(gt_path: Path, out: Path) -> Path:
    """A perfect prediction: the GT maps of every annotated frame."""
    with VPSFile(gt_path) as gt:
        info = FileInfo(kind="prediction", dataset=gt.info.dataset, split=gt.info.split)
        info.predicts = GroundTruthRef(
            gt.info.dataset, gt.info.split, gt_path.name, gt.info.content_id
        )
        with VPSWriter(out, info, gt.categories) as writer:
            for video in gt:
                with writer.video(video.video_id, video.height, video.width) as pv:
                    for i in video.annotated_indices:
                        pv.add_frame(video.stems[i], int(video.source_frames[i]),
                                     video.panoptic(int(i)))  # fmt: skip
    return out


@pytest.fixture
def toy_pair(tmp_path):
    gt = write_toy(tmp_path / "gt.h5")  # 2 videos x 3 annotated frames, 10 source frames apart
    return gt, copy_as_prediction(gt, tmp_path / "pred.h5")


def test_gt_value_of_unknown_category_is_refused(toy_pair):
    gt, pred = toy_pair
    with h5py.File(gt, "r+") as f:
        f["videos/0002/panoptic"][1, 0, 0] = 7_000  # category 7 is not in the toy table
    with pytest.raises(EvaluationError) as err:
        evaluate(gt, pred, metrics="vpq")
    message = str(err.value)
    assert "video 0002, frame 0002_0003" in message and "GT values [7000]" in message
    assert "category table [0, 10, 11, 13]" in message


def test_vc_lengths_default_to_the_protocol_and_empty_ones_say_why(toy_pair):
    gt, pred = toy_pair
    result = evaluate(gt, pred, metrics="vpq,vc")
    vc = result.summary["vc"]
    assert vc["settings"]["ns"] == [2, 4, 6]  # Cityscapes-VPS protocol of the toy file
    assert vc["vc_2"] == 100.0 and vc["clips_2"] == 4
    assert vc["vc_4"] is None and vc["vc_6"] is None
    assert vc["empty"] == {
        "vc_4": "no video has 4 annotated frames; the longest has 3",
        "vc_6": "no video has 6 annotated frames; the longest has 3",
    }
    assert result.summary["protocol"]["vc_clip_lengths"] == [2, 4, 6]
    assert "vpq_window_unit" not in result.summary["protocol"]
    assert result.summary["inputs"]["label_spacing"] == [10]
    table = result.table()
    assert "VC_4 is empty: no video has 4 annotated frames; the longest has 3" in table
    assert "annotated frames are 10 source frames apart, so the windows span 1, 11, 21, 31" in (
        table
    )
    markdown = result.to_markdown()
    assert "## Notes" in markdown and "* VC_6 is empty:" in markdown
    assert "empty" in result.to_dict()["vc"]


def test_vc_override_is_recorded_and_official_mode_explained(toy_pair):
    gt, pred = toy_pair
    result = evaluate(gt, pred, metrics="vc", vc_ns=(3,), vc_mode="vspw_official")
    vc = result.summary["vc"]
    assert result.summary["protocol"]["vc_clip_lengths"] == [3]
    assert vc["vc_3"] is None
    assert vc["empty"]["vc_3"].startswith("no video has more than 3 annotated frames")
    assert evaluate(gt, pred, metrics="vc", vc_ns=(3,)).summary["vc"]["vc_3"] == 100.0


def test_no_stable_gt_pixel_is_explained():
    space = LabelSpace(1000, 255, (0, 10), frozenset())
    metric = VideoConsistency(space, ns=(2,))
    rows = np.array([[0, 0], [0, 0]], np.int64)  # two clips, |A| = 0 in both
    metric.update(VideoStats("v", ["a", "b", "c"], [], {2: rows}))
    result = metric.result()
    assert result["vc_2"] is None
    assert result["empty"] == {"vc_2": "no clip of 2 frames has a pixel with a stable non-void "
                                       "GT label"}  # fmt: skip
