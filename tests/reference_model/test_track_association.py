"""Track targets, affinity and the inference association (learned and IoU-based)."""

from __future__ import annotations

import pytest
import torch

from vpsbench_model.track import (
    IoULinker,
    TrackHead,
    TrackMemory,
    affinity,
    associate,
    track_loss,
    track_targets,
)

BOXES = torch.tensor([[0.0, 0, 10, 10], [20, 20, 40, 40], [50, 0, 60, 30]])
LABELS = torch.tensor([1, 3, 3])
SCORES = torch.tensor([0.95, 0.9, 0.8])


def embeddings(n: int, dim: int = 8) -> torch.Tensor:
    """Orthogonal appearance vectors: strong self-affinity, none between objects."""
    return 4.0 * torch.eye(dim)[:n]


def test_affinity_has_new_object_column():
    logits = affinity(torch.ones(3, 4), torch.ones(2, 4))
    assert logits.shape == (3, 3)
    assert (logits[:, 0] == 0).all() and (logits[:, 1:] == 4).all()


def test_unchanged_scene_keeps_ids():
    memory = TrackMemory()
    first = associate(memory, embeddings(3), BOXES, SCORES, LABELS)
    assert first == [0, 1, 2]
    for _ in range(3):
        assert associate(memory, embeddings(3), BOXES, SCORES, LABELS) == [0, 1, 2]
    assert len(memory) == 3


def test_new_object_gets_new_id():
    memory = TrackMemory()
    associate(memory, embeddings(2), BOXES[:2], SCORES[:2], LABELS[:2])
    # Object 2 enters: new appearance and box (same class as object 1, so only cues differ).
    ids = associate(memory, embeddings(3), BOXES, SCORES, LABELS)
    assert ids == [0, 1, 2]
    assert len(memory) == 3
    # Order changes do not matter: the appearance and box decide.
    order = torch.tensor([2, 0, 1])
    ids = associate(memory, embeddings(3)[order], BOXES[order], SCORES, LABELS[order])
    assert ids == [2, 0, 1]


def test_slot_goes_to_best_claim():
    memory = TrackMemory()
    associate(memory, embeddings(1), BOXES[:1], SCORES[:1], LABELS[:1])
    # Two detections look like object 0; the second overlaps its box better and wins the slot.
    boxes = torch.tensor([[5.0, 5, 15, 15], [0, 0, 10, 10]])
    ids = associate(memory, embeddings(1).repeat(2, 1), boxes, SCORES[:2], LABELS[[0, 0]])
    assert ids == [1, 0]


def test_iou_linker():
    linker = IoULinker(threshold=0.5)
    assert linker(BOXES[:2], LABELS[:2]) == [0, 1]
    moved = BOXES + torch.tensor([1.0, 0, 1, 0])
    assert linker(moved, LABELS) == [0, 1, 2]  # object 2 is new
    assert linker(moved[[2, 0]], LABELS[[2, 0]]) == [2, 0]
    assert linker(moved[:1], torch.tensor([2])) == [3]  # a different class is a new object


def test_track_targets_and_loss():
    matched = torch.tensor([0, 1, 1, 0])
    labels = torch.tensor([1, 3, 0, 1])
    gt_ids = torch.tensor([11001, 13002])
    ref_ids = torch.tensor([13002, 99000])
    target, positive = track_targets(matched, labels, gt_ids, ref_ids)
    assert target.tolist() == [0, 1, 1, 0]  # 11001 is not in the reference: "new"
    assert positive.tolist() == [True, True, False, True]
    head = TrackHead(4 * 7 * 7, 16)
    logits = affinity(head(torch.randn(4, 4, 7, 7)), head(torch.randn(2, 4, 7, 7)))
    loss = track_loss(logits, target, positive)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert track_loss(logits, target, torch.zeros(4, dtype=torch.bool)) == 0


def test_memory_slot_ages_out_after_max_age_frames():
    memory = TrackMemory()
    associate(memory, embeddings(3), BOXES, SCORES, LABELS, max_age=2)
    for _ in range(3):  # object 2 is missed for three frames
        associate(memory, embeddings(2), BOXES[:2], SCORES[:2], LABELS[:2], max_age=2)
    back = associate(memory, embeddings(3), BOXES, SCORES, LABELS, max_age=2)
    assert back[:2] == [0, 1] and back[2] == 3  # its slot is stale: a new id
    kept = TrackMemory()
    associate(kept, embeddings(3), BOXES, SCORES, LABELS)
    for _ in range(3):
        associate(kept, embeddings(2), BOXES[:2], SCORES[:2], LABELS[:2])
    assert associate(kept, embeddings(3), BOXES, SCORES, LABELS) == [0, 1, 2]  # never ages


def test_a_frame_without_detections_ages_the_memory():
    memory = TrackMemory()
    associate(memory, embeddings(1), BOXES[:1], SCORES[:1], LABELS[:1], max_age=1)
    for _ in range(2):
        assert associate(memory, embeddings(0), BOXES[:0], SCORES[:0], LABELS[:0], max_age=1) == []
    assert associate(memory, embeddings(1), BOXES[:1], SCORES[:1], LABELS[:1], max_age=1) == [1]


def test_hard_negative_loss_by_hand():
    from vpsbench_model.track import hard_negative_loss

    # Two RoIs; three reference objects: classes 1, 1, 2. RoI 0 is object 1 (class 1), RoI 1
    # is object 3 (class 2), which has no same-class negative and does not count.
    logits = torch.tensor([[0.0, 3.0, 2.5, 9.0], [0.0, 1.0, 1.0, 4.0]])
    target = torch.tensor([1, 3])
    positive = torch.tensor([True, True])
    labels = torch.tensor([1, 2])
    memory_labels = torch.tensor([1, 1, 2])
    loss = hard_negative_loss(logits, target, positive, labels, memory_labels, margin=2.0)
    assert loss.item() == pytest.approx(2.0 - (3.0 - 2.5))  # the class-2 object is no negative
    # Separated by more than the margin: no loss; no usable RoI: a zero that keeps the graph.
    far = torch.tensor([[0.0, 6.0, 2.5, 9.0]], requires_grad=True)
    one = (target[:1], positive[:1], labels[:1])
    assert hard_negative_loss(far, *one, memory_labels, 2.0).item() == 0
    none = hard_negative_loss(far, *one, torch.tensor([1, 2, 2]), 2.0)
    assert none.item() == 0 and none.requires_grad
    # A reference without objects: only the "new" column.
    empty = hard_negative_loss(torch.zeros(2, 1), torch.tensor([0, 0]), positive, labels,
                               torch.zeros(0, dtype=torch.long), 2.0)  # fmt: skip
    assert empty.item() == 0
