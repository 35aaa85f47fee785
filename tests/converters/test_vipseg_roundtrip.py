"""VIPSeg export: GT back to the prepared layout byte for byte, predictions to pred.json +
pan_pred/<video>/, and convert -> export -> convert bit-identical for labels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from vipseg_fixtures import (
    perturbed_submission,
    prepare_720p,
    write_raw_release,
    write_submission,
)

from vpsbench.cli import main
from vpsbench.format import VPSFile
from vpsbench_converters.submission import import_submission
from vpsbench_converters.vipseg import convert_vipseg
from vpsbench_converters.vipseg_export import export_vipseg


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    base = tmp_path_factory.mktemp("vipseg")
    raw = write_raw_release(base / "VIPSeg")
    prepared = prepare_720p(raw, base / "VIPSeg_720P", height=36)
    gt = convert_vipseg(prepared, "val", base / "vipseg_val.h5")
    return raw, prepared, gt


def contents(path) -> dict:
    """Everything a unified file holds per video (labels, frames, meta, tracks, images)."""
    with VPSFile(path) as f:
        out = {}
        for v in f:
            out[v.video_id] = (
                [v.panoptic(int(i)).tolist() for i in v.annotated_indices],
                v.stems,
                v.source_frames.tolist(),
                v.annotated.tolist(),
                v.frame_meta,
                [(t.instance_id, t.category_id, t.source_key) for t in v.tracks()],
                [v.image_bytes(i) for i in range(v.num_frames)],
                (v.height, v.width),
            )
        return out


def test_gt_export_is_the_prepared_layout_byte_for_byte(release, tmp_path):
    _, prepared, gt = release
    json_path = export_vipseg(gt, tmp_path / "out")
    assert json_path.read_bytes() == (prepared / "panoptic_gt_VIPSeg_val.json").read_bytes()
    out = tmp_path / "out"
    for name in ("panoVIPSeg_categories.json",):
        assert (out / name).read_bytes() == (prepared / name).read_bytes()
    assert (out / "val.txt").read_text() == "12_abcDEF-_01\n3_Zz9-x_Yq\n"
    exported = sorted(p.relative_to(out) for p in (out / "panomasksRGB").rglob("*.png"))
    data = json.loads(json_path.read_text())
    assert len(exported) == sum(len(v["images"]) for v in data["videos"])
    for rel in exported:
        original = prepared / rel
        assert Image.open(out / rel).mode == Image.open(original).mode == "RGB"
        np.testing.assert_array_equal(
            np.array(Image.open(out / rel)), np.array(Image.open(original))
        )
        assert (out / rel).read_bytes() == original.read_bytes()
    for image in (prepared / "images" / "3_Zz9-x_Yq").iterdir():
        assert (out / "images/3_Zz9-x_Yq" / image.name).read_bytes() == image.read_bytes()


def test_convert_export_convert_is_identical(release, tmp_path):
    raw, _, gt = release
    export_vipseg(gt, tmp_path / "again")
    again = convert_vipseg(tmp_path / "again", "val", tmp_path / "again.h5")
    assert contents(again) == contents(gt)
    # From the raw release: new colours, the same labels, frames and segment order.
    from_raw = convert_vipseg(raw, "val", tmp_path / "raw.h5", resize=36)
    export_vipseg(from_raw, tmp_path / "raw_out")
    back = convert_vipseg(tmp_path / "raw_out", "val", tmp_path / "back.h5")
    got, expected = contents(back), contents(from_raw)
    for video in expected:
        assert got[video][:4] == expected[video][:4]  # labels, stems, frame numbers, flags
        segments = [[m["segments"] for m in c[4]] for c in (got[video], expected[video])]
        assert segments[0] == segments[1]
        assert [t[:2] for t in got[video][5]] == [t[:2] for t in expected[video][5]]


def test_prediction_export_and_submission_round_trip(release, tmp_path):
    _, prepared, gt = release
    submission = write_submission(tmp_path / "sub", perturbed_submission(prepared))
    pred = import_submission(submission, gt, tmp_path / "pred.h5")
    code = main(["export", "vipseg", str(pred), str(tmp_path / "exp"), "--gt", str(gt), "--zip"])
    assert code == 0
    assert (tmp_path / "exp" / "submission.zip").is_file()
    exported = tmp_path / "exp" / "submission"
    data = json.loads((exported / "pred.json").read_text())
    assert [v["video_id"] for v in data["annotations"]] == ["12_abcDEF-_01", "3_Zz9-x_Yq"]
    first = data["annotations"][1]["annotations"][0]
    assert (first["image_id"], first["file_name"]) == ("00000040", "00000040.png")
    assert (exported / "pan_pred/3_Zz9-x_Yq/00000050.png").is_file()
    again = import_submission(exported, gt, tmp_path / "again.h5")
    with VPSFile(pred) as a, VPSFile(again) as b:
        assert a.info.tube_identity == b.info.tube_identity == "instance"
        for video in a:
            other = b.video(video.video_id)
            for i in video.annotated_indices:
                np.testing.assert_array_equal(video.panoptic(int(i)), other.panoptic(int(i)))
