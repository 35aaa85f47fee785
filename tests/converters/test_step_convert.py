"""KITTI-STEP and MOTChallenge-STEP conversion: exact labels, frames, images, splits, errors."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image
from step_fixtures import KITTI, MOT, write_kitti_step, write_motchallenge_step, write_rgb16

from vpsbench.cli import main
from vpsbench.datasets import kitti_step, motchallenge_step, step
from vpsbench.format import VPSFile
from vpsbench.format.validate import validate_file
from vpsbench_converters.common import ConversionError
from vpsbench_converters.step import convert_step

D = 1 << 16


@pytest.fixture(scope="module")
def kitti(tmp_path_factory):
    root = tmp_path_factory.mktemp("kitti_step")
    return root, write_kitti_step(root)


@pytest.fixture(scope="module")
def mot(tmp_path_factory):
    root = tmp_path_factory.mktemp("motchallenge_step")
    return root, write_motchallenge_step(root)


@pytest.fixture(scope="module")
def kitti_val(kitti, tmp_path_factory):
    root, _ = kitti
    return convert_step("kitti_step", root, "val", tmp_path_factory.mktemp("out") / "val.h5")


def assert_split_is_truth(path, truth: dict) -> None:
    """Every video's maps, tracks and frame size are the fixture's independent truth."""
    with VPSFile(path) as f:
        assert f.video_ids == sorted(truth)
        for video in f:
            expected = truth[video.video_id]
            assert (video.height, video.width) == expected["size"]
            assert video.stems == expected["stems"]
            annotated = [video.stems[i] for i in video.annotated_indices]
            assert annotated == list(expected["maps"])
            for i in video.annotated_indices:
                np.testing.assert_array_equal(
                    video.panoptic(int(i)), expected["maps"][video.stems[i]], err_msg=video.stems[i]
                )
            tracks = [(t.source_key, t.category_id) for t in video.tracks()]
            assert tracks == expected["tracks"]
            assert [t.instance_id for t in video.tracks()] == list(range(1, len(tracks) + 1))


def test_kitti_val_labels_are_the_drawn_truth(kitti, kitti_val):
    _, truth = kitti
    assert_split_is_truth(kitti_val, truth["val"])
    assert validate_file(kitti_val) == []


def test_kitti_values_tracks_crowd_and_untracked_classes(kitti_val):
    with VPSFile(kitti_val) as f:
        pan = f.video("0002").panoptic(0)
        tracks = {t.source_key: t.instance_id for t in f.video("0002").tracks()}
    # car 5 and person 5 are two objects; car 300 (G = 1) keeps its own track
    assert pan[7, 2] == KITTI["car"] * D + tracks["13:5"]
    assert pan[6, 20] == KITTI["person"] * D + tracks["11:5"]
    assert tracks["13:5"] != tracks["11:5"] and "13:300" in tracks
    assert pan[9, 25] == KITTI["car"] * D + tracks["13:300"]
    assert pan[10, 1] == KITTI["car"] * D  # car pixels with id 0: crowd
    assert pan[4, 14] == KITTI["rider"] * D  # untracked: stuff
    assert pan[10, 15] == KITTI["bicycle"] * D
    assert pan[11, 5] == 255 * D  # void
    assert pan[0, 0] == KITTI["sky"] * D


def test_kitti_file_metadata_sizes_and_images(kitti, kitti_val):
    root, _ = kitti
    with VPSFile(kitti_val) as f:
        assert f.info.dataset == "kitti_step" and f.info.split == "val"
        assert f.info.label_divisor == D and f.info.ignore_label == 255
        assert f.protocol == step.PROTOCOL and f.protocol.name == "step_official"
        assert [c.id for c in f.categories] == list(range(19))
        assert {c.id for c in f.categories if c.isthing} == {11, 13}
        assert [(v.height, v.width) for v in f] == [(12, 32), (13, 35)]  # sizes differ
        video = f.video("0006")
        assert video.meta == {"sequence": "0006"}
        assert video.source_frames.tolist() == [0, 1, 2, 3]
        assert video.frame_meta[1] == {"image_file": "000001.png", "panoptic_file": "000001.png"}
        for i, stem in enumerate(video.stems):
            assert video.image_bytes(i) == (root / "images/val/0006" / f"{stem}.png").read_bytes()
        assert "sequences 0002 0006, not the public list" in f.info.source


def test_kitti_test_split_is_image_only(kitti, tmp_path):
    root, truth = kitti
    out = convert_step("kitti_step", root, "test", tmp_path / "test.h5")
    with VPSFile(out) as f:
        assert f.video_ids == ["0000", "0003"]
        assert [v.num_annotated for v in f] == [0, 0]
        assert [(v.height, v.width) for v in f] == [(12, 31), (12, 32)]
        assert f.video("0000").stems == truth["test"]["0000"]["stems"]
    assert validate_file(out) == []


def test_labels_only_conversion_keeps_the_labels(kitti, kitti_val, tmp_path):
    root, truth = kitti
    out = convert_step("kitti_step", root, "val", tmp_path / "lab.h5", labels_only=True)
    assert_split_is_truth(out, truth["val"])
    with VPSFile(out) as f, VPSFile(kitti_val) as full:
        assert not any(v.has_images for v in f)
        assert f.info.content_id == full.info.content_id


def test_motchallenge_train_val_test_as_the_setup_guide_lays_them(mot, tmp_path):
    root, truth = mot
    train = convert_step("motchallenge_step", root, "train", tmp_path / "train.h5")
    assert_split_is_truth(train, truth["train"])
    # No val/ folder: val is sequence 0002 (data/dataset.py), read from train/.
    val = convert_step("motchallenge_step", root, "val", tmp_path / "val.h5")
    assert_split_is_truth(val, {"0002": truth["train"]["0002"]})
    with VPSFile(val) as f:
        assert f.info.split == "val" and "read from train/, the public val list" in f.info.source
        assert [c.name for c in f.categories] == [
            "sidewalk", "building", "vegetation", "sky", "person", "rider", "bicycle"]  # fmt: skip
        assert {c.id for c in f.categories if c.isthing} == {MOT["person"]}
        video = f.video("0002")
        assert video.stems[0] == "000001"  # MOTS frames are numbered from 1
        jpg = (root / "images/train/0002/000001.jpg").read_bytes()
        assert video.image_bytes(0) == jpg and jpg.startswith(b"\xff\xd8\xff")
        tracks = {t.source_key for t in video.tracks()}
        assert tracks == {"4:12", "4:1030", "4:3"}
    test = convert_step("motchallenge_step", root, "test", tmp_path / "test.h5")
    with VPSFile(test) as f:
        assert f.video_ids == ["0001", "0007"] and all(v.num_annotated == 0 for v in f)
    for path in (train, val, test):
        assert validate_file(path) == []


def test_a_val_folder_takes_precedence(mot, tmp_path):
    root, _ = mot
    copy = tmp_path / "mot"
    shutil.copytree(root, copy)
    for kind in ("images", "panoptic_maps"):
        (copy / kind / "val").mkdir()
        shutil.move(copy / kind / "train" / "0009", copy / kind / "val" / "0009")
    out = convert_step("motchallenge_step", copy, "val", tmp_path / "val.h5")
    with VPSFile(out) as f:
        assert f.video_ids == ["0009"] and "read from its own folders" in f.info.source


def test_split_lists_are_the_public_ones():
    assert kitti_step.KITTI_STEP_SPLITS["val"] == (
        "0002", "0006", "0007", "0008", "0010", "0013", "0014", "0016", "0018")  # fmt: skip
    assert len(kitti_step.KITTI_STEP_SPLITS["train"]) == 12
    assert len(kitti_step.KITTI_STEP_SPLITS["test"]) == 29
    splits = motchallenge_step.MOTCHALLENGE_STEP_SPLITS
    assert splits == {"train": ("0002", "0009"), "val": ("0002",), "test": ("0001", "0007")}


# Errors: one line, exit 2, nothing left behind.


def convert_cli(capsys, dataset: str, root, split: str, out) -> str:
    code = main(["convert", dataset, str(root), "--split", split, "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("vpsbench convert: error:"), err
    assert not list(out.parent.glob(f"*{out.name}*")), "a partial output was left behind"
    return err


def broken_copy(kitti, tmp_path):
    root, _ = kitti
    copy = tmp_path / "broken"
    shutil.copytree(root, copy)
    return copy


def test_error_wrong_root(capsys, tmp_path):
    (tmp_path / "somewhere").mkdir()
    err = convert_cli(capsys, "kitti_step", tmp_path / "somewhere", "val", tmp_path / "o.h5")
    assert "no images/ or panoptic_maps/ folder" in err and "images/val/SSSS/FFFFFF.png" in err


def test_error_missing_split(capsys, kitti, tmp_path):
    root, _ = kitti
    err = convert_cli(capsys, "kitti-step", root, "train", tmp_path / "o.h5")
    assert "no train split" in err and "splits found: test, val" in err


def map_path(root, seq="0002", frame=1):
    return root / "panoptic_maps/val" / seq / f"{frame:06d}.png"


def rewrite_map(path, change) -> None:
    rgb = np.asarray(Image.open(path)).copy()
    change(rgb)
    Image.fromarray(rgb).save(path)


@pytest.mark.parametrize(
    ("pixel", "message"),
    [
        ((19, 0, 0), "R = 19 is neither a class (0-18) nor void"),
        ((10, 0, 3), "class 10 carries instance id 3"),
        ((255, 1, 0), "void pixels (R = 255) carry instance id 256"),
    ],
)  # fmt: skip
def test_error_unknown_value(capsys, kitti, tmp_path, pixel, message):
    root = broken_copy(kitti, tmp_path)
    rewrite_map(map_path(root), lambda rgb: rgb.__setitem__((0, 0), pixel))
    err = convert_cli(capsys, "kitti_step", root, "val", tmp_path / "o.h5")
    assert "panoptic_maps/val/0002/000001.png" in err and message in err


def test_error_size_mismatch_inside_a_sequence(capsys, kitti, tmp_path):
    root = broken_copy(kitti, tmp_path)
    Image.fromarray(np.zeros((12, 33, 3), np.uint8)).save(map_path(root, frame=2))
    err = convert_cli(capsys, "kitti_step", root, "val", tmp_path / "o.h5")
    assert "panoptic_maps/val/0002/000002.png is 33x12 but" in err and "one size" in err


def test_error_label_and_image_of_different_sizes(capsys, kitti, tmp_path):
    root = broken_copy(kitti, tmp_path)
    Image.fromarray(np.zeros((13, 32, 3), np.uint8)).save(root / "images/val/0002/000000.png")
    err = convert_cli(capsys, "kitti_step", root, "val", tmp_path / "o.h5")
    assert "images/val/0002/000000.png is 32x13" in err


def test_error_truncated_png(capsys, kitti, tmp_path):
    root = broken_copy(kitti, tmp_path)
    path = map_path(root, frame=3)
    path.write_bytes(path.read_bytes()[:-40])
    err = convert_cli(capsys, "kitti_step", root, "val", tmp_path / "o.h5")
    assert "panoptic_maps/val/0002/000003.png cannot be decoded as PNG" in err


@pytest.mark.parametrize(
    ("mode", "kind"), [("RGBA", "8-bit RGBA"), ("P", "8-bit palette"), ("L", "8-bit grey")]
)
def test_error_panoptic_map_that_is_not_8bit_rgb(capsys, kitti, tmp_path, mode, kind):
    root = broken_copy(kitti, tmp_path)
    Image.open(map_path(root)).convert(mode).save(map_path(root))
    err = convert_cli(capsys, "kitti_step", root, "val", tmp_path / "o.h5")
    assert f"panoptic_maps/val/0002/000001.png is a {kind} PNG" in err


def test_error_sixteen_bit_rgb_panoptic_map(capsys, kitti, tmp_path):
    root = broken_copy(kitti, tmp_path)
    path = map_path(root)
    write_rgb16(path, np.zeros((12, 32, 3), ">u2"))
    err = convert_cli(capsys, "kitti_step", root, "val", tmp_path / "o.h5")
    assert "000001.png is a 16-bit RGB PNG" in err


def test_error_foreign_file_name(capsys, kitti, tmp_path):
    root = broken_copy(kitti, tmp_path)
    shutil.copy(map_path(root), root / "panoptic_maps/val/0002/frame1.png")
    err = convert_cli(capsys, "kitti_step", root, "val", tmp_path / "o.h5")
    assert "panoptic_maps/val/0002/frame1.png: not a frame of sequence 0002" in err


def test_library_errors_are_conversion_errors(kitti, tmp_path):
    root, _ = kitti
    with pytest.raises(ConversionError, match="no train split"):
        convert_step("kitti_step", root, "train", tmp_path / "o.h5")
    assert not (tmp_path / "o.h5").exists()


def test_cli_convert_spellings_and_workers(capsys, kitti, mot, tmp_path):
    root, truth = kitti
    out = tmp_path / "k.h5"
    argv = ["convert", "kitti-step", str(root), "--split", "val", "-o", str(out), "--workers", "2"]
    assert main(argv) == 0, capsys.readouterr().err
    assert_split_is_truth(out, truth["val"])
    assert main(argv) == 2 and "exists" in capsys.readouterr().err  # no overwrite without -f
    mot_root, mot_truth = mot
    out = tmp_path / "m.h5"
    assert (
        main(["convert", "motchallenge_step", str(mot_root), "--split", "val", "-o", str(out)]) == 0
    )
    assert_split_is_truth(out, {"0002": mot_truth["train"]["0002"]})
