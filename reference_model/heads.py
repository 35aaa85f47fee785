"""Semantic head (UPSNet style, deformable) and the panoptic head's training logits and target.

Panoptic inference (MaskROI, MaskRemoval, fusion) lives in ``panoptic.py``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)
from torch import nn
from torchvision.ops import DeformConv2d

# Instance logits outside their box: they never compete there (the official code uses 0 there,
# which lets an instance claim far-away pixels whenever all stuff logits are negative).
OUTSIDE = -1e4


def tap_corners(offset: torch.Tensor, height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Bilinear corners of a 3x3 deformable kernel's taps: [B, H*W, 9, 4] rows of the flattened
    image (row H*W stands for outside, zero) and their weights; offsets interleaved (dy, dx)."""
    dtype, device = offset.dtype, offset.device
    taps = torch.arange(9, device=device)
    ys = torch.arange(height, dtype=dtype, device=device).view(1, 1, height, 1)
    xs = torch.arange(width, dtype=dtype, device=device).view(1, 1, 1, width)
    py = ys + (taps // 3 - 1).to(dtype).view(1, 9, 1, 1) + offset[:, 0::2]
    px = xs + (taps % 3 - 1).to(dtype).view(1, 9, 1, 1) + offset[:, 1::2]
    y0, x0 = py.floor(), px.floor()
    fy, fx = py - y0, px - x0
    rows, weights = [], []
    for y, weight_y in ((y0, 1 - fy), (y0 + 1, fy)):
        for x, weight_x in ((x0, 1 - fx), (x0 + 1, fx)):
            inside = (y >= 0) & (y < height) & (x >= 0) & (x < width)
            rows.append(torch.where(inside, y * width + x, height * width).long())
            weights.append(weight_y * weight_x * inside)
    # [B, 9, H, W, 4] -> [B, H*W, 9, 4]: a pixel's 36 samples are adjacent.
    rows_t, weights_t = (
        torch.stack(v, -1).permute(0, 2, 3, 1, 4).reshape(-1, height * width, 9, 4)
        for v in (rows, weights)
    )
    return rows_t, weights_t


def deform_conv3x3(x: torch.Tensor, offset: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``torchvision.ops.deform_conv2d`` for a 3x3 kernel, stride 1, padding 1, no bias: the
    bilinear samples gathered by ``embedding_bag`` (weighted sums of 4 pixel rows), one matmul.

    Same function, but torchvision's CPU kernel is scalar code: at 256 channels and 64x128 this
    is ~5x faster forward, and 2x faster than sampling with ``grid_sample`` (whose gathers are
    strided in NCHW; these read contiguous channel rows). It holds nine sampled copies of the
    input, so GPUs keep torchvision's kernel.
    """
    batch, channels, height, width = x.shape
    pixels = height * width
    rows, weights = tap_corners(offset, height, width)
    # One table of all images' pixels as rows, each image followed by its zero row.
    table = F.pad(x.reshape(batch, channels, pixels).transpose(1, 2), [0, 0, 0, 1])
    image = torch.arange(batch, device=x.device).view(batch, 1, 1, 1) * (pixels + 1)
    cols = F.embedding_bag(
        (rows + image).reshape(-1, 4), table.reshape(-1, channels),
        per_sample_weights=weights.reshape(-1, 4).to(x.dtype), mode="sum",
    ).reshape(batch, pixels, 9 * channels)  # fmt: skip
    kernel = weight.permute(0, 2, 3, 1).reshape(weight.shape[0], 9 * channels)  # tap-major
    return (kernel @ cols.transpose(1, 2)).reshape(batch, -1, height, width)


class DeformBlock(nn.Module):
    """DeformConv3x3 (DCNv1, no bias) + GroupNorm + ReLU, offsets from a plain conv3x3.

    With ``deformable=False`` a plain conv3x3 (no bias) takes its place: a cheaper option for
    CPU configs, where deform_conv2d's backward pass is slow.
    """

    def __init__(
        self, in_channels: int, out_channels: int, groups: int, deformable: bool = True
    ) -> None:
        super().__init__()
        self.offset = nn.Conv2d(in_channels, 18, 3, padding=1) if deformable else None
        conv = DeformConv2d if deformable else nn.Conv2d
        self.conv = conv(in_channels, out_channels, 3, padding=1, bias=False)
        self.norm = nn.GroupNorm(groups, out_channels)
        nn.init.xavier_uniform_(self.conv.weight)
        if self.offset is not None:
            # Zero offsets: start as a regular convolution (the official init lost this to a
            # later Xavier init of the offset convs).
            nn.init.zeros_(self.offset.weight)
            nn.init.zeros_(self.offset.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.offset is None:
            return F.relu(self.norm(self.conv(x)))
        # deform_conv2d has no reduced-precision kernel; run it in fp32 under autocast.
        with torch.autocast(x.device.type, enabled=False):
            x = x.float()
            if x.device.type == "cpu":
                out = deform_conv3x3(x, self.offset(x), self.conv.weight)
            else:
                out = self.conv(x, self.offset(x))
        return F.relu(self.norm(out))


class SemanticHead(nn.Module):
    """UPSNet FPN semantic head: a level-shared deformable subnet on P2..P5, concat, 1x1 conv."""

    def __init__(
        self, in_channels: int, channels: int, num_classes: int, groups: int,
        deform_layers: int = 3,
    ) -> None:  # fmt: skip
        super().__init__()
        widths = [(in_channels, in_channels), (in_channels, channels), (channels, channels)]
        self.subnet = nn.Sequential(
            *(
                DeformBlock(c_in, c_out, groups, deformable=i >= 3 - deform_layers)
                for i, (c_in, c_out) in enumerate(widths)
            )
        )
        self.classifier = nn.Conv2d(4 * channels, num_classes, 1)
        nn.init.xavier_uniform_(self.classifier.weight)
        nn.init.zeros_(self.classifier.bias)

    def forward(self, levels: list[torch.Tensor]) -> torch.Tensor:
        """Class logits at P2 (1/4) resolution (``fcn_score``) from the four finest levels."""
        size = levels[0].shape[-2:]
        outs = [
            F.interpolate(self.subnet(x), size=size, mode="bilinear", align_corners=False)
            if i
            else self.subnet(x)
            for i, x in enumerate(levels[:4])
        ]
        return self.classifier(torch.cat(outs, 1))


def box_span(box: torch.Tensor, height: int, width: int) -> tuple[int, int, int, int]:
    """Integer pixel span (y0, y1, x0, x1), end exclusive, covering a box, clipped; never empty."""
    x0, y0, x1, y1 = (float(v) for v in box)
    x0 = min(max(math.floor(x0), 0), width - 1)
    y0 = min(max(math.floor(y0), 0), height - 1)
    x1 = min(max(math.ceil(x1), x0 + 1), width)
    y1 = min(max(math.ceil(y1), y0 + 1), height)
    return y0, y1, x0, x1


def resize_mask_logit(logit: torch.Tensor, span: tuple[int, int, int, int]) -> torch.Tensor:
    """A 28x28 mask logit bilinearly resized to the span's size (logits, not probabilities)."""
    y0, y1, x0, x1 = span
    return F.interpolate(logit[None, None], size=(y1 - y0, x1 - x0), mode="bilinear")[0, 0]


def panoptic_logits(
    sem_logits: torch.Tensor, mask_logits: torch.Tensor, boxes: torch.Tensor,
    channels: torch.Tensor, num_stuff: int,
) -> torch.Tensor:  # fmt: skip
    """[num_stuff + N, H, W] logits: stuff, then per instance semantic + mask logit in its box.

    ``sem_logits`` [C, H, W]; ``mask_logits`` [N, 28, 28] of each instance's class; ``boxes``
    [N, 4] in the logits' pixel units; ``channels`` [N] the instances' semantic channels.
    """
    height, width = sem_logits.shape[-2:]
    sem_logits = sem_logits.float()
    out = [sem_logits[:num_stuff]]
    for logit, box, channel in zip(mask_logits, boxes, channels.tolist(), strict=True):
        y0, y1, x0, x1 = span = box_span(box, height, width)
        inside = sem_logits[channel, y0:y1, x0:x1] + resize_mask_logit(logit.float(), span)
        out.append(F.pad(inside, (x0, width - x1, y0, height - y1), value=OUTSIDE)[None])
    return torch.cat(out, 0)


def panoptic_target(
    semantic: torch.Tensor, masks: torch.Tensor, num_stuff: int, ignore: int = 255
) -> torch.Tensor:
    """Panoptic GT at the logits' size: stuff classes, ``num_stuff + j`` under mask j, else ignore.

    Thing pixels that no mask covers (crowd, dropped instances) are ignored; later masks
    overwrite earlier ones, as in the official MaskMatching.
    """
    target = semantic.clone()
    target[(semantic >= num_stuff) & (semantic != ignore)] = ignore
    for j, mask in enumerate(masks):
        target[mask.bool()] = num_stuff + j
    return target


def subsample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Every k-th pixel of a label map or masks (..., H, W) down to ``size`` (k = H / h)."""
    step_y = x.shape[-2] // size[0]
    step_x = x.shape[-1] // size[1]
    return x[..., ::step_y, ::step_x][..., : size[0], : size[1]]
