"""Forward and backward of every variant on tiny inputs; inference output shapes."""

from __future__ import annotations

import math

import pytest
import torch
from model_fixtures import HEIGHT, WIDTH, make_batch, tiny_config
from torchvision.ops import deform_conv2d

from vpsbench_model.config import VARIANTS
from vpsbench_model.heads import deform_conv3x3
from vpsbench_model.model import VideoState, VPSNet

COMMON_LOSSES = {
    "loss_segm", "loss_rpn_cls", "loss_rpn_bbox", "loss_cls", "loss_bbox", "loss_mask",
    "loss_pano",
}  # fmt: skip


@pytest.mark.parametrize("variant", VARIANTS)
def test_forward_backward(variant):
    torch.manual_seed(0)
    config = tiny_config(variant)
    model = VPSNet(config.model)
    batch = make_batch(batch=2)
    losses = model(batch["images"], batch["targets"], batch["ref_images"], batch["ref_targets"])

    expected = set(COMMON_LOSSES)
    if config.model.fuse:
        expected.add("loss_flow")
    if config.model.track:
        expected.add("loss_match")
    assert set(losses) == expected
    assert all(v.ndim == 0 and math.isfinite(v.item()) for v in losses.values()), losses

    sum(losses.values()).backward()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    no_grad = [n for n, p in trainable.items() if p.grad is None]
    assert not no_grad, f"parameters without gradient: {no_grad[:5]}"
    assert all(torch.isfinite(p.grad).all() for p in trainable.values())
    # Every component receives a non-zero signal (zero-initialised flow outputs aside).
    parts = ["backbone", "rpn", "roi_heads", "semantic_head"]
    parts += ["fuse_neck"] * config.model.fuse + ["track_head"] * config.model.track
    for part in parts:
        norm = sum(p.grad.abs().sum() for n, p in trainable.items() if n.startswith(part))
        assert norm > 0, part
    assert model.fuse_neck is None if not config.model.fuse else model.fuse_neck is not None


def test_frozen_stages_get_no_gradient():
    config = tiny_config("image")
    config.model.norm, config.model.trainable_layers = "frozen_bn", 3
    model = VPSNet(config.model)
    batch = make_batch()
    sum(model(batch["images"], batch["targets"]).values()).backward()
    body = model.backbone.body
    assert all(p.grad is None and not p.requires_grad for p in body.conv1.parameters())
    assert all(p.grad is None for p in body.layer1.parameters())
    assert all(p.grad is not None for p in body.layer2.parameters())


def test_reference_required():
    model = VPSNet(tiny_config("fuse").model)
    batch = make_batch()
    with pytest.raises(ValueError, match="reference"):
        model(batch["images"], batch["targets"])


@pytest.mark.parametrize("variant", ["image", "fusetrack"])
def test_predict_shapes(variant):
    torch.manual_seed(0)
    model = VPSNet(tiny_config(variant).model).eval()
    # Lower the detection threshold so that even the untrained model keeps detections.
    model.config.det_score_thresh = 0.0
    state = VideoState()
    images = make_batch()["images"]
    for _ in range(2):
        pred = model.predict(images, state, (HEIGHT - 4, WIDTH - 8))
        assert pred.classes.shape == pred.instance.shape == (HEIGHT - 4, WIDTH - 8)
        assert len(pred.track_ids) == len(pred.channels)
        assert int(pred.instance.max()) < len(pred.track_ids)
        assert all(11 <= c < 19 for c in pred.channels)
        assert state.prev_feats is not None


def test_cpu_deform_conv_equals_torchvision():
    # Fewer, as many and more output channels than inputs: both sampling orders.
    torch.manual_seed(0)
    for out_channels in (5, 6, 7):
        x = torch.randn(2, 6, 9, 13, dtype=torch.float64, requires_grad=True)
        offset = (3 * torch.randn(2, 18, 9, 13, dtype=torch.float64)).requires_grad_()
        weight = torch.randn(out_channels, 6, 3, 3, dtype=torch.float64, requires_grad=True)
        ours = deform_conv3x3(x, offset, weight)
        reference = deform_conv2d(x, offset, weight, padding=1)
        torch.testing.assert_close(ours, reference)
        grads = torch.autograd.grad(ours.square().sum(), [x, offset, weight])
        expected = torch.autograd.grad(reference.square().sum(), [x, offset, weight])
        for got, want in zip(grads, expected, strict=True):
            torch.testing.assert_close(got, want)


