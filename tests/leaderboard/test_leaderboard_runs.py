"""Entries of several runs (one per seed): the mean, each run kept, shown beside the mean."""

from __future__ import annotations

import json

import pytest
from lb_fixtures import no_user_registry, synth  # noqa: F401 (fixtures)

from vpsbench.cli import main
from vpsbench.synth import synth_predict
from vpsbench_leaderboard.registry import load_entries
from vpsbench_leaderboard.render import render_markdown
from vpsbench_leaderboard.schema import EntryError, validate_entry
from vpsbench_leaderboard.submit import mean_metrics
from vpsbench_leaderboard.tables import build_tables


def test_mean_metrics_by_hand():
    first = {"vpq": {"all": 50.0, "k": {"0": {"all": 60.0}}}, "idsw": {"idsw": 3, "frag": None}}
    second = {"vpq": {"all": 54.0, "k": {"0": {"all": 62.0}}}, "idsw": {"idsw": 4, "frag": 1}}
    runs = [first, second]
    assert mean_metrics(runs) == {
        "vpq": {"all": 52.0, "k": {"0": {"all": 61.0}}},
        "idsw": {"idsw": 3.5, "frag": None},
    }


def test_two_seeds_make_one_entry_of_their_mean(synth, tmp_path, capsys, no_user_registry):
    other = synth_predict(synth["gt"], tmp_path / "pred_s1.h5", noise=0.5, seed=2)
    registry = tmp_path / "registry"
    argv = ["leaderboard", "score", str(synth["pred"]), str(other), "--seed", "0", "1",
            "--gt", str(synth["gt"]), "--split", "val-custom", "--method", "MyNet",
            "--registry", str(registry)]  # fmt: skip
    assert main(argv) == 0, capsys.readouterr().err
    (entry,) = load_entries(registry)
    runs = entry["source"]["runs"]
    assert [r["seed"] for r in runs] == [0, 1] and entry["source"]["seed"] is None
    assert "submission" not in entry["source"] and all(r["submission"]["sha256"] for r in runs)
    vpq = [r["metrics"]["vpq"]["all"] for r in runs]
    assert entry["metrics"]["vpq"]["all"] == pytest.approx(sum(vpq) / 2)
    assert vpq[0] != vpq[1]
    switches = [r["metrics"]["idsw"]["idsw"] for r in runs]
    assert entry["metrics"]["idsw"]["idsw"] == pytest.approx(sum(switches) / 2)
    assert "--seed 0 1" in entry["source"]["command"]
    page = render_markdown(build_tables([entry], set()))
    assert f"mean of 2 runs (seed 0: VPQ {vpq[0]:.1f}, seed 1: VPQ {vpq[1]:.1f})" in page


def test_seeds_must_match_the_submissions(synth, tmp_path, capsys, no_user_registry):
    base = ["leaderboard", "score", str(synth["pred"]), str(synth["pred"]), "--gt",
            str(synth["gt"]), "--method", "M", "--registry", str(tmp_path / "r")]  # fmt: skip
    assert main([*base, "--seed", "0"]) == 2
    err = capsys.readouterr().err
    assert "2 submissions need one --seed each" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists() or not list((tmp_path / "r").iterdir())


def test_run_records_are_checked(synth):
    entry = json.loads(json.dumps(_minimal_entry()))
    validate_entry(entry)
    entry["source"]["runs"][1]["seed"] = 0
    with pytest.raises(EntryError, match=r"seeds \[0, 0\] repeat"):
        validate_entry(entry)
    single = _minimal_entry()
    del single["source"]["runs"]
    single["metrics"]["idsw"] = {"idsw": 3.5}  # a fractional count needs runs to average
    with pytest.raises(EntryError, match="non-negative integer"):
        validate_entry(single)


def _minimal_entry() -> dict:
    run = {"submission": {"file": "p.h5"}, "metrics": {"vpq": {"all": 50.0}}}
    return {
        "schema": 1, "id": "m-synth-val", "method": "M", "variant": None, "dataset": "synth",
        "split": "val",
        "verified": False, "metrics": {"vpq": {"all": 50.0}, "idsw": {"idsw": 3.5}},
        "source": {"type": "reproduced", "vpsbench_version": "0.1.0", "command": "-",
                   "seed": None, "commit": None, "date": "2026-12-02", "hardware": "-",
                   "runs": [{"seed": 0, **run}, {"seed": 1, **run}]},
    }  # fmt: skip


def test_add_run_turns_a_one_seed_entry_into_the_mean_of_two(
    synth, tmp_path, capsys, no_user_registry
):
    other = synth_predict(synth["gt"], tmp_path / "pred_s1.h5", noise=0.5, seed=2)
    registry = tmp_path / "registry"
    base = ["leaderboard", "score", "--gt", str(synth["gt"]), "--split", "val-custom",
            "--method", "MyNet", "--registry", str(registry)]  # fmt: skip
    assert main([*base[:2], str(synth["pred"]), *base[2:], "--seed", "0"]) == 0
    (single,) = load_entries(registry)
    assert main([*base[:2], str(other), *base[2:], "--seed", "1", "--add-run"]) == 0
    (entry,) = load_entries(registry)
    runs = entry["source"]["runs"]
    assert [r["seed"] for r in runs] == [0, 1]
    assert (
        runs[0]["metrics"] == single["metrics"]
        and runs[0]["submission"] == single["source"]["submission"]
    )
    vpq = [r["metrics"]["vpq"]["all"] for r in runs]
    assert entry["metrics"]["vpq"]["all"] == pytest.approx(sum(vpq) / 2)
    assert "--seed 0" in entry["source"]["command"] and "--seed 1" in entry["source"]["command"]
    capsys.readouterr()
    # The same seed again, or no entry to add to: one-line refusals, registry unchanged.
    assert main([*base[:2], str(other), *base[2:], "--seed", "1", "--add-run"]) == 2
    assert "seed 1 is already in entry" in capsys.readouterr().err
    assert load_entries(registry) == [entry]
    assert main([*base[:2], str(other), *base[2:], "--seed", "2", "--add-run", "--id", "nope"]) == 2
    assert "no entry 'nope'" in capsys.readouterr().err
