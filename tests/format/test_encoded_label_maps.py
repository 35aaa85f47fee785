"""Label maps compressed outside the writer (in converter workers) read back bit-exactly."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TOY_CATEGORIES

from vpsbench.datasets.cityscapes_vps import PROTOCOL as CITYSCAPES_VPS_PROTOCOL
from vpsbench.format import FileInfo, VPSFile, VPSWriter
from vpsbench.format.writer import encode_label_map


def test_encoded_and_plain_maps_read_back_identically(tmp_path):
    rng = np.random.default_rng(0)
    maps = [rng.choice([0, 10_000, 13_001, 255_000], (6, 8)).astype(np.int32) for _ in range(3)]
    info = FileInfo(kind="groundtruth", dataset="toy", split="val")
    with VPSWriter(tmp_path / "f.h5", info, TOY_CATEGORIES, CITYSCAPES_VPS_PROTOCOL) as writer:
        with writer.video("0001", 6, 8) as video:
            for t, label_map in enumerate(maps):
                encoded = encode_label_map(label_map) if t % 2 else label_map
                video.add_frame(f"f{t}", t, encoded)
    with VPSFile(tmp_path / "f.h5") as f:
        np.testing.assert_array_equal(f.video("0001").load_panoptic(), np.stack(maps))


def test_encoded_map_of_wrong_shape_is_refused(tmp_path):
    info = FileInfo(kind="groundtruth", dataset="toy", split="val")
    with pytest.raises(ValueError, match="panoptic map is"):
        with VPSWriter(tmp_path / "f.h5", info, TOY_CATEGORIES, CITYSCAPES_VPS_PROTOCOL) as w:
            with w.video("0001", 6, 8) as video:
                video.add_frame("f0", 0, encode_label_map(np.zeros((5, 8), np.int32)))
    assert not list(tmp_path.iterdir())
