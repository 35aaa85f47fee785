"""Fuse module (pixel level): gather, flow-align, attend, refine, redistribute.

The official module is the extra neck ``BFPTcea`` (github.com/mcahny/vps,
``mmdet/models/extra_necks/bfp_tcea.py``).

The official initial flow is a frozen FlowNet2 on the RGB frames. Here a light flow head estimates
it from a cost volume of the two frames' P3 features (see docs/MODEL.md for why), then the
official residual estimator refines it at P2 exactly as in ``BFPTcea``.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)
from torch import nn


def gather(levels: list[torch.Tensor], level: int = 0) -> torch.Tensor:
    """Mean of all levels at the size of ``levels[level]``: finer ones max-pooled, coarser ones
    resized (nearest), as the official ``BFP`` gather (``refine_level``)."""
    size = levels[level].shape[-2:]
    total = levels[level].clone()
    for i, x in enumerate(levels):
        if i != level:
            total += F.adaptive_max_pool2d(x, size) if i < level else F.interpolate(x, size=size)
    return total / len(levels)


def redistribute(
    feats: OrderedDict[str, torch.Tensor], refined: torch.Tensor, level: int
) -> OrderedDict[str, torch.Tensor]:
    """Add the refined map back to every level: max-pooled to coarser sizes, resized (nearest)
    to finer ones."""
    fused = OrderedDict()
    for i, (name, x) in enumerate(feats.items()):
        size = x.shape[-2:]
        if i == level:
            pooled = refined
        elif i > level:
            pooled = F.adaptive_max_pool2d(refined, size)
        else:
            pooled = F.interpolate(refined, size)
        fused[name] = x + pooled
    return fused


def correlation(a: torch.Tensor, b: torch.Tensor, max_disp: int, tile: int = 16) -> torch.Tensor:
    """FlowNet correlation (kernel 1): channel-mean of a(p)·b(p+d) for every |d| <= max_disp.

    Channel (dy+d)·(2d+1) + (dx+d) holds the shift (dy, dx); b is zero outside the image. For
    each dy, every ``tile`` pixels of a row of ``a`` are multiplied with the ``tile + 2d``
    pixels of ``b`` they can reach in one matmul and the 2d+1 shifts are its diagonals: 3-4x
    faster than a product per shift, forward and backward, at 2.7x the minimal FLOPs.

    Always fp32, also under autocast: the cost volume feeds a softmax over displacements (a
    soft-argmax flow), and bf16 products of unit vectors lose the small differences it ranks.
    """
    with torch.autocast(a.device.type, enabled=False):
        return _correlation(a.float(), b.float(), max_disp, tile)


def _correlation(a: torch.Tensor, b: torch.Tensor, max_disp: int, tile: int) -> torch.Tensor:
    batch, channels, height, width = a.shape
    taps = 2 * max_disp + 1
    tiles = -(-width // tile)
    extra = tiles * tile - width  # pad the width to whole tiles
    a_rows = F.pad(a, [0, extra]).permute(0, 2, 3, 1).reshape(batch, height, tiles, tile, -1)
    b_rows = F.pad(b, [max_disp, max_disp + extra, max_disp, max_disp]).permute(0, 2, 3, 1)
    maps = []
    for dy in range(taps):
        reach = b_rows[:, dy : dy + height].unfold(2, tile + taps - 1, tile)  # (B,H,T,C,t+2d)
        products = a_rows @ reach  # (B, H, T, tile, tile + 2d): pixel i against i + dx
        band = torch.stack([products.diagonal(dx, -2, -1) for dx in range(taps)], 1)
        maps.append(band.reshape(batch, taps, height, tiles * tile)[..., :width])
    return torch.cat(maps, 1) / channels


def warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``x`` at p + flow(p) (flow in pixels, channels (dx, dy)); zero flow is the identity.

    The grid is built for align_corners=True and sampled with it (the official code mixed the
    two conventions, a sub-pixel shift in the released code).
    """
    height, width = x.shape[-2:]
    ys = torch.linspace(-1, 1, height, device=x.device, dtype=flow.dtype)
    xs = torch.linspace(-1, 1, width, device=x.device, dtype=flow.dtype)
    base = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1)  # (H, W, 2) as (x, y)
    scale = flow.new_tensor([max(width - 1, 1) / 2, max(height - 1, 1) / 2]).view(1, 2, 1, 1)
    grid = base.unsqueeze(0) + (flow / scale).permute(0, 2, 3, 1)
    return F.grid_sample(
        x.float(), grid.float(), mode="bilinear", padding_mode="zeros", align_corners=True
    )


