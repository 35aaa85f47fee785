"""Panoptic inference rules (mcahny/vps ``mask_roi.py``,
``mask_removal.py``, ``unary_logits.py``): MaskROI, MaskRemoval, argmax, fusion."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)
from torchvision.models.detection._utils import BoxCoder
from torchvision.ops import clip_boxes_to_image, nms

from vpsbench_model.heads import box_span, resize_mask_logit

VOID = 255


@dataclass
class Detections:
    """Detections of one image, sorted by descending score; labels are detector classes 1..K."""

    boxes: torch.Tensor
    scores: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.scores)

    def __getitem__(self, index) -> Detections:
        return Detections(self.boxes[index], self.scores[index], self.labels[index])


def mask_roi_filter(
    class_logits: torch.Tensor, box_regression: torch.Tensor, proposals: torch.Tensor,
    image_size: tuple[int, int], box_coder: BoxCoder, score_thresh: float, nms_thresh: float,
    max_detections: int,
) -> Detections:  # fmt: skip
    """UPSNet's class-agnostic filter: every (proposal, class) with softmax p > thresh gives that
    class's decoded box; one NMS over all of them; the top ``max_detections``."""
    probs = F.softmax(class_logits.float(), -1)
    boxes = box_coder.decode(box_regression.float(), [proposals.float()])
    boxes = clip_boxes_to_image(boxes, image_size)
    rows, cols = torch.nonzero(probs[:, 1:] > score_thresh, as_tuple=True)
    labels = cols + 1
    cand_boxes, cand_scores = boxes[rows, labels], probs[rows, labels]
    # Degenerate boxes (clipped away) would give empty masks; drop them before the NMS.
    wide = ((cand_boxes[:, 2] - cand_boxes[:, 0]) > 1) & ((cand_boxes[:, 3] - cand_boxes[:, 1]) > 1)
    cand_boxes, cand_scores, labels = cand_boxes[wide], cand_scores[wide], labels[wide]
    keep = nms(cand_boxes, cand_scores, nms_thresh)[:max_detections]
    return Detections(cand_boxes[keep], cand_scores[keep], labels[keep])


@dataclass
class PastedMask:
    """A mask logit resized into its box span (y0, y1, x0, x1) of the full image."""

    span: tuple[int, int, int, int]
    logit: torch.Tensor


def mask_removal(
    mask_logits: torch.Tensor, dets: Detections, size: tuple[int, int], overlap_thresh: float
) -> tuple[list[int], list[PastedMask]]:
    """Keep detections (in score order) whose binary mask is non-empty and at most
    ``overlap_thresh`` covered by kept masks of the same class; their pasted logits."""
    height, width = size
    occupancy: dict[int, torch.Tensor] = {}
    keep, pasted = [], []
    for i, (logit, box, label) in enumerate(
        zip(mask_logits, dets.boxes, dets.labels.tolist(), strict=True)
    ):
        span = box_span(box, height, width)
        resized = resize_mask_logit(logit.float(), span)
        binary = resized > 0
        area = int(binary.sum())
        if area == 0:
            continue
        if label not in occupancy:
            occupancy[label] = torch.zeros(size, dtype=torch.bool, device=mask_logits.device)
        occupied = occupancy[label]
        y0, y1, x0, x1 = span
        window = occupied[y0:y1, x0:x1]
        if int((window & binary).sum()) > overlap_thresh * area:
            continue
        window |= binary
        keep.append(i)
        pasted.append(PastedMask(span, resized))
    return keep, pasted


def panoptic_argmax(
    sem_logits: torch.Tensor, pasted: list[PastedMask], channels: list[int], num_stuff: int
) -> torch.Tensor:
    """Argmax over [stuff logits, per kept instance: semantic + mask logit in its box] without
    building the (num_stuff + N) x H x W tensor: instance j only competes inside its box."""
    best, ids = sem_logits[:num_stuff].float().max(0)
    for j, (mask, channel) in enumerate(zip(pasted, channels, strict=True)):
        y0, y1, x0, x1 = mask.span
        value = sem_logits[channel, y0:y1, x0:x1].float() + mask.logit
        wins = value > best[y0:y1, x0:x1]  # strict: ties go to the earlier channel, as argmax
        best[y0:y1, x0:x1][wins] = value[wins]
        ids[y0:y1, x0:x1][wins] = num_stuff + j
    return ids


def fuse_semantic(
    ids: torch.Tensor, sem_pred: torch.Tensor, channels: list[int], num_stuff: int,
    stuff_area_limit: int,
) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Official post-processing: (semantic channel map with 255 void, instance index or -1).

    An instance whose region is mostly (>= 50%) one other stuff class becomes that stuff; stuff
    classes with less than ``stuff_area_limit`` pixels in the frame become void.
    """
    classes = ids.clone()
    instance = torch.full_like(ids, -1)
    for j, channel in enumerate(channels):
        region = ids == num_stuff + j
        area = int(region.sum())
        if area == 0:
            continue
        counts = torch.bincount(sem_pred[region], minlength=num_stuff)
        majority = int(counts.argmax())
        if majority != channel and majority < num_stuff and counts[majority] >= 0.5 * area:
            classes[region] = majority
        else:
            classes[region] = channel
            instance[region] = j
    for c in range(num_stuff):
        region = (classes == c) & (instance < 0)
        if 0 < int(region.sum()) < stuff_area_limit:
            classes[region] = VOID
    return classes, instance
