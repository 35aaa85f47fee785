"""VIPSeg conversion: both layouts, the official 720p preparation, value 200, frames, errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image
from vipseg_fixtures import (
    SPLITS,
    VIDEOS,
    expected_maps,
    prepare_720p,
    resized_masks,
    write_raw_release,
)

from vpsbench.cli import main
from vpsbench.datasets import detect_dataset, vipseg
from vpsbench.format import VPSFile
from vpsbench.format.validate import validate_file
from vpsbench_converters.common import ConversionError
from vpsbench_converters.vipseg import convert_vipseg
from vpsbench_converters.vipseg_720p import nearest_positions, resize_mask

VAL = sorted(SPLITS["val"])  # the official JSON lists videos sorted by name
SMALL = 36  # test height: 96 -> 36 rows hits the same rounding difference as 96 -> 720


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """(raw root, prepared root as Pillow < 10.3 makes it, prepared root as Pillow >= 10.3)."""
    base = tmp_path_factory.mktemp("vipseg")
    raw = write_raw_release(base / "VIPSeg")
    legacy = prepare_720p(raw, base / "VIPSeg_720P", height=SMALL, pillow="legacy")
    new = prepare_720p(raw, base / "VIPSeg_720P_new", height=SMALL, pillow="10.3")
    return raw, legacy, new


@pytest.fixture(scope="module")
def prepared_h5(release, tmp_path_factory):
    return convert_vipseg(release[1], "val", tmp_path_factory.mktemp("out") / "vipseg_val.h5")


def maps_of(path) -> dict[str, list[np.ndarray]]:
    with VPSFile(path) as f:
        return {v.video_id: [v.panoptic(int(i)) for i in v.annotated_indices] for v in f}


def assert_maps(got: dict, expected: dict) -> None:
    assert list(got) == list(expected)
    for video, maps in expected.items():
        assert len(got[video]) == len(maps), video
        for t, (a, b) in enumerate(zip(got[video], maps, strict=True)):
            np.testing.assert_array_equal(a, b, err_msg=f"{video} frame {t}")


def val_expected(prepared, **kw) -> dict:
    masks = resized_masks(prepared)
    return expected_maps({v: masks[v] for v in VAL}, **kw)


def no_output(out) -> bool:
    return not list(out.parent.glob(f"*{out.name}*"))


def test_prepared_layout_gives_the_hand_written_maps(release, prepared_h5):
    assert_maps(maps_of(prepared_h5), val_expected(release[1]))
    assert validate_file(prepared_h5) == []


def test_raw_resize_is_the_official_preparation_with_either_pillow(release, tmp_path):
    raw, legacy, new = release
    default = convert_vipseg(raw, "val", tmp_path / "a.h5", resize=SMALL)
    assert_maps(maps_of(default), val_expected(legacy))
    recent = convert_vipseg(raw, "val", tmp_path / "b.h5", resize=SMALL, mask_nearest="pillow-10.3")
    assert_maps(maps_of(recent), val_expected(new))
    # The two Pillow generations really disagree on this data (the 1-pixel stripes).
    differ = sum(
        int((a != b).sum())
        for v in VAL
        for a, b in zip(maps_of(default)[v], maps_of(recent)[v], strict=True)
    )
    assert differ > 0
    assert_maps(maps_of(convert_vipseg(new, "val", tmp_path / "c.h5")), val_expected(new))


def test_raw_resize_720_reproduces_change2_720p(tmp_path):
    """At the official height, on one video: 96 x 128 masks become 720 x 960."""
    raw = write_raw_release(tmp_path / "VIPSeg")
    for video in VIDEOS:
        if video != "3_Zz9-x_Yq":
            shutil.rmtree(raw / "imgs" / video)
            shutil.rmtree(raw / "panomasks" / video, ignore_errors=True)
    (raw / "val.txt").write_text("3_Zz9-x_Yq\n")
    for split in ("train", "test"):
        (raw / f"{split}.txt").write_text("")
    prepared = prepare_720p(raw, tmp_path / "VIPSeg_720P", height=720)
    out = convert_vipseg(raw, "val", tmp_path / "raw.h5", resize=720)
    expected = expected_maps(resized_masks(prepared))
    assert_maps(maps_of(out), expected)
    assert_maps(maps_of(convert_vipseg(prepared, "val", tmp_path / "prepared.h5")), expected)
    with VPSFile(out) as f:
        assert (f.video("3_Zz9-x_Yq").height, f.video("3_Zz9-x_Yq").width) == (720, 960)


def test_nearest_rules_are_pillows(tmp_path):
    """Both rules against the installed Pillow: mode "I" resamples as Pillow < 10.3 opened
    16-bit PNGs, mode "I;16" as Pillow >= 10.3 does."""
    rng = np.random.default_rng(0)
    for _ in range(40):
        h, w = (int(x) for x in rng.integers(2, 300, 2))
        th, tw = (int(x) for x in rng.integers(1, 800, 2))
        mask = rng.integers(0, 65535, (h, w), dtype=np.uint16)
        path = tmp_path / "m.png"
        Image.fromarray(mask).save(path)
        with Image.open(path) as img:
            assert img.mode == "I;16"
            new = np.array(img.resize((tw, th), Image.NEAREST))
            legacy = np.array(img.convert("I").resize((tw, th), Image.NEAREST))
        np.testing.assert_array_equal(resize_mask(mask, (th, tw), "pillow-10.3"), new)
        np.testing.assert_array_equal(resize_mask(mask, (th, tw), "pillow-legacy"), legacy)
    # Where the exact source position is an integer the legacy sum falls short of it.
    assert nearest_positions(96, 36, "pillow-legacy")[4] == 11
    assert nearest_positions(96, 36, "pillow-10.3")[4] == 12  # (4 + 0.5) * 96 / 36 = 12


def test_frames_metadata_protocol_and_tracks(release, prepared_h5):
    with VPSFile(prepared_h5) as f:
        assert f.video_ids == VAL
        assert f.info.dataset == "vipseg" and f.info.label_divisor == 10000
        assert "panoptic_gt_VIPSeg_val.json" in f.info.source
        assert f.protocol == vipseg.PROTOCOL and f.protocol.stq_rule == "vipseg"
        assert f.categories_source_json == (release[1] / "panoVIPSeg_categories.json").read_text()
        video = f.video("3_Zz9-x_Yq")
        assert video.stems == VIDEOS["3_Zz9-x_Yq"]
        assert video.source_frames.tolist() == [40, 45, 50]
        assert video.annotated.all() and video.meta == {}
        assert video.frame_meta[0] == {
            "image_file": "00000040.jpg",
            "panoptic_file": "00000040.png",
            "segments": [20001, 130000, 280000, 600002],  # door (code 3) is listed first
        }
        # objects in order of first appearance, the door (a thing written as a stuff code) first
        assert [(t.instance_id, t.category_id) for t in video.tracks()] == [
            (1, 2), (2, 60), (3, 8), (4, 8), (5, 48), (6, 60), (7, 60)]  # fmt: skip
        assert all(t.source_key.startswith("rgb:") for t in video.tracks())
        for i, stem in enumerate(video.stems):
            image = release[1] / "images" / "3_Zz9-x_Yq" / f"{stem}.jpg"
            assert video.image_bytes(i) == image.read_bytes()


def test_raw_layout_metadata_order_and_images(release, tmp_path):
    raw = release[0]
    out = convert_vipseg(raw, "val", tmp_path / "raw.h5")
    with VPSFile(out) as f:
        assert f.video_ids == VAL and "raw value 200 = ceiling" in f.info.source
        video = f.video("12_abcDEF-_01")
        assert (video.height, video.width) == (96, 128)
        assert video.frame_meta[0]["mask_file"] == "00000001.png"
        # ascending raw values: 1 wall, 3 door, 14 floor, 29 sky, 150 (wall), 200 (ceiling),
        # 900 and 901 windows, 4907 car, 6100 person
        assert video.frame_meta[0]["segments"] == [
            0, 20001, 130000, 280000, 10000, 80002, 80003, 480004, 600005]  # fmt: skip
        assert [t.source_key for t in video.tracks()] == [
            "raw:3", "raw:900", "raw:901", "raw:4907", "raw:6100", "raw:6101"]  # fmt: skip
        for i, stem in enumerate(video.stems):  # no resize: the original bytes
            assert video.image_bytes(i) == (raw / "imgs/12_abcDEF-_01" / f"{stem}.jpg").read_bytes()
    resized = convert_vipseg(raw, "val", tmp_path / "small.h5", resize=SMALL)
    with VPSFile(resized) as f:  # resized images: what change2_720p.py saves
        video = f.video("12_abcDEF-_01")
        for i, stem in enumerate(video.stems):
            image = release[1] / "images/12_abcDEF-_01" / f"{stem}.jpg"
            assert video.image_bytes(i) == image.read_bytes()


def test_value_200_is_ceiling_by_default_or_void(release, tmp_path):
    raw = release[0]
    ceiling = maps_of(convert_vipseg(raw, "val", tmp_path / "a.h5"))
    void = maps_of(convert_vipseg(raw, "val", tmp_path / "b.h5", value_200="void"))
    assert ceiling["12_abcDEF-_01"][0][4, 4] == 1 * 10000  # ceiling (id 1), stuff
    assert void["12_abcDEF-_01"][0][4, 4] == 255 * 10000
    masks = {v: [np.array(Image.open(p)) for p in sorted((raw / "panomasks" / v).iterdir())]
             for v in VAL}  # fmt: skip
    assert_maps(void, expected_maps(masks, void_200=True))


def test_test_split_and_workers(release, prepared_h5, tmp_path):
    raw, legacy, _ = release
    test = convert_vipseg(raw, "test", tmp_path / "test.h5", resize=SMALL)
    with VPSFile(test) as f:
        assert f.video_ids == ["9_testOnly"] and not f.video("9_testOnly").annotated.any()
        assert f.video("9_testOnly").height == SMALL
    with pytest.raises(ConversionError, match=r"no video of test\.txt"):
        convert_vipseg(legacy, "test", tmp_path / "t.h5")
    two = convert_vipseg(legacy, "val", tmp_path / "two.h5", workers=2)
    assert_maps(maps_of(two), maps_of(prepared_h5))
    assert detect_dataset(raw, "val").name == "vipseg"
    assert detect_dataset(legacy, "val").name == "vipseg"


def test_whole_set_json_is_split_by_the_list(release, prepared_h5, tmp_path):
    root = tmp_path / "prep"
    shutil.copytree(release[1], root)
    (root / "panoptic_gt_VIPSeg_val.json").unlink()
    out = convert_vipseg(root, "val", tmp_path / "o.h5")
    assert_maps(maps_of(out), maps_of(prepared_h5))
    (root / "val.txt").unlink()
    with pytest.raises(ConversionError, match=r"no split list val\.txt"):
        convert_vipseg(root, "val", tmp_path / "p.h5")


# --- errors: one line, exit status 2, no output file --------------------------------------------


def fails(capsys, argv: list[str], out, fragment: str) -> None:
    code = main(["convert", "vipseg", *argv, "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("vpsbench convert: error:") and err.count("\n") == 1, err
    assert fragment in err, err
    assert no_output(out)


@pytest.fixture
def raw_copy(release, tmp_path):
    root = tmp_path / "VIPSeg"
    shutil.copytree(release[0], root)
    return root


def test_wrong_root(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    fails(capsys, [str(tmp_path / "empty"), "--split", "val"], tmp_path / "o.h5",
          "no VIPSeg layout found; expected the prepared VIPSeg_720P/ folder")  # fmt: skip
    fails(capsys, [str(tmp_path / "nowhere"), "--split", "val"], tmp_path / "o.h5",
          "no such directory")  # fmt: skip


def test_missing_split_list(capsys, raw_copy, tmp_path):
    (raw_copy / "val.txt").unlink()
    fails(capsys, [str(raw_copy), "--split", "val"], tmp_path / "o.h5", "no split list val.txt")


def test_video_of_the_list_missing(capsys, raw_copy, tmp_path):
    (raw_copy / "val.txt").write_text("3_Zz9-x_Yq\nnope_video\n")
    fails(capsys, [str(raw_copy), "--split", "val"], tmp_path / "o.h5",
          "video nope_video of the split list is not in imgs/")  # fmt: skip


def test_unknown_value(capsys, raw_copy, tmp_path):
    path = raw_copy / "panomasks/3_Zz9-x_Yq/00000045.png"
    mask = np.array(Image.open(path))
    mask[0, 0] = 12500  # code 125: no such category
    Image.fromarray(mask).save(path)
    fails(capsys, [str(raw_copy), "--split", "val", "--workers", "2"], tmp_path / "o.h5",
          "3_Zz9-x_Yq/00000045.png: mask value 12500 is no VIPSeg label")  # fmt: skip


def test_size_mismatch(capsys, raw_copy, tmp_path):
    path = raw_copy / "panomasks/12_abcDEF-_01/00000011.png"
    Image.open(path).crop((0, 0, 64, 48)).save(path)
    fails(capsys, [str(raw_copy), "--split", "val"], tmp_path / "o.h5",
          "12_abcDEF-_01/00000011.png is 64x48, its image is 128x96")  # fmt: skip
    image = raw_copy / "imgs/12_abcDEF-_01/00000016.jpg"
    Image.open(image).resize((64, 48)).save(image)
    fails(capsys, [str(raw_copy), "--split", "val"], tmp_path / "o.h5",
          "video 12_abcDEF-_01: frames of different sizes")  # fmt: skip


def test_truncated_png(capsys, raw_copy, release, tmp_path):
    path = raw_copy / "panomasks/12_abcDEF-_01/00000006.png"
    path.write_bytes(path.read_bytes()[:70])
    fails(capsys, [str(raw_copy), "--split", "val"], tmp_path / "o.h5",
          "00000006.png cannot be decoded (truncated or not a PNG)")  # fmt: skip
    prepared = tmp_path / "prep"
    shutil.copytree(release[1], prepared)
    path = prepared / "panomasksRGB/3_Zz9-x_Yq/00000050.png"
    path.write_bytes(path.read_bytes()[:70])
    fails(capsys, [str(prepared), "--split", "val"], tmp_path / "o.h5",
          "00000050.png cannot be decoded (truncated or not a PNG)")  # fmt: skip


def test_mask_without_image_and_bad_names(capsys, raw_copy, tmp_path):
    (raw_copy / "imgs/3_Zz9-x_Yq/00000045.jpg").unlink()
    fails(capsys, [str(raw_copy), "--split", "val"], tmp_path / "o.h5",
          "video 3_Zz9-x_Yq: 1 masks have no image in imgs/, e.g. 00000045.png")  # fmt: skip


def test_prepared_json_that_does_not_fit_its_pngs(capsys, release, tmp_path):
    root = tmp_path / "prep"
    shutil.copytree(release[1], root)
    path = root / "panoptic_gt_VIPSeg_val.json"
    original = path.read_text()
    data = json.loads(original)
    data["annotations"][0]["annotations"][1]["segments_info"][0]["area"] += 1
    path.write_text(json.dumps(data))
    fails(capsys, [str(root), "--split", "val"], tmp_path / "o.h5", "in the JSON and")
    data = json.loads(original)
    del data["annotations"][1]["annotations"][0]["segments_info"][-1]
    path.write_text(json.dumps(data))
    fails(capsys, [str(root), "--split", "val"], tmp_path / "o.h5", "are not in its segments_info")
    data = json.loads(original)
    data["annotations"][1]["annotations"][0]["segments_info"][0]["category_id"] = 124
    path.write_text(json.dumps(data))
    fails(capsys, [str(root), "--split", "val"], tmp_path / "o.h5", "unknown category_id 124")
    data = json.loads(original)
    data["categories"][3]["name"] = "stairs"
    path.write_text(json.dumps(data))
    fails(capsys, [str(root), "--split", "val"], tmp_path / "o.h5", "categories are not VIPSeg's")


def test_options_that_do_not_apply(capsys, release, tmp_path):
    fails(capsys, [str(release[1]), "--split", "val", "--resize", "720"], tmp_path / "o.h5",
          "--resize applies to the raw release")  # fmt: skip
    fails(capsys, [str(release[0]), "--split", "val", "--resize", "0"], tmp_path / "o.h5",
          "--resize needs a positive height")  # fmt: skip
