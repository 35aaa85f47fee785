"""/protocol: VC clip lengths round trip, legacy files (vpq_window_unit, no VC lengths), spacing."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest
from conftest import TOY_CATEGORIES, write_toy

from vpsbench.datasets.cityscapes_vps import PROTOCOL as CITYSCAPES_VPS_PROTOCOL
from vpsbench.datasets.viper import PROTOCOL as VIPER_PROTOCOL
from vpsbench.format import FileInfo, VPSFile, VPSWriter
from vpsbench.format.schema import DEFAULT_VC_CLIP_LENGTHS, Protocol
from vpsbench.format.validate import validate_file


def test_dataset_protocols_pick_vc_lengths_their_videos_allow():
    # Cityscapes-VPS: 6 annotated frames per video; VPSNet's VIPER: 60 labelled frames.
    assert CITYSCAPES_VPS_PROTOCOL.vc_clip_lengths == (2, 4, 6)
    assert VIPER_PROTOCOL.vc_clip_lengths == (8, 16)
    assert Protocol((1,), (0,)).vc_clip_lengths == DEFAULT_VC_CLIP_LENGTHS == (8, 16)
    assert not hasattr(CITYSCAPES_VPS_PROTOCOL, "vpq_window_unit")


def test_protocol_rejects_clip_lengths_below_one():
    with pytest.raises(ValueError, match="vc_clip_lengths"):
        Protocol((1,), (0,), vc_clip_lengths=(0, 4))
    with pytest.raises(ValueError, match="vc_clip_lengths"):
        Protocol((1,), (0,), vc_clip_lengths=())


def test_vc_clip_lengths_round_trip_and_legacy_unit_is_written(tmp_path):
    protocol = dataclasses.replace(VIPER_PROTOCOL, vc_clip_lengths=(3, 5))
    info = FileInfo(kind="groundtruth", dataset="toy", split="val")
    with VPSWriter(tmp_path / "p.h5", info, TOY_CATEGORIES, protocol) as writer:
        with writer.video("a", 2, 2) as video:
            video.add_frame("a_0", 0, np.zeros((2, 2), np.int32))
    with h5py.File(tmp_path / "p.h5") as f:
        attrs = f["protocol"].attrs
        assert attrs["vc_clip_lengths"].tolist() == [3, 5]
        # older readers need the attribute; its value is what windows always counted
        assert attrs["vpq_window_unit"] == "annotated_frames"
    with VPSFile(tmp_path / "p.h5") as f:
        assert f.protocol == protocol


def make_legacy(path, dataset: str, unit: str = "frames"):
    """A file as vpsbench 0.1 wrote it: vpq_window_unit set, no vc_clip_lengths."""
    with h5py.File(path, "r+") as f:
        f.attrs["dataset"] = dataset
        del f["protocol"].attrs["vc_clip_lengths"]
        f["protocol"].attrs["vpq_window_unit"] = unit
    return path


@pytest.mark.parametrize(
    ("dataset", "expected"),
    [("cityscapes_vps", (2, 4, 6)), ("synth", (2, 4, 6)), ("viper", (8, 16)), ("toy", (8, 16))],
)
def test_legacy_files_still_read(tmp_path, dataset, expected):
    path = make_legacy(write_toy(tmp_path / "old.h5"), dataset)
    with VPSFile(path) as f:
        assert f.protocol == dataclasses.replace(CITYSCAPES_VPS_PROTOCOL, vc_clip_lengths=expected)
    assert validate_file(str(path)) == []


def test_validate_wants_increasing_clip_lengths(tmp_path):
    path = write_toy(tmp_path / "v.h5")
    with h5py.File(path, "r+") as f:
        f["protocol"].attrs["vc_clip_lengths"] = np.array([4, 2], np.int32)
    assert "protocol" in {p.check for p in validate_file(str(path))}
    with h5py.File(path, "r+") as f:
        f["protocol"].attrs["vc_clip_lengths"] = np.array([0], np.int32)
    assert "protocol" in {p.check for p in validate_file(str(path))}


def test_label_spacing_is_read_from_the_frame_table(tmp_path):
    # toy: source frames 100, 105, ...; every 2nd frame annotated -> 10 apart
    with VPSFile(write_toy(tmp_path / "a.h5", stride=2)) as f:
        assert f.label_spacing() == (10,)
    with VPSFile(write_toy(tmp_path / "b.h5", stride=1)) as f:
        assert f.label_spacing() == (5,)
    with VPSFile(write_toy(tmp_path / "c.h5", frames=3, stride=3)) as f:
        assert f.label_spacing() == ()  # one annotated frame per video
