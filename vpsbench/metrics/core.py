"""Per-frame statistics every metric is built from: the sparse GT x prediction pair histogram.

All VPQ, PQ, STQ and identity-switch numbers are sums over frames of pair intersection counts
(docs/METRICS.md, 'How scoring works'): the intersection of a GT tube and a predicted tube over
a window is the sum of their per-frame intersections, and so are tube areas and void overlaps.
So each frame is decoded once, reduced to a ``PairHistogram`` of a few hundred entries, and every
window of every size is built by adding histograms.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from vpsbench import kernels
from vpsbench.format.schema import Category
from vpsbench.runlength import RunMap, continued_run_starts, merge_sorted, run_starts

if TYPE_CHECKING:
    from vpsbench.metrics.tubes import TubeIdentity

# Dense-table fast path: label values below this bound are counted with bincount (no sort).
_DENSE_LIMIT = 1 << 22
# Pixels per piece of ``pair_runs_of_blocks``: 2 MB of int32, a piece of the GT and of a
# prediction stay in cache while compared (W1 frames: 5.3 against 6.3 ms for inflating both
# maps whole and comparing them after; pieces of 2^16 pixels cost more in calls than they save).
BLOCK_PIXELS = 1 << 19


@dataclass(frozen=True)
class LabelSpace:
    """How panoptic values decode: label divisor, void value, category ids and which are things."""

    label_divisor: int
    ignore_label: int
    category_ids: tuple[int, ...]
    thing_ids: frozenset[int]

    @classmethod
    def from_categories(
        cls, categories: Iterable[Category], label_divisor: int, ignore_label: int
    ) -> LabelSpace:
        """The label space of a unified file's category table."""
        cats = list(categories)
        return cls(
            label_divisor=int(label_divisor),
            ignore_label=int(ignore_label),
            category_ids=tuple(c.id for c in cats),
            thing_ids=frozenset(c.id for c in cats if c.isthing),
        )

    @property
    def void(self) -> int:
        """The panoptic value of void (GT) / no segment (prediction)."""
        return self.ignore_label * self.label_divisor

    def category(self, values: np.ndarray) -> np.ndarray:
        """Category id of each panoptic value."""
        return np.asarray(values) // self.label_divisor

    def is_thing(self, values: np.ndarray) -> np.ndarray:
        """Whether each value belongs to a thing category."""
        return self._thing_table[self._table_index(values)]

    def category_index(self, values: np.ndarray) -> np.ndarray:
        """Position in ``category_ids`` of each value's category (-1 if unknown)."""
        return self._index_table[self._table_index(values)]

    # Both lookups are called per window on a few hundred values: a table indexed by category
    # (entry 0 for negative categories, the last for those above the largest id) is several
    # times faster there than np.isin / searchsorted.
    def _table_index(self, values: np.ndarray) -> np.ndarray:
        return np.clip(self.category(values) + 1, 0, len(self._index_table) - 1)

    @functools.cached_property
    def _index_table(self) -> np.ndarray:
        top = max(self.category_ids, default=0)
        table = np.full(top + 3, -1, np.int64)
        table[np.asarray(self.category_ids, np.int64) + 1] = np.arange(len(self.category_ids))
        return table

    @functools.cached_property
    def _thing_table(self) -> np.ndarray:
        table = np.zeros(len(self._index_table), bool)
        things = [c for c in self.thing_ids if 0 <= c < len(table) - 2]
        table[np.asarray(things, np.int64) + 1] = True
        return table

    def is_crowd(self, values: np.ndarray) -> np.ndarray:
        """GT crowd: a thing category with instance 0."""
        values = np.asarray(values)
        return self.is_thing(values) & (values % self.label_divisor == 0)


@dataclass(frozen=True)
class PairHistogram:
    """Sparse counts of (GT value, predicted value) pixel pairs, sorted by (gt, pred), unique."""

    gt: np.ndarray
    pred: np.ndarray
    count: np.ndarray

    def __len__(self) -> int:
        return len(self.count)

    @property
    def num_pixels(self) -> int:
        return int(self.count.sum())

    def gt_areas(self) -> tuple[np.ndarray, np.ndarray]:
        """(GT values, their pixel counts), void included."""
        return _group_sum(self.gt, self.count)

    def pred_areas(self) -> tuple[np.ndarray, np.ndarray]:
        """(predicted values, their pixel counts), 'no segment' included."""
        return _group_sum(self.pred, self.count)


