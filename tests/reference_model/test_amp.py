"""bf16 autocast leaves box geometry in fp32: the RPN (anchors, proposals, targets), RoI sampling,
box decoding, the Fuse correlation and the Track affinity give the fp32 results under
``torch.autocast`` (tested on CPU, whose autocast also turns convs and matmuls into bf16)."""

from __future__ import annotations

from collections import OrderedDict

import torch
from model_fixtures import HEIGHT, WIDTH, make_batch, tiny_config
from torchvision.models.detection.image_list import ImageList

from vpsbench_model.fuse import FlowHead, correlation
from vpsbench_model.model import VideoState, VPSNet
from vpsbench_model.track import affinity

SIZES = [(HEIGHT, WIDTH)]


def bf16_features(model: VPSNet, images: torch.Tensor) -> OrderedDict:
    """FPN features as an autocast backbone hands them over: bf16."""
    with torch.no_grad():
        return OrderedDict((k, v.bfloat16()) for k, v in model.backbone(images).items())


def run_rpn_and_sampling(model: VPSNet, images, feats, targets, amp: int):
    torch.manual_seed(0)  # the RPN and RoI samplers draw random subsets
    with torch.autocast("cpu", torch.bfloat16, enabled=bool(amp)):
        proposals, losses = model.propose(images, SIZES, feats, targets)
        sampled = model.sample(proposals, targets)
    return proposals, losses, sampled


def test_rpn_and_sampling_are_fp32_under_autocast():
    torch.manual_seed(0)
    model = VPSNet(tiny_config("image").model).train()
    batch = make_batch()
    images, targets = batch["images"], batch["targets"]
    feats = bf16_features(model, images)
    feats32 = OrderedDict((k, v.float()) for k, v in feats.items())
    ref_props, ref_losses, ref_sampled = run_rpn_and_sampling(model, images, feats32, targets, 0)
    props, losses, sampled = run_rpn_and_sampling(model, images, feats, targets, 1)
    for a, b in zip(props, ref_props, strict=True):
        assert a.dtype == torch.float32 and torch.equal(a, b)
    for key, value in losses.items():
        assert value.dtype == torch.float32 and torch.equal(value, ref_losses[key]), key
    for part, ref_part in zip(sampled, ref_sampled, strict=True):  # boxes, matched, labels, targets
        for a, b in zip(part, ref_part, strict=True):
            assert a.dtype == b.dtype and torch.equal(a, b)
    assert sampled[3][0].dtype == torch.float32  # regression targets encoded in fp32

    # What the guard prevents: torchvision's RPN called directly on bf16 features under
    # autocast makes bf16 anchors and proposals.
    torch.manual_seed(0)
    with torch.autocast("cpu", torch.bfloat16):
        raw, _ = model.rpn(ImageList(images, SIZES), feats, targets)
    assert raw[0].dtype == torch.bfloat16


def test_training_and_inference_under_autocast_are_finite():
    torch.manual_seed(0)
    model = VPSNet(tiny_config("fusetrack").model).train()
    batch = make_batch()
    with torch.autocast("cpu", torch.bfloat16):
        losses = model(batch["images"], batch["targets"], batch["ref_images"],
                       batch["ref_targets"])  # fmt: skip
    assert all(torch.isfinite(v) for v in losses.values()), losses
    sum(losses.values()).backward()
    model.eval()
    state = VideoState()
    with torch.autocast("cpu", torch.bfloat16):
        for _ in range(2):
            pred = model.predict(batch["images"][:1], state)
    assert pred.classes.shape == (HEIGHT, WIDTH)
    assert state.memory.boxes is None or state.memory.boxes.dtype == torch.float32


def test_correlation_flow_and_affinity_are_fp32_under_autocast():
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(1, 16, 8, 12, generator=generator) for _ in range(2))
    ref = correlation(a, b, 2)
    with torch.autocast("cpu", torch.bfloat16):
        out = correlation(a, b, 2)
    assert out.dtype == torch.float32 and torch.equal(out, ref)

    head = FlowHead(16, 2, 8)
    torch.nn.init.zeros_(head.net[-1].weight)  # as FuseNeck initialises it
    torch.nn.init.zeros_(head.net[-1].bias)
    with torch.no_grad():
        ref_flow = head(a, b, (16, 24))
        with torch.autocast("cpu", torch.bfloat16):
            flow = head(a, b, (16, 24))
    # With the residual at zero, the flow is the soft-argmax alone, which must be fp32-exact.
    assert flow.dtype == torch.float32 and torch.equal(flow, ref_flow)

    embeds = torch.randn(5, 64, generator=generator)
    memory = torch.randn(3, 64, generator=generator)
    ref_aff = affinity(embeds, memory)
    with torch.autocast("cpu", torch.bfloat16):
        aff = affinity(embeds, memory)
    assert aff.dtype == torch.float32 and torch.equal(aff, ref_aff)
