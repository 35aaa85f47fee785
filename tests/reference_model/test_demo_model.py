"""``vpsbench demo`` with the reference model: a given checkpoint, and the shipped one."""

from __future__ import annotations

import re

import pytest
from model_fixtures import LABELS, tiny_config, trained_a_little

from vpsbench.cli import main
from vpsbench_model.checkpoint import load_checkpoint, save_checkpoint
from vpsbench_model.weights import SYNTHETIC_TINY_FUSETRACK

# The shipped checkpoint scored VPQ 68.3 on demo video 0 when it was committed.
MIN_SHIPPED_VPQ = 45.0


def demo_rows(out: str) -> dict[str, float]:
    """Prediction name -> VPQ (the mean over k) from the demo's leaderboard table."""
    rows = {}
    for line in out.splitlines():
        match = re.match(r"\s*(noise \d\.\d|VPSNet \(model\))\s+(.*)", line)
        if match:
            rows[match.group(1)] = float(match.group(2).split()[4])
    return rows


def test_demo_runs_a_given_checkpoint(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("VPSBENCH_CACHE", str(tmp_path / "cache"))
    config = tiny_config("fusetrack")
    model, _ = trained_a_little(config)
    ckpt = save_checkpoint(tmp_path / "tiny.pt", model, config, LABELS, 2)
    code = main(["demo", "--out", str(tmp_path / "demo"), "--videos", "1",
                 "--checkpoint", str(ckpt)])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert set(demo_rows(out)) == {"noise 0.0", "noise 0.3", "noise 0.7", "VPSNet (model)"}
    assert (tmp_path / "demo" / "pred_vpsnet_tiny" / "report.md").exists()


@pytest.mark.skipif(not SYNTHETIC_TINY_FUSETRACK.exists(), reason="no shipped checkpoint")
def test_shipped_checkpoint_is_small_and_scores_well(capsys, tmp_path, monkeypatch):
    assert SYNTHETIC_TINY_FUSETRACK.stat().st_size <= 20e6
    state = load_checkpoint(SYNTHETIC_TINY_FUSETRACK)
    assert state["config"].name == "synthetic-tiny"
    assert state["config"].model.variant == "fusetrack"
    monkeypatch.setenv("VPSBENCH_CACHE", str(tmp_path / "cache"))
    code = main(["demo", "--out", str(tmp_path / "demo"), "--videos", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = demo_rows(out)
    # The trained model must stay far above chance on a val video it never saw; a broken
    # load (renamed parameters, wrong label map, bad int8 expansion) scores near zero.
    assert rows["VPSNet (model)"] > MIN_SHIPPED_VPQ, out