def _group_sum(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct keys, the sum of ``counts`` of each), in int64."""
    if len(keys) == 0:
        return keys, np.zeros(0, np.int64)
    # A stable sort: keys of raster-order runs come in long ordered stretches, which timsort
    # merges 2-3x faster than np.unique's quicksort (a 1024x2048 frame's pair runs: 0.17 vs
    # 0.53 ms for the whole histogram); the sums stay integer (no float bincount).
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    first = np.empty(len(ordered), bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    sums = np.add.reduceat(np.asarray(counts, np.int64)[order], starts)
    return ordered[starts], sums


def _dense_index(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(present values, int32 index of each pixel into them), by a lookup table, not a sort."""
    present = np.flatnonzero(np.bincount(values, minlength=1))
    lut = np.zeros(int(present[-1]) + 1, np.int32)
    lut[present] = np.arange(len(present), dtype=np.int32)
    return present, np.take(lut, values)


@dataclass(frozen=True)
class PairRuns:
    """One frame as runs of equal (GT value, predicted value) pairs in raster order.

    Label maps are piecewise constant, so a frame has a few runs per row: the pair histogram
    and VC's clip counters (``ClipCounter.add_runs``) are computed from the runs, not the
    pixels. ``starts`` are the flat indices of the runs' first pixels, ``size`` the pixels.
    """

    starts: np.ndarray
    gt: np.ndarray
    pred: np.ndarray
    size: int

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.starts, append=self.size)

    def histogram(self) -> PairHistogram:
        """The frame's pair histogram: the run lengths summed per (GT, prediction) pair."""
        compiled = kernels.compiled()
        if compiled is None or len(self) == 0:
            histogram = PairHistogram(self.gt, self.pred, self.lengths)
            return sum_histograms([histogram], merge_single=True)
        # Counted in a hash table, in order of first appearance; only the few hundred distinct
        # pairs are sorted then (a sort of every run was most of the NumPy version's time).
        runs = [np.ascontiguousarray(a, np.int64) for a in (self.starts, self.gt, self.pred)]
        gt, pred, count = (np.empty(len(self), np.int64) for _ in range(3))
        n = compiled.pair_counts(*runs, self.size, gt, pred, count)
        order = np.lexsort((pred[:n], gt[:n]))
        return PairHistogram(gt[:n][order], pred[:n][order], count[:n][order])


def pair_histogram(gt: np.ndarray, pred: np.ndarray) -> PairHistogram:
    """Count every (GT value, predicted value) pair of co-located pixels in one frame."""
    return histogram_and_runs(gt, pred)[0]


def histogram_and_runs(
    gt: np.ndarray, pred: np.ndarray | RunMap
) -> tuple[PairHistogram, PairRuns | None]:
    """The frame's pair histogram and, unless the maps are too fragmented, its ``PairRuns``
    (from which it was counted): one pass over the pixels for every per-frame statistic."""
    gt = np.asarray(gt)
    if not isinstance(pred, RunMap):
        pred = np.asarray(pred)
    if gt.shape != tuple(pred.shape):
        raise ValueError(f"GT map is {gt.shape} but prediction map is {tuple(pred.shape)}")
    if gt.size == 0:
        empty = np.zeros(0, np.int64)
        return PairHistogram(empty, empty, empty), None
    runs = pair_runs(gt, pred)
    if runs is not None:
        return runs.histogram(), runs
    return _histogram_of_pixels(gt.ravel(), np.asarray(pred).ravel()), None


