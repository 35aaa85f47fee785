"""STEP export: release -> unified -> release byte for byte, unified -> release -> unified
bit-identical, predictions -> PNG directory -> the same maps; what the layout cannot carry is
refused before anything is written."""

from __future__ import annotations

import filecmp

import numpy as np
import pytest
from conftest import write_toy
from step_fixtures import write_kitti_step, write_motchallenge_step

from vpsbench.cli import main
from vpsbench.evaluation.predictions import open_predictions
from vpsbench.format import FileInfo, VPSFile, VPSWriter
from vpsbench_converters.common import ConversionError
from vpsbench_converters.step import convert_step
from vpsbench_converters.step_export import export_step


@pytest.fixture(scope="module")
def kitti(tmp_path_factory):
    root = tmp_path_factory.mktemp("kitti_step")
    write_kitti_step(root)
    return root


@pytest.fixture(scope="module")
def mot(tmp_path_factory):
    root = tmp_path_factory.mktemp("motchallenge_step")
    write_motchallenge_step(root)
    return root


def same_tree(a, b) -> None:
    """Two folders hold the same file names with the same bytes."""
    files_a = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    _, mismatch, errors = filecmp.cmpfiles(a, b, files_a, shallow=False)
    assert mismatch == [] and errors == []


def assert_same_content(first, second) -> None:
    """Label maps, frame tables, metadata, tracks and image bytes are identical."""
    with VPSFile(first) as a, VPSFile(second) as b:
        assert a.info.content_id == b.info.content_id
        assert (a.info.dataset, a.info.split, a.info.label_divisor) == (
            b.info.dataset, b.info.split, b.info.label_divisor)  # fmt: skip
        assert a.categories == b.categories and a.protocol == b.protocol
        assert a.video_ids == b.video_ids
        for va, vb in zip(a, b, strict=True):
            assert (va.height, va.width, va.meta) == (vb.height, vb.width, vb.meta)
            assert va.stems == vb.stems and va.frame_meta == vb.frame_meta
            assert va.source_frames.tolist() == vb.source_frames.tolist()
            assert va.annotated.tolist() == vb.annotated.tolist()
            assert va.tracks() == vb.tracks()
            for i in range(va.num_frames):
                assert va.image_bytes(i) == vb.image_bytes(i)
            if va.num_annotated:
                np.testing.assert_array_equal(va.load_panoptic(), vb.load_panoptic())


@pytest.mark.parametrize(
    ("dataset", "release", "split"),
    [("kitti_step", "kitti", "val"), ("kitti_step", "kitti", "test"),
     ("motchallenge_step", "mot", "train"), ("motchallenge_step", "mot", "val")],
)  # fmt: skip
def test_convert_export_convert_is_bit_identical(request, tmp_path, dataset, release, split):
    root = request.getfixturevalue(release)
    first = convert_step(dataset, root, split, tmp_path / "first.h5")
    exported = export_step(dataset, first, tmp_path / "exported")
    second = convert_step(dataset, exported, split, tmp_path / "second.h5")
    assert_same_content(first, second)
    # The release's own files come back byte for byte (maps as Pillow writes them, images as
    # stored); MOTChallenge's val, read from train/, comes back in a val/ folder of its own.
    source = "train" if (dataset, split) == ("motchallenge_step", "val") else split
    for kind in ("images", "panoptic_maps"):
        if (root / kind / source).is_dir():
            for seq in sorted(p.name for p in (exported / kind / split).iterdir()):
                same_tree(root / kind / source / seq, exported / kind / split / seq)


def test_export_restores_the_release_ids(kitti, tmp_path):
    """Unified ids are renumbered per video; the PNG gets the release's (R, id) back."""
    first = convert_step("kitti_step", kitti, "val", tmp_path / "first.h5")
    out = export_step("kitti_step", first, tmp_path / "out")
    same_tree(kitti / "panoptic_maps" / "val", out / "panoptic_maps" / "val")


def write_prediction(gt_path, out, transform):
    with VPSFile(gt_path) as gt:
        info = FileInfo.prediction_of(gt.info, gt_path.name, "tests")
        with VPSWriter(out, info, gt.categories) as writer:
            for video in gt:
                with writer.video(video.video_id, video.height, video.width) as pv:
                    for i in video.annotated_indices:
                        pred = transform(video.panoptic(int(i)))
                        pv.add_frame(video.stems[i], int(video.source_frames[i]), pred)
    return out


