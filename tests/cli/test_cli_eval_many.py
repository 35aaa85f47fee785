"""``vpsbench eval --pred A B C``: one comparison table, per-prediction outputs, refusals."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import write_toy

from vpsbench.cli import main
from vpsbench.format import VPSFile, VPSWriter
from vpsbench.format.schema import FileInfo, GroundTruthRef
from vpsbench.io.submission import write_submission

METRICS = "vpq,pq,stq,idsw"


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write_shifted(gt_path: Path, out: Path) -> Path:
    """A prediction that moves the car one pixel down in every frame."""
    with VPSFile(gt_path) as gt:
        info = FileInfo(kind="prediction", dataset=gt.info.dataset, split=gt.info.split)
        info.predicts = GroundTruthRef("toy", "val", gt_path.name, gt.info.content_id)
        with VPSWriter(out, info, gt.categories) as writer:
            for video in gt:
                with writer.video(video.video_id, video.height, video.width) as pv:
                    for i in video.annotated_indices:
                        pred = video.panoptic(int(i)).copy()
                        car = pred // 1000 == 13
                        pred[car] = 0
                        pred[np.roll(car, 1, axis=0)] = 13_001
                        pv.add_frame(video.stems[i], int(video.source_frames[i]), pred)
    return out


@pytest.fixture
def preds(tmp_path, toy_gt, monkeypatch) -> list[str]:
    """A.h5 (perfect), B.h5 (car shifted) and C/ (B as a submission), named relative to the
    working directory, as a user types them."""
    write_toy(tmp_path / "A.h5", kind="prediction")
    write_shifted(toy_gt, tmp_path / "B.h5")
    with VPSFile(toy_gt) as gt, VPSFile(tmp_path / "B.h5") as pred:
        write_submission(pred, gt, tmp_path / "C")
    monkeypatch.chdir(tmp_path)
    return ["A.h5", "B.h5", "C/"]


def eval_argv(toy_gt, preds, *more):
    return ["eval", "--gt", str(toy_gt), "--pred", *preds, "--metrics", METRICS, *more]


def test_one_table_with_a_row_per_prediction(capsys, toy_gt, preds):
    code, out, err = run(capsys, *eval_argv(toy_gt, preds, "--json-dir", "scores"))
    assert code == 0, err
    lines = out.splitlines()
    header = lines[0].split()
    assert header[:4] == ["prediction", "VPQ", "Th", "St"]
    assert {"STQ", "AQ", "SQ", "MOTSA", "IDSW", "Frag"} <= set(header)
    assert "things" in lines[0]  # "PQ things", a headline field of pq
    rows = {line.split()[0]: line.split()[1:] for line in lines[1:4]}
    assert list(rows) == preds  # named by the path as given, in the order given
    # The cells are the scores of each prediction's own JSON.
    labels = lines[0].split("  ")
    labels = [label.strip() for label in labels if label.strip()]
    for pred, name in zip(preds, ("A", "B", "C"), strict=True):
        data = json.loads(Path("scores", f"{name}.json").read_text())
        cells = dict(zip(labels[1:], rows[pred], strict=True))
        assert cells["STQ"] == f"{data['stq']['stq']:.1f}"
        assert cells["PQ all"] == f"{data['pq']['all']:.1f}"
        assert cells["IDSW"] == str(data["idsw"]["idsw"])
    assert rows["A.h5"][rows["A.h5"].index("100.0")] == "100.0"
    assert rows["B.h5"] == rows["C/"]  # the same prediction, as a file and as a submission
    assert rows["A.h5"] != rows["B.h5"]
    assert "wrote scores/A.json" in out and "wrote scores/C.json" in out


def test_report_dir_holds_one_report_per_prediction_and_the_comparison(capsys, toy_gt, preds):
    code, out, err = run(capsys, *eval_argv(toy_gt, preds, "--report", "out", "--csv", "t.csv"))
    assert code == 0, err
    assert sorted(p.name for p in Path("out").iterdir()) == [
        "A", "B", "C", "comparison.csv", "comparison.md"
    ]  # fmt: skip
    for name, pred in zip(("A", "B", "C"), preds, strict=True):
        assert {"scores.json", "report.md", "per_class.csv"} <= {
            p.name for p in Path("out", name).iterdir()
        }
        summary = json.loads(Path("out", name, "scores.json").read_text())
        assert summary["inputs"]["pred"] == str(Path(pred))
    with open("t.csv") as f:
        table = list(csv.DictReader(f))
    assert [row["prediction"] for row in table] == preds
    assert Path("t.csv").read_text() == Path("out/comparison.csv").read_text()
    b = json.loads(Path("out/B/scores.json").read_text())
    assert b["vpq"]["all"] is None and table[1]["vpq_all"] == ""  # no window of 4 frames
    assert float(table[1]["pq_things"]) == b["pq"]["things"] < 100
    assert float(table[1]["stq_aq"]) == b["stq"]["aq"]  # unrounded
    assert table[1]["idsw"] == str(b["idsw"]["idsw"])  # a count stays an integer
    assert table[2]["pred_format"] == "cityscapes-vps-submission"
    markdown = Path("out/comparison.md").read_text()
    assert "| `C/` |" in markdown and "| prediction | VPQ |" in markdown
    assert "wrote report to out/B/ (" in out and "wrote out/comparison.csv" in out


def test_report_folders_follow_the_one_report_rules(capsys, toy_gt, preds):
    argv = eval_argv(toy_gt, preds[:2], "--report", "out")
    assert run(capsys, *argv)[0] == 0
    Path("out/old").mkdir()  # another run's folder is left alone
    (Path("out/A") / "extra.txt").write_text("x")
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "vpsbench eval: error: --report out: out/A exists and is not empty (--force replaces it)"
    ]
    code, _, err = run(capsys, *argv, "--force")
    assert code == 0, err
    assert not Path("out/A/extra.txt").exists()  # replaced whole
    assert Path("out/old").is_dir()
    # A prediction folder that holds something else than a report is never replaced.
    Path("out/B").rename("out/B_saved")
    Path("out/B").mkdir()
    (Path("out/B") / "notes.txt").write_text("mine")
    code, _, err = run(capsys, *argv, "--force")
    assert code == 2 and "holds no vpsbench report" in err
    assert (Path("out/B") / "notes.txt").read_text() == "mine"


def test_clashing_names_are_refused_before_scoring(capsys, tmp_path, toy_gt, preds):
    Path("runs/a").mkdir(parents=True)
    Path("runs/b").mkdir(parents=True)
    Path("A.h5").rename("runs/a/pred.h5")
    Path("B.h5").rename("runs/b/pred.h5")
    pair = ["runs/a/pred.h5", "runs/b/pred.h5"]
    for outputs in (["--report", "out"], ["--json-dir", "out"]):
        code, out, err = run(capsys, *eval_argv(toy_gt, pair, *outputs))
        assert code == 2 and out == ""
        assert err.splitlines() == [
            "vpsbench eval: error: --pred runs/b/pred.h5: its outputs would be named 'pred', "
            "as those of runs/a/pred.h5; give the predictions distinct file or folder names"
        ]
        assert not Path("out").exists()
    # Without per-prediction outputs the table names them by their paths: no clash.
    code, out, err = run(capsys, *eval_argv(toy_gt, pair, "--csv", "t.csv"))
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()[1:3]] == pair
    # B.zip and B.h5 would both be "B".
    Path("runs/b/pred.h5").rename("B.h5")
    Path("B.zip").write_bytes(b"")
    code, _, err = run(capsys, *eval_argv(toy_gt, ["B.h5", "B.zip"], "--report", "out"))
    assert code == 2 and "named 'B', as those of B.h5" in err


def test_a_bad_prediction_is_named_and_nothing_is_written(capsys, toy_gt, preds):
    bad = Path("D")
    bad.mkdir()
    (bad / "pred.json").write_text("{not json")
    outputs = ["--report", "out", "--json-dir", "js", "--csv", "t.csv"]
    code, out, err = run(capsys, *eval_argv(toy_gt, [*preds, "D/"], *outputs))
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("vpsbench eval: error: D/: ") and "not valid JSON" in err
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["A.h5", "B.h5", "C", "D", "toy_gt.h5"]


def test_refusals_of_the_command_line(capsys, toy_gt, preds):
    code, out, err = run(capsys, *eval_argv(toy_gt, preds[:2], "--json", "s.json"))
    assert code == 2 and out == "" and not Path("s.json").exists()
    assert "--json s.json: takes one prediction, 2 are given (--json-dir DIR" in err
    code, _, err = run(capsys, *eval_argv(toy_gt, ["A.h5", "B.h5", "A.h5"]))
    assert code == 2 and err.strip() == "vpsbench eval: error: --pred A.h5: given twice"
    Path("comparison.csv").mkdir()  # a prediction folder of the name the report keeps
    code, _, err = run(capsys, *eval_argv(toy_gt, ["A.h5", "comparison.csv"], "--report", "o"))
    assert code == 2 and "keeps for the comparison table" in err
    Path("o").mkdir()
    Path("o/comparison.csv").write_text("earlier\n")
    code, _, err = run(capsys, *eval_argv(toy_gt, preds[:2], "--report", "o"))
    assert code == 2 and "o/comparison.csv exists (--force replaces it)" in err
    assert run(capsys, *eval_argv(toy_gt, preds[:2], "--report", "o", "--force"))[0] == 0
    assert Path("o/comparison.csv").read_text().startswith("prediction,")


def test_one_prediction_takes_json_dir_and_csv_too(capsys, toy_gt, preds):
    code, out, err = run(capsys, *eval_argv(toy_gt, ["B.h5"], "--json-dir", "js", "--csv", "t.csv"))
    assert code == 0, err
    assert out.startswith("VPQ")  # the one-prediction table, as without these options
    assert json.loads(Path("js/B.json").read_text())["inputs"]["pred"] == "B.h5"
    with open("t.csv") as f:
        assert [row["prediction"] for row in csv.DictReader(f)] == ["B.h5"]


def test_per_video_prints_each_predictions_videos(capsys, toy_gt, preds):
    code, out, err = run(capsys, *eval_argv(toy_gt, preds[:2], "--per-video"))
    assert code == 0, err
    blocks = out.split("\n\n")
    assert blocks[1].splitlines()[0] == "A.h5" and blocks[2].splitlines()[0] == "B.h5"
    assert blocks[1].splitlines()[1].split()[0] == "video"
    assert [line.split()[0] for line in blocks[2].splitlines()[2:]] == ["0001", "0002"]
