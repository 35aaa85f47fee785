"""``vpsbench synth``, ``synth-predict`` and ``demo`` from the command line."""

from __future__ import annotations

import json

from vpsbench.cli import main
from vpsbench.format import VPSFile
from vpsbench.format.validate import validate_file

SMALL = ["--videos", "2", "--frames", "10", "--size", "64", "128"]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> bool:
    """The message is exactly one line (no traceback)."""
    lines = err.strip().splitlines()
    return len(lines) == 1 and "error:" in lines[0] and "Traceback" not in err


def test_synth_writes_val_and_train(capsys, tmp_path):
    val, train = tmp_path / "val.h5", tmp_path / "train.h5"
    code, out, err = run(capsys, "synth", "-o", str(val), "--train-out", str(train), *SMALL)
    assert code == 0, err
    assert "wrote" in out
    for path, split in ((val, "val"), (train, "train")):
        assert validate_file(path) == []
        with VPSFile(path) as f:
            assert f.info.split == split and len(f) == 2
    code, _, err = run(capsys, "synth", "-o", str(val), *SMALL)
    assert code == 2 and "exists (--force replaces it)" in err and one_line_error(err)
    assert "overwrite=True" not in err  # the command line's words, not the library's
    # Both outputs are checked before anything is written.
    new = tmp_path / "new.h5"
    code, _, err = run(capsys, "synth", "-o", str(new), "--train-out", str(train), *SMALL)
    assert code == 2 and f"{train} exists" in err and not new.exists()
    assert run(capsys, "synth", "-o", str(val), "--force", *SMALL)[0] == 0


def test_synth_predict_and_its_errors(capsys, tmp_path):
    gt = tmp_path / "gt.h5"
    assert run(capsys, "synth", "-o", str(gt), *SMALL)[0] == 0
    pred = tmp_path / "pred.h5"
    code, _, err = run(capsys, "synth-predict", str(gt), str(pred), "--noise", "0.3")
    assert code == 0, err
    code, _, err = run(capsys, "synth-predict", str(gt), str(pred), "--noise", "0.3")
    assert code == 2 and "exists" in err and "--force" in err
    code, _, err = run(capsys, "synth-predict", str(gt), str(tmp_path / "x.h5"), "--noise", "2")
    assert code == 2 and err.startswith("vpsbench synth-predict: error: --noise must be in [0, 1]")
    assert one_line_error(err)


def test_demo_scores_three_predictions(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("VPSBENCH_CACHE", str(tmp_path / "cache"))
    argv = ["demo", "--out", str(tmp_path / "demo"), "--videos", "1", "--no-model"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "leaderboard" in out and "noise 0.0" in out and "noise 0.7" in out
    assert "VPSNet" not in out
    # Every metric the demo scores has a column, VC (announced in the title) included.
    header = next(line for line in out.splitlines() if line.startswith("prediction")).split()
    assert {"VPQ", "PQ", "STQ", "VC_2", "VC_4", "VC_6", "IDSW"} <= set(header)
    assert "VC over clips of 2, 4 and 6 annotated frames" in out
    perfect = next(line for line in out.splitlines() if line.startswith("noise 0.0")).split()
    assert set(perfect[2:-1]) == {"100.0"} and perfect[-1] == "0"  # scores, then IDSW
    assert len(perfect) == 2 + 4 + 3 + 1 + 1 + 3 + 1  # name, VPQ per k, VPQ/Th/St, PQ, STQ, VC
    assert (tmp_path / "demo" / "pred_noise0.3" / "report.md").exists()
    # Scored with the GT's own protocol, which the figures then name (not "custom").
    scores = json.loads((tmp_path / "demo" / "pred_noise0.3" / "scores.json").read_text())
    assert scores["protocol"]["name"] == "cityscapes_vps_official"
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "reusing" in out
