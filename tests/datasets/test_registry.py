"""The dataset and protocol registry: one spelling per dataset, aliases, named protocols."""

from __future__ import annotations

import h5py
import pytest
from conftest import write_toy

from vpsbench.datasets import (
    DATASETS,
    canonical_name,
    detect_dataset,
    get_dataset,
    get_protocol,
    protocols,
)
from vpsbench.format import VPSFile
from vpsbench.format.schema import CUSTOM_PROTOCOL


def test_canonical_names_and_aliases():
    step = {"kitti_step", "motchallenge_step"}
    assert set(DATASETS) == {"cityscapes_vps", "viper", "vipseg", *step, "synth"}
    for spelling in ("cityscapes_vps", "cityscapes-vps", "Cityscapes-VPS", " cityscapes vps "):
        assert canonical_name(spelling) == "cityscapes_vps"
    assert canonical_name("synthetic") == "synth" and get_dataset("synthetic").name == "synth"
    # Names vpsbench cannot convert yet (listed by the leaderboard) come back normalised.
    assert canonical_name("Waymo-PVPS") == "waymo_pvps"
    with pytest.raises(KeyError, match="unknown dataset 'waymo-pvps'; known: cityscapes_vps"):
        get_dataset("waymo-pvps")


def test_every_dataset_is_complete_and_protocols_are_named_once():
    names = [p.name for d in DATASETS.values() for p in d.protocols]
    official = {"cityscapes_vps_official", "viper_official", "vipseg_official", "step_official"}
    assert set(names) == set(protocols()) == official
    for dataset in DATASETS.values():
        ids = {c.id for c in dataset.categories}
        assert len(ids) == len(dataset.categories) and dataset.label_divisor > max(ids)
        assert set(dataset.protocol.excluded_category_ids) <= ids
        assert dataset.protocol.name != CUSTOM_PROTOCOL and dataset.title and dataset.layouts
    assert get_dataset("synth").protocol is get_dataset("cityscapes_vps").protocol
    assert get_protocol("viper_official").min_tube_area == 1024
    with pytest.raises(KeyError, match=r"unknown protocol 'vipseg'.*vpsbench protocols"):
        get_protocol("vipseg")


def test_a_changed_protocol_is_custom():
    official = get_protocol("cityscapes_vps_official")
    assert official.changed(min_tube_area=0) is official  # no change: still official
    custom = official.changed(min_tube_area=10)
    assert custom.name == CUSTOM_PROTOCOL and custom.description == ""
    assert custom.vpq_window_sizes == official.vpq_window_sizes


def test_files_record_the_protocol_name_and_legacy_files_get_their_datasets(tmp_path):
    path = write_toy(tmp_path / "gt.h5", kind="groundtruth")
    with VPSFile(path) as f:
        assert f.protocol.name == "cityscapes_vps_official"
    with h5py.File(path, "r+") as f:  # as written before protocols had names
        del f["protocol"].attrs["name"], f["protocol"].attrs["description"]
        dataset = f.attrs["dataset"]
    with VPSFile(path) as f:
        expected = "cityscapes_vps_official" if dataset in ("cityscapes_vps", "synth") else "custom"
        assert f.protocol.name == expected
    with h5py.File(path, "r+") as f:
        f.attrs["dataset"] = "synth"
        f["protocol"].attrs["min_tube_area"] = 7
    with VPSFile(path) as f:  # values that are no registered protocol's: custom
        assert f.protocol.name == CUSTOM_PROTOCOL and f.protocol.min_tube_area == 7


def test_layout_detection(tmp_path):
    (tmp_path / "val" / "cls" / "001").mkdir(parents=True)
    assert detect_dataset(tmp_path, "val").name == "viper"
    city = tmp_path / "city"
    city.mkdir()
    (city / "panoptic_gt_val_city_vps.json").write_text("{}")
    assert detect_dataset(city, "val").name == "cityscapes_vps"
    with pytest.raises(ValueError, match=r"no known release layout for split 'train'.*VIPER"):
        detect_dataset(city, "train")
