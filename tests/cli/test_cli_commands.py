"""The command line: exit codes, one-line errors, help texts, validate and info."""

from __future__ import annotations

import json
import shutil

import h5py
import pytest
from conftest import write_toy

from vpsbench.cli import build_parser, main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def subcommands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return sorted(action.choices)


@pytest.mark.parametrize("command", subcommands())
def test_every_subcommand_explains_itself_with_an_example(capsys, command):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "example:" in out and f"vpsbench {command}" in out


def test_validate_valid_file(capsys, toy_gt):
    code, out, _ = run(capsys, "validate", str(toy_gt))
    assert code == 0 and "valid" in out


def test_validate_reports_each_problem_and_exits_1(capsys, toy_gt):
    with h5py.File(toy_gt, "r+") as f:
        f["videos/0001/panoptic"][0, 0, 0] = 7000
        f["videos/0002/panoptic"][1, 0, 0] = 10004
    code, out, _ = run(capsys, "validate", str(toy_gt))
    assert code == 1
    assert "/videos/0001/panoptic[0]: [label_category]" in out
    assert "/videos/0002/panoptic[1]: [stuff_instance]" in out
    assert "INVALID (2 problems)" in out


def test_validate_unreadable_file_exits_2(capsys, tmp_path):
    (tmp_path / "x.h5").write_text("garbage")
    code, _, err = run(capsys, "validate", str(tmp_path / "x.h5"))
    assert code == 2 and "cannot be read as HDF5" in err


def test_validate_pair(capsys, tmp_path, toy_gt):
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    code, out, _ = run(capsys, "validate", str(toy_gt), str(pred))
    assert code == 1 and "[pair_content]" in out


def test_missing_file_is_one_line_exit_2(capsys, tmp_path):
    code, out, err = run(capsys, "info", str(tmp_path / "nope.h5"))
    assert code == 2 and out == ""
    assert err.splitlines()[0] == f"vpsbench info: error: {tmp_path / 'nope.h5'}: no such file"


def test_debug_shows_traceback(capsys, tmp_path):
    code, _, err = run(capsys, "--debug", "info", str(tmp_path / "nope.h5"))
    assert code == 2 and "Traceback" in err


def test_info_text_and_json(capsys, toy_gt):
    code, out, _ = run(capsys, "info", str(toy_gt))
    assert code == 0
    assert "groundtruth of toy/val" in out and "videos 2, frames 12 (6 annotated)" in out
    assert "k=[0, 5, 10, 15]" in out
    code, out, _ = run(capsys, "info", str(toy_gt), "--json")
    summary = json.loads(out)
    assert summary["videos"] == 2 and summary["annotated_frames"] == 6
    assert summary["thing_categories"] == ["person", "car"]
    assert summary["bytes_panoptic"] > 0 and summary["bytes_images"] > 0


def test_validate_counts_problems_in_words_and_names_each_file_once(capsys, tmp_path, toy_gt):
    with h5py.File(toy_gt, "r+") as f:
        f["videos/0001/panoptic"][0, 0, 0] = 7000
    code, out, _ = run(capsys, "validate", str(toy_gt))
    assert code == 1 and out.splitlines()[-1] == "toy_gt.h5: INVALID (1 problem)"
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    code, out, _ = run(capsys, "validate", str(pred), str(write_toy(tmp_path / "gt2.h5")))
    assert code == 1
    assert out.splitlines() == [
        "pred.h5:/: [pair] the first file must be ground truth, this is a prediction file",
        "gt2.h5:/: [pair] the second file must be a prediction, this is a groundtruth file",
        "pred.h5 + gt2.h5: INVALID (2 problems)",
    ]


def test_info_counts_the_image_bytes(capsys, toy_gt):
    with h5py.File(toy_gt, "r") as f:
        images = sum(len(f[f"videos/{v}/images"][i]) for v in ("0001", "0002") for i in range(6))
    code, out, _ = run(capsys, "info", str(toy_gt), "--json")
    assert code == 0 and json.loads(out)["bytes_images"] == images


@pytest.fixture(scope="module")
def small_submission(tmp_path_factory):
    """A small synthetic GT and the official-layout submission of a noisy prediction of it."""
    from vpsbench.format import VPSFile
    from vpsbench.io.submission import write_submission
    from vpsbench.synth import SynthConfig, generate, synth_predict

    folder = tmp_path_factory.mktemp("submission")
    gt = generate(folder / "gt.h5", SynthConfig(2, 10, 64, 128, seed=0, with_images=False))
    pred = synth_predict(gt, folder / "pred.h5", noise=0.3)
    with VPSFile(pred) as p, VPSFile(gt) as g:
        write_submission(p, g, folder / "sub")
    return gt, folder / "sub"


def test_validate_a_submission_reads_it_as_eval_does(capsys, tmp_path, small_submission):
    gt, sub = small_submission
    code, out, _ = run(capsys, "validate", str(gt), str(sub))
    assert code == 0 and out.splitlines()[-1] == "gt.h5 + sub: valid"
    zipped = shutil.make_archive(str(tmp_path / "sub"), "zip", sub)
    code, out, _ = run(capsys, "validate", str(gt), zipped, "--workers", "2")
    assert code == 0 and out.splitlines()[-1] == "gt.h5 + sub.zip: valid"


def test_validate_a_submission_names_what_stops_eval(capsys, tmp_path, small_submission):
    gt, sub = small_submission
    broken = shutil.copytree(sub, tmp_path / "broken")
    first, second = sorted((broken / "pan_pred").glob("*.png"))[:2]
    first.unlink()
    code, out, _ = run(capsys, "validate", str(gt), str(broken))
    assert code == 1
    assert out.splitlines() == [
        f"broken: 1 GT frame missing from pan_pred: {first.stem}",
        "gt.h5 + broken: INVALID (1 problem)",
    ]
    shutil.copy(sub / "pan_pred" / first.name, first)
    second.write_bytes(second.read_bytes()[:200])  # truncated: cannot be decoded
    code, out, _ = run(capsys, "validate", str(gt), str(broken))
    assert code == 1 and f"pan_pred/{second.name} cannot be decoded as PNG" in out
    code, _, err = run(capsys, "validate", str(gt), str(tmp_path / "none"))
    assert code == 2 and "none: no such file or directory" in err


def test_info_on_a_folder_points_to_validate(capsys, tmp_path):
    code, _, err = run(capsys, "info", str(tmp_path))
    assert code == 2
    assert err.strip() == (
        f"vpsbench info: error: {tmp_path} is a folder; info summarises a unified .h5 file (a "
        f"submission is checked with: vpsbench validate GT.h5 {tmp_path})"
    )
    archive = shutil.make_archive(str(tmp_path / "sub"), "zip", tmp_path)
    code, _, err = run(capsys, "info", archive)
    assert code == 2 and f"{archive} is a zip archive; info summarises" in err
