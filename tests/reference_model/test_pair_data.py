"""Pair dataset: targets, identical augmentation of both frames, DataLoader workers."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from model_fixtures import HEIGHT, WIDTH, synth_file, tiny_config
from torch.utils.data import DataLoader

from vpsbench.datasets import cityscapes_vps
from vpsbench_model.data import Augment, LabelMap, PairDataset, collate, panoptic_targets


@pytest.fixture(scope="module")
def train_file(tmp_path_factory):
    return synth_file(tmp_path_factory.mktemp("data") / "train.h5", videos=2, frames=10)


def test_label_map_orders_stuff_then_things():
    labels = LabelMap.from_categories(cityscapes_vps.CATEGORIES)
    assert labels.num_stuff == 11 and labels.num_things == 8
    table = labels.lookup(256)
    assert table[13] == 13 and table[255] == 255


def test_panoptic_targets():
    labels = LabelMap.from_categories(cityscapes_vps.CATEGORIES)
    pan = np.zeros((8, 10), np.int64)  # road
    pan[:2] = 10_000  # sky
    pan[2:5, 1:4] = 13_007  # car 7
    pan[5:8, 6:9] = 11_000  # person crowd: no instance
    pan[0, 0] = 255_000  # void
    pan[7, 0] = 12_003  # a 1-pixel rider: below min_area
    target = panoptic_targets(pan, labels, 1000, min_area=2)
    assert target["boxes"].tolist() == [[1, 2, 4, 5]]
    assert target["labels"].tolist() == [3] and target["ids"].tolist() == [13_007]
    assert target["masks"].shape == (1, 8, 10) and int(target["masks"].sum()) == 9
    assert target["semantic"][0, 0] == 255 and target["semantic"][6, 7] == 11
    assert target["semantic"][1, 5] == 10 and target["semantic"][3, 2] == 13


def test_same_augmentation_for_both_frames():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (HEIGHT, WIDTH, 3), np.uint8)
    pan = rng.integers(0, 3, (HEIGHT, WIDTH)) * 1000
    crop = (48, 96)
    plain = Augment((80, 160), False, 5, 7)(image, pan, crop, 255_000)
    flipped = Augment((HEIGHT, WIDTH), True, 5, 7)(image, pan, crop, 255_000)
    again = Augment((80, 160), False, 5, 7)(image, pan, crop, 255_000)
    assert plain[0].shape == (3, *crop) and plain[1].shape == crop
    assert torch.equal(plain[0], again[0]) and np.array_equal(plain[1], again[1])
    # The flip applies to the resized frame before the crop, to the image and labels alike.
    mirror = Augment((HEIGHT, WIDTH), False, 5, 7)(image[:, ::-1], pan[:, ::-1], crop, 0)
    assert torch.allclose(flipped[0], mirror[0], atol=1e-4) and np.array_equal(
        flipped[1], mirror[1]
    )
    assert not torch.allclose(flipped[0], plain[0])
    # A scale below the crop pads: zeros after normalisation, void labels.
    small = Augment((40, 80), False, 0, 0)(image, pan, crop, 255_000)
    assert (small[0][:, 40:] == 0).all() and (small[1][:, 80:] == 255_000).all()


def test_dataset_pairs_and_workers(train_file):
    config = tiny_config().data
    dataset = PairDataset(train_file, config)
    assert len(dataset) == 2 * 2  # 2 videos x 2 annotated frames, each with a neighbour
    sample = dataset[0]
    assert sample["image"].shape == sample["ref_image"].shape == (3, *config.crop)
    assert abs(sample["ref_index"] - sample["index"]) == 5
    target = sample["target"]
    assert len(target["boxes"]) == len(target["labels"]) == len(target["masks"])
    assert (target["labels"] >= 1).all() and (target["labels"] <= 8).all()
    loader = DataLoader(dataset, batch_size=2, num_workers=1, collate_fn=collate)
    batch = next(iter(loader))
    assert batch["images"].shape == (2, 3, *config.crop)
    assert len(batch["targets"]) == len(batch["ref_targets"]) == 2


def test_raw_references_are_neighbouring_frames_without_targets(train_file):
    """Stage 1 of the paper: annotated frames with their ±1 raw neighbours, which have no
    labels; the target frame keeps its targets, the reference has an image only."""
    config = tiny_config().data
    config.reference = "raw"
    dataset = PairDataset(train_file, config, train=False)
    assert [(s[1], s[2]) for s in dataset.samples[:2]] == [(4, [3, 5]), (9, [8])]
    sample = dataset[0]
    assert sample["ref_index"] == 3 and sample["ref_target"] is None
    assert sample["ref_image"].shape == (3, *config.crop) and sample["target"] is not None
    batch = collate([dataset[0], dataset[1]])
    assert batch["ref_targets"] == [None, None]
    assert int(sample["target"]["video"]) == 0 and int(dataset[2]["target"]["video"]) == 1
    config.reference = "sideways"
    with pytest.raises(ValueError, match="unknown reference 'sideways'"):
        PairDataset(train_file, config)
