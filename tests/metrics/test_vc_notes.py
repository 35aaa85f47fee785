"""A VC_n that cannot exist says why: in the summary, per video, and under the console table."""

from __future__ import annotations

from conftest import write_toy

from vpsbench.evaluation import evaluate


def test_a_vc_longer_than_the_videos_is_null_with_its_reason(tmp_path, toy_gt):
    # The toy videos have 3 annotated frames; the protocol asks for VC_2, VC_4 and VC_6.
    result = evaluate(toy_gt, write_toy(tmp_path / "pred.h5", kind="prediction"), metrics="vc")
    vc = result.summary["vc"]
    assert vc["vc_2"] == 100.0 and vc["vc_4"] is None and vc["vc_6"] is None
    assert vc["empty"]["vc_4"] == "no video has 4 annotated frames; the longest has 3"
    video = result.to_dict()["per_video"][0]
    assert video["vc_4"] is None and video["vc_clips_4"] == 0
    assert video["vc_note"] == (
        "VC_4 needs 4 annotated frames, the video has 3; "
        "VC_6 needs 6 annotated frames, the video has 3"
    )
    assert "VC_4 is empty: no video has 4 annotated frames" in result.table()


def test_a_video_long_enough_has_no_note(tmp_path, toy_gt):
    result = evaluate(
        toy_gt, write_toy(tmp_path / "pred.h5", kind="prediction"), metrics="vc", vc_ns=(2, 3)
    )
    assert [v["vc_note"] for v in result.to_dict()["per_video"]] == [None, None]
