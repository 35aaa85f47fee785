"""Helpers for the reference-model tests: a very small config and synthetic batches/files."""

from __future__ import annotations

from pathlib import Path

import torch

from vpsbench.datasets import cityscapes_vps
from vpsbench.synth import SynthConfig, generate
from vpsbench_model.config import Config, get_config
from vpsbench_model.data import LabelMap
from vpsbench_model.model import VPSNet
from vpsbench_model.train import build_optimizer

HEIGHT, WIDTH = 64, 128
LABELS = LabelMap.from_categories(cityscapes_vps.CATEGORIES)


def tiny_config(variant: str = "fusetrack") -> Config:
    """``synthetic-tiny`` made smaller still: 64x128 crops, few sampled anchors and RoIs."""
    config = get_config("synthetic-tiny", variant)
    model = config.model
    model.rpn_batch_size, model.box_batch_size = 32, 32
    model.rpn_pre_nms_train, model.rpn_post_nms_train = 200, 100
    model.rpn_pre_nms_test, model.rpn_post_nms_test = 100, 50
    config.data.crop = (HEIGHT, WIDTH)
    config.data.min_instance_area = 4
    config.train.batch_size = 1
    config.train.workers = 0
    config.train.warmup_steps = 2
    config.train.checkpoint_every = 1000
    config.train.log_every = 1
    return config


def make_target(shift: int = 0) -> dict[str, torch.Tensor]:
    """Two objects (a person and a car) on a two-class stuff background, ids 11001 and 13002."""
    masks = torch.zeros(2, HEIGHT, WIDTH, dtype=torch.uint8)
    masks[0, 8:30, 10 + shift : 22 + shift] = 1
    masks[1, 36:56, 60 + shift : 100 + shift] = 1
    semantic = torch.zeros(HEIGHT, WIDTH, dtype=torch.int64)
    semantic[: HEIGHT // 3] = 10
    semantic[masks[0].bool()] = 11
    semantic[masks[1].bool()] = 13
    boxes = torch.tensor([[10.0 + shift, 8, 22 + shift, 30], [60.0 + shift, 36, 100 + shift, 56]])
    return {
        "boxes": boxes,
        "labels": torch.tensor([1, 3]),
        "masks": masks,
        "ids": torch.tensor([11001, 13002]),
        "semantic": semantic,
    }


def make_batch(batch: int = 1) -> dict:
    """Random images with the hand-made targets; the reference is shifted by 2 pixels."""
    generator = torch.Generator().manual_seed(0)
    return {
        "images": torch.randn(batch, 3, HEIGHT, WIDTH, generator=generator),
        "targets": [make_target() for _ in range(batch)],
        "ref_images": torch.randn(batch, 3, HEIGHT, WIDTH, generator=generator),
        "ref_targets": [make_target(shift=2) for _ in range(batch)],
    }


def synth_file(path: Path, split: str = "train", videos: int = 2, frames: int = 10) -> Path:
    """A small synthetic GT split at 64x128 with images on every frame."""
    config = SynthConfig(
        num_videos=videos, frames_per_video=frames, height=HEIGHT, width=WIDTH, seed=0
    )
    return generate(path, config, split=split)


def trained_a_little(config: Config) -> tuple[VPSNet, torch.optim.Optimizer]:
    """A model moved away from its initialisation by two optimiser steps."""
    torch.manual_seed(0)
    model = VPSNet(config.model)
    optimizer = build_optimizer(model, config.train)
    batch = make_batch()
    for _ in range(2):
        optimizer.zero_grad()
        losses = model(batch["images"], batch["targets"], batch["ref_images"],
                       batch["ref_targets"])  # fmt: skip
        sum(losses.values()).backward()
        optimizer.step()
    return model, optimizer
