"""Panoptic quality: segment matching on a pair histogram, class averages, and image PQ.

``match_segments`` is the matching step shared by image PQ (one frame) and VPQ (a window of
stacked frames), following the official rules of mcahny/vps ``tools/eval_vpq.py`` (Cityscapes-VPS
VPQ) and panopticapi ``panopticapi/evaluation.py`` (``pq_compute_single_core``, image PQ):
same-category pairs with IoU > 0.5 where the prediction's overlap with GT void is removed from
the union; crowd GT is never matched nor a false negative; an unmatched prediction is ignored
when more than half of it lies on GT void or on its category's crowd region.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from vpsbench.metrics.core import (
    Field,
    LabelSpace,
    MetricContext,
    PairHistogram,
    VideoMetric,
    VideoStats,
    pack_pairs,
    sum_histograms,
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


def size_counts(
    video: VideoStats, space: LabelSpace, sizes: Sequence[int], min_tube_area: int = 0
) -> dict[int, ClassCounts]:
    """Per window size, the counts of every window of that many consecutive frames of a video
    summed (values are tubes), computed once per video for every metric that needs them:
    image PQ is size 1, and so are VPQ's windows of one frame."""
    cached = video.cache.setdefault(("size_counts", space, int(min_tube_area)), {})
    missing = [n for n in dict.fromkeys(int(n) for n in sizes) if n not in cached]
    if missing:
        batched = match_windows(video.histograms, space, missing, min_tube_area)
        if batched is None:
            batched = {
                n: stacked_counts(video.histograms, space, n, min_tube_area) for n in missing
            }
        cached.update(batched)
    return {int(n): cached[int(n)].copy() for n in sizes}


def stacked_counts(
    histograms: Sequence[PairHistogram], space: LabelSpace, size: int, min_tube_area: int = 0
) -> ClassCounts:
    """``match_segments`` of each window of ``size`` frames (histograms summed), summed."""
    return summed(
        (
            match_segments(sum_histograms(histograms[s : s + size]), space, min_tube_area)
            for s in range(len(histograms) - size + 1)
        ),
        space,
    )


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


def match_windows(
    histograms: Sequence[PairHistogram],
    space: LabelSpace,
    sizes: Sequence[int],
    min_tube_area: int = 0,
) -> dict[int, ClassCounts] | None:
    """``match_segments`` of every window of each size (runs of that many consecutive frames),
    summed per size, in one batched pass: the same numbers, in the same summation order.

    Each window is a column of one (pair, window) matrix of intersections built from prefix
    sums over the frames, so a video costs a few dozen numpy calls instead of that many per
    window. None when a GT value has no category (``match_segments`` decides those).
    """
    out = {int(n): ClassCounts.zeros(len(space.category_ids)) for n in sizes}
    frames = len(histograms)
    lo = [s for n in out for s in range(frames - n + 1)]  # each window's first frame
    hi = [s + n for n in out for s in range(frames - n + 1)]
    if not lo or not any(len(h) for h in histograms):
        return out
    gt = np.concatenate([h.gt for h in histograms])
    pred = np.concatenate([h.pred for h in histograms])
    keys = pack_pairs(gt, pred)
    if keys is None or min(int(h.count.min(initial=1)) for h in histograms) <= 0:
        return None
    pairs, pair = np.unique(keys, return_inverse=True)
    frame = np.repeat(np.arange(frames), [len(h) for h in histograms])
    per_frame = np.zeros((len(pairs), frames + 1), np.int64)
    per_frame[pair.ravel(), frame + 1] = np.concatenate([h.count for h in histograms])
    prefix = np.cumsum(per_frame, axis=1)
    inter = prefix[:, hi] - prefix[:, lo]  # (pairs, windows); sorted by (gt, pred) like a window
    pair_gt, pair_pred = pairs >> 32, pairs & 0xFFFFFFFF

    void = space.void
    gt_vals, g = np.unique(pair_gt, return_inverse=True)
    pred_vals, p = np.unique(pair_pred, return_inverse=True)
    gt_cat, pred_cat = category_index(space, gt_vals), category_index(space, pred_vals)
    if ((gt_cat < 0) & (gt_vals != void)).any():
        return None
    gt_area = np.zeros((len(gt_vals), len(lo)), np.int64)
    np.add.at(gt_area, g, inter)
    pred_area = np.zeros((len(pred_vals), len(lo)), np.int64)
    np.add.at(pred_area, p, inter)
    on_void = pair_gt == void
    void_overlap = np.zeros_like(pred_area)
    np.add.at(void_overlap, p[on_void], inter[on_void])
    crowd_value = space.category(pair_pred) * space.label_divisor
    on_own_crowd = (pair_gt == crowd_value) & space.is_crowd(pair_gt)
    crowd_overlap = np.zeros_like(pred_area)
    np.add.at(crowd_overlap, p[on_own_crowd], inter[on_own_crowd])

    gt_crowd = space.is_crowd(gt_vals) & (gt_vals != void)
    big_enough = gt_area >= min_tube_area
    same_category = space.category(pair_gt) == space.category(pair_pred)
    static = ~on_void & (pair_pred != void) & ~gt_crowd[g] & same_category
    candidate = static[:, None] & (inter > 0) & big_enough[g]
    rows, cols = np.nonzero(candidate)  # row-major: per window, in (gt, pred) order
    cand_inter = inter[rows, cols]
    union = gt_area[g[rows], cols] + pred_area[p[rows], cols] - cand_inter
    union = union - void_overlap[p[rows], cols]
    iou = cand_inter / union
    hit = iou > 0.5
    rows, cols, iou = rows[hit], cols[hit], iou[hit]

    windows = len(lo)
    iou_sum = np.zeros((len(space.category_ids), windows))
    np.add.at(iou_sum, (gt_cat[g[rows]], cols), iou)  # per window in histogram order
    tp = np.zeros((len(space.category_ids), windows), np.int64)
    np.add.at(tp, (gt_cat[g[rows]], cols), 1)
    gt_matched = np.zeros(gt_area.shape, bool)
    gt_matched[g[rows], cols] = True
    pred_matched = np.zeros(pred_area.shape, bool)
    pred_matched[p[rows], cols] = True

    missed = (gt_area > 0) & ((gt_vals != void) & ~gt_crowd)[:, None] & big_enough & ~gt_matched
    fn = np.zeros_like(tp)
    missed_rows, missed_cols = np.nonzero(missed)
    np.add.at(fn, (gt_cat[missed_rows], missed_cols), 1)
    present = pred_area > 0
    unknown = present & ((pred_vals != void) & (pred_cat < 0))[:, None]
    if unknown.any():
        raise ValueError(
            f"predicted values {np.unique(pred_vals[unknown.any(axis=1)])[:5].tolist()} have "
            "categories that are not in the category table"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        ignored = (void_overlap + crowd_overlap) / pred_area > 0.5
    false_pos = present & (pred_vals != void)[:, None] & ~pred_matched & ~ignored
    fp = np.zeros_like(tp)
    fp_rows, fp_cols = np.nonzero(false_pos)
    np.add.at(fp, (pred_cat[fp_rows], fp_cols), 1)

    column = 0
    for n, total in out.items():
        for _ in range(frames - n + 1):  # windows in order, as summing them one by one
            total += ClassCounts(iou_sum[:, column], tp[:, column], fp[:, column], fn[:, column])
            column += 1
    return out


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
        return size_counts(video, self.space, (1,), self.min_tube_area)[1]

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
