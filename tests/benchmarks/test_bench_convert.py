"""benchmarks/bench_convert.py runs end to end on the smallest releases it builds and prints
every dataset's row (a smoke test: no speed is asserted, only that each row is there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_convert.py"
ROWS = ("cityscapes prepared", "cityscapes raw", "viper", "vipseg prepared", "vipseg raw",
        "vipseg raw 720", "kitti_step", "motchallenge_step")  # fmt: skip


def test_bench_convert_small_prints_every_dataset(tmp_path):
    command = [sys.executable, str(SCRIPT), "--videos", "1", "--viper-videos", "1",
               "--step-frames", "3", "--vipseg-videos", "1", "--vipseg-frames", "3",
               "--repeat", "1", "--workdir", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = {line.split(":")[0].strip() for line in done.stdout.splitlines() if "conversion" in line}
    assert set(ROWS) <= rows