def pair_runs(gt: np.ndarray, pred: np.ndarray | RunMap) -> PairRuns | None:
    """The frame's runs of equal pairs (``PairRuns``); None when the maps are empty or too
    fragmented for runs to be cheaper than pixels (more than one run per 8 pixels).

    A prediction given as its runs (``RunMap``, as the submission reader makes it) is not
    compared pixel by pixel again: the pair runs start where a GT run or a predicted run does.
    """
    g = np.asarray(gt).ravel()
    if isinstance(pred, RunMap):
        if g.size == 0 or g.size != pred.size:
            return None
        gt_starts = run_starts(g)
        runs = merged_with_run_map(gt_starts, g[gt_starts], pred, int(g.size))
        return None if len(runs) * 8 > g.size else runs
    p = np.asarray(pred).ravel()
    if g.size == 0 or g.size != p.size:
        return None
    starts = run_starts(g, p)
    if len(starts) * 8 > g.size:
        return None
    return PairRuns(starts, g[starts].astype(np.int64), p[starts].astype(np.int64), int(g.size))


def merged_with_run_map(
    gt_starts: np.ndarray, gt_values: np.ndarray, pred: RunMap, size: int
) -> PairRuns:
    """The pair runs of a GT given by its runs and a prediction given as a ``RunMap``: they
    start wherever a GT run or a predicted run does (one merge, no pass over pixels)."""
    starts, in_gt, in_pred = merge_sorted(gt_starts, pred.starts)
    gt = np.asarray(gt_values)[in_gt].astype(np.int64)
    return PairRuns(starts, gt, np.asarray(pred.values)[in_pred].astype(np.int64), size)


def pair_runs_of_blocks(
    gt_blocks: Iterable[np.ndarray],
    preds: Sequence[object],
    size: int,
    block_pixels: int = BLOCK_PIXELS,
    give_up_fragmented: bool = False,
) -> list[PairRuns | None]:
    """The ``PairRuns`` of one GT frame against each prediction, the GT given as consecutive
    flat pieces (``VideoReader.panoptic_row_blocks``) so that each piece is compared while it
    is in the CPU cache, and decoded once for every prediction.

    A prediction is a map (cut into the same pieces), a ``RunMap`` (merged with the GT's
    runs) or a stored map whose ``blocks(block_pixels)`` gives pieces of the GT's lengths
    (the GT's pieces being of ``block_pixels`` too). With ``give_up_fragmented``, a
    prediction with more than one run per 8 pixels in the first piece (a ``RunMap``: in the
    whole map) gets None instead, for the caller to count its pixels, which is cheaper; once
    every prediction has, the GT's remaining pieces are not read.
    """
    if size <= 0:
        raise ValueError("pair_runs_of_blocks needs a map of at least one pixel")
    preds = list(preds)
    block_iters = [iter(p.blocks(block_pixels)) if hasattr(p, "blocks") else None for p in preds]
    flat = [np.asarray(p).ravel() if i is None and not isinstance(p, RunMap) else None
            for p, i in zip(preds, block_iters, strict=True)]  # fmt: skip
    # A prediction's pair runs are at least its own runs: a RunMap can be judged at once.
    live = [
        not (give_up_fragmented and isinstance(p, RunMap) and len(p.values) * 8 > size)
        for p in preds
    ]
    wants_gt_runs = any(isinstance(p, RunMap) and ok for p, ok in zip(preds, live, strict=True))
    parts: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in preds]
    gt_parts: list[tuple[np.ndarray, np.ndarray]] = []
    last: list = [None] * len(preds)
    gt_last, offset = None, 0
    for g in gt_blocks:
        if not any(live):
            break
        m = g.size
        if wants_gt_runs:
            starts = continued_run_starts((g,), None if gt_last is None else (gt_last,))
            gt_parts.append((starts + offset, g[starts]))
        for i, pred in enumerate(preds):
            if isinstance(pred, RunMap) or not live[i]:
                continue
            p = flat[i][offset : offset + m] if block_iters[i] is None else next(block_iters[i])
            if p.size != m:
                raise ValueError(
                    f"the prediction map's pieces do not match the GT's ({p.size} != {m})"
                )
            before = None if gt_last is None or last[i] is None else (gt_last, last[i])
            starts = continued_run_starts((g, p), before)
            if give_up_fragmented and offset == 0 and len(starts) * 8 > m:
                live[i] = False  # judged on the first piece: the rest is not compared
                continue
            parts[i].append((starts + offset, g[starts], p[starts]))
            last[i] = p[-1]
        gt_last = g[-1]
        offset += m
    if any(live) and offset != size:
        raise ValueError(f"the GT map has {offset} pixels, expected {size}")
    out: list[PairRuns | None] = []
    for pred, pieces, ok in zip(preds, parts, live, strict=True):
        if not ok:
            out.append(None)
        elif isinstance(pred, RunMap):
            gt_starts = np.concatenate([s for s, _ in gt_parts])
            gt_values = np.concatenate([v for _, v in gt_parts])
            out.append(merged_with_run_map(gt_starts, gt_values, pred, size))
        else:
            starts, gt, pr = (np.concatenate([piece[k] for piece in pieces]) for k in range(3))
            out.append(PairRuns(starts, gt.astype(np.int64), pr.astype(np.int64), size))
    return out


