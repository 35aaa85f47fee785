"""Backbone + FPN: a torchvision ResNet wrapped in ``BackboneWithFPN`` (P2..P6, as the R50-FPN
of the official code, github.com/mcahny/vps)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torchvision.models import resnet
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.ops import FrozenBatchNorm2d
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

from vpsbench_model.config import ModelConfig

# ImageNet statistics of torchvision's (and mmdet's) ResNet weights, RGB in 0..255.
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)
LEVELS = ("0", "1", "2", "3", "pool")  # torchvision's names of P2..P6


def norm_layer(kind: str) -> Callable[[int], nn.Module]:
    """FrozenBatchNorm for pretrained backbones (batch 1 per GPU); GroupNorm from scratch."""
    if kind == "frozen_bn":
        return FrozenBatchNorm2d
    if kind == "gn":
        return lambda channels: nn.GroupNorm(32, channels)
    raise ValueError(f"unknown norm {kind!r}")


def build_backbone(config: ModelConfig, weights: str | Path | None = None) -> BackboneWithFPN:
    """ResNet (weights from a local state dict, never downloaded) + FPN with a max-pooled P6."""
    net = getattr(resnet, config.backbone)(weights=None, norm_layer=norm_layer(config.norm))
    if weights is not None:
        state = torch.load(weights, map_location="cpu", weights_only=True)
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        missing, unexpected = net.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if not k.startswith("fc.")]:
            raise ValueError(f"{weights}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    # Freeze the stem and the first stages like the official frozen_stages (trainable_layers=3).
    trainable = ["layer4", "layer3", "layer2", "layer1", "conv1"][: config.trainable_layers]
    if config.trainable_layers == 5:
        trainable.append("bn1")
    for name, param in net.named_parameters():
        if not any(name.startswith(layer) for layer in trainable):
            param.requires_grad_(False)
    stage_channels = net.inplanes // 8  # 64 for BasicBlock nets, 256 for Bottleneck nets
    return BackboneWithFPN(
        net,
        return_layers={"layer1": "0", "layer2": "1", "layer3": "2", "layer4": "3"},
        in_channels_list=[stage_channels * 2**i for i in range(4)],
        out_channels=config.fpn_channels,
        extra_blocks=LastLevelMaxPool(),
    )


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8-range RGB (B,3,H,W) to the backbone's normalised input."""
    mean = images.new_tensor(PIXEL_MEAN).view(1, 3, 1, 1)
    std = images.new_tensor(PIXEL_STD).view(1, 3, 1, 1)
    return (images - mean) / std
