"""Track module (object level): Siamese RoI embeddings, affinity, association.

MaskTrack R-CNN style, as the official ``track_head.py`` and ``simple_test_bboxes``
(github.com/mcahny/vps, ``mmdet/models/track_heads/``, ``mmdet/models/detectors/``).

Also the ``IoULinker`` that gives the ``image`` and ``fuse`` variants video ids without a
learned embedding (box IoU to the previous frame), like the paper's image-level baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)
from torch import nn
from torchvision.ops import box_iou


class TrackHead(nn.Module):
    """Siamese FC head: RoI features (C x 7 x 7) -> FC + ReLU -> FC embedding (no norm)."""

    def __init__(self, in_features: int, dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, dim)
        self.fc2 = nn.Linear(dim, dim)
        for fc in (self.fc1, self.fc2):
            nn.init.normal_(fc.weight, 0, 0.01)
            nn.init.zeros_(fc.bias)

    def forward(self, roi_feats: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(roi_feats.flatten(1))))


def affinity(embeds: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
    """[n, m+1] logits: a constant 0 "new object" column, then raw inner products (fp32 also
    under autocast: unnormalised dot products of 1024-d embeddings, bf16 keeps 3 digits)."""
    with torch.autocast(embeds.device.type, enabled=False):
        dots = embeds.float() @ memory.float().T
    return torch.cat([dots.new_zeros(len(embeds), 1), dots], 1)


def track_targets(
    matched_idxs: torch.Tensor, labels: torch.Tensor, gt_ids: torch.Tensor, ref_ids: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per sampled RoI: 1 + index of its GT's identity among the reference GT (0: new), and
    whether it counts (positives only)."""
    positive = labels > 0
    if len(gt_ids) == 0 or len(ref_ids) == 0:  # no reference objects: every object is new
        return torch.zeros_like(labels), positive
    ids = gt_ids[matched_idxs.clamp(min=0)]
    same = ids[:, None] == ref_ids[None, :]
    target = torch.where(same.any(1), same.float().argmax(1) + 1, 0)
    return target, positive


