"""KITTI-STEP and MOTChallenge-STEP in the registry: names, tables, protocol, layout detection.

The expected tables are typed in by hand from the public sources the modules cite (deeplab2
``g3doc/setup/kitti_step.md`` and ``motchallenge_step.md`` label maps, ``data/dataset.py``
descriptors), not computed from the modules.
"""

from __future__ import annotations

import shutil

import pytest
from step_fixtures import write_kitti_step, write_motchallenge_step

from vpsbench.datasets import (
    DATASETS,
    canonical_name,
    detect_dataset,
    get_dataset,
    get_protocol,
    kitti_step,
    motchallenge_step,
)

KITTI_NAMES = ["road", "sidewalk", "building", "wall", "fence", "pole", "traffic light",
               "traffic sign", "vegetation", "terrain", "sky", "person", "rider", "car", "truck",
               "bus", "train", "motorcycle", "bicycle"]  # fmt: skip
MOT_NAMES = ["sidewalk", "building", "vegetation", "sky", "person", "rider", "bicycle"]


def test_registered_with_their_spellings():
    assert {"kitti_step", "motchallenge_step"} <= set(DATASETS)
    for spelling in ("kitti_step", "kitti-step", "KITTI-STEP"):
        assert canonical_name(spelling) == "kitti_step"
    for spelling in ("motchallenge_step", "MOTChallenge-STEP"):
        assert canonical_name(spelling) == "motchallenge_step"
    assert get_dataset("kitti-step") is kitti_step.DATASET


def test_label_maps_as_the_setup_guides_list_them():
    kitti = get_dataset("kitti_step")
    assert [(c.id, c.name) for c in kitti.categories] == list(enumerate(KITTI_NAMES))
    # data/dataset.py class_has_instances_list: only person and car carry ids
    assert [c.id for c in kitti.categories if c.isthing] == [11, 13]
    mot = get_dataset("motchallenge_step")
    assert [(c.id, c.name) for c in mot.categories] == list(enumerate(MOT_NAMES))
    assert [c.id for c in mot.categories if c.isthing] == [4]
    # the Cityscapes trainIds the MOTChallenge classes were made from (create_step_panoptic_maps)
    assert [c.source_id for c in mot.categories] == [1, 2, 8, 10, 11, 12, 18]
    assert mot.categories[4].color == kitti.categories[11].color == (220, 20, 60)


def test_step_protocol_and_sixteen_instance_bits():
    for name in ("kitti_step", "motchallenge_step"):
        dataset = get_dataset(name)
        assert dataset.protocol is get_protocol("step_official")
        assert dataset.label_divisor == 1 << 16
    protocol = get_protocol("step_official")
    assert protocol.vpq_window_sizes == (1, 6, 11, 16) and protocol.vpq_k == (0, 5, 10, 15)
    assert protocol.min_tube_area == 0 and protocol.excluded_category_ids == ()
    assert protocol.vc_clip_lengths == (8, 16) and protocol.stq_rule == "deeplab2"


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    kitti = tmp_path_factory.mktemp("kitti")
    mot = tmp_path_factory.mktemp("mot")
    write_kitti_step(kitti)
    write_motchallenge_step(mot)
    return kitti, mot


def test_detection_by_image_format(roots):
    kitti, mot = roots
    assert detect_dataset(kitti, "val").name == "kitti_step"
    assert detect_dataset(kitti, "test").name == "kitti_step"
    for split in ("train", "val", "test"):  # val: sequence 0002 inside train/
        assert detect_dataset(mot, split).name == "motchallenge_step"
    with pytest.raises(ValueError, match="no known release layout for split 'train'"):
        detect_dataset(kitti, "train")


def test_detection_of_labels_only_roots(roots, tmp_path):
    kitti, mot = roots
    for source, name in ((kitti, "kitti"), (mot, "mot")):
        shutil.copytree(source / "panoptic_maps", tmp_path / name / "panoptic_maps")
    # no images: KITTI numbers frames from 0, MOTS from 1
    assert detect_dataset(tmp_path / "kitti", "val").name == "kitti_step"
    assert detect_dataset(tmp_path / "mot", "train").name == "motchallenge_step"
    assert not motchallenge_step.detect(tmp_path / "kitti", "val")
    assert not kitti_step.detect(tmp_path / "mot", "train")
