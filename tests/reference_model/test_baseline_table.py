"""The baseline table script: means over seeds, each seed's VPQ, one panel per preset."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "reference_model" / "recipes" / "baseline_table.py"


def load_script():
    spec = importlib.util.spec_from_file_location("baseline_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def summary(vpq: float, idsw: int) -> dict:
    per_k = {str(k): {"all": vpq - k / 5} for k in (0, 5, 10, 15)}
    return {"vpq": {"k": per_k, "all": vpq, "things": vpq / 2, "stuff": vpq + 10},
            "stq": {"stq": 40.0, "aq": 30.0}, "idsw": {"idsw": idsw}}  # fmt: skip


def test_table_means_over_seeds_and_plot(tmp_path):
    table = load_script()
    for seed, (vpq, idsw) in enumerate([(50.0, 10), (54.0, 13)]):
        folder = tmp_path / f"hard_s{seed}"
        folder.mkdir()
        (folder / "track.json").write_text(json.dumps(summary(vpq, idsw)))
    (tmp_path / "standard_s0").mkdir()
    (tmp_path / "standard_s0" / "image.json").write_text(json.dumps(summary(60.0, 4)))
    (tmp_path / "notes").mkdir()  # other folders are ignored
    found = table.load_runs(tmp_path)
    assert sorted(found) == ["hard", "standard"] and sorted(found["hard"]["track"]) == [0, 1]
    text = table.markdown("hard", found["hard"])
    assert (
        "| `track` | 52.0 | 51.0 | 50.0 | 49.0 | 52.0 | 26.0 | 62.0 | 40.0 | 30.0 | 11.5 |" in text
    )
    assert text.rstrip().endswith("s0: 50.0, s1: 54.0 |")
    table.plot(found, tmp_path / "plot.png")
    assert (tmp_path / "plot.png").read_bytes().startswith(b"\x89PNG")


def test_entries_give_each_recorded_seed_and_local_runs_win(tmp_path):
    table = load_script()
    entries = tmp_path / "entries"
    entries.mkdir()
    two_runs = {
        "metrics": {},
        "source": {
            "runs": [
                {"seed": 0, "metrics": summary(50.0, 10)},
                {"seed": 1, "metrics": summary(54.0, 13)},
            ]
        },
    }
    one_run = {"metrics": summary(60.0, 4), "source": {"seed": 0}}
    (entries / "vpsnet-track-synthetic-tiny-synthetic-val-hard.json").write_text(
        json.dumps(two_runs)
    )
    (entries / "vpsnet-image-synthetic-tiny-synthetic-val.json").write_text(json.dumps(one_run))
    (entries / "vpsnet-fusetrack-cityscapes-vps-val.json").write_text("{}")  # not synthetic
    found = table.load_entries(entries)
    assert sorted(found) == ["hard", "standard"]
    assert sorted(found["hard"]["track"]) == [0, 1]
    assert found["standard"]["image"][0]["vpq"]["all"] == 60.0
    local = tmp_path / "runs" / "hard_s1"
    local.mkdir(parents=True)
    (local / "track.json").write_text(json.dumps(summary(58.0, 2)))
    both = table.merged(found, table.load_runs(tmp_path / "runs"))
    assert both["hard"]["track"][1]["vpq"]["all"] == 58.0  # the local run wins
    assert both["hard"]["track"][0]["vpq"]["all"] == 50.0
