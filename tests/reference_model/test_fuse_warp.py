"""Flow warping, correlation and the Fuse neck's shapes."""

from __future__ import annotations

from collections import OrderedDict

import torch

from vpsbench_model.fuse import FlowHead, FuseNeck, correlation, gather, resize_flow, warp


def test_zero_flow_is_identity():
    x = torch.randn(2, 5, 9, 14)
    out = warp(x, torch.zeros(2, 2, 9, 14))
    torch.testing.assert_close(out, x, atol=1e-5, rtol=0)


def test_integer_flow_shifts():
    x = torch.randn(1, 3, 8, 10)
    flow = torch.zeros(1, 2, 8, 10)
    flow[:, 0] = 2.0  # dx = +2: output(p) = input(p + (2, 0))
    flow[:, 1] = -1.0  # dy = -1
    out = warp(x, flow)
    torch.testing.assert_close(out[:, :, 1:, :-2], x[:, :, :-1, 2:], atol=1e-5, rtol=0)
    assert out[:, :, 0].abs().max() < 1e-6  # sampled from outside: zero padding
    assert out[:, :, :, -2:].abs().max() < 1e-6


def test_resize_flow_scales_values():
    flow = torch.ones(1, 2, 4, 8)
    out = resize_flow(flow, (16, 16))
    assert out.shape == (1, 2, 16, 16)
    torch.testing.assert_close(out[:, 0], torch.full((1, 16, 16), 2.0))
    torch.testing.assert_close(out[:, 1], torch.full((1, 16, 16), 4.0))


def test_correlation_layout():
    a, b = torch.randn(1, 4, 6, 7), torch.randn(1, 4, 6, 7)
    corr = correlation(a, b, 2)
    assert corr.shape == (1, 25, 6, 7)
    torch.testing.assert_close(corr[:, 12], (a * b).mean(1))  # zero displacement in the middle
    # Channel (dy+2)*5 + (dx+2) with dy=0, dx=1 compares a(y, x) with b(y, x+1).
    torch.testing.assert_close(corr[:, 13, :, :-1], (a[..., :-1] * b[..., 1:]).mean(1))


def correlation_by_definition(a: torch.Tensor, b: torch.Tensor, d: int) -> torch.Tensor:
    """One channel-mean product per shift against a zero-padded b: the definition, slowly."""
    height, width = a.shape[-2:]
    padded = torch.nn.functional.pad(b, [d] * 4)
    maps = [
        (a * padded[..., dy : dy + height, dx : dx + width]).mean(1)
        for dy in range(2 * d + 1)
        for dx in range(2 * d + 1)
    ]
    return torch.stack(maps, 1)


def test_correlation_matches_its_definition_with_gradients():
    # Widths below, at and above whole tiles, and borders where b is padded.
    torch.manual_seed(0)
    for shape, d, tile in (((2, 3, 5, 7), 2, 4), ((1, 6, 9, 16), 3, 8), ((1, 2, 4, 21), 1, 16)):
        a, b = torch.randn(shape, requires_grad=True), torch.randn(shape, requires_grad=True)
        fast = correlation(a, b, d, tile=tile)
        slow = correlation_by_definition(a, b, d)
        torch.testing.assert_close(fast, slow, atol=1e-6, rtol=1e-5)
        weights = torch.randn_like(slow)
        grads_fast = torch.autograd.grad((fast * weights).sum(), (a, b))
        grads_slow = torch.autograd.grad((slow * weights).sum(), (a, b))
        for fast_grad, slow_grad in zip(grads_fast, grads_slow, strict=True):
            torch.testing.assert_close(fast_grad, slow_grad, atol=1e-6, rtol=1e-5)


def test_gather_and_fuse_shapes():
    sizes = [(16, 32), (8, 16), (4, 8), (2, 4), (1, 2)]
    feats = OrderedDict((str(i), torch.randn(1, 8, *s)) for i, s in enumerate(sizes))
    ref = OrderedDict((k, torch.randn_like(v)) for k, v in feats.items())
    assert gather(list(feats.values())).shape == (1, 8, 16, 32)
    neck = FuseNeck(8, max_disp=2, flow_width=8)
    fused, (flow0, flow1) = neck(feats, ref)
    assert [v.shape for v in fused.values()] == [v.shape for v in feats.values()]
    assert flow0.shape == flow1.shape == (1, 2, 16, 32)
    assert flow1.abs().max() == 0  # the zero-initialised refinement starts as the identity
    # The official refine_level option: fuse at P3, redistribute to all levels.
    fused, (flow0, _) = FuseNeck(8, max_disp=2, flow_width=8, level=1)(feats, ref)
    assert [v.shape for v in fused.values()] == [v.shape for v in feats.values()]
    assert flow0.shape == (1, 2, 8, 16)


def test_flow_head_finds_a_shift():
    # Reference = target moved 2 P3 pixels right: target(p) = reference(p + (2, 0)), which is
    # a flow of (+2, 0) P3 pixels = (+4, 0) at P2, the size the head returns.
    torch.manual_seed(0)
    target = torch.randn(1, 16, 12, 20)
    reference = torch.roll(target, 2, dims=-1)
    head = FlowHead(16, max_disp=3, width=8)
    flow = head(target, reference, (24, 40))
    inner = flow[..., 2:-2, 6:-6]  # away from the borders the roll wraps around
    torch.testing.assert_close(inner[:, 0], torch.full_like(inner[:, 0], 4.0), atol=0.2, rtol=0)
    torch.testing.assert_close(inner[:, 1], torch.zeros_like(inner[:, 1]), atol=0.2, rtol=0)
    still = head(target, target, (24, 40))
    assert still.abs().max() < 0.2