def track_loss(logits: torch.Tensor, target: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the m+1 columns, summed over positive RoIs, divided by their count."""
    loss = F.cross_entropy(logits, target, reduction="none")
    return (loss * positive.float()).sum() / positive.sum().clamp(min=1)


def hard_negative_loss(
    logits: torch.Tensor, target: torch.Tensor, positive: torch.Tensor, labels: torch.Tensor,
    memory_labels: torch.Tensor, margin: float,
) -> torch.Tensor:  # fmt: skip
    """Hinge ``max(0, margin - (s_same - s_hardest))`` per positive RoI that has its object in
    the reference: ``s_hardest`` is the highest inner product with another object of the same
    class (not ours: the identities the plain cross-entropy confuses most, e.g. two crossing
    cars). ``logits`` are ``affinity`` outputs; RoIs without such a negative do not count."""
    dots = logits[:, 1:]
    has_ref = positive & (target > 0)
    same_class = labels[:, None] == memory_labels[None, :]
    columns = torch.arange(dots.shape[1], device=dots.device)
    own = (columns[None, :] == (target - 1)[:, None]) & has_ref[:, None]
    negatives = same_class & ~own
    usable = has_ref & negatives.any(1)
    if not usable.any():
        return logits.sum() * 0.0  # keeps the graph (DDP needs every used parameter's grad)
    hardest = dots.masked_fill(~negatives, float("-inf")).max(1).values
    mine = dots.gather(1, (target - 1).clamp(min=0)[:, None])[:, 0]
    return F.relu(margin - (mine - hardest))[usable].mean()


@dataclass
class TrackMemory:
    """Every instance seen so far in the video: latest embedding, box and first label, and the
    frame (``associate`` call) it was last matched in."""

    embeds: torch.Tensor | None = None
    boxes: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    last_seen: list[int] = field(default_factory=list)
    frame: int = 0

    def __len__(self) -> int:
        return 0 if self.embeds is None else len(self.embeds)

    def append(self, embeds: torch.Tensor, boxes: torch.Tensor, labels: torch.Tensor) -> None:
        self.last_seen.extend([self.frame] * len(embeds))
        if self.embeds is None:
            self.embeds, self.boxes, self.labels = embeds, boxes, labels
            return
        self.embeds = torch.cat([self.embeds, embeds])
        self.boxes = torch.cat([self.boxes, boxes])
        self.labels = torch.cat([self.labels, labels])

    def stale(self, max_age: int) -> torch.Tensor:
        """Slots unseen for more than ``max_age`` frames (none when ``max_age`` is 0)."""
        ages = torch.tensor([self.frame - f for f in self.last_seen])
        return ages > max_age if max_age > 0 else torch.zeros(len(ages), dtype=torch.bool)


def associate(
    memory: TrackMemory, embeds: torch.Tensor, boxes: torch.Tensor, scores: torch.Tensor,
    labels: torch.Tensor, coeffs: tuple[float, float, float] = (1.0, 2.0, 10.0),
    max_age: int = 0,
) -> list[int]:  # fmt: skip
    """Track ids of the detections (sorted by descending score); updates ``memory`` in place.

    Follows the official ``simple_test_bboxes``: appearance log-probabilities plus detection
    score, box IoU and same-label cues, greedy in score order, a slot won by the best claim,
    a new id (appended to the memory) for "new" or unassigned detections. With ``max_age`` > 0,
    slots unseen for more than that many frames cannot be matched (not official).
    """
    memory.frame += 1
    n = len(embeds)
    if n == 0:
        return []
    if len(memory) == 0:
        memory.append(embeds, boxes, labels)
        return list(range(n))
    c_score, c_iou, c_label = coeffs
    logp = F.log_softmax(affinity(embeds, memory.embeds), 1)
    iou = box_iou(boxes.float(), memory.boxes.float())
    same = (labels[:, None] == memory.labels[None, :]).float()
    ones = iou.new_ones(n, 1)
    comp = (
        logp
        + c_score * torch.log(scores.float().clamp(min=1e-6))[:, None]
        + c_iou * torch.cat([ones * 0, iou], 1)
        + c_label * torch.cat([ones, same], 1)  # the "new" column gets the label bonus too
    )
    stale = memory.stale(max_age).to(comp.device)
    if stale.any():
        comp[:, 1:][:, stale] = float("-inf")
    ids = [-1] * n
    claims: dict[int, tuple[float, int]] = {}  # memory slot -> (best score, detection)
    for i in range(n):
        column = int(comp[i].argmax())
        if column == 0:
            ids[i] = len(memory)
            memory.append(embeds[i : i + 1], boxes[i : i + 1], labels[i : i + 1])
            continue
        slot, value = column - 1, float(comp[i, column])
        if slot in claims and claims[slot][0] >= value:
            continue
        if slot in claims:
            ids[claims[slot][1]] = -1  # the previous holder lost the slot
        claims[slot] = (value, i)
        ids[i] = slot
    for slot, (_, i) in claims.items():
        # Latest appearance and box; the memory label keeps the first one (official).
        memory.embeds[slot] = embeds[i]
        memory.boxes[slot] = boxes[i]
        memory.last_seen[slot] = memory.frame
    for i in range(n):
        if ids[i] == -1:
            ids[i] = len(memory)
            memory.append(embeds[i : i + 1], boxes[i : i + 1], labels[i : i + 1])
    return ids


@dataclass
class IoULinker:
    """Ids by greedy same-class box IoU to the previous frame's instances (image baseline)."""

    threshold: float = 0.3
    boxes: torch.Tensor | None = None
    labels: torch.Tensor | None = None
    ids: list[int] = field(default_factory=list)
    next_id: int = 0

    def __call__(self, boxes: torch.Tensor, labels: torch.Tensor) -> list[int]:
        n = len(boxes)
        ids = [-1] * n
        if n and self.boxes is not None and len(self.boxes):
            iou = box_iou(boxes.float(), self.boxes.float())
            iou[labels[:, None] != self.labels[None, :]] = 0
            while True:
                best = int(iou.argmax())
                i, j = divmod(best, iou.shape[1])
                if float(iou[i, j]) < self.threshold or float(iou[i, j]) <= 0:
                    break
                ids[i] = self.ids[j]
                iou[i, :] = 0
                iou[:, j] = 0
        for i in range(n):
            if ids[i] == -1:
                ids[i] = self.next_id
                self.next_id += 1
        self.boxes, self.labels, self.ids = boxes, labels, ids
        return ids
