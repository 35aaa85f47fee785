"""Official Cityscapes-VPS submissions: reading, pairing by id or position, clear errors."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from vpsbench.format import VPSFile
from vpsbench.io.submission import (
    SubmissionError,
    id_to_rgb,
    open_submission,
    pair_submission,
    read_id_png,
    rgb_to_id,
)


def gt_stems(gt: VPSFile) -> list[str]:
    return sorted(v.stems[i] for v in gt for i in v.annotated_indices)


def write_submission(root, stems, with_ids=True, size=(6, 8)):
    (root / "pan_pred").mkdir(parents=True)
    annotations = []
    for stem in stems:
        ids = np.full(size, 8405120, np.uint32)  # road colour
        Image.fromarray(id_to_rgb(ids)).save(root / "pan_pred" / f"{stem}.png")
        annotation = {"segments_info": [{"id": 8405120, "category_id": 0}]}
        if with_ids:
            annotation = {"image_id": stem, "file_name": f"{stem}.png", **annotation}
        annotations.append(annotation)
    (root / "pred.json").write_text(json.dumps({"annotations": annotations}))
    return root


def test_rgb_id_round_trip():
    ids = np.array([[0, 1, 256, 65536, 8405120, 2**24 - 1]], np.uint32)
    assert rgb_to_id(id_to_rgb(ids)).tolist() == ids.tolist()


@pytest.mark.parametrize("with_ids", [True, False])
def test_pairs_every_gt_frame(tmp_path, toy_reader, with_ids):
    stems = gt_stems(toy_reader)
    write_submission(tmp_path / "sub", stems[::-1] if with_ids else stems, with_ids)
    with open_submission(tmp_path / "sub") as (entries, png_dir):
        paired = pair_submission(entries, png_dir, toy_reader)
    assert [p.stem for p in paired] == stems
    assert all(p.png.name == f"{p.stem}.png" for p in paired)
    first = paired[0]
    assert toy_reader.video(first.video_id).stems[first.frame_index] == first.stem


def test_zip_with_nested_pan_pred_zip(tmp_path, toy_reader):
    sub = write_submission(tmp_path / "sub", gt_stems(toy_reader))
    with zipfile.ZipFile(tmp_path / "pan_pred.zip", "w") as z:
        for png in sorted((sub / "pan_pred").glob("*.png")):
            z.write(png, png.name)
    with zipfile.ZipFile(tmp_path / "submission.zip", "w") as z:
        z.write(sub / "pred.json", "pred.json")
        z.write(tmp_path / "pan_pred.zip", "pan_pred.zip")
    with open_submission(tmp_path / "submission.zip") as (entries, png_dir):
        paired = pair_submission(entries, png_dir, toy_reader)
        ids = read_id_png(paired[0].png, 6, 8)
        extracted = png_dir
    assert len(paired) == 6 and ids[0, 0] == 8405120
    assert not extracted.exists()  # the private directory is gone


def test_missing_and_extra_frames_are_named(tmp_path, toy_reader):
    stems = gt_stems(toy_reader)
    write_submission(tmp_path / "sub", [*stems[1:], "9999_9999_extra"])
    with open_submission(tmp_path / "sub") as (entries, png_dir):
        with pytest.raises(SubmissionError, match=f"missing from pred.json: {stems[0]}") as err:
            pair_submission(entries, png_dir, toy_reader)
    assert "9999_9999_extra" in str(err.value)


def test_unnamed_entries_need_matching_counts(tmp_path, toy_reader):
    write_submission(tmp_path / "sub", gt_stems(toy_reader)[:-1], with_ids=False)
    with open_submission(tmp_path / "sub") as (entries, png_dir):
        with pytest.raises(SubmissionError, match=r"5 annotations without image ids.*6 annotated"):
            pair_submission(entries, png_dir, toy_reader)


def test_missing_png_is_named(tmp_path, toy_reader):
    stems = gt_stems(toy_reader)
    sub = write_submission(tmp_path / "sub", stems, with_ids=False)
    (sub / "pan_pred" / f"{stems[2]}.png").unlink()
    with open_submission(sub) as (entries, png_dir):
        with pytest.raises(SubmissionError, match=f"missing from pan_pred: {stems[2]}"):
            pair_submission(entries, png_dir, toy_reader)


def test_png_larger_than_gt_is_refused_before_decoding(tmp_path):
    Image.new("RGB", (4000, 4000)).save(tmp_path / "big.png")
    with pytest.raises(SubmissionError, match="4000x4000, the GT frame is 8x6"):
        read_id_png(tmp_path / "big.png", 6, 8)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"images": []}', "annotations"),
        ('{"annotations": [{"segments_info": [{"id": 1}]}]}', "segments_info"),
    ],
)
def test_bad_pred_json(tmp_path, content, message):
    (tmp_path / "pan_pred").mkdir()
    Image.new("RGB", (2, 2)).save(tmp_path / "pan_pred" / "a.png")
    (tmp_path / "pred.json").write_text(content)
    with pytest.raises(SubmissionError, match=message):
        with open_submission(tmp_path):
            pass


def test_write_submission_official_colours_and_order(tmp_path, toy_reader):
    from vpsbench.io.submission import write_submission

    out = write_submission(toy_reader, toy_reader, tmp_path / "sub")
    data = json.loads((out / "pred.json").read_text())
    stems = [a["image_id"] for a in data["annotations"]]
    assert stems == sorted(stems) == gt_stems(toy_reader)
    road = next(s for s in data["annotations"][0]["segments_info"] if s["category_id"] == 0)
    assert road["id"] == 128 + 256 * 64 + 65536 * 128  # the category colour, as the official GT
    ids = rgb_to_id(np.asarray(Image.open(out / "pan_pred" / f"{stems[0]}.png")))
    assert set(np.unique(ids).tolist()) == {
        s["id"] for s in data["annotations"][0]["segments_info"]
    } | {0}
