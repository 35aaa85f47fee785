"""/protocol ``stq_rule``: absent means deeplab2 (every existing file), stored otherwise."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest
from conftest import TOY_CATEGORIES, write_toy

from vpsbench.datasets.vipseg import PROTOCOL as VIPSEG_PROTOCOL
from vpsbench.format import FileInfo, VPSFile, VPSWriter
from vpsbench.format.schema import STQ_RULE_DEEPLAB2, Protocol


def write(path, protocol: Protocol):
    info = FileInfo(kind="groundtruth", dataset="toy", split="val")
    with VPSWriter(path, info, TOY_CATEGORIES, protocol) as writer:
        with writer.video("a", 2, 2) as video:
            video.add_frame("a_0", 0, np.zeros((2, 2), np.int32))
    return path


def test_default_rule_is_not_written_and_absent_reads_as_deeplab2(tmp_path):
    path = write_toy(tmp_path / "gt.h5")
    with h5py.File(path) as f:
        assert "stq_rule" not in f["protocol"].attrs
    with VPSFile(path) as f:
        assert f.protocol.stq_rule == STQ_RULE_DEEPLAB2


def test_vipseg_rule_round_trips(tmp_path):
    path = write(tmp_path / "v.h5", VIPSEG_PROTOCOL)
    with h5py.File(path) as f:
        assert f["protocol"].attrs["stq_rule"] == "vipseg"
    with VPSFile(path) as f:
        assert f.protocol == VIPSEG_PROTOCOL
    custom = VIPSEG_PROTOCOL.changed(min_tube_area=5)
    assert custom.name == "custom" and custom.stq_rule == "vipseg"
    assert dataclasses.replace(VIPSEG_PROTOCOL, stq_rule="deeplab2") != VIPSEG_PROTOCOL


def test_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="stq_rule must be one of"):
        Protocol((1,), (0,), stq_rule="vspw")
