"""STQ / AQ / SQ as deeplab2's numpy ``STQuality`` computes them, from histograms.

The reference is google-research/deeplab2 ``evaluation/numpy/segmentation_and_tracking_quality.py``
(STQ: Weber et al. 2021, "STEP: Segmenting and Tracking Every Pixel"). A video is one deeplab2
sequence. Everything STQ needs is additive over frames (docs/METRICS.md, 'STQ'), so each video's
per-frame pair histograms are summed once and reduced to:

* a semantic confusion matrix indexed by category id, with GT void / predicted "no segment"
  remapped to one extra ignore slot (deeplab2 remaps ``ignore_label`` to ``num_classes``);
* the AQ numerator Σ_g (1/|g|) Σ_p TPA²/(TPA+FPA+FNA) and the number of GT tracks |G|.

The deeplab2 quirks are reproduced on purpose (listed in docs/METRICS.md, 'STQ'): a void
prediction on valid GT lands in the ignore *column*, which is not zeroed, so the ignore slot
becomes a phantom class with IoU 0; predicted things on GT void count against AQ; GT crowd is
removed from AQ on both sides but is a normal pixel of its class in the IoU; a predicted thing
with instance 0 is a normal track; a track is one full panoptic value. Counts are int64 where
deeplab2 under NumPy 2 accumulates float32 areas (NEP 50 keeps float32 x Python float as
float32), which loses exactness above 2^24 pixels per id.

``rule="vipseg"`` (protocol ``stq_rule``) scores as VIPSeg's ``eval_stq_vspw.py``, which feeds
this same STQuality but numbers each video's GT segments 0, 1, ... in order of first listing in
its GT JSON, stuff included: the segment listed first gets instance 0, so when it is a thing it
is crowd for the whole video (left out of AQ on both sides). That segment is the video's
``VideoStats.gt_first_listed``, else the smallest GT value of its first annotated frame with
any (the order ``vpsbench export vipseg`` lists segments in when none is recorded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vpsbench.format.schema import STQ_RULE_DEEPLAB2, STQ_RULE_VIPSEG, STQ_RULES
from vpsbench.metrics.core import (
    Field,
    LabelSpace,
    MetricContext,
    PairHistogram,
    VideoMetric,
    VideoStats,
    sum_histograms,
)


@dataclass
class SequenceState:
    """What STQ keeps of one video: confusion matrix (int64), AQ numerator, |G|, frame count."""

    confusion: np.ndarray
    aq_sum: float
    num_tracks: int
    num_frames: int


def _video_histogram(video: VideoStats) -> PairHistogram:
    if not video.histograms:
        empty = np.zeros(0, np.int64)
        return PairHistogram(empty, empty, empty)
    return sum_histograms(video.histograms)


def association_sum(
    hist: PairHistogram, space: LabelSpace, crowd_value: int | None = None
) -> tuple[float, int]:
    """(Σ_g (1/|g|) Σ_p TPA·IoU_id, |G|) of one sequence's summed histogram (deeplab2 AQ terms).

    ``crowd_value``: one more GT thing value to treat as crowd (VIPSeg's first-listed segment).
    """
    if len(hist) == 0:
        return 0.0, 0
    gt_thing = space.is_thing(hist.gt) & (hist.gt != space.void)
    crowd = gt_thing & (hist.gt % space.label_divisor == 0)
    if crowd_value is not None:
        crowd |= gt_thing & (hist.gt == crowd_value)
    # Crowd pixels leave AQ on both sides; predictions on GT void or stuff stay (as in deeplab2).
    label_mask = gt_thing & ~crowd
    pred_mask = space.is_thing(hist.pred) & (hist.pred != space.void) & ~crowd
    if not label_mask.any():
        return 0.0, 0
    gt_vals, gt_inverse = np.unique(hist.gt[label_mask], return_inverse=True)
    gt_area = np.zeros(len(gt_vals), np.int64)
    np.add.at(gt_area, gt_inverse, hist.count[label_mask])
    pred_vals, pred_inverse = np.unique(hist.pred[pred_mask], return_inverse=True)
    pred_area = np.zeros(len(pred_vals), np.int64)
    np.add.at(pred_area, pred_inverse, hist.count[pred_mask])

    # The histogram holds each (gt, pred) pair once, so every kept entry is one TPA(p, g).
    both = label_mask & pred_mask
    tpa = hist.count[both]
    g = np.searchsorted(gt_vals, hist.gt[both])
    p = np.searchsorted(pred_vals, hist.pred[both])
    union = gt_area[g] + pred_area[p] - tpa  # TPA + FPA + FNA, exact in int64
    terms = tpa.astype(np.float64) * (tpa / union) / gt_area[g]
    return float(terms.sum()), len(gt_vals)


def first_listed_gt(video: VideoStats, void: int) -> int | None:
    """The GT value a video lists first: recorded by the converter, else the smallest GT value
    of the first annotated frame that has one (histograms are sorted by GT value)."""
    if video.gt_first_listed is not None:
        return video.gt_first_listed
    for hist in video.histograms:
        values = hist.gt[hist.gt != void]
        if len(values):
            return int(values.min())
    return None


class STQ(VideoMetric):
    """Segmentation and Tracking Quality (deeplab2 numpy semantics), one sequence per video."""

    name = "stq"
    title = "STQ (segmentation and tracking quality)"
    fields = (Field("stq", "STQ", brief=True), Field("aq", "AQ"), Field("sq", "SQ"))
    per_class_columns = ("iou", "intersection", "union")
    per_video_columns = ("stq", "aq", "sq", "num_frames", "num_gt_tracks")

    @classmethod
    def from_context(cls, context: MetricContext) -> STQ:
        """The protocol's STQ rule (deeplab2's numbering, or VIPSeg's)."""
        return cls(context.space, getattr(context.protocol, "stq_rule", STQ_RULE_DEEPLAB2))

    def __init__(self, space: LabelSpace, rule: str = STQ_RULE_DEEPLAB2) -> None:
        if rule not in STQ_RULES:
            raise ValueError(f"STQ rule must be one of {STQ_RULES}, got {rule!r}")
        self.space = space
        self.rule = rule
        ids = [int(c) for c in space.category_ids]
        if not ids or min(ids) < 0:
            raise ValueError(f"category ids must be non-negative, got {ids}")
        max_id = max(ids)
        # deeplab2 remaps an ignore label above the class range to the first index past it.
        self.ignore_slot = min(int(space.ignore_label), max_id + 1)
        if self.ignore_slot in ids:
            raise ValueError(f"ignore label {space.ignore_label} is also a category id")
        self.size = max(max_id, self.ignore_slot) + 1
        self._known = np.zeros(self.size, bool)
        self._known[ids] = True
        super().__init__()

    def semantic_index(self, values: np.ndarray) -> np.ndarray:
        """Row/column of each panoptic value in the confusion matrix (void -> ignore slot)."""
        cats = self.space.category(values)
        # As deeplab2, the semantic label decides: any value of the ignore category is void.
        cats = np.where(cats == self.space.ignore_label, self.ignore_slot, cats)
        bad = (cats < 0) | (cats >= self.size)
        bad[~bad] = ~self._known[cats[~bad]] & (cats[~bad] != self.ignore_slot)
        if bad.any():
            raise ValueError(
                f"values {np.unique(values[bad])[:5].tolist()} have categories that are neither "
                f"in the category table nor void"
            )
        return cats

    def confusion_matrix(self, hist: PairHistogram) -> np.ndarray:
        """int64 [GT class, predicted class] pixel counts of a histogram, ignore slot included."""
        matrix = np.zeros((self.size, self.size), np.int64)
        if len(hist):
            np.add.at(
                matrix, (self.semantic_index(hist.gt), self.semantic_index(hist.pred)), hist.count
            )
        return matrix

    def summarize(self, video: VideoStats) -> SequenceState:
        """One video as one STQ sequence."""
        hist = _video_histogram(video)
        crowd = first_listed_gt(video, self.space.void) if self.rule == STQ_RULE_VIPSEG else None
        aq_sum, num_tracks = association_sum(hist, self.space, crowd)
        return SequenceState(self.confusion_matrix(hist), aq_sum, num_tracks, len(video.histograms))

    def settings(self) -> tuple:
        return (self.space, self.rule)

    def _class_iou(self, confusion: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(intersection, union, IoU) per class after zeroing the ignore row, as deeplab2."""
        confusion = confusion.copy()
        confusion[self.ignore_slot, :] = 0
        inter = np.diagonal(confusion).copy()
        union = confusion.sum(axis=0) + confusion.sum(axis=1) - inter
        iou = inter / np.maximum(union, 1)
        return inter, union, iou

    def _sq(self, confusion: np.ndarray) -> float | None:
        """Mean IoU over classes with nonzero union (the phantom ignore class can be one)."""
        _, union, iou = self._class_iou(confusion)
        num_classes = int(np.count_nonzero(union))
        return float(iou.sum()) / num_classes if num_classes else None

    @staticmethod
    def _combine(aq: float, sq: float | None) -> dict:
        stq = None if sq is None else math.sqrt(aq * sq)
        return {
            "stq": None if stq is None else 100.0 * stq,
            "aq": 100.0 * aq,
            "sq": None if sq is None else 100.0 * sq,
        }

    def total_confusion(self) -> np.ndarray:
        """The confusion matrix summed over all sequences."""
        total = np.zeros((self.size, self.size), np.int64)
        for state in self.videos.values():
            total += state.confusion
        return total

    def result(self) -> dict:
        """{"stq", "aq", "sq"} in percent (None without any pixel), |G| and the class count."""
        aq_sum = sum(s.aq_sum for s in self.videos.values())
        num_tracks = sum(s.num_tracks for s in self.videos.values())
        # deeplab2 divides by max(|G|, 1e-15): no GT thing track at all gives AQ = 0.
        aq = aq_sum / max(num_tracks, 1e-15)
        confusion = self.total_confusion()
        out = self._combine(aq, self._sq(confusion))
        out["num_gt_tracks"] = int(num_tracks)
        out["num_classes"] = int(np.count_nonzero(self._class_iou(confusion)[1]))
        return out

    def per_class(self) -> list[dict]:
        """IoU (percent) per category, None when its union is 0; plus the phantom void class."""
        inter, union, iou = self._class_iou(self.total_confusion())
        rows = []
        slots = [int(c) for c in self.space.category_ids]
        if union[self.ignore_slot] > 0:
            slots.append(self.ignore_slot)
        for slot in slots:
            is_void = slot == self.ignore_slot
            rows.append(
                {
                    "category_id": int(self.space.ignore_label) if is_void else slot,
                    "iou": 100.0 * float(iou[slot]) if union[slot] else None,
                    "intersection": int(inter[slot]),
                    "union": int(union[slot]),
                }
            )
        return rows

    def per_video(self) -> list[dict]:
        """STQ, AQ, SQ (percent) and frame count of each sequence, as deeplab2's *_per_seq."""
        rows = []
        for video_id, state in self.videos.items():
            aq = state.aq_sum / max(state.num_tracks, 1e-15)
            row = {"video_id": video_id, **self._combine(aq, self._sq(state.confusion))}
            row["num_frames"] = state.num_frames
            row["num_gt_tracks"] = state.num_tracks
            rows.append(row)
        return rows
