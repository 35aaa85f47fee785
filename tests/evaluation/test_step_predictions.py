"""STEP prediction directories (``PRED/SSSS/FFFFFF.png``) scored by ``vpsbench eval``: the
contract (one-line refusals, nothing written), exact agreement with unified prediction files, and
a hand-computed STQ."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from step_fixtures import KITTI, save_image, save_panoptic_map, write_kitti_step, write_rgb16

import vpsbench
from vpsbench.cli import main
from vpsbench.evaluation import EvaluationError
from vpsbench.format import FileInfo, VPSFile, VPSWriter
from vpsbench_converters.step import convert_step
from vpsbench_converters.step_export import export_step

D = 1 << 16


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("kitti_step")
    write_kitti_step(root)
    gt = convert_step("kitti_step", root, "val", tmp_path_factory.mktemp("gt") / "val.h5")
    return root, gt


def copy_maps(release, tmp_path) -> Path:
    """The GT's own panoptic_maps/val/ as a prediction directory (a perfect prediction)."""
    root, _ = release
    pred = tmp_path / "pred"
    shutil.copytree(root / "panoptic_maps" / "val", pred)
    return pred


def write_prediction(gt_path: Path, out: Path, transform) -> Path:
    """A unified prediction file whose maps are ``transform(video_id, row, gt_map)``."""
    with VPSFile(gt_path) as gt:
        info = FileInfo.prediction_of(gt.info, gt_path.name, "tests")
        with VPSWriter(out, info, gt.categories) as writer:
            for video in gt:
                with writer.video(video.video_id, video.height, video.width) as pv:
                    for row, i in enumerate(video.annotated_indices):
                        pred = transform(video.video_id, row, video.panoptic(int(i)))
                        pv.add_frame(video.stems[i], int(video.source_frames[i]), pred)
    return out


def switch_and_shift(video_id: str, row: int, gt: np.ndarray) -> np.ndarray:
    """Car 1's pixels get id 9 from the third frame, persons shift one pixel right; some void
    is predicted as car, some sky as void."""
    pred = gt.copy()
    if row >= 2:
        pred[gt == KITTI["car"] * D + 2] = KITTI["car"] * D + 9
    person = gt // D == KITTI["person"]
    pred[np.roll(person, 1, axis=1) & ~person] = pred[person][0]
    left = np.arange(gt.shape[1])[None, :] < 5
    pred[(gt == 255 * D) & left] = KITTI["car"] * D + 9
    pred[0, :3] = 255 * D
    return pred


def scores(result) -> dict:
    data = result.to_dict()
    data.pop("inputs")
    return data


def test_perfect_prediction_directory_scores_100(release, tmp_path):
    _, gt = release
    result = vpsbench.evaluate(gt, copy_maps(release, tmp_path))
    summary = result.summary
    assert summary["stq"]["stq"] == summary["stq"]["aq"] == summary["stq"]["sq"] == 100.0
    assert summary["pq"]["all"] == 100.0
    assert summary["inputs"]["pred_format"] == "step-png-directory"


