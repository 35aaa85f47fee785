"""Atomic writes (nothing that looks complete after a failure) and concurrent DataLoader reads."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import TOY_CATEGORIES, toy_panoptic, write_toy

from vpsbench.datasets.cityscapes_vps import PROTOCOL as CITYSCAPES_VPS_PROTOCOL
from vpsbench.format import FileInfo, VPSFile, VPSWriter


def test_exception_during_write_leaves_nothing(tmp_path):
    info = FileInfo(kind="groundtruth", dataset="toy", split="val")
    with pytest.raises(RuntimeError, match="boom"):
        with VPSWriter(tmp_path / "out.h5", info, TOY_CATEGORIES, CITYSCAPES_VPS_PROTOCOL) as w:
            with w.video("a", 6, 8) as v:
                v.add_frame("f0", 0, panoptic=toy_panoptic(0))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_file(tmp_path):
    path = write_toy(tmp_path / "out.h5")
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with VPSWriter(
            path,
            FileInfo("groundtruth", "toy", "val"),
            TOY_CATEGORIES,
            CITYSCAPES_VPS_PROTOCOL,
            overwrite=True,
        ):
            raise RuntimeError("interrupted")
    assert path.read_bytes() == before


def test_killed_writer_leaves_no_final_file(tmp_path):
    """A process that dies mid-write (no cleanup at all) leaves only a hidden partial file."""
    script = textwrap.dedent(f"""
        import os, numpy as np
        from vpsbench.format import *
        from vpsbench.datasets.cityscapes_vps import PROTOCOL as CITYSCAPES_VPS_PROTOCOL
        cats = [Category(0, "road", False, (1, 2, 3), 7)]
        with VPSWriter({str(tmp_path / "out.h5")!r}, FileInfo("groundtruth", "t", "val"), cats,
                       CITYSCAPES_VPS_PROTOCOL) as w:
            with w.video("a", 4, 4) as v:
                v.add_frame("f0", 0, panoptic=np.zeros((4, 4), np.int32))
                os._exit(3)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == 3, result.stderr.decode()
    names = [p.name for p in tmp_path.iterdir()]
    assert "out.h5" not in names
    assert all(n.startswith(".out.h5.partial-") for n in names)


class FrameDataset:
    """Minimal map-style dataset over (video, frame) pairs of a VPSFile."""

    def __init__(self, reader: VPSFile) -> None:
        self.reader = reader
        self.index = [(v.video_id, int(i)) for v in reader for i in v.annotated_indices]

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, i: int):
        video_id, frame = self.index[i]
        return i, self.reader.frame(video_id, frame).panoptic


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_two_dataloader_workers_read_concurrently(tmp_path, context):
    torch = pytest.importorskip("torch")
    path = write_toy(tmp_path / "gt.h5", frames=12, stride=1)
    reader = VPSFile(path)
    dataset = FrameDataset(reader)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=3, num_workers=2, multiprocessing_context=context, shuffle=False
    )
    seen = {}
    for indices, maps in loader:
        for i, m in zip(indices.tolist(), maps.numpy(), strict=True):
            seen[i] = m
    assert sorted(seen) == list(range(len(dataset)))
    for i, (_, frame) in enumerate(dataset.index):
        np.testing.assert_array_equal(seen[i], toy_panoptic(frame))
    reader.close()
