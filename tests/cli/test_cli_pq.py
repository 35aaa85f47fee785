"""``vpsbench pq`` (COCO-panoptic image PQ) and ``vpsbench eval --format panopticapi``."""

from __future__ import annotations

import json

import pytest
from coco_fixtures import export_unified, random_case

from vpsbench.cli import main
from vpsbench.io.coco_panoptic import pq_compute
from vpsbench.report.panopticapi import format_table
from vpsbench.synth import SynthConfig, generate, synth_predict


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def as_json(results: dict) -> dict:
    """What json.dump makes of a result (category ids become strings)."""
    return json.loads(json.dumps(results))


def assert_close(got, want, tol=1e-12):
    if isinstance(want, dict):
        assert list(got) == list(want)
        for key in want:
            assert_close(got[key], want[key], tol)
    elif want is None or isinstance(want, int):
        assert got == want
    else:
        assert got == pytest.approx(want, abs=tol, rel=0)


def test_pq_prints_panopticapis_table_and_writes_its_result(capsys, tmp_path):
    gt_json, gt_dir, pred_json, pred_dir = random_case(3, images=3).write(tmp_path)
    out_json = tmp_path / "pq.json"
    code, out, err = run(
        capsys, "pq", "--gt-json", str(gt_json), "--gt-folder", str(gt_dir),
        "--pred-json", str(pred_json), "--pred-folder", str(pred_dir), "--json", str(out_json),
        "--workers", "1",
    )  # fmt: skip
    assert code == 0, err
    want = pq_compute(gt_json, pred_json, gt_dir, pred_dir)
    assert json.loads(out_json.read_text()) == as_json(want)
    assert out == f"{format_table(want)}\nwrote {out_json}\n"
    lines = out.splitlines()
    assert lines[0] == "          |    PQ     SQ     RQ     N"
    assert [line.split("|")[0].strip() for line in lines[2:5]] == ["All", "Things", "Stuff"]


def test_pq_folders_default_to_the_json_paths_and_workers_agree(capsys, tmp_path):
    gt_json, gt_dir, pred_json, pred_dir = random_case(11, quirks=True, images=5).write(tmp_path)
    code, _, err = run(capsys, "pq", "--gt-json", str(gt_json), "--pred-json", str(pred_json),
                       "--workers", "2", "--json", str(tmp_path / "a.json"))  # fmt: skip
    assert code == 0, err
    assert json.loads((tmp_path / "a.json").read_text()) == as_json(
        pq_compute(gt_json, pred_json, gt_dir, pred_dir)
    )


def test_pq_errors_are_one_line_exit_2(capsys, tmp_path):
    gt_json, _, pred_json, pred_dir = random_case(5, images=2).write(tmp_path)
    first = json.loads(pred_json.read_text())["annotations"][0]["file_name"]
    (pred_dir / first).unlink()
    code, out, err = run(capsys, "pq", "--gt-json", str(gt_json), "--pred-json", str(pred_json),
                         "--json", str(tmp_path / "a.json"))  # fmt: skip
    assert code == 2 and out == ""
    assert err.startswith("vpsbench pq: error: image ") and "does not exist" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "a.json").exists()
    code, _, err = run(capsys, "pq", "--gt-json", str(gt_json), "--pred-json", str(pred_json),
                       "--json", str(tmp_path / "no" / "a.json"))  # fmt: skip
    assert code == 2 and "--json" in err and "no directory" in err


@pytest.fixture
def synth_pair(tmp_path):
    gt = generate(tmp_path / "gt.h5", SynthConfig(2, 10, 48, 96, seed=4, with_images=False))
    return gt, synth_predict(gt, tmp_path / "pred.h5", noise=0.4, seed=3)


def test_eval_format_panopticapi_equals_pq_on_the_frames_in_coco_layout(
    capsys, tmp_path, synth_pair
):
    gt, pred = synth_pair
    code, out, err = run(
        capsys, "eval", "--gt", str(gt), "--pred", str(pred), "--metrics", "pq",
        "--format", "panopticapi", "--json", str(tmp_path / "eval.json"), "--workers", "1",
    )  # fmt: skip
    assert code == 0, err
    from_eval = json.loads((tmp_path / "eval.json").read_text())
    assert out.startswith("          |    PQ     SQ     RQ     N\n")

    coco = tmp_path / "coco"
    export_unified(gt, coco / "gt.json", coco / "gt", with_categories=True)
    export_unified(pred, coco / "pred.json", coco / "pred", with_categories=False)
    from_coco = as_json(pq_compute(coco / "gt.json", coco / "pred.json"))
    assert from_coco["All"]["n"] > 3 and 0 < from_coco["All"]["pq"] < 1
    assert_close(from_eval, from_coco)
    assert out.splitlines()[:5] == format_table(from_coco).splitlines()

    code, _, err = run(capsys, "eval", "--gt", str(gt), "--pred", str(pred), "--metrics", "pq",
                       "--json", str(tmp_path / "vpsbench.json"))  # fmt: skip
    assert code == 0, err
    ours = json.loads((tmp_path / "vpsbench.json").read_text())["pq"]["groups"]
    for name, group in (("All", "all"), ("Things", "things"), ("Stuff", "stuff")):
        assert from_eval[name]["pq"] == pytest.approx(ours[group]["pq"] / 100, abs=1e-12)
        assert from_eval[name]["n"] == ours[group]["n"]


def test_eval_format_panopticapi_needs_the_pq_metric(capsys, tmp_path, synth_pair):
    gt, pred = synth_pair
    code, out, err = run(capsys, "eval", "--gt", str(gt), "--pred", str(pred),
                         "--metrics", "vpq,stq", "--format", "panopticapi")  # fmt: skip
    assert code == 2 and out == ""
    assert "--format panopticapi reports image PQ" in err and "add pq" in err
    code, out, err = run(capsys, "eval", "--gt", str(gt), "--pred", str(pred), str(gt),
                         "--metrics", "pq", "--format", "panopticapi")  # fmt: skip
    assert code == 2 and out == "" and "takes one prediction, 2 are given" in err
