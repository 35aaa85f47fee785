"""``vpsbench eval``: table on stdout, JSON and report files, protocol overrides, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import write_toy

from vpsbench.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_prints_table_and_writes_json_and_report(capsys, tmp_path, toy_gt):
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    report = tmp_path / "report"
    code, out, err = run(
        capsys, "eval", "--gt", str(toy_gt), "--pred", str(pred), "--metrics", "vpq,pq",
        "--json", str(tmp_path / "s.json"), "--report", str(report),
    )  # fmt: skip
    assert code == 0, err
    assert "VPQ" in out and "k=0" in out and "PQ all" in out
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["pq"]["all"] == 100.0
    names = {p.name for p in report.iterdir()}
    assert {"scores.json", "report.md", "per_class.csv", "per_video.csv", "vpq_vs_k.png"} <= names


def test_eval_window_override(capsys, tmp_path, toy_gt):
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    code, _, err = run(
        capsys, "eval", "--gt", str(toy_gt), "--pred", str(pred), "--metrics", "vpq",
        "--windows", "1", "2", "--json", str(tmp_path / "s.json"),
    )  # fmt: skip
    assert code == 0, err
    data = json.loads((tmp_path / "s.json").read_text())
    assert set(data["vpq"]["k"]) == {"0", "5"}
    assert data["vpq"]["all"] == 100.0
    assert data["protocol"]["vpq_window_sizes"] == [1, 2]


def test_eval_errors_are_one_line_exit_2(capsys, tmp_path, toy_gt):
    code, _, err = run(capsys, "eval", "--gt", str(toy_gt), "--pred", str(tmp_path / "no"))
    assert code == 2
    assert err.startswith("vpsbench eval: error: ") and "no such file" in err
    assert "Traceback" not in err
    bad_sub = tmp_path / "sub"
    bad_sub.mkdir()
    (bad_sub / "pred.json").write_text("{not json")
    code, _, err = run(capsys, "eval", "--gt", str(toy_gt), "--pred", str(bad_sub))
    assert code == 2 and "not valid JSON" in err


def test_eval_refuses_an_existing_report_without_force_and_replaces_it_whole(
    capsys, tmp_path, toy_gt
):
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    report = tmp_path / "report"
    argv = ["eval", "--gt", str(toy_gt), "--pred", str(pred), "--report", str(report)]
    assert run(capsys, *argv, "--metrics", "vpq,pq,stq")[0] == 0
    assert (report / "stq_per_video.png").is_file()
    code, out, err = run(capsys, *argv, "--metrics", "pq")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"vpsbench eval: error: --report {report}: exists and is not empty (--force replaces it)"
    ]
    code, _, err = run(capsys, *argv, "--metrics", "pq", "--force")
    assert code == 0, err
    # The earlier report's plots are gone: the folder is the new report, whole.
    assert sorted(p.name for p in report.iterdir()) == [
        "per_class.csv", "per_video.csv", "report.md", "scores.json"
    ]  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.h5", "report", "toy_gt.h5"]


def test_eval_force_never_replaces_a_folder_that_is_not_a_report(capsys, tmp_path, toy_gt):
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    argv = ["eval", "--gt", str(toy_gt), "--pred", str(pred), "--report", str(precious)]
    code, _, err = run(capsys, *argv, "--force")
    assert code == 2 and "holds no vpsbench report" in err
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_eval_checks_output_paths_before_scoring(capsys, tmp_path, toy_gt, monkeypatch):
    import vpsbench.evaluation

    def no_scoring(*args, **kwargs):
        raise AssertionError("scored before the output paths were checked")

    monkeypatch.setattr(vpsbench.evaluation, "evaluate", no_scoring)
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    base = ["eval", "--gt", str(toy_gt), "--pred", str(pred)]
    (tmp_path / "file").write_text("x")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    cases = {
        "--json": [(tmp_path / "no" / "s.json", "no directory"), (tmp_path, "is a directory")],
        "--report": [(tmp_path / "file", "is a file")],
    }
    if os.geteuid() != 0:  # root writes anywhere
        cases["--json"].append((locked / "s.json", "cannot write in"))
        cases["--report"].append((locked / "report", "cannot write in"))
    for flag, paths in cases.items():
        for path, why in paths:
            code, out, err = run(capsys, *base, flag, str(path))
            assert code == 2 and out == "", (flag, path)
            assert len(err.splitlines()) == 1 and why in err, err


def test_eval_writes_its_files_before_a_closed_stdout_stops_it(tmp_path, toy_gt):
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    report, scores = tmp_path / "report", tmp_path / "s.json"
    command = (
        f"{sys.executable} -m vpsbench eval --gt {toy_gt} --pred {pred} --metrics pq "
        f"--json {scores} --report {report} | head -1"
    )
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "metric     value"
    assert json.loads(scores.read_text())["pq"]["all"] == 100.0
    assert (report / "scores.json").is_file()


def test_eval_per_video_prints_one_row_per_video(capsys, tmp_path, toy_gt):
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    argv = ["eval", "--gt", str(toy_gt), "--pred", str(pred), "--metrics", "pq,stq,idsw"]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "0001" not in out
    code, out, _ = run(capsys, *argv, "--per-video")
    assert code == 0
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("video"))
    assert header.split() == ["video", "PQ", "all", "STQ", "IDSW"]
    rows = [line.split() for line in lines if line.startswith(("0001", "0002"))]
    assert rows == [["0001", "100.0", "100.0", "0"], ["0002", "100.0", "100.0", "0"]]


def test_eval_converts_a_viper_root_with_the_converter_options(capsys, tmp_path):
    from viper_fixtures import write_viper_tree

    from vpsbench.synth import synth_predict

    root = tmp_path / "viper"
    write_viper_tree(root)
    gt = tmp_path / "viper_val.h5"
    options = ["--sequences", "2", "--frames-per-video", "2", "--stride", "2"]
    code = main(["convert", "viper", str(root), "--split", "val", "-o", str(gt), *options])
    assert code == 0, capsys.readouterr().err
    pred = tmp_path / "pred.h5"
    synth_predict(gt, pred, noise=0.0)  # a perfect prediction of the file converted by hand
    scores = tmp_path / "s.json"
    argv = ["eval", "--gt", str(root), "--split", "val", "--pred", str(pred), "--metrics", "pq"]
    code, _, err = run(capsys, *argv, *options, "--json", str(scores))
    assert code == 0, err
    data = json.loads(scores.read_text())
    assert data["pq"]["all"] == 100.0 and data["inputs"]["videos"] == 2
    code, _, err = run(capsys, *argv)  # without them the root has other videos
    assert code == 2 and "does not fit the GT" in err
    code, _, err = run(capsys, *argv, "--labels", "raw")
    assert code == 2
    assert "--labels: not an option of the VIPER converter" in err
    code, _, err = run(capsys, "eval", "--gt", str(gt), "--pred", str(pred), "--stride", "2")
    assert code == 2 and "--stride: only for a dataset root (--gt ROOT --split S)" in err