def _histogram_of_pixels(g: np.ndarray, p: np.ndarray) -> PairHistogram:
    lo = min(int(g.min()), int(p.min()))
    hi = max(int(g.max()), int(p.max()))
    if lo >= 0 and hi < _DENSE_LIMIT:
        # Few distinct values: index them densely and count pairs with one bincount.
        gvals, gidx = _dense_index(g)
        pvals, pidx = _dense_index(p)
        n_pred = len(pvals)
        if len(gvals) * n_pred < 1 << 31:
            keys = gidx * np.int32(n_pred) + pidx
        else:
            keys = gidx.astype(np.int64) * n_pred + pidx
        counts = np.bincount(keys, minlength=len(gvals) * n_pred)
        nz = np.flatnonzero(counts)
        return PairHistogram(
            gvals[nz // n_pred].astype(np.int64),
            pvals[nz % n_pred].astype(np.int64),
            counts[nz].astype(np.int64),
        )
    g = g.astype(np.int64, copy=False)
    p = p.astype(np.int64, copy=False)
    pairs, counts = np.unique(np.stack([g, p], axis=1), axis=0, return_counts=True)
    return PairHistogram(pairs[:, 0].copy(), pairs[:, 1].copy(), counts.astype(np.int64))


def sum_histograms(
    histograms: Sequence[PairHistogram], merge_single: bool = False
) -> PairHistogram:
    """The histogram of several frames stacked together (a window or a whole video).

    Histograms are assumed unique per (gt, pred) already; ``merge_single`` also merges the
    repeated pairs of a single, unmerged one (pixel runs).
    """
    if len(histograms) == 1 and not merge_single:
        return histograms[0]
    gt = np.concatenate([h.gt for h in histograms])
    pred = np.concatenate([h.pred for h in histograms])
    count = np.concatenate([h.count for h in histograms])
    if len(count) == 0:
        return PairHistogram(gt, pred, count)
    keys = pack_pairs(gt, pred)
    if keys is None:
        pairs, inverse = np.unique(np.stack([gt, pred], axis=1), axis=0, return_inverse=True)
        total = np.bincount(inverse.ravel(), weights=count, minlength=len(pairs))
        return PairHistogram(pairs[:, 0].copy(), pairs[:, 1].copy(), total.astype(np.int64))
    uniq, total = _group_sum(keys, count)
    return PairHistogram(uniq >> 32, uniq & 0xFFFFFFFF, total)


def pack_pairs(gt: np.ndarray, pred: np.ndarray) -> np.ndarray | None:
    """One sortable int64 key per pair (gt major), or None when the values do not fit 31 bits."""
    if gt.min() < 0 or pred.min() < 0 or gt.max() >= 1 << 31 or pred.max() >= 1 << 31:
        return None
    return (gt << 32) | pred


@dataclass
class VideoStats:
    """Everything the metrics need from one video, computed once per video (mergeable by id).

    ``histograms[i]`` is the pair histogram of the i-th annotated frame (temporal order);
    ``vc[n]`` holds one row ``(|A & B|, |A|)`` per clip of ``n`` consecutive annotated frames
    (see ``vpsbench.metrics.consistency``); ``pred_tubes`` says which predicted values are one
    VPQ tube when that is not simply "one value, one tube" (see ``vpsbench.metrics.tubes``);
    ``gt_first_listed`` is the GT value the release lists first in the video, when the
    protocol's STQ numbers tracks by listing (``stq_rule`` "vipseg") and the GT file records it.
    """

    video_id: str
    stems: list[str]
    histograms: list[PairHistogram]
    vc: dict[int, np.ndarray]
    pred_tubes: TubeIdentity | None = None
    gt_first_listed: int | None = None
    # Results several metrics need (``vpsbench.metrics.pq.size_counts``), computed
    # once per video by whichever metric asks first.
    cache: dict = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True)
