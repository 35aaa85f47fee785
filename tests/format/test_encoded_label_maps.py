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


@pytest.mark.parametrize("codec", ["isal", "zlib"])
def test_either_deflate_codec_reads_back_through_hdf5s_filter(tmp_path, monkeypatch, codec):
    # ISA-L is the default codec and zlib the fallback: both must give chunks HDF5 decodes.
    import zlib

    from vpsbench.format import deflate

    isal_zlib = pytest.importorskip("isal.isal_zlib")
    monkeypatch.setattr(deflate, "CODEC", isal_zlib if codec == "isal" else zlib)
    rng = np.random.default_rng(1)
    maps = [
        rng.choice([0, 2**31 - 1, 13_001, 255_000, -5], (40, 70)).astype(np.int32) for _ in range(2)
    ]
    info = FileInfo(kind="groundtruth", dataset="toy", split="val")
    with VPSWriter(tmp_path / "f.h5", info, TOY_CATEGORIES, CITYSCAPES_VPS_PROTOCOL) as w:
        with w.video("0001", 40, 70) as video:
            video.add_frame("f0", 0, maps[0])  # a plain array goes through the same codec
            video.add_frame("f1", 1, encode_label_map(maps[1]))
    with VPSFile(tmp_path / "f.h5") as f:
        np.testing.assert_array_equal(f.video("0001").load_panoptic(), np.stack(maps))


def test_isal_is_the_default_codec():
    from vpsbench.format.deflate import deflate_codec

    assert deflate_codec().__name__ == "isal.isal_zlib"


@pytest.mark.parametrize(
    "options",
    [
        {},  # the writer's default: deflate-1 chunks the reader inflates itself
        {"compression": "gzip", "compression_opts": 6},
        {"compression": "lzf"},
        {"compression": None},
    ],
)
def test_every_filter_reads_back_the_same_writable_maps(tmp_path, options):
    import h5py

    rng = np.random.default_rng(2)
    maps = rng.choice([0, 10_000, 13_001, 255_000, 2**31 - 1], (3, 30, 50)).astype(np.int32)
    info = FileInfo(kind="groundtruth", dataset="toy", split="val")
    with VPSWriter(tmp_path / "f.h5", info, TOY_CATEGORIES, CITYSCAPES_VPS_PROTOCOL) as w:
        with w.video("0001", 30, 50) as video:
            for t in range(3):
                video.add_frame(f"f{t}", t, maps[t])
    path = tmp_path / "f.h5"
    if options:  # rewrite the dataset with another filter, as another HDF5 writer might
        with h5py.File(path, "r+") as f:
            group = f["videos/0001"]
            del group["panoptic"]
            group.create_dataset("panoptic", data=maps, chunks=(1, 30, 50), **options)
    with VPSFile(path) as f:
        video = f.video("0001")
        for row in range(3):
            got = video.panoptic_row(row)
            np.testing.assert_array_equal(got, maps[row])
            got[0, 0] = 7  # writable, as h5py's own reads
        np.testing.assert_array_equal(video.load_panoptic(), maps)
