"""Shared fixtures: tiny unified files built by hand, independent of the synthetic generator."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vpsbench import kernels
from vpsbench.datasets.cityscapes_vps import PROTOCOL as CITYSCAPES_VPS_PROTOCOL
from vpsbench.format import Category, FileInfo, GroundTruthRef, Track, VPSFile, VPSWriter

TOY_CATEGORIES = [
    Category(0, "road", False, (128, 64, 128), 7, "flat"),
    Category(10, "sky", False, (70, 130, 180), 23, "sky"),
    Category(11, "person", True, (220, 20, 60), 24, "human"),
    Category(13, "car", True, (0, 0, 142), 26, "vehicle"),
]
H, W = 6, 8


@pytest.fixture(params=kernels.KERNELS, scope="module")
def each_kernels(request):
    """Run a module's tests with the compiled kernels and again with NumPy's (module scope,
    set in the environment, so that hypothesis tests and pool workers see it too)."""
    if request.param == "compiled" and kernels.kernels_name() != "compiled":
        pytest.skip("vpsbench._kernels is not built here (tests/test_kernels.py says why)")
    before = os.environ.get(kernels.KERNELS_ENV)
    os.environ[kernels.KERNELS_ENV] = request.param
    yield request.param
    if before is None:
        del os.environ[kernels.KERNELS_ENV]
    else:
        os.environ[kernels.KERNELS_ENV] = before


def png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def toy_panoptic(t: int) -> np.ndarray:
    """Sky on top, road below, a car moving right, a person, a crowd patch and void."""
    pan = np.full((H, W), 0, np.int32)
    pan[:2] = 10 * 1000
    pan[3:5, t : t + 2] = 13 * 1000 + 1
    pan[4:6, 6] = 11 * 1000 + 2
    pan[5, 0] = 11 * 1000  # crowd: thing category, instance 0
    pan[5, 7] = 255 * 1000  # void
    return pan


def write_toy(
    path: Path, kind: str = "groundtruth", frames: int = 6, stride: int = 2, **writer_kw
) -> Path:
    """A 2-video file; every ``stride``-th frame annotated, images on every frame (GT only)."""
    is_gt = kind == "groundtruth"
    info = FileInfo(kind=kind, dataset="toy", split="val", source="tests")
    if not is_gt:
        info.predicts = GroundTruthRef("toy", "val", "toy_gt.h5", "abc")
    rng = np.random.default_rng(0)
    with VPSWriter(
        path,
        info,
        TOY_CATEGORIES,
        CITYSCAPES_VPS_PROTOCOL if is_gt else None,
        categories_source_json='[{"id": 0}]',
        **writer_kw,
    ) as writer:
        for v in range(2):
            with writer.video(f"{v + 1:04d}", H, W, meta={"city": "toyville", "v": v}) as video:
                for t in range(frames):
                    annotated = (t + 1) % stride == 0
                    video.add_frame(
                        stem=f"{v + 1:04d}_{t:04d}",
                        source_frame=100 + 5 * t,
                        panoptic=toy_panoptic(t) if annotated else None,
                        image=png_bytes(rng.integers(0, 255, (H, W, 3), np.uint8))
                        if is_gt
                        else None,
                        meta={"t": t},
                    )
                video.set_tracks([Track(1, 13, "26000"), Track(2, 11, "24001")])
    return path


@pytest.fixture
def toy_gt(tmp_path: Path) -> Path:
    return write_toy(tmp_path / "toy_gt.h5")


@pytest.fixture
def toy_reader(toy_gt: Path):
    with VPSFile(toy_gt) as f:
        yield f