class Field:
    """One headline number of a metric: its key in ``result()``, how it is labelled, its unit
    ("%" or "count"). A key ending in ``*`` stands for every matching key (``vc_*``)."""

    key: str
    label: str
    unit: str = "%"  # "%" (0-100), "signed %" (at most 100, may be negative) or "count"
    brief: bool = False  # shown in compact tables (the demo's, the leaderboard's)

    def expand(self, result: dict) -> list[tuple[str, str]]:
        """(key, label) of every result key this field stands for, in the result's order."""
        if not self.key.endswith("*"):
            return [(self.key, self.label)] if self.key in result else []
        prefix = self.key[:-1]
        return [(k, k.upper()) for k in result if k.startswith(prefix)]


@dataclass(frozen=True)
class MetricContext:
    """What a metric may be configured from: the label space, the protocol and the options
    of the run."""

    space: LabelSpace
    protocol: object  # vpsbench.format.schema.Protocol
    vc_ns: tuple[int, ...] = ()
    vc_mode: str = "corrected"
    tube_rule: str = "official"


class VideoMetric(ABC):
    """Base of every metric: one summary per video (from ``summarize``), kept by video id.

    A metric declares ``name``, ``title``, its headline ``fields`` and the columns of its
    per-class and per-video rows (TrackEval style); the runner, the reports, the console table,
    the leaderboard and the demo read these declarations. Keeping per-video summaries makes
    ``merge`` associative (disjoint videos can be scored in separate processes, or machines,
    and combined) and gives the per-video tables.
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    fields: ClassVar[tuple[Field, ...]] = ()
    per_class_columns: ClassVar[tuple[str, ...]] = ()
    per_video_columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.videos: dict[str, object] = {}

    @classmethod
    @abstractmethod
    def from_context(cls, context: MetricContext) -> VideoMetric:
        """The metric configured for one run."""

    @abstractmethod
    def summarize(self, video: VideoStats) -> object:
        """The metric's summary of one video."""

    @abstractmethod
    def result(self) -> dict:
        """The scores over every video added so far (percentages and counts)."""

    @abstractmethod
    def per_class(self) -> list[dict]:
        """One row per category (``category_id`` and ``per_class_columns``); [] if undefined."""

    @abstractmethod
    def per_video(self) -> list[dict]:
        """One row per video (``video_id`` and ``per_video_columns``)."""

    def settings(self) -> tuple:
        """What must match for two instances to be merged."""
        return ()

    @classmethod
    def score_label(cls, key: str) -> str:
        """How a key of ``result()`` is named in notes: ``vc_4`` -> ``VC_4``."""
        return key.upper()

    def update(self, video: VideoStats) -> None:
        """Add one video; each video may be added once."""
        if video.video_id in self.videos:
            raise ValueError(f"video {video.video_id!r} was already added")
        self.videos[video.video_id] = self.summarize(video)

    def merge(self, other: VideoMetric) -> None:
        """Add the videos of another instance with the same settings (disjoint video ids)."""
        if type(other) is not type(self) or other.settings() != self.settings():
            raise ValueError(f"cannot merge {self.name} metrics with different settings")
        duplicate = set(self.videos) & set(other.videos)
        if duplicate:
            raise ValueError(f"videos present in both: {sorted(duplicate)[:5]}")
        self.videos.update(other.videos)
