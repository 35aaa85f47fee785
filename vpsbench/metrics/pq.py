"""Panoptic quality: segment matching on a pair histogram, class averages, and image PQ.

``match_segments`` is the matching step shared by image PQ (one frame) and VPQ (a window of
stacked frames), following the official rules of mcahny/vps ``tools/eval_vpq.py`` (Cityscapes-VPS
VPQ) and panopticapi ``panopticapi/evaluation.py`` (``pq_compute_single_core``, image PQ):
same-category pairs with IoU > 0.5 where the prediction's overlap with GT void is removed from
the union; crowd GT is never matched nor a false negative; an unmatched prediction is ignored
when more than half of it lies on GT void or on its category's crowd region.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from vpsbench.metrics.core import (
    Field,
    LabelSpace,
    MetricContext,
    PairHistogram,
    VideoMetric,
    VideoStats,
)

GROUPS = ("all", "things", "stuff")


@dataclass
class ClassCounts:
    """Per-category PQ accumulators, indexed like ``LabelSpace.category_ids``."""

    iou: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray

    @classmethod
    def zeros(cls, num_categories: int) -> ClassCounts:
        return cls(
            np.zeros(num_categories, np.float64),
            np.zeros(num_categories, np.int64),
            np.zeros(num_categories, np.int64),
            np.zeros(num_categories, np.int64),
        )

    def __iadd__(self, other: ClassCounts) -> ClassCounts:
        self.iou += other.iou
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        return self

    def copy(self) -> ClassCounts:
        return ClassCounts(self.iou.copy(), self.tp.copy(), self.fp.copy(), self.fn.copy())


def frame_counts(video: VideoStats, space: LabelSpace, min_tube_area: int = 0) -> list:
    """``match_segments`` of each frame of a video, computed once for every metric that needs
    them (image PQ, and VPQ's windows of one frame where no tube spans several values)."""
    key = ("frame_counts", space, int(min_tube_area))
    if key not in video.cache:
        video.cache[key] = [match_segments(h, space, min_tube_area) for h in video.histograms]
    return video.cache[key]


def summed(counts: Iterable[ClassCounts], space: LabelSpace) -> ClassCounts:
    """The sum of per-class counts (zeros for none); the parts are left as they are."""
    total = ClassCounts.zeros(len(space.category_ids))
    for part in counts:
        total += part
    return total


def category_index(space: LabelSpace, values: np.ndarray) -> np.ndarray:
    """Position in ``space.category_ids`` of each value's category (-1 if unknown)."""
    return space.category_index(values)


def match_segments(
    hist: PairHistogram,
    space: LabelSpace,
    min_tube_area: int = 0,
    gt_areas: tuple[np.ndarray, np.ndarray] | None = None,
) -> ClassCounts:
    """TP/FP/FN and IoU sums of one frame or window (its frames' histograms summed).

    ``gt_areas`` (sorted unique GT values, their areas) replaces the GT areas the histogram
    gives: it must hold every GT value of the histogram and may add segments with no pixel
    (they are FN unless crowd). COCO-panoptic GT lists its areas in the JSON, and panopticapi
    takes them from there (``vpsbench.io.coco_panoptic``).
    """
    counts = ClassCounts.zeros(len(space.category_ids))
    if len(hist) == 0:
        return counts
    void = space.void
    gt_vals, gt_area = hist.gt_areas() if gt_areas is None else gt_areas
    pred_vals, pred_area = hist.pred_areas()
    g_row = np.searchsorted(gt_vals, hist.gt)
    p_row = np.searchsorted(pred_vals, hist.pred)

    on_void = hist.gt == void
    void_overlap = np.bincount(p_row[on_void], hist.count[on_void], len(pred_vals))
    gt_crowd = space.is_crowd(gt_vals) & (gt_vals != void)
    big_enough = gt_area >= min_tube_area

    candidate = (
        ~on_void
        & (hist.pred != void)
        & ~gt_crowd[g_row]
        & big_enough[g_row]
        & (space.category(hist.gt) == space.category(hist.pred))
    )
    inter = hist.count[candidate]
    union = gt_area[g_row[candidate]] + pred_area[p_row[candidate]] - inter
    union = union - void_overlap[p_row[candidate]]
    iou = inter / union
    hit = iou > 0.5
    g_hit, p_hit = g_row[candidate][hit], p_row[candidate][hit]

    gt_cat = category_index(space, gt_vals)
    # Accumulate in histogram (gt, pred) order, like the official per-window loop.
    np.add.at(counts.iou, gt_cat[g_hit], iou[hit])
    np.add.at(counts.tp, gt_cat[g_hit], 1)

    gt_matched = np.zeros(len(gt_vals), bool)
    gt_matched[g_hit] = True
    missed = (gt_vals != void) & ~gt_crowd & big_enough & ~gt_matched
    np.add.at(counts.fn, gt_cat[missed], 1)

    pred_matched = np.zeros(len(pred_vals), bool)
    pred_matched[p_hit] = True
    crowd_value = space.category(hist.pred) * space.label_divisor
    on_own_crowd = (hist.gt == crowd_value) & space.is_crowd(hist.gt)
    crowd_overlap = np.bincount(p_row[on_own_crowd], hist.count[on_own_crowd], len(pred_vals))
    ignored = (void_overlap + crowd_overlap) / pred_area > 0.5
    false_pos = (pred_vals != void) & ~pred_matched & ~ignored
    pred_cat = category_index(space, pred_vals)
    unknown = (pred_vals != void) & (pred_cat < 0)
    if unknown.any():
        raise ValueError(
            f"predicted values {pred_vals[unknown][:5].tolist()} have categories that are not in "
            "the category table"
        )
    np.add.at(counts.fp, pred_cat[false_pos], 1)
    return counts


def class_scores(counts: ClassCounts) -> dict[str, np.ndarray]:
    """Per-class PQ, SQ, RQ as fractions; NaN where a class has no TP, FP or FN."""
    denom = counts.tp + 0.5 * counts.fp + 0.5 * counts.fn
    with np.errstate(divide="ignore", invalid="ignore"):
        pq = np.where(denom > 0, counts.iou / denom, np.nan)
        sq = np.where(counts.tp > 0, counts.iou / np.maximum(counts.tp, 1), 0.0)
        rq = np.where(denom > 0, counts.tp / denom, np.nan)
    sq = np.where(denom > 0, sq, np.nan)
    return {"pq": pq, "sq": sq, "rq": rq}


def group_masks(space: LabelSpace, excluded: Iterable[int] = ()) -> dict[str, np.ndarray]:
    """Which categories enter the All / Things / Stuff averages."""
    ids = np.asarray(space.category_ids)
    keep = ~np.isin(ids, list(excluded))
    things = np.isin(ids, list(space.thing_ids))
    return {"all": keep, "things": keep & things, "stuff": keep & ~things}


def group_averages(
    counts: ClassCounts, space: LabelSpace, excluded: Iterable[int] = ()
) -> dict[str, dict[str, float | int | None]]:
    """PQ/SQ/RQ (percent) of All, Things and Stuff over classes with TP+FP+FN > 0."""
    scores = class_scores(counts)
    present = counts.tp + counts.fp + counts.fn > 0
    out: dict[str, dict[str, float | int | None]] = {}
    for group, mask in group_masks(space, excluded).items():
        used = mask & present
        n = int(used.sum())
        row: dict[str, float | int | None] = {"n": n}
        for key, values in scores.items():
            # Summed in category-table order like the official pq_average, then x100.
            row[key] = 100.0 * float(sum(values[used].tolist())) / n if n else None
        out[group] = row
    return out


def per_class_rows(counts: ClassCounts, space: LabelSpace, **extra) -> list[dict]:
    """One row per category: PQ/SQ/RQ in percent (None when absent) and the raw counts."""
    scores = class_scores(counts)
    rows = []
    for i, cat in enumerate(space.category_ids):
        row = dict(extra)
        row["category_id"] = int(cat)
        for key in ("pq", "sq", "rq"):
            value = scores[key][i]
            row[key] = None if np.isnan(value) else 100.0 * float(value)
        row.update(
            iou_sum=float(counts.iou[i]),
            tp=int(counts.tp[i]),
            fp=int(counts.fp[i]),
            fn=int(counts.fn[i]),
        )
        rows.append(row)
    return rows


class ImagePQ(VideoMetric):
    """Image-level PQ (panopticapi) over every annotated frame of every video."""

    name = "pq"
    title = "PQ (image panoptic quality)"
    fields = (
        Field("all", "PQ all", brief=True),
        Field("things", "PQ things"),
        Field("stuff", "PQ stuff"),
    )
    per_class_columns = ("pq", "sq", "rq", "iou_sum", "tp", "fp", "fn")
    per_video_columns = ("all", "things", "stuff")

    @classmethod
    def from_context(cls, context: MetricContext) -> ImagePQ:
        """All classes but the protocol's excluded ones in the averages."""
        return cls(context.space, context.protocol.excluded_category_ids)

    def __init__(
        self, space: LabelSpace, excluded_category_ids: Iterable[int] = (), min_tube_area: int = 0
    ) -> None:
        self.space = space
        self.excluded = tuple(excluded_category_ids)
        self.min_tube_area = min_tube_area
        super().__init__()

    def summarize(self, video: VideoStats) -> ClassCounts:
        """The frame-level counts of one video."""
        return summed(frame_counts(video, self.space, self.min_tube_area), self.space)

    def settings(self) -> tuple:
        return (self.space, self.excluded, self.min_tube_area)

    def totals(self) -> ClassCounts:
        return summed(self.videos.values(), self.space)

    def result(self) -> dict:
        """{"all", "things", "stuff"} PQ in percent, plus SQ/RQ and class counts per group."""
        groups = group_averages(self.totals(), self.space, self.excluded)
        out: dict = {g: groups[g]["pq"] for g in GROUPS}
        out["groups"] = groups
        return out

    def per_class(self) -> list[dict]:
        return per_class_rows(self.totals(), self.space)

    def per_video(self) -> list[dict]:
        rows = []
        for video_id, counts in self.videos.items():
            groups = group_averages(counts, self.space, self.excluded)
            rows.append({"video_id": video_id, **{g: groups[g]["pq"] for g in GROUPS}})
        return rows
