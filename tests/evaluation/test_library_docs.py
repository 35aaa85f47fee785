"""docs/LIBRARY.md's example runs as written, and the detectron2-style adapter in examples/
scores a fake inference loop as the streaming evaluator does."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import vpsbench

ROOT = Path(__file__).resolve().parents[2]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text("utf-8"), re.S)


def test_library_doc_snippet_runs(capsys):
    blocks = python_blocks(ROOT / "docs" / "LIBRARY.md")
    assert blocks, "docs/LIBRARY.md lost its runnable example"
    for block in blocks:
        exec(compile(block, "docs/LIBRARY.md", "exec"), {"__name__": "library_doc"})
    assert "VPQ" in capsys.readouterr().out


@pytest.fixture(scope="module")
def example():
    path = ROOT / "examples" / "detectron2_style_evaluator.py"
    spec = importlib.util.spec_from_file_location("detectron2_style_evaluator", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class FakeTensor:
    """Stands in for a CUDA tensor: numpy only after ``.cpu()``."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    def cpu(self) -> np.ndarray:
        return self._array


def test_adapter_matches_the_evaluator(example):
    scores = example.fake_loop(example.VPSEvaluator(metrics="vpq,pq,stq"))
    direct = vpsbench.Evaluator("cityscapes_vps_official", metrics="vpq,pq,stq")
    for v in range(2):
        for t in range(4):
            gt = np.zeros((32, 64), np.int32)
            gt[:10] = 10_000
            gt[14:24, 4 + 4 * t : 20 + 4 * t] = 13_001
            pred = np.where(gt == 13_001, 13_007, gt)
            pred[14:24, 18 + 4 * t : 20 + 4 * t] = 0
            direct.add_frame(f"video{v}", gt, pred)
    summary = direct.result().summary
    assert scores == {
        "panoptic_seg": {
            "VPQ": summary["vpq"]["all"],
            "PQ": summary["pq"]["all"],
            "STQ": summary["stq"]["stq"],
        }
    }
    assert 50 < scores["panoptic_seg"]["VPQ"] < 100


def test_adapter_reset_tensors_gather_and_order(example):
    evaluator = example.VPSEvaluator(metrics="pq")
    gt = np.zeros((4, 4), np.int32)
    gt[:2] = 10_000
    ids = np.where(gt == 0, 1, 2)
    info = [{"id": 1, "category_id": 0}, {"id": 2, "category_id": 10}]
    frame = {"video_id": "v", "frame_index": 0, "panoptic": FakeTensor(gt)}
    evaluator.process([frame], [{"panoptic_seg": (FakeTensor(ids), info)}])
    assert evaluator.evaluate()["panoptic_seg"]["PQ"] == 100.0
    with pytest.raises(ValueError, match="feed each video's frames in order"):
        evaluator.process([frame], [{"panoptic_seg": (ids, info)}])
    evaluator.reset()  # a new evaluation: frame 0 of v is new again
    evaluator.process([frame], [{"panoptic_seg": (ids, info)}])
    # Two ranks, as comm.gather returns them on rank 0; the other ranks get [] and None.
    other = example.VPSEvaluator(metrics="pq")
    other.process([dict(frame, video_id="w")], [{"panoptic_seg": (ids, info)}])
    gathered = example.VPSEvaluator(metrics="pq", gather=lambda ev: [ev, other._evaluator])
    gathered._evaluator = evaluator._evaluator
    assert gathered.evaluate()["panoptic_seg"]["PQ"] == 100.0
    assert example.VPSEvaluator(metrics="pq", gather=lambda ev: []).evaluate() is None
    # Pixels of no segment (id 0) become void, which in a prediction means "no segment".
    unlabelled = example.segments_to_panoptic(np.zeros((2, 2), int), [], 1000, 255_000)
    assert (unlabelled == 255_000).all()


def test_example_runs_as_a_script():
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "detectron2_style_evaluator.py")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "'VPQ'" in done.stdout
