"""RPN, box and mask heads from torchvision detection components (the R50-FPN Mask R-CNN of
mcahny/vps ``two_stage.py``).

``RoIHeads`` is used as a toolbox (sampling, RoI pooling, heads), not through its ``forward``:
VPSNet shares the sampled RoI features with the track head and filters detections its own way.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.detection.roi_heads import RoIHeads
from torchvision.models.detection.rpn import AnchorGenerator, RegionProposalNetwork, RPNHead
from torchvision.ops import MultiScaleRoIAlign

from vpsbench_model.backbone import LEVELS
from vpsbench_model.config import ModelConfig

BOX_WEIGHTS = (10.0, 10.0, 5.0, 5.0)  # target stds (0.1, 0.1, 0.2, 0.2)


def build_rpn(config: ModelConfig) -> RegionProposalNetwork:
    """One anchor size per level P2..P6, ratios 0.5/1/2; IoU 0.7/0.3, NMS 0.7 (official)."""
    anchors = AnchorGenerator(
        sizes=tuple((size,) for size in config.anchor_sizes),
        aspect_ratios=((0.5, 1.0, 2.0),) * len(config.anchor_sizes),
    )
    return RegionProposalNetwork(
        anchors,
        RPNHead(config.fpn_channels, 3),
        fg_iou_thresh=0.7,
        bg_iou_thresh=0.3,
        batch_size_per_image=config.rpn_batch_size,
        positive_fraction=0.5,
        pre_nms_top_n={"training": config.rpn_pre_nms_train, "testing": config.rpn_pre_nms_test},
        post_nms_top_n={
            "training": config.rpn_post_nms_train,
            "testing": config.rpn_post_nms_test,
        },
        nms_thresh=0.7,
    )


def build_roi_heads(config: ModelConfig) -> RoIHeads:
    """Box head (2 FC), mask head (4 conv + deconv), RoIAlign over P2..P5; 512 RoIs, 25% pos."""
    channels, classes = config.fpn_channels, config.num_things + 1
    mask_channels = config.mask_head_channels
    return RoIHeads(
        box_roi_pool=MultiScaleRoIAlign(list(LEVELS[:4]), 7, 2),
        box_head=TwoMLPHead(channels * 7 * 7, config.box_head_dim),
        box_predictor=FastRCNNPredictor(config.box_head_dim, classes),
        fg_iou_thresh=0.5,
        bg_iou_thresh=0.5,
        batch_size_per_image=config.box_batch_size,
        positive_fraction=config.box_positive_fraction,
        bbox_reg_weights=BOX_WEIGHTS,
        # Unused: VPSNet replaces RoIHeads.postprocess_detections by the MaskROI filter.
        score_thresh=0.05,
        nms_thresh=0.5,
        detections_per_img=100,
        mask_roi_pool=MultiScaleRoIAlign(list(LEVELS[:4]), 14, 2),
        mask_head=MaskRCNNHeads(channels, [mask_channels] * 4, 1),
        mask_predictor=MaskRCNNPredictor(mask_channels, mask_channels, classes),
    )


def box_loss(
    class_logits: torch.Tensor, box_regression: torch.Tensor, labels: list[torch.Tensor],
    regression_targets: list[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """CE over all sampled RoIs; SmoothL1 (beta 1.0, mmdet's; torchvision's fastrcnn_loss uses
    1/9) on the positives' class-specific deltas, summed and divided by the sampled count."""
    labels_all = torch.cat(labels)
    targets = torch.cat(regression_targets)
    loss_cls = F.cross_entropy(class_logits.float(), labels_all)
    positive = torch.where(labels_all > 0)[0]
    deltas = box_regression.float().reshape(len(labels_all), -1, 4)[positive, labels_all[positive]]
    loss_box = F.smooth_l1_loss(deltas, targets[positive], beta=1.0, reduction="sum")
    return loss_cls, loss_box / max(len(labels_all), 1)
