"""The other benchmark scripts run at a tiny size and print their rows (smoke tests: no
speed is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def run_script(name: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(BENCHMARKS / name), *args], capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_synth_speed():
    out = run_script("synth_speed.py", "--videos", "2", "--frames", "6", "--size", "64", "128")
    assert "generate: 2 videos x 6 frames 64x128" in out and "synth-predict" in out


def test_compression(tmp_path):
    from vpsbench.synth import SynthConfig, generate

    gt = generate(tmp_path / "gt.h5", SynthConfig(1, 6, 64, 128, seed=0, with_images=False))
    out = run_script("compression.py", str(gt), "--frames", "2")
    assert "gzip-1 ISA-L (default)" in out


def test_bench_model():
    pytest.importorskip("torch")
    out = run_script("bench_model.py", "--sizes", "64x128", "--config", "synthetic-tiny",
                     "--frames", "1", "--warmup", "0")  # fmt: skip
    for row in ("Mask R-CNN R50-FPN", "VPSNet image", "VPSNet fuse", "VPSNet track",
                "VPSNet fusetrack"):  # fmt: skip
        assert row in out
