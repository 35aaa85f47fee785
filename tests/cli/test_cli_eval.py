"""``vpsbench eval``: table on stdout, JSON and report files, protocol overrides, errors."""

from __future__ import annotations

import json

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