def resize_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of a flow field, with its values scaled to the new pixel size."""
    height, width = flow.shape[-2:]
    out = F.interpolate(flow, size=size, mode="bilinear", align_corners=False)
    factor = flow.new_tensor([size[1] / width, size[0] / height]).view(1, 2, 1, 1)
    return out * factor


def estimator(in_channels: int, width: int) -> nn.Sequential:
    """The official flow estimator shape: 3 conv3x3 + LeakyReLU(0.1), then conv3x3 to 2."""
    layers: list[nn.Module] = []
    for c_in, c_out in ((in_channels, width), (width, width), (width, width // 2)):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.LeakyReLU(0.1)]
    layers.append(nn.Conv2d(width // 2, 2, 3, padding=1))
    return nn.Sequential(*layers)


class FlowHead(nn.Module):
    """Light initial flow (target -> reference) from P3 features, returned at P2 size.

    A soft-argmax over a cosine-similarity cost volume (±``max_disp`` P3 pixels, i.e. ±8·max_disp
    image pixels) gives a parameter-free estimate from the first step on; a small learned
    estimator (zero-initialised) adds a residual, and the softmax temperature is learned.
    """

    def __init__(self, channels: int, max_disp: int, width: int, temperature: float = 0.02):
        super().__init__()
        self.max_disp = max_disp
        self.log_temperature = nn.Parameter(torch.tensor(math.log(temperature)))
        self.net = estimator(channels + (2 * max_disp + 1) ** 2, width)
        shifts = torch.arange(-max_disp, max_disp + 1, dtype=torch.float32)
        dy, dx = torch.meshgrid(shifts, shifts, indexing="ij")  # channel order of correlation
        self.register_buffer("shifts", torch.stack([dx.flatten(), dy.flatten()]), persistent=False)

    def forward(
        self, target: torch.Tensor, reference: torch.Tensor, size: tuple[int, int]
    ) -> torch.Tensor:
        with torch.autocast(target.device.type, enabled=False):  # soft-argmax flow in fp32
            a = F.normalize(target.float(), dim=1)
            b = F.normalize(reference.float(), dim=1)
            cost = correlation(a, b, self.max_disp) * a.shape[1]  # channel mean -> cosine
            prob = F.softmax(cost / self.log_temperature.exp(), 1)
            flow = torch.einsum("bkhw,ck->bchw", prob, self.shifts)
        flow = flow + self.net(torch.cat([target, cost.to(target.dtype)], 1)).float()
        return resize_flow(flow, size)


class TCEAFusion(nn.Module):
    """Spatio-temporal attention fusion of the target and the aligned reference
    (EDVR-style ``TCEA_Fusion``, mcahny/vps ``mmdet/models/utils/tcea_modules.py``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        c = channels
        self.t_att_1 = nn.Conv2d(c, c, 3, padding=1)  # embeds every frame (shared)
        self.t_att_2 = nn.Conv2d(c, c, 3, padding=1)  # embeds the centre (target) frame
        self.fea_fusion = nn.Conv2d(2 * c, c, 1)
        self.s_att_1 = nn.Conv2d(2 * c, c, 1)
        self.s_att_2 = nn.Conv2d(2 * c, c, 1)
        self.s_att_3 = nn.Conv2d(c, c, 3, padding=1)
        self.s_att_4 = nn.Conv2d(c, c, 3, padding=1)
        self.s_att_add_1 = nn.Conv2d(c, c, 1)
        self.s_att_add_2 = nn.Conv2d(c, c, 1)
        self.lrelu = nn.LeakyReLU(0.1)

    def forward(self, target: torch.Tensor, aligned: torch.Tensor) -> torch.Tensor:
        e_ref = self.t_att_2(target)
        # Raw (unnormalised) dot products, as in the official code; fp32 for the sum over C.
        weights = [
            torch.sigmoid((self.t_att_1(x).float() * e_ref.float()).sum(1, keepdim=True))
            for x in (target, aligned)
        ]
        frames = torch.cat([target * weights[0].to(target), aligned * weights[1].to(target)], 1)
        fused = self.lrelu(self.fea_fusion(frames))
        att = self.lrelu(self.s_att_1(frames))
        att = torch.cat(
            [F.max_pool2d(att, 3, 2, 1), F.avg_pool2d(att, 3, 2, 1, count_include_pad=True)], 1
        )
        att = self.lrelu(self.s_att_3(self.lrelu(self.s_att_2(att))))
        att = F.interpolate(att, size=fused.shape[-2:], mode="bilinear", align_corners=False)
        att = self.s_att_4(att)
        add = self.s_att_add_2(self.lrelu(self.s_att_add_1(att)))
        return fused * torch.sigmoid(att) * 2 + add


class FuseNeck(nn.Module):
    """The extra neck ``BFPTcea``: fuses the reference frame into the target's FPN levels."""

    def __init__(
        self, channels: int, max_disp: int = 4, flow_width: int = 64, level: int = 0
    ) -> None:
        super().__init__()
        self.max_disp = max_disp
        self.level = level  # the official refine_level: 0 fuses at P2
        self.flow_head = FlowHead(channels, max_disp, flow_width)
        self.refine_flow = estimator(channels + (2 * max_disp + 1) ** 2 + 2, flow_width)
        self.attention = TCEAFusion(channels)
        self.refine = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU())
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)
        # The learned flow outputs start at zero: the initial flow is then the soft-argmax
        # estimate and the refinement starts as the identity, not at random offsets.
        for net in (self.flow_head.net, self.refine_flow):
            nn.init.zeros_(net[-1].weight)

    def forward(
        self, feats: OrderedDict[str, torch.Tensor], ref_feats: OrderedDict[str, torch.Tensor]
    ) -> tuple[OrderedDict[str, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
        """Fused target levels, and the (initial, residual) flows at the fusion level (P2 by
        default) for the flow loss."""
        levels, ref_levels = list(feats.values()), list(ref_feats.values())
        target, reference = gather(levels, self.level), gather(ref_levels, self.level)
        size = (target.shape[-2], target.shape[-1])
        flow0 = self.flow_head(levels[1], ref_levels[1], size)
        aligned = warp(reference, flow0)
        corr = correlation(target.float(), aligned, self.max_disp)
        flow1 = self.refine_flow(torch.cat([target, corr.to(target), flow0.to(target)], 1))
        # A second warp of the already-warped map, not a warp by flow0 + flow1 (official).
        aligned = warp(aligned, flow1.float()).to(target.dtype)
        refined = self.refine(self.attention(target, aligned))
        return redistribute(feats, refined, self.level), (flow0, flow1.float())


def photometric_loss(
    images: torch.Tensor, ref_images: torch.Tensor, flows: tuple[torch.Tensor, torch.Tensor]
) -> torch.Tensor:
    """Self-supervision of the learned flow: the warped reference image should match the target.

    Images are compared at the flows' (P2) resolution, after the initial warp and after the
    sequential second one, on pixels whose source lies inside the image.
    """
    flow0, flow1 = flows
    size = flow0.shape[-2:]
    target = F.adaptive_avg_pool2d(images.float(), size)
    reference = F.adaptive_avg_pool2d(ref_images.float(), size)
    ones = torch.ones_like(reference[:, :1])
    loss = flow0.new_zeros(())
    warped, valid = reference, ones
    for flow in (flow0, flow1):
        warped, valid = warp(warped, flow), warp(valid, flow)
        mask = (valid > 0.999).float()
        error = ((target - warped).abs().mean(1, keepdim=True) * mask).sum() / mask.sum().clamp(1)
        smooth = (flow[..., 1:, :] - flow[..., :-1, :]).abs().mean() + (
            flow[..., 1:] - flow[..., :-1]
        ).abs().mean()
        loss = loss + error + 0.1 * smooth
    return loss
