"""Temporal consistency: VSPW video consistency VC_n and CLEAR-MOT identity switches on masks.

VC_n (VSPW, Miao et al. CVPR 2021; the official ``VC_perclip.py`` of VSPW-dataset/VSPW_code)
needs semantic maps of n consecutive frames, so the evaluator reduces each video to one
``(|A ∩ B|, |A|)`` row per clip with a ``ClipCounter`` while the frames arrive (memory of one
frame; ``vc_clip_counts`` for a whole video at once); ``VideoConsistency`` only pools those
rows. ``IdentitySwitches`` (CLEAR-MOT on masks as in MOTS, Voigtlaender et al. CVPR 2019;
TrackEval ``trackeval/metrics/clear.py``) needs nothing but the per-frame pair histograms:
masks do not overlap, so a frame's matching is decided by the (GT, prediction) intersection
counts alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from vpsbench import kernels
from vpsbench.metrics.core import (
    Field,
    LabelSpace,
    MetricContext,
    PairHistogram,
    PairRuns,
    VideoMetric,
    VideoStats,
)
from vpsbench.metrics.pq import category_index
from vpsbench.runlength import merge_sorted

VC_MODES = ("corrected", "vspw_official")


def vc_clip_counts(
    gt_semantic_frames: Iterable[np.ndarray],
    pred_semantic_frames: Iterable[np.ndarray],
    n: int,
    mode: str = "corrected",
    ignore_label: int = 255,
) -> np.ndarray:
    """(clips, 2) int64 rows ``(|A ∩ B|, |A|)``, one per clip of ``n`` consecutive frames.

    A = pixels whose GT label is the same in all n frames of the clip, B = the same for the
    prediction (which need not equal the GT). The frames are streamed once through a
    ``ClipCounter``, so memory is O(one frame).

    ``mode="corrected"``: all C−n+1 clips of a C-frame video, and pixels that are GT void
    (``ignore_label``) in the clip are not in A: void is not a label whose stability can be
    judged. ``mode="vspw_official"``: VSPW's ``VC_perclip.py`` (clip starts i = 0..C−n−1, so
    C−n clips and none when C ≤ n) on raw labels, so a stable void pixel is in A.
    """
    counter = ClipCounter((n,), mode=mode, ignore_label=ignore_label)
    for gt_frame, pred_frame in zip(gt_semantic_frames, pred_semantic_frames, strict=True):
        counter.add(gt_frame, pred_frame)
    return counter.rows(n)


class ClipCounter:
    """The VC clip rows of one video for several clip lengths, fed one frame at a time.

    Per pixel, two run-length counters hold how many frames in a row ended at the current one
    with the same GT label, and with the same GT and predicted labels both (capped at the
    longest clip length, so they never overflow), so a clip of n frames ending at frame t has
    A = {gt run ≥ n} and A ∩ B = {both run ≥ n}: only the previous frame's labels and the two
    counters are kept, whatever the video's length (``vc_clip_counts`` for the modes).

    Frames come as semantic maps (``add``) or as raster runs of equal labels (``add_runs``,
    from the ``PairRuns`` the pair histogram is counted from): then the state is kept per
    segment of pixels that share labels and counters, a few thousand per frame instead of a
    million pixels, and the rows are the same. A video may mix both; after a map the state
    stays per pixel.
    """

    def __init__(self, ns: Sequence[int], mode: str = "corrected", ignore_label: int = 255) -> None:
        if mode not in VC_MODES:
            raise ValueError(f"unknown VC mode {mode!r}; choose from {', '.join(VC_MODES)}")
        if not ns or min(ns) < 1:
            raise ValueError(f"clip length must be >= 1, got {list(ns)}")
        self.ns = tuple(int(n) for n in ns)
        self.mode = mode
        self.ignore_label = ignore_label
        self.frames = 0
        self._cap = max(self.ns)
        self._rows: dict[int, list[tuple[int, int]]] = {n: [] for n in self.ns}
        # Per pixel, or per segment (``_starts`` then holds the segments' first pixels).
        self._prev_gt = self._prev_pred = self._run_gt = self._run_both = None
        self._starts: np.ndarray | None = None
        self._size: int | None = None
        self._shape: tuple[int, ...] | None = None

    def add_panoptic(
        self, gt: np.ndarray, pred: np.ndarray, label_divisor: int, runs: PairRuns | None = None
    ) -> None:
        """Add the next frame from its panoptic maps (semantic = value // ``label_divisor``),
        by its ``PairRuns`` when given (``pair_runs`` of the same maps)."""
        if runs is None:
            self.add(np.asarray(gt) // label_divisor, np.asarray(pred) // label_divisor)
            return
        self._check_shape(np.shape(gt), np.shape(pred))
        self.add_pair_runs(np.shape(gt), runs, label_divisor)

    def add_pair_runs(self, shape: tuple[int, ...], runs: PairRuns, label_divisor: int) -> None:
        """Add the next frame (of ``shape``) from its ``PairRuns`` of panoptic values."""
        self._check_shape(tuple(shape), tuple(shape))
        self.add_runs(runs.starts, runs.gt // label_divisor, runs.pred // label_divisor, runs.size)

    def _check_shape(self, gt_shape: tuple, pred_shape: tuple) -> None:
        if gt_shape != pred_shape:
            raise ValueError(f"GT frame is {gt_shape} but prediction frame is {pred_shape}")
        if self._shape is not None and gt_shape != self._shape:
            raise ValueError(f"frame shape changed from {self._shape} to {gt_shape}")
        self._shape = tuple(gt_shape)

    def add(self, gt_frame: np.ndarray, pred_frame: np.ndarray) -> None:
        """Add the next frame's GT and predicted semantic maps (same shape as every frame)."""
        gt, pred = np.asarray(gt_frame), np.asarray(pred_frame)
        self._check_shape(gt.shape, pred.shape)
        gt, pred = gt.ravel(), pred.ravel()
        if self._starts is not None:  # runs so far: continue per pixel
            lengths = np.diff(self._starts, append=self._size)
            self._prev_gt, self._prev_pred, self._run_gt, self._run_both = (
                np.repeat(a, lengths)
                for a in (self._prev_gt, self._prev_pred, self._run_gt, self._run_both)
            )
            self._starts = None
        self._update(gt, pred, None)

    def add_runs(
        self, starts: np.ndarray, gt_labels: np.ndarray, pred_labels: np.ndarray, size: int
    ) -> None:
        """Add the next frame as raster runs: the flat index of each run's first pixel (sorted,
        from 0) and its GT and predicted semantic labels; ``size`` = the frame's pixels."""
        starts = np.asarray(starts, np.int64)
        gt, pred = np.asarray(gt_labels), np.asarray(pred_labels)
        if self._size is not None and size != self._size:
            raise ValueError(f"frame size changed from {self._size} to {size} pixels")
        self._size = int(size)
        if self.frames and self._starts is None:  # per pixel so far: stay per pixel
            lengths = np.diff(starts, append=size)
            self._update(np.repeat(gt, lengths), np.repeat(pred, lengths), None)
            return
        compiled = kernels.compiled()
        if compiled is not None and len(starts) and starts[0] == 0:
            self._advance_compiled(compiled, starts, gt, pred)
            return
        if self.frames:
            # The segments of both partitions: each lies inside one old and one new run.
            merged, old, new = merge_sorted(self._starts, starts)
            self._prev_gt, self._prev_pred = self._prev_gt[old], self._prev_pred[old]
            self._run_gt, self._run_both = self._run_gt[old], self._run_both[old]
            starts, gt, pred = merged, gt[new], pred[new]
        self._starts = starts
        self._update(gt, pred, np.diff(starts, append=size))
        self._merge_segments()

    def _advance_compiled(
        self, compiled, starts: np.ndarray, gt: np.ndarray, pred: np.ndarray
    ) -> None:
        """``add_runs``'s segment update (merge, advance, count, join) in one compiled pass."""
        new = [np.ascontiguousarray(a, np.int64) for a in (starts, gt, pred)]
        if self.frames:
            segments = (self._starts, self._prev_gt, self._prev_pred, self._run_gt, self._run_both)
            old = [np.ascontiguousarray(a, np.int64) for a in segments]
        else:
            old = [np.zeros(0, np.int64)] * 5
        out = [np.empty(len(old[0]) + len(new[0]), np.int64) for _ in range(5)]
        counts = [np.zeros(self._cap + 1, np.int64) for _ in range(2)]
        skip_void = self.mode == "corrected"  # GT void pixels count for nothing
        n = compiled.clip_advance(
            *old, *new, self._size, self._cap, skip_void, self.ignore_label, *out, *counts
        )
        self._starts, self._prev_gt, self._prev_pred, self._run_gt, self._run_both = (
            a[:n].copy() for a in out
        )
        self.frames += 1
        self._record_rows(*counts)

    def _update(self, gt: np.ndarray, pred: np.ndarray, weights: np.ndarray | None) -> None:
        """Advance the counters by one frame; ``weights``: pixels per element (None: 1)."""
        if self._prev_gt is None:
            run_gt = np.ones(gt.shape, np.int32)
            run_both = run_gt
        else:
            same_gt = gt == self._prev_gt
            run_gt = np.where(same_gt, np.minimum(self._run_gt + 1, self._cap), 1)
            # min(gt run, pred run) is a run of its own: that of both labels staying put.
            same_both = same_gt & (pred == self._prev_pred)
            run_both = np.where(same_both, np.minimum(self._run_both + 1, self._cap), 1)
        self._prev_gt, self._prev_pred = gt, pred
        self._run_gt, self._run_both = run_gt, run_both
        self.frames += 1
        if not any(self.frames >= n for n in self.ns):
            return
        if self.mode == "corrected":  # GT void pixels count for nothing
            valid = gt != self.ignore_label
            weights = valid if weights is None else np.where(valid, weights, 0)
        self._record_rows(
            np.bincount(run_gt, weights, self._cap + 1),
            np.bincount(run_both, weights, self._cap + 1),
        )

    def _record_rows(self, count_gt: np.ndarray, count_both: np.ndarray) -> None:
        """The rows of the clips ending at this frame, from the pixels per counter value."""
        # A = {gt run >= n}, A ∩ B = {both run >= n}: one count per run length, summed from
        # the top, gives every n at once.
        at_least_gt = count_gt[::-1].cumsum()[::-1]
        at_least_both = count_both[::-1].cumsum()[::-1]
        for n in (n for n in self.ns if self.frames >= n):  # clips of n frames ending here
            self._rows[n].append((int(at_least_both[n]), int(at_least_gt[n])))

    def _merge_segments(self) -> None:
        """Drop segment boundaries across which labels and counters are all equal."""
        arrays = (self._prev_gt, self._prev_pred, self._run_gt, self._run_both)
        keep = np.zeros(len(self._starts), bool)
        keep[0] = True
        for a in arrays:
            keep[1:] |= a[1:] != a[:-1]
        if not keep.all():
            self._starts = self._starts[keep]
            self._prev_gt, self._prev_pred, self._run_gt, self._run_both = (a[keep] for a in arrays)

    def rows(self, n: int) -> np.ndarray:
        """(clips, 2) int64 rows ``(|A ∩ B|, |A|)`` of the clips of ``n`` frames so far."""
        rows = self._rows[n]
        if self.mode == "vspw_official":
            rows = rows[:-1]  # the official loop stops one clip early (starts 0..C-n-1)
        return np.asarray(rows, np.int64).reshape(-1, 2)

    def counts(self) -> dict[int, np.ndarray]:
        """``rows(n)`` for every clip length, as ``VideoStats.vc`` holds them."""
        return {n: self.rows(n) for n in self.ns}


class VideoConsistency(VideoMetric):
    """VSPW mVC_n: mean of |A ∩ B| / |A| over all clips pooled across videos (clip-weighted)."""

    name = "vc"
    title = "VC (video consistency)"
    fields = (Field("vc_*", "VC_n", brief=True),)
    per_class_columns = ()
    per_video_columns = ("vc_*", "clips_*", "note")

    @classmethod
    def from_context(cls, context: MetricContext) -> VideoConsistency:
        """Clip lengths of the run (the protocol's unless overridden) and the VC mode."""
        ns = context.vc_ns or tuple(context.protocol.vc_clip_lengths)
        return cls(context.space, ns=ns, mode=context.vc_mode)

    def __init__(
        self, space: LabelSpace, ns: Sequence[int] = (8, 16), mode: str = "corrected"
    ) -> None:
        if mode not in VC_MODES:
            raise ValueError(f"unknown VC mode {mode!r}; choose from {', '.join(VC_MODES)}")
        if not ns or min(ns) < 1:
            raise ValueError(f"clip lengths must be >= 1, got {list(ns)}")
        self.space = space
        self.ns = tuple(int(n) for n in ns)
        # The clip rows were already counted in this mode (vc_clip_counts); kept for the record.
        self.mode = mode
        super().__init__()

    def summarize(self, video: VideoStats) -> dict:
        """One video's clip rows ``video.vc[n]`` for every n (key ``"frames"``: its length)."""
        missing = [n for n in self.ns if n not in video.vc]
        if missing:
            raise ValueError(f"video {video.video_id!r} has no VC clip counts for n={missing}")
        rows: dict = {n: np.asarray(video.vc[n], np.int64).reshape(-1, 2) for n in self.ns}
        rows["frames"] = len(video.stems)  # annotated frames, to explain an empty VC_n
        return rows

    def settings(self) -> tuple:
        return (self.ns, self.mode)

    @staticmethod
    def pooled(rows: np.ndarray) -> tuple[float | None, int]:
        """(percent mean of |A ∩ B| / |A| over clips with |A| > 0, number of such clips)."""
        # Clips with |A| = 0 are NaN in the official code and skipped by its nanmean.
        valid = rows[:, 1] > 0
        if not valid.any():
            return None, 0
        ratios = rows[valid, 0] / rows[valid, 1]
        return 100.0 * float(ratios.mean()), int(valid.sum())

    def _scores(self, per_n: dict[int, list[np.ndarray]]) -> dict:
        out: dict = {}
        for n in self.ns:
            rows = np.concatenate(per_n[n]) if per_n[n] else np.zeros((0, 2), np.int64)
            out[f"vc_{n}"], out[f"clips_{n}"] = self.pooled(rows)
        return out

    def result(self) -> dict:
        """{"vc_<n>": percent or None, "clips_<n>": clips averaged}, the settings used and, for
        each None, ``empty["vc_<n>"]``: why there is no value."""
        out = self._scores({n: [v[n] for v in self.videos.values()] for n in self.ns})
        out["settings"] = {"ns": list(self.ns), "mode": self.mode}
        empty = {f"vc_{n}": self.why_empty(n) for n in self.ns if out[f"vc_{n}"] is None}
        if empty:
            out["empty"] = empty
        return out

    def why_empty(self, n: int) -> str:
        """Why VC_n has no value: no video long enough, or no GT-stable pixel in any clip."""
        longest = max((v["frames"] for v in self.videos.values()), default=0)
        if not any(len(v[n]) for v in self.videos.values()):
            if self.mode == "vspw_official":
                need = f"more than {n} annotated frames (vspw_official has C-n clips)"
            else:
                need = f"{n} annotated frames"
            return f"no video has {need}; the longest has {longest}"
        label = "GT label" if self.mode == "vspw_official" else "non-void GT label"
        return f"no clip of {n} frames has a pixel with a stable {label}"

    def per_class(self) -> list[dict]:
        """VC is not defined per class."""
        return []

    def per_video(self) -> list[dict]:
        """VC_n and clip count of each video alone; ``note``: why a VC_n of it has no value
        (None when every one has)."""
        return [
            {
                "video_id": video_id,
                **self._scores({n: [rows[n]] for n in self.ns}),
                "note": self.video_note(rows),
            }
            for video_id, rows in self.videos.items()
        ]

    def video_note(self, rows: dict) -> str | None:
        """Why some VC_n of one video (its ``summarize`` rows) cannot exist: the video is
        shorter than the clip, or no clip has a GT-stable pixel."""
        reasons = []
        for n in self.ns:
            if not len(rows[n]):
                need = f"more than {n}" if self.mode == "vspw_official" else str(n)
                reasons.append(
                    f"VC_{n} needs {need} annotated frames, the video has {rows['frames']}"
                )
            elif not (rows[n][:, 1] > 0).any():
                label = "GT label" if self.mode == "vspw_official" else "non-void GT label"
                reasons.append(f"VC_{n}: no clip has a pixel with a stable {label}")
        return "; ".join(reasons) or None


COUNT_KEYS = ("tp", "fp", "fn", "idsw", "frag", "gt_tracks")


@dataclass
class TrackCounts:
    """CLEAR-MOT accumulators per category (indexed like ``LabelSpace.category_ids``)."""

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    idsw: np.ndarray
    frag: np.ndarray
    gt_tracks: np.ndarray
    iou: np.ndarray

    @classmethod
    def zeros(cls, num_categories: int) -> TrackCounts:
        ints = [np.zeros(num_categories, np.int64) for _ in COUNT_KEYS]
        return cls(*ints, np.zeros(num_categories, np.float64))

    def __iadd__(self, other: TrackCounts) -> TrackCounts:
        for key in (*COUNT_KEYS, "iou"):
            getattr(self, key).__iadd__(getattr(other, key))
        return self

    def scores(self, index: int | slice = slice(None)) -> dict:
        """Counts (int) and MOTSA, sMOTSA, MOTSP (percent; None when undefined) of a class/all."""
        counts = {key: int(getattr(self, key)[index].sum()) for key in COUNT_KEYS}
        iou = float(self.iou[index].sum())
        tp, fp, idsw = counts["tp"], counts["fp"], counts["idsw"]
        gt = tp + counts["fn"]
        return {
            "motsa": 100.0 * (tp - fp - idsw) / gt if gt else None,
            "smotsa": 100.0 * (iou - fp - idsw) / gt if gt else None,
            "motsp": 100.0 * iou / tp if tp else None,
            **counts,
            "iou_sum": iou,
        }


@dataclass
class FrameMatch:
    """One frame's matching: GT tracks present, matched predicted value (-1 if none), IoU."""

    gt: np.ndarray
    pred: np.ndarray
    iou: np.ndarray
    false_positives: np.ndarray


def match_frame(hist: PairHistogram, space: LabelSpace) -> FrameMatch:
    """Match non-crowd GT thing segments to same-category predictions with IoU > 0.5.

    IoU(g, p) = I(g, p) / (|g| + |p| − I(g, p) − I(void, p)) with whole-frame areas (the
    VPQ/panopticapi void rule); above 0.5 each g and each p has at most one partner. False
    positives are the unmatched predicted thing segments with at most half of their pixels on
    GT void or on GT crowd of their own category.
    """
    void, div = space.void, space.label_divisor
    gt_vals, gt_area = hist.gt_areas()
    pred_vals, pred_area = hist.pred_areas()
    g_row = np.searchsorted(gt_vals, hist.gt)
    p_row = np.searchsorted(pred_vals, hist.pred)
    on_void = hist.gt == void
    void_overlap = np.bincount(p_row[on_void], hist.count[on_void], len(pred_vals))
    tracked = space.is_thing(gt_vals) & (gt_vals % div != 0) & (gt_vals != void)

    candidate = (
        tracked[g_row]
        & (hist.pred != void)
        & (space.category(hist.gt) == space.category(hist.pred))
    )
    inter = hist.count[candidate]
    union = gt_area[g_row[candidate]] + pred_area[p_row[candidate]] - inter
    iou = inter / (union - void_overlap[p_row[candidate]])
    hit = iou > 0.5
    g_hit, p_hit = g_row[candidate][hit], p_row[candidate][hit]

    matched_pred = np.full(len(gt_vals), -1, np.int64)
    matched_pred[g_hit] = pred_vals[p_hit]
    match_iou = np.zeros(len(gt_vals), np.float64)
    match_iou[g_hit] = iou[hit]

    pred_matched = np.zeros(len(pred_vals), bool)
    pred_matched[p_hit] = True
    own_crowd = space.is_crowd(hist.gt) & (hist.gt == space.category(hist.pred) * div)
    crowd_overlap = np.bincount(p_row[own_crowd], hist.count[own_crowd], len(pred_vals))
    ignored = (void_overlap + crowd_overlap) / np.maximum(pred_area, 1) > 0.5
    pred_thing = space.is_thing(pred_vals) & (pred_vals != void)
    false_pos = pred_thing & ~pred_matched & ~ignored
    return FrameMatch(
        gt_vals[tracked], matched_pred[tracked], match_iou[tracked], pred_vals[false_pos]
    )


def video_track_counts(histograms: Sequence[PairHistogram], space: LabelSpace) -> TrackCounts:
    """CLEAR-MOT counts of one video, per category, from its frames in temporal order."""
    counts = TrackCounts.zeros(len(space.category_ids))
    matches = [match_frame(hist, space) for hist in histograms]
    fp_values = np.concatenate([m.false_positives for m in matches] or [np.zeros(0, np.int64)])
    np.add.at(counts.fp, category_index(space, fp_values), 1)
    if not matches or not any(len(m.gt) for m in matches):
        return counts
    frame = np.concatenate([np.full(len(m.gt), t) for t, m in enumerate(matches)])
    gt = np.concatenate([m.gt for m in matches])
    pred = np.concatenate([m.pred for m in matches])
    iou = np.concatenate([m.iou for m in matches])

    # One event per (GT track, frame where it is present), sorted by track, then time.
    order = np.lexsort((frame, gt))
    gt, pred, iou = gt[order], pred[order], iou[order]
    position = np.arange(len(gt))
    matched = pred >= 0
    new_track = np.ones(len(gt), bool)
    new_track[1:] = gt[1:] != gt[:-1]
    track_start = np.maximum.accumulate(np.where(new_track, position, 0))
    # The event of the same track's last match strictly before each event (-1 or other track).
    last_match = np.maximum.accumulate(np.where(matched, position, -1))
    previous = np.concatenate([[-1], last_match[:-1]])
    resumed = matched & (previous >= track_start)
    # A switch compares with the last match however long ago; a fragmentation needs a present
    # but unmatched frame since then, i.e. an event between the two matches.
    switch = resumed & (pred[np.maximum(previous, 0)] != pred)
    fragment = resumed & (position - previous > 1)

    rows = category_index(space, gt)
    np.add.at(counts.tp, rows[matched], 1)
    np.add.at(counts.fn, rows[~matched], 1)
    np.add.at(counts.iou, rows[matched], iou[matched])
    np.add.at(counts.idsw, rows[switch], 1)
    np.add.at(counts.frag, rows[fragment], 1)
    np.add.at(counts.gt_tracks, rows[new_track], 1)
    return counts


class IdentitySwitches(VideoMetric):
    """CLEAR-MOT on masks (MOTS): TP, FP, FN, ID switches, fragmentations, MOTSA, sMOTSA, MOTSP."""

    name = "idsw"
    title = "identity switches (CLEAR-MOT on masks)"
    fields = (
        Field("motsa", "MOTSA", "signed %"),
        Field("smotsa", "sMOTSA", "signed %"),
        Field("motsp", "MOTSP"),
        Field("idsw", "IDSW", "count", brief=True),
        Field("frag", "Frag", "count"),
    )
    per_class_columns = (*COUNT_KEYS, "iou_sum", "motsa", "smotsa", "motsp")
    per_video_columns = per_class_columns

    @classmethod
    def from_context(cls, context: MetricContext) -> IdentitySwitches:
        return cls(context.space)

    def __init__(self, space: LabelSpace) -> None:
        # Matched segments are things, so every count lands on a known category row.
        unknown = sorted(space.thing_ids - set(space.category_ids))
        if unknown:
            raise ValueError(f"thing ids {unknown} are not in the category table")
        self.space = space
        super().__init__()

    def summarize(self, video: VideoStats) -> TrackCounts:
        """One video's per-class counts."""
        return video_track_counts(video.histograms, self.space)

    def settings(self) -> tuple:
        return (self.space,)

    def totals(self) -> TrackCounts:
        """Per-class counts summed over videos."""
        total = TrackCounts.zeros(len(self.space.category_ids))
        for counts in self.videos.values():
            total += counts
        return total

    def result(self) -> dict:
        """Counts and scores summed over all thing classes and videos."""
        return self.totals().scores()

    def per_class(self) -> list[dict]:
        """One row per thing category."""
        total = self.totals()
        return [
            {"category_id": int(cat), **total.scores(i)}
            for i, cat in enumerate(self.space.category_ids)
            if cat in self.space.thing_ids
        ]

    def per_video(self) -> list[dict]:
        """Counts and scores of each video."""
        return [{"video_id": vid, **counts.scores()} for vid, counts in self.videos.items()]