def test_cpu_deform_conv_offset_gradient_at_zero_offsets():
    # Zero offsets (the initialisation) put every sample on a pixel, where the bilinear
    # derivative is one-sided; it must be torchvision's (the GPU path), in float32 too.
    torch.manual_seed(0)
    x = torch.randn(1, 8, 12, 20)
    weight = torch.randn(8, 8, 3, 3)
    offset = torch.zeros(1, 18, 12, 20, requires_grad=True)
    ours = torch.autograd.grad(deform_conv3x3(x, offset, weight).square().sum(), offset)[0]
    reference = deform_conv2d(x, offset, weight, padding=1).square().sum()
    expected = torch.autograd.grad(reference, offset)[0]
    torch.testing.assert_close(ours, expected, atol=1e-3, rtol=1e-4)


def test_after_removal_order_gives_memory_slots_only_to_kept_detections():
    torch.manual_seed(0)
    images = make_batch()["images"]
    slots = {}
    for order in ("official", "after_removal"):
        torch.manual_seed(0)
        model = VPSNet(tiny_config("track").model).eval()
        model.config.det_score_thresh = 0.0
        model.config.track_order = order
        state = VideoState()
        kept = 0
        for _ in range(2):
            pred = model.predict(images, state, (HEIGHT - 4, WIDTH - 8))
            assert len(pred.track_ids) == len(pred.channels)
            kept += len(pred.track_ids)
        slots[order] = len(state.memory)
        if order == "after_removal":
            assert len(state.memory) <= kept  # dropped duplicates never enter the memory
    assert slots["after_removal"] < slots["official"]  # here MaskRemoval drops duplicates


def grad_norms(model: VPSNet, loss: torch.Tensor) -> dict[str, float]:
    model.zero_grad(set_to_none=True)
    loss.backward()
    norms: dict[str, float] = {}
    for name, p in model.named_parameters():
        if p.grad is not None:
            part = name.split(".")[0]
            norms[part] = norms.get(part, 0.0) + float(p.grad.abs().sum())
    return norms


def test_unlabelled_references_train_fuse_and_skip_track():
    """Stage 1's raw neighbours have no targets: Fuse learns, the match loss is 0 for them."""
    torch.manual_seed(0)
    model = VPSNet(tiny_config("fusetrack").model)
    batch = make_batch(batch=2)
    unlabelled = model(batch["images"], batch["targets"], batch["ref_images"], [None, None])
    assert unlabelled["loss_match"].item() == 0
    norms = grad_norms(model, sum(unlabelled.values()))
    assert norms["fuse_neck"] > 0 and norms.get("track_head", 0.0) == 0
    # One labelled reference of two: the match loss is that pair's alone.
    half = model(batch["images"], batch["targets"], batch["ref_images"],
                 [None, batch["ref_targets"][1]])  # fmt: skip
    assert half["loss_match"].item() > 0


def test_match_loss_detached_from_the_backbone():
    torch.manual_seed(0)
    model = VPSNet(tiny_config("track").model)
    batch = make_batch(batch=1)
    args = (batch["images"], batch["targets"], batch["ref_images"], batch["ref_targets"])
    attached = grad_norms(model, model(*args)["loss_match"])
    model.detach_match = True
    detached = grad_norms(model, model(*args)["loss_match"])
    assert attached["backbone"] > 0 and "backbone" not in detached
    assert detached["track_head"] > 0


def test_batch_negatives_and_hard_negative_term():
    """Other videos' reference objects join the match loss as negatives; same-video pairs do
    not (they may show the same object)."""
    torch.manual_seed(0)
    config = tiny_config("track")
    model = VPSNet(config.model)
    batch = make_batch(batch=2)
    for n, t in enumerate([*batch["targets"], *batch["ref_targets"]]):
        t["video"] = torch.tensor(n % 2)
    args = (batch["images"], batch["targets"], batch["ref_images"], batch["ref_targets"])
    torch.manual_seed(1)
    plain = model(*args)
    model.config.match_batch_negatives = True
    model.config.loss_hard_negative_weight = 1.0
    torch.manual_seed(1)
    extra = model(*args)
    assert extra["loss_match"].item() > plain["loss_match"].item()  # more wrong columns
    assert math.isfinite(extra["loss_hard_neg"].item()) and "loss_hard_neg" not in plain
    for t in batch["ref_targets"]:
        t["video"] = torch.tensor(0)
    torch.manual_seed(1)
    same_video = model(*args)
    assert same_video["loss_match"].item() == pytest.approx(plain["loss_match"].item())
