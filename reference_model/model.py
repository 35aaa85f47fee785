"""VPSNet: backbone + FPN, optional Fuse neck, RPN, box/mask/semantic heads, optional Track head.

Training (``forward``) takes a batch of (target, reference) pairs and returns the loss dict of
the official ``panoptic_fusetrack.py`` (github.com/mcahny/vps, ``mmdet/models/detectors/``).
Video inference (``predict``) takes one frame at a time, in order, with a ``VideoState`` that
caches the previous frame's raw FPN features and the track memory.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)
from torch import nn
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.roi_heads import maskrcnn_loss

from vpsbench_model.backbone import build_backbone
from vpsbench_model.config import ModelConfig
from vpsbench_model.detector import box_loss, build_roi_heads, build_rpn
from vpsbench_model.fuse import FuseNeck, photometric_loss
from vpsbench_model.heads import SemanticHead, panoptic_logits, panoptic_target, subsample
from vpsbench_model.panoptic import fuse_semantic, mask_removal, mask_roi_filter, panoptic_argmax
from vpsbench_model.track import (
    IoULinker,
    TrackHead,
    TrackMemory,
    affinity,
    associate,
    hard_negative_loss,
    track_loss,
    track_targets,
)

Features = OrderedDict[str, torch.Tensor]
IGNORE = 255
REFERENCE_AREA = 1024 * 2048  # the image area at which the stuff area limit is defined


@dataclass
class VideoState:
    """What inference keeps between frames of one video."""

    prev_feats: Features | None = None  # raw (unfused) FPN features of the previous frame
    memory: TrackMemory = field(default_factory=TrackMemory)
    linker: IoULinker = field(default_factory=IoULinker)


@dataclass
class FramePrediction:
    """One frame's result: semantic channel per pixel (255 void), instance index per pixel
    (-1 none) and, per instance index, its track id and semantic channel."""

    classes: torch.Tensor
    instance: torch.Tensor
    track_ids: list[int]
    channels: list[int]


class VPSNet(nn.Module):
    """The four variants of the paper's ablation: ``image``, ``fuse``, ``track``, ``fusetrack``."""

    def __init__(self, config: ModelConfig, backbone_weights: str | Path | None = None) -> None:
        super().__init__()
        self.config = config
        channels = config.fpn_channels
        self.backbone = build_backbone(config, backbone_weights)
        self.fuse_neck = (
            FuseNeck(channels, config.corr_displacement, config.flow_channels, config.fuse_level)
            if config.fuse
            else None
        )
        self.rpn = build_rpn(config)
        self.roi_heads = build_roi_heads(config)
        self.semantic_head = SemanticHead(
            channels, config.semantic_channels, config.num_classes, config.semantic_groups,
            config.semantic_deform_layers,
        )  # fmt: skip
        self.track_head = TrackHead(channels * 7 * 7, config.track_dim) if config.track else None
        self.detach_match = False  # set by the training loop (TrainConfig.match_detach_steps)

    @property
    def uses_reference(self) -> bool:
        return self.fuse_neck is not None or self.track_head is not None

    def associate_tracks(self, state: VideoState, feats, dets, padded) -> list[int]:
        """Track ids of ``dets`` from the learned association, updating the video's memory."""
        config = self.config
        embeds = self.track_head(self.roi_heads.box_roi_pool(feats, [dets.boxes], [padded]))
        return associate(
            state.memory, embeds, dets.boxes, dets.scores, dets.labels, config.match_coeff,
            config.memory_max_age,
        )  # fmt: skip

    def channel_of(self, labels: torch.Tensor) -> torch.Tensor:
        """Detector class 1..K -> semantic channel (things follow the stuff channels)."""
        return labels + self.config.num_stuff - 1

    def mask_logits(
        self, feats: Features, boxes: list[torch.Tensor], sizes: list[tuple[int, int]]
    ) -> torch.Tensor:
        """[N, K+1, 28, 28] mask logits of the boxes (concatenated over images)."""
        heads = self.roi_heads
        return heads.mask_predictor(heads.mask_head(heads.mask_roi_pool(feats, boxes, sizes)))

    # ----------------------------------------------------------------------------- training

    def propose(
        self, images: torch.Tensor, sizes: list[tuple[int, int]], feats: Features,
        targets: list[dict[str, torch.Tensor]] | None = None,
    ) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:  # fmt: skip
        """RPN proposals (and losses with ``targets``), always in fp32.

        Under bf16 autocast torchvision's AnchorGenerator takes the features' dtype, so anchors,
        decoded proposals and the encoded regression targets would be bf16: 8-pixel steps above
        x = 1024, coarser than the boxes being learned. The whole RPN (head included: its
        outputs are decoded into coordinates) therefore runs outside autocast.
        """
        with torch.autocast(images.device.type, enabled=False):
            feats32 = OrderedDict((k, v.float()) for k, v in feats.items())
            return self.rpn(ImageList(images.float(), sizes), feats32, targets)

    def sample(
        self, proposals: list[torch.Tensor], targets: list[dict[str, torch.Tensor]]
    ) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """RoI sampling and box-regression targets in fp32 (``select_training_samples`` casts
        the GT boxes to the proposals' dtype and encodes in it)."""
        device = proposals[0].device.type if proposals else "cpu"
        with torch.autocast(device, enabled=False):
            proposals = [p.float() for p in proposals]
            targets = [{**t, "boxes": t["boxes"].float()} for t in targets]
            return self.roi_heads.select_training_samples(proposals, targets)

    def forward(
        self, images: torch.Tensor, targets: list[dict[str, torch.Tensor]],
        ref_images: torch.Tensor | None = None,
        ref_targets: list[dict[str, torch.Tensor]] | None = None,
    ) -> dict[str, torch.Tensor]:  # fmt: skip
        """Losses of a batch of pairs (normalised images padded to /32, per-image targets with
        ``boxes``, ``labels`` (1..K), ``masks``, ``ids`` and ``semantic`` (channels, 255))."""
        batch = len(images)
        sizes = [(images.shape[-2], images.shape[-1])] * batch
        if self.uses_reference:
            if ref_images is None:
                raise ValueError(f"the {self.config.variant} variant needs reference images")
            # One Siamese backbone pass over both frames; both keep gradients (official).
            both = self.backbone(torch.cat([images, ref_images]))
            feats = OrderedDict((k, v[:batch]) for k, v in both.items())
            ref_feats = OrderedDict((k, v[batch:]) for k, v in both.items())
        else:
            feats = self.backbone(images)
        losses = {}
        if self.fuse_neck is not None:
            feats, flows = self.fuse_neck(feats, ref_feats)
            losses["loss_flow"] = self.config.loss_flow_weight * photometric_loss(
                images, ref_images, flows
            )

        sem_logits = self.semantic_head(list(feats.values()))
        full = F.interpolate(sem_logits, size=sizes[0], mode="bilinear", align_corners=False)
        semantic = torch.stack([t["semantic"] for t in targets])
        losses["loss_segm"] = F.cross_entropy(full.float(), semantic, ignore_index=IGNORE)

        proposals, rpn_losses = self.propose(images, sizes, feats, targets)
        losses["loss_rpn_cls"] = rpn_losses["loss_objectness"]
        losses["loss_rpn_bbox"] = rpn_losses["loss_rpn_box_reg"]

        heads = self.roi_heads
        proposals, matched, labels, reg_targets = self.sample(proposals, targets)
        roi_feats = heads.box_roi_pool(feats, proposals, sizes)
        class_logits, box_regression = heads.box_predictor(heads.box_head(roi_feats))
        losses["loss_cls"], losses["loss_bbox"] = box_loss(
            class_logits, box_regression, labels, reg_targets
        )

        positive = [torch.where(lab > 0)[0] for lab in labels]
        pos_boxes = [p[i] for p, i in zip(proposals, positive, strict=True)]
        pos_matched = [m[i] for m, i in zip(matched, positive, strict=True)]
        losses["loss_mask"] = maskrcnn_loss(
            self.mask_logits(feats, pos_boxes, sizes),
            pos_boxes,
            [t["masks"] for t in targets],
            [t["labels"] for t in targets],
            pos_matched,
        )

        if self.track_head is not None:
            match, hard = self.track_losses(
                roi_feats, ref_feats, matched, labels, targets, ref_targets, sizes
            )
            losses["loss_match"] = self.config.loss_match_weight * match
            if self.config.loss_hard_negative_weight > 0:
                losses["loss_hard_neg"] = self.config.loss_hard_negative_weight * hard
        losses["loss_pano"] = self.config.loss_pano_weight * self.panoptic_loss(
            feats, sem_logits, targets, sizes
        )
        return losses

    def track_losses(
        self, roi_feats: torch.Tensor, ref_feats: Features, matched: list[torch.Tensor],
        labels: list[torch.Tensor], targets: list[dict], ref_targets: list[dict | None] | None,
        sizes: list[tuple[int, int]],
    ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """(match, hard-negative) losses: sampled target RoIs (fused features) against the
        reference GT boxes (raw features). Pairs whose reference has no labels (a raw
        neighbour, stage 1) do not count; with none labelled both losses are 0."""
        if ref_targets is None:
            raise ValueError("the track head needs reference targets")
        config = self.config
        if self.detach_match:
            roi_feats = roi_feats.detach()
            ref_feats = OrderedDict((k, v.detach()) for k, v in ref_feats.items())
        embeds = self.track_head(roi_feats).split([len(m) for m in matched])
        pairs = [i for i, t in enumerate(ref_targets) if t is not None]
        if not pairs:
            zero = sum(e.sum() for e in embeds) * 0.0
            return zero, zero
        ref_boxes = [ref_targets[i]["boxes"] for i in pairs]
        pooled = self.roi_heads.box_roi_pool(
            OrderedDict((k, v[pairs]) for k, v in ref_feats.items()), ref_boxes, sizes[: len(pairs)]
        )
        split = self.track_head(pooled).split([len(b) for b in ref_boxes])
        ref_embeds = dict(zip(pairs, split, strict=True))
        match, hard = [], []
        for i in pairs:
            target, ref_target = targets[i], ref_targets[i]
            pid, positive = track_targets(matched[i], labels[i], target["ids"], ref_target["ids"])
            memory, memory_labels = [ref_embeds[i]], [ref_target["labels"]]
            if config.match_batch_negatives:
                # Objects of other videos are other identities by construction.
                for j in pairs:
                    if j != i and int(ref_targets[j]["video"]) != int(ref_target["video"]):
                        memory.append(ref_embeds[j])
                        memory_labels.append(ref_targets[j]["labels"])
            logits = affinity(embeds[i], torch.cat(memory))
            match.append(track_loss(logits, pid, positive))
            if config.loss_hard_negative_weight > 0:
                hard.append(
                    hard_negative_loss(
                        logits, pid, positive, labels[i], torch.cat(memory_labels),
                        config.hard_negative_margin,
                    )
                )  # fmt: skip
        hard_loss = torch.stack(hard).mean() if hard else match[0] * 0.0
        return torch.stack(match).mean(), hard_loss

    def panoptic_loss(
        self, feats: Features, sem_logits: torch.Tensor, targets: list[dict],
        sizes: list[tuple[int, int]],
    ) -> torch.Tensor:  # fmt: skip
        """Panoptic head on the GT boxes at 1/4 resolution, one image at a time (the official
        head, mcahny/vps ``mmdet/models/panoptic/upsnetFPN.py``, assumes batch size 1)."""
        gt_boxes = [t["boxes"] for t in targets]
        all_logits = self.mask_logits(feats, gt_boxes, sizes).split([len(b) for b in gt_boxes])
        size = sem_logits.shape[-2:]
        scale = size[0] / sizes[0][0]
        losses = []
        for logits, sem, target in zip(all_logits, sem_logits, targets, strict=True):
            labels = target["labels"]
            mask_logits = logits[torch.arange(len(labels), device=labels.device), labels]
            channels = self.channel_of(labels)
            pano = panoptic_logits(
                sem, mask_logits, target["boxes"] * scale, channels, self.config.num_stuff
            )
            gt = panoptic_target(
                subsample(target["semantic"], size),
                subsample(target["masks"], size),
                self.config.num_stuff,
            )
            losses.append(F.cross_entropy(pano[None], gt[None], ignore_index=IGNORE))
        return torch.stack(losses).mean()

    # ---------------------------------------------------------------------------- inference

    @torch.no_grad()
    def predict(
        self, image: torch.Tensor, state: VideoState, size: tuple[int, int] | None = None
    ) -> FramePrediction:
        """Panoptic segmentation with track ids of one frame (normalised [1, 3, H, W] padded to
        /32); ``size`` is the unpadded (height, width) to crop the result to."""
        if self.training:
            raise RuntimeError("VPSNet.predict needs eval mode (model.eval())")
        config = self.config
        padded = (image.shape[-2], image.shape[-1])
        size = size or padded
        raw = self.backbone(image)
        feats = raw
        if self.fuse_neck is not None:
            # The previous frame's raw features are the reference; the first frame is its own.
            feats, _ = self.fuse_neck(raw, state.prev_feats or raw)
        state.prev_feats = raw

        sem_logits = self.semantic_head(list(feats.values()))
        sem = F.interpolate(sem_logits, size=padded, mode="bilinear", align_corners=False)[0]
        proposals, _ = self.propose(image, [padded], feats)
        heads = self.roi_heads
        roi_feats = heads.box_roi_pool(feats, proposals, [padded])
        class_logits, box_regression = heads.box_predictor(heads.box_head(roi_feats))
        with torch.autocast(image.device.type, enabled=False):  # box decoding in fp32
            dets = mask_roi_filter(
                class_logits.float(), box_regression.float(), proposals[0], size,
                heads.box_coder, config.det_score_thresh, config.det_nms_thresh,
                config.max_detections,
            )  # fmt: skip

        after_removal = config.track_order == "after_removal"
        track_ids: list[int] = []
        if self.track_head is not None and not after_removal:
            # Official order: every detection is associated before MaskRemoval.
            track_ids = self.associate_tracks(state, feats, dets, padded)
        logits = self.mask_logits(feats, [dets.boxes], [padded])
        logits = logits[torch.arange(len(dets), device=logits.device), dets.labels]
        keep, pasted = mask_removal(logits, dets, size, config.mask_overlap_thresh)
        kept = dets[keep]
        channels = self.channel_of(kept.labels).tolist()
        if self.track_head is not None and after_removal:
            track_ids = self.associate_tracks(state, feats, kept, padded)
        elif self.track_head is not None:
            track_ids = [track_ids[k] for k in keep]
        else:
            state.linker.threshold = config.iou_link_thresh
            track_ids = state.linker(kept.boxes, kept.labels)

        sem = sem[:, : size[0], : size[1]].float()
        ids = panoptic_argmax(sem, pasted, channels, config.num_stuff)
        area_limit = round(config.stuff_area_limit * size[0] * size[1] / REFERENCE_AREA)
        classes, instance = fuse_semantic(
            ids, sem.argmax(0), channels, config.num_stuff, area_limit
        )
        return FramePrediction(classes, instance, track_ids, channels)
