"""``--json -`` and ``--csv -``: the data alone on stdout (for a pipe), the table on stderr."""

from __future__ import annotations

import csv
import io
import json

from coco_fixtures import random_case
from conftest import write_toy

from vpsbench.cli import main
from vpsbench.io.coco_panoptic import pq_compute
from vpsbench.report.panopticapi import format_table


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_json_dash_prints_the_summary_alone_and_writes_no_file(capsys, tmp_path, toy_gt,
                                                                   monkeypatch):  # fmt: skip
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    monkeypatch.chdir(tmp_path)
    argv = ["eval", "--gt", str(toy_gt), "--pred", str(pred), "--metrics", "vpq,pq"]
    code, out, err = run(capsys, *argv, "--json", "-", "--report", "rep")
    assert code == 0, err
    data = json.loads(out)  # nothing else on stdout
    assert data["pq"]["all"] == 100.0 and data["per_video"][0]["video_id"] == "0001"
    assert "PQ all" in err and "wrote report to rep/" in err
    assert not (tmp_path / "-").exists()
    code, table, _ = run(capsys, *argv)
    assert err.startswith(table)  # the same table, on the other stream


def test_eval_csv_dash_prints_the_comparison(capsys, tmp_path, toy_gt, monkeypatch):
    write_toy(tmp_path / "A.h5", kind="prediction")
    write_toy(tmp_path / "B.h5", kind="prediction")
    monkeypatch.chdir(tmp_path)
    argv = ["eval", "--gt", str(toy_gt), "--pred", "A.h5", "B.h5", "--metrics", "pq"]
    code, out, err = run(capsys, *argv, "--csv", "-")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["prediction"] for r in rows] == ["A.h5", "B.h5"]
    assert [float(r["pq_all"]) for r in rows] == [100.0, 100.0]
    assert "A.h5" in err and not (tmp_path / "-").exists()
    run(capsys, *argv, "--csv", "t.csv")
    assert (tmp_path / "t.csv").read_text() == out  # the file's text, byte for byte


def test_json_and_csv_cannot_both_be_stdout(capsys, tmp_path, toy_gt):
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    code, out, err = run(capsys, "eval", "--gt", str(toy_gt), "--pred", str(pred),
                         "--json", "-", "--csv", "-")  # fmt: skip
    assert code == 2 and out == ""
    assert (
        err
        == "vpsbench eval: error: --json - and --csv -: only one of them can be printed on stdout\n"
    )


def test_panopticapi_format_json_dash(capsys, tmp_path, toy_gt):
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    code, out, err = run(capsys, "eval", "--gt", str(toy_gt), "--pred", str(pred), "--metrics",
                         "pq", "--format", "panopticapi", "--json", "-")  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert {"All", "Things", "Stuff", "per_class"} <= set(data)
    assert data["All"]["pq"] == 1.0 and "PQ" in err


def test_pq_json_dash(capsys, tmp_path):
    gt_json, gt_dir, pred_json, pred_dir = random_case(3, images=3).write(tmp_path)
    code, out, err = run(capsys, "pq", "--gt-json", str(gt_json), "--gt-folder", str(gt_dir),
                         "--pred-json", str(pred_json), "--pred-folder", str(pred_dir),
                         "--json", "-", "--workers", "1")  # fmt: skip
    assert code == 0, err
    want = pq_compute(gt_json, pred_json, gt_dir, pred_dir)
    assert json.loads(out) == json.loads(json.dumps(want))
    assert err == f"{format_table(want)}\n"