def test_prediction_export_keeps_every_value(kitti, tmp_path):
    gt = convert_step("kitti_step", kitti, "val", tmp_path / "gt.h5")
    # ids a GT would never hold: 40000 (G = 156), one id for two classes
    pred = write_prediction(gt, tmp_path / "pred.h5", lambda m: np.where(m % 65536, m + 40000, m))
    folder = export_step("kitti_step", pred, tmp_path / "png", gt=gt)
    with VPSFile(gt) as gt_file, VPSFile(pred) as pred_file:
        with open_predictions(folder, gt_file) as source:
            for video in gt_file:
                stems = [video.stems[i] for i in video.annotated_indices]
                got = list(source.video_maps(video.video_id, stems))
                expected = pred_file.video(video.video_id).load_panoptic()
                np.testing.assert_array_equal(np.stack(got), expected)
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png"))
    assert names[0] == "0002/000000.png" and len(names) == 8


def test_cli_export_both_spellings(capsys, kitti, tmp_path):
    gt = convert_step("kitti_step", kitti, "val", tmp_path / "gt.h5")
    assert main(["export", "kitti-step", str(gt), str(tmp_path / "root")]) == 0
    assert (tmp_path / "root/panoptic_maps/val/0006/000003.png").is_file()
    pred = write_prediction(gt, tmp_path / "pred.h5", lambda m: m)
    code = main(["export", "kitti_step", str(pred), str(tmp_path / "png"), "--gt", str(gt)])
    assert code == 0, capsys.readouterr().err
    assert main(["eval", "--gt", str(gt), "--pred", str(tmp_path / "png"), "--metrics", "stq"]) == 0
    assert "STQ     100.0" in capsys.readouterr().out


# Refusals: one line, nothing left behind.


def export_cli(capsys, dataset, file, out, *extra) -> str:
    code = main(["export", dataset, str(file), str(out), *extra])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert not list(out.parent.glob(f".{out.name}.partial-*"))
    return err


def test_refuses_names_the_layout_cannot_carry(capsys, tmp_path):
    toy = write_toy(tmp_path / "toy.h5")  # videos 0001, 0002 with stems 0001_0000, ...
    with VPSFile(toy) as f:
        dataset = f.info.dataset
    err = export_cli(capsys, "kitti_step", toy, tmp_path / "out")
    assert f"is a {dataset} file, not kitti_step" in err and not (tmp_path / "out").exists()
    renamed = tmp_path / "renamed.h5"
    renamed.write_bytes(toy.read_bytes())
    import h5py

    with h5py.File(renamed, "r+") as f:
        f.attrs["dataset"] = "kitti_step"
    err = export_cli(capsys, "kitti_step", renamed, tmp_path / "out")
    assert (
        "frame '0001_0000' (source frame 100): the STEP layout names a frame by its six-digit"
        in err
    )


def test_refuses_an_existing_output_and_cleans_up_a_failure(capsys, kitti, tmp_path):
    gt = convert_step("kitti_step", kitti, "val", tmp_path / "gt.h5")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    err = export_cli(capsys, "kitti_step", gt, tmp_path / "full")
    assert "exists and is not an empty directory" in err
    assert (tmp_path / "full" / "keep.txt").read_text() == "x"
    # A value the PNG cannot hold (instance 70000 with divisor 2^17) fails mid-export.
    wide = tmp_path / "wide.h5"
    with VPSFile(gt) as f:
        info = FileInfo.prediction_of(f.info, gt.name, "tests")
        info.label_divisor = 1 << 17
        with VPSWriter(wide, info, f.categories) as writer:
            for video in f:
                with writer.video(video.video_id, video.height, video.width) as pv:
                    for i in video.annotated_indices:
                        pan = np.full((video.height, video.width), 13 * (1 << 17) + 70000, np.int32)
                        pv.add_frame(video.stems[i], int(video.source_frames[i]), pan)
    err = export_cli(capsys, "kitti_step", wide, tmp_path / "png")
    assert "instance 70000) does not fit a STEP PNG" in err and not (tmp_path / "png").exists()
    with pytest.raises(ConversionError, match="does not fit"):
        export_step("kitti_step", wide, tmp_path / "png")
    assert not (tmp_path / "png").exists()
