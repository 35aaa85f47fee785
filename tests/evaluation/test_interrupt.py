"""Ctrl-C during ``vpsbench eval --workers 3`` prints one line: the workers ignore SIGINT (a
terminal sends it to the whole process group) and only the parent reports it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vpsbench.synth import SynthConfig, generate, synth_predict

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="needs /proc to see the worker processes"
)


def status(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def ready_workers(group: int) -> int:
    """Pool workers (grandchildren of the parent, forked by the forkserver) ignoring SIGINT."""
    procs = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.getpgid(int(name)) != group:
                continue
            fields = status(int(name))
        except (OSError, ProcessLookupError):
            continue  # gone meanwhile
        ignored = int(fields["SigIgn"], 16) & (1 << (signal.SIGINT - 1))
        procs[int(name)] = (int(fields["PPid"]), bool(ignored))
    return sum(
        ignored for ppid, ignored in procs.values() if ppid in procs and procs[ppid][0] == group
    )


def test_ctrl_c_with_workers_prints_one_line(tmp_path):
    config = SynthConfig(12, 120, 256, 512, annotation_stride=1, seed=0, with_images=False)
    gt = generate(tmp_path / "gt.h5", config)
    pred = synth_predict(gt, tmp_path / "pred.h5", noise=0.3)
    command = [sys.executable, "-m", "vpsbench", "eval", "--gt", str(gt), "--pred", str(pred)]
    process = subprocess.Popen(
        # --workers 3: two pool workers beside the scoring process, which takes videos too.
        [*command, "--workers", "3", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell job: killpg is Ctrl-C
    )
    try:
        deadline, seen = time.monotonic() + 60, 0
        # Three looks in a row: a worker just forked briefly has the forkserver's SIG_IGN.
        while seen < 3:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("no two pool workers ignoring SIGINT were seen during the eval")
            seen = seen + 1 if ready_workers(process.pid) >= 2 else 0
            time.sleep(0.02)
        time.sleep(0.05)  # into the scoring (these videos take about 1.5 s with 3 workers)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process.returncode == 0:
        pytest.skip("the evaluation finished before the interrupt arrived")
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines() == ["vpsbench: interrupted"]
    assert process.returncode == 130
