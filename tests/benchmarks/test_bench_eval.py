"""benchmarks/bench_eval.py runs end to end at its --quick size and prints every figure the
docs quote (a smoke test: no timing is asserted, only that each row is there)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from vpsbench import kernels

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_eval.py"


def test_bench_eval_quick_prints_every_row(tmp_path):
    command = [sys.executable, str(SCRIPT), "--quick", "--repeat", "1", "--overhead-rounds", "1",
               "--literal-videos", "1", "--workdir", str(tmp_path)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "(equal in every run)" in out  # every run scored the same
    for source in ("HDF5", "PNG/pyspng", "PNG/pillow"):
        for workers in (1, 2):
            assert f"{source} decode floor, {workers} worker(s)" in out
            assert f"{source} all metrics, {workers} worker(s)" in out
        assert f"{source} VPQ alone, 1 worker" in out
    if kernels.kernels_name() == "compiled":  # the same scoring with NumPy's kernels, beside
        for source in ("HDF5", "PNG/pyspng"):
            assert f"{source} NumPy kernels, 2 worker(s)" in out
        assert "x the compiled kernels' time)" in out
    assert "literal official procedure" in out and "peak RSS (MiB)" in out