def test_eval_converts_a_step_root_on_the_fly(capsys, release, tmp_path):
    root, _ = release
    pred = copy_maps(release, tmp_path)
    out = tmp_path / "scores.json"
    argv = ["eval", "--gt", str(root), "--split", "val", "--pred", str(pred), "--json", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    data = json.loads(out.read_text())
    assert data["inputs"]["dataset"] == "kitti_step" and data["protocol"]["name"] == "step_official"
    assert data["stq"]["stq"] == 100.0


def test_directory_scores_exactly_as_the_unified_file(release, tmp_path):
    _, gt = release
    h5 = write_prediction(gt, tmp_path / "pred.h5", switch_and_shift)
    folder = export_step("kitti_step", h5, tmp_path / "png", gt=gt)
    reference = vpsbench.evaluate(gt, h5)
    assert reference.summary["stq"]["aq"] < 100.0
    from_folder = vpsbench.evaluate(gt, folder)
    assert scores(from_folder) == scores(reference)
    assert scores(vpsbench.evaluate(gt, folder, workers=2)) == scores(reference)


def write_tiny_release(root: Path) -> None:
    """One 1x5 sequence of two frames: car 1, car 1, sky, road, void (drawn as the release)."""
    gt_sem = np.array([[13, 13, 10, 0, 255]])
    gt_id = np.array([[1, 1, 0, 0, 0]])
    for frame in range(2):
        save_panoptic_map(root / f"panoptic_maps/val/0002/{frame:06d}.png", gt_sem, gt_id)
        save_image(root / f"images/val/0002/{frame:06d}.png", np.zeros((1, 5, 3), np.uint8))


def test_hand_computed_stq(tmp_path):
    write_tiny_release(tmp_path / "root")
    gt = convert_step("kitti_step", tmp_path / "root", "val", tmp_path / "gt.h5")
    pred = tmp_path / "pred"
    # frame 0 exact; frame 1: the car is track 2, road predicted as sky, void predicted as car 2
    save_panoptic_map(pred / "0002/000000.png", np.array([[13, 13, 10, 0, 255]]),
                      np.array([[1, 1, 0, 0, 0]]))  # fmt: skip
    save_panoptic_map(pred / "0002/000001.png", np.array([[13, 13, 10, 10, 13]]),
                      np.array([[2, 2, 0, 0, 2]]))  # fmt: skip
    stq = vpsbench.evaluate(gt, pred, metrics="stq").summary["stq"]
    # AQ: GT track |g| = 4; pred 1: TPA 2, |p| 2 -> IoU 2/4; pred 2: TPA 2, |p| 3 (the void pixel
    # counts, deeplab2 quirk) -> IoU 2/5. AQ = (2 * 1/2 + 2 * 2/5) / 4 = 0.45.
    assert stq["aq"] == pytest.approx(45.0)
    # SQ: car 4/4, sky 2/3, road 1/2 (the void row is zeroed): mean 13/18.
    assert stq["sq"] == pytest.approx(100 * 13 / 18)
    assert stq["stq"] == pytest.approx(100 * math.sqrt(0.45 * 13 / 18))
    assert stq["num_gt_tracks"] == 1 and stq["num_classes"] == 3


# The contract: one line, exit 2, nothing written.


def eval_cli(capsys, gt, pred, tmp_path, *extra) -> str:
    out = tmp_path / "scores.json"
    code = main(["eval", "--gt", str(gt), "--pred", str(pred), "--json", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("vpsbench eval: error:"), err
    assert not out.exists()
    return err


FRAME = "0002/000001.png"


def test_refuses_a_missing_frame(capsys, release, tmp_path):
    pred = copy_maps(release, tmp_path)
    (pred / FRAME).unlink()
    err = eval_cli(capsys, release[1], pred, tmp_path)
    assert (
        "exactly the annotated GT frames" in err
        and "1 GT frame without a PNG: 0002/000001.png" in err
    )


@pytest.mark.parametrize(
    "extra", ["0002/000099.png", "0002/notes.txt", "readme.md", "0099/000000.png"]
)
def test_refuses_files_that_are_not_gt_frames(capsys, release, tmp_path, extra):
    pred = copy_maps(release, tmp_path)
    (pred / extra).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(pred / FRAME, pred / extra)
    err = eval_cli(capsys, release[1], pred, tmp_path)
    assert f"1 file not among the GT frames: {extra}" in err


def test_refuses_links(capsys, release, tmp_path):
    pred = copy_maps(release, tmp_path)
    (pred / FRAME).unlink()
    os.symlink(pred / "0002/000000.png", pred / FRAME)
    err = eval_cli(capsys, release[1], pred, tmp_path)
    assert "0002/000001.png is a symbolic link" in err


@pytest.mark.parametrize(
    ("mode", "kind"),
    [("RGBA", "8-bit RGBA"), ("P", "8-bit palette"), ("L", "8-bit grey"), ("1", "1-bit grey")],
)
def test_refuses_png_modes_other_than_8bit_rgb(capsys, release, tmp_path, mode, kind):
    pred = copy_maps(release, tmp_path)
    Image.open(pred / FRAME).convert(mode).save(pred / FRAME)
    err = eval_cli(capsys, release[1], pred, tmp_path)
    assert f"{FRAME} is a {kind} PNG; a STEP panoptic map is an 8-bit RGB PNG" in err


def test_refuses_sixteen_bit_rgb(capsys, release, tmp_path):
    pred = copy_maps(release, tmp_path)
    write_rgb16(pred / FRAME, np.zeros((12, 32, 3), ">u2"))
    err = eval_cli(capsys, release[1], pred, tmp_path)
    assert f"{FRAME} is a 16-bit RGB PNG" in err


def test_refuses_another_size_and_other_formats(capsys, release, tmp_path):
    pred = copy_maps(release, tmp_path)
    Image.fromarray(np.zeros((12, 33, 3), np.uint8)).save(pred / FRAME)
    assert f"{FRAME} is 33x12, the GT frame is 32x12" in eval_cli(
        capsys, release[1], pred, tmp_path
    )
    Image.fromarray(np.zeros((12, 32, 3), np.uint8)).save(pred / FRAME, format="JPEG")
    assert f"{FRAME} is not a PNG file (JPEG data)" in eval_cli(capsys, release[1], pred, tmp_path)


def test_refuses_a_truncated_png(capsys, release, tmp_path):
    pred = copy_maps(release, tmp_path)
    (pred / FRAME).write_bytes((pred / FRAME).read_bytes()[:-30])
    err = eval_cli(capsys, release[1], pred, tmp_path)
    assert f"pred/{FRAME} cannot be decoded as PNG" in err


@pytest.mark.parametrize(
    ("pixel", "message"),
    [
        ((19, 0, 0), "R = 19 is neither a class (0-18) nor void (255)"),
        ((255, 0, 7), "void pixels (R = 255) carry instance id 7"),
        ((10, 1, 0), "class 10 carries instance id 256, but only the tracked classes [11, 13]"),
    ],
)
def test_refuses_values_outside_the_encoding(capsys, release, tmp_path, pixel, message):
    pred = copy_maps(release, tmp_path)
    rgb = np.asarray(Image.open(pred / FRAME)).copy()
    rgb[0, 0] = pixel
    Image.fromarray(rgb).save(pred / FRAME)
    err = eval_cli(capsys, release[1], pred, tmp_path)
    assert f"pred/{FRAME}: {message}" in err


def test_size_limits(capsys, release, tmp_path):
    pred = copy_maps(release, tmp_path)
    gt = release[1]
    assert "more than 5 files (--max-files)" in eval_cli(
        capsys, gt, pred, tmp_path, "--max-files", "5"
    )
    err = eval_cli(capsys, gt, pred, tmp_path, "--max-size-mb", "0.001")
    assert "holds more than 1.00 kB (--max-size-mb)" in err
    err = eval_cli(capsys, gt, pred, tmp_path, "--max-pixels", "100")
    assert "declares 32x12 = 384 pixels, which exceeds limit 100" in err


def test_a_thing_with_instance_zero_is_a_normal_track(release, tmp_path):
    """Only GT id 0 is crowd (deeplab2): a prediction may use id 0 for a tracked class."""
    pred = copy_maps(release, tmp_path)
    for path in sorted(pred.rglob("*.png")):
        rgb = np.asarray(Image.open(path)).copy()
        rgb[rgb[..., 0] == KITTI["car"], 1:] = 0
        Image.fromarray(rgb).save(path)
    stq = vpsbench.evaluate(release[1], pred, metrics="stq").summary["stq"]
    assert stq["sq"] == 100.0 and 0 < stq["aq"] < 100.0


def test_instance_ids_beyond_a_smaller_divisor_are_refused(tmp_path):
    """Another dataset's GT (divisor 1000) cannot hold instance ids >= 1000 of a STEP PNG."""
    from conftest import write_toy

    gt = write_toy(tmp_path / "toy.h5")
    pred = tmp_path / "pred"
    with VPSFile(gt) as f:
        for video in f:
            for i in video.annotated_indices:
                pan = video.panoptic(int(i))
                ident = pan % 1000
                ident[pan // 1000 == 13] = 1500
                save_panoptic_map(
                    pred / video.video_id / f"{video.stems[i]}.png", pan // 1000, ident
                )
    with pytest.raises(
        EvaluationError, match="instance id 1500 does not fit the GT's label divisor 1000"
    ):
        vpsbench.evaluate(gt, pred, metrics="stq")
