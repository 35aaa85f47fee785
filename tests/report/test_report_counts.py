"""Counts stay integers in the JSON and CSV of a report, however the metric tables combine."""

from __future__ import annotations

import csv
import json

from conftest import write_toy

from vpsbench.evaluation import evaluate
from vpsbench.report import write_report

COUNTS = ("k", "category_id", "tp", "fp", "fn", "idsw", "frag", "gt_tracks")


def test_counts_are_integers_in_json_and_csv(tmp_path, toy_gt):
    result = evaluate(toy_gt, write_toy(tmp_path / "pred.h5", kind="prediction"))
    data = json.loads(result.to_json())
    for row in data["per_class"]:
        for key in COUNTS:
            assert row.get(key) is None or type(row[key]) is int, (key, row)
    # A count a metric has is an integer there; a metric without it leaves null, not NaN.
    vpq_rows = [r for r in data["per_class"] if r["metric"] == "vpq"]
    assert {type(r["k"]) for r in vpq_rows} == {int} and vpq_rows[0]["tp"] > 0
    assert all(r["k"] is None for r in data["per_class"] if r["metric"] == "pq")
    video = data["per_video"][0]
    for key in ("idsw", "idsw_tp", "idsw_gt_tracks", "stq_num_frames", "vc_clips_2"):
        assert type(video[key]) is int, key

    written = write_report(result, tmp_path / "report")
    for name in ("per_class.csv", "per_video.csv"):
        path = next(p for p in written if p.name == name)
        for row in csv.DictReader(path.open()):
            for key in (*COUNTS, "idsw_tp", "vc_clips_2", "stq_num_frames"):
                value = row.get(key)
                assert value in (None, "") or value.lstrip("-").isdigit(), (name, key, value)
