"""Video panoptic quality, as the official Cityscapes-VPS evaluator computes it (after 72d59ab).

For each window size n and each video, every run of n consecutive annotated frames is one
window; tubes are the window's segments stacked over time, matched with ``match_segments``.
A prediction tube is what the official scorer calls one: one colour id, with the category of
its first frame in the window (``vpsbench.metrics.tubes``); ``tube_rule="split"`` instead makes
every (category, instance) value its own tube.
Counts are summed per class over all windows of all videos, PQ is averaged over classes with
TP+FP+FN > 0 (All / Things / Stuff separately), and the final VPQ is the mean over window sizes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vpsbench.format.schema import Protocol
from vpsbench.metrics.core import (
    Field,
    LabelSpace,
    MetricContext,
    PairHistogram,
    VideoMetric,
    VideoStats,
)
from vpsbench.metrics.pq import (
    GROUPS,
    ClassCounts,
    group_averages,
    match_segments,
    per_class_rows,
    size_counts,
    summed,
)
from vpsbench.metrics.tubes import TubeIdentity, changes_identity, window_histogram

TUBE_RULES = ("official", "split")


def windows(
    histograms: Sequence[PairHistogram], size: int, tubes: TubeIdentity | None = None
) -> Iterable[PairHistogram]:
    """The stacked histogram of every run of ``size`` consecutive frames (none if too short)."""
    for start in range(len(histograms) - size + 1):
        yield window_histogram(histograms[start : start + size], tubes)


def video_window_counts(
    histograms: Sequence[PairHistogram],
    space: LabelSpace,
    size: int,
    min_tube_area: int = 0,
    tubes: TubeIdentity | None = None,
) -> ClassCounts:
    """Per-class counts of all windows of one size in one video."""
    return summed(
        (
            match_segments(window, space, min_tube_area)
            for window in windows(histograms, size, tubes)
        ),
        space,
    )


@dataclass(frozen=True)
class VideoWindows:
    """One video's VPQ summary: per-class counts of its windows per k, and its annotated
    frames (to say why a score cannot exist)."""

    counts: dict[int, ClassCounts]
    frames: int


class VPQ(VideoMetric):
    """VPQ per window size and averaged over sizes; options default to a file's protocol."""

    name = "vpq"
    title = "VPQ (video panoptic quality)"
    fields = (
        Field("all", "VPQ", brief=True),
        Field("things", "Th", brief=True),
        Field("stuff", "St", brief=True),
    )
    per_class_columns = ("k", "pq", "sq", "rq", "iou_sum", "tp", "fp", "fn")
    per_video_columns = ("all", "things", "stuff", "note")

    def __init__(
        self,
        space: LabelSpace,
        window_sizes: Sequence[int] = (1, 2, 3, 4),
        k_labels: Sequence[int] = (0, 5, 10, 15),
        min_tube_area: int = 0,
        excluded_category_ids: Iterable[int] = (),
        tube_rule: str = "official",
    ) -> None:
        if tube_rule not in TUBE_RULES:
            raise ValueError(f"tube_rule must be one of {TUBE_RULES}, got {tube_rule!r}")
        if len(window_sizes) != len(k_labels) or not window_sizes:
            raise ValueError("need one k label per window size, and at least one window size")
        if min(window_sizes) < 1:
            raise ValueError(f"window sizes must be >= 1, got {list(window_sizes)}")
        self.space = space
        self.window_sizes = tuple(int(n) for n in window_sizes)
        self.k_labels = tuple(int(k) for k in k_labels)
        self.min_tube_area = int(min_tube_area)
        self.excluded = tuple(excluded_category_ids)
        self.tube_rule = tube_rule
        super().__init__()

    @classmethod
    def from_context(cls, context: MetricContext) -> VPQ:
        """The protocol's windows, k labels, minimum tube area and exclusions."""
        return cls.from_protocol(context.space, context.protocol, context.tube_rule)

    @classmethod
    def from_protocol(
        cls, space: LabelSpace, protocol: Protocol, tube_rule: str = "official"
    ) -> VPQ:
        """The official setting of a dataset, as its GT file records it."""
        return cls(
            space,
            protocol.vpq_window_sizes,
            protocol.vpq_k,
            protocol.min_tube_area,
            protocol.excluded_category_ids,
            tube_rule,
        )

    def summarize(self, video: VideoStats) -> VideoWindows:
        """Per-class counts of every window of every size of one video."""
        return VideoWindows(self.window_counts(video), len(video.stems))

    def window_counts(self, video: VideoStats) -> dict[int, ClassCounts]:
        """{k: per-class counts of all windows of k's size} of one video."""
        tubes = video.pred_tubes if self.tube_rule == "official" else None
        if not changes_identity(video.histograms, tubes):
            tubes = None  # every value is its own tube: the plain stacking is the same, faster
        sizes = zip(self.window_sizes, self.k_labels, strict=True)
        if tubes is None:  # all sizes in one batched pass, shared with image PQ (size 1)
            counts = size_counts(video, self.space, self.window_sizes, self.min_tube_area)
            return {k: counts[n] for n, k in sizes}
        return {
            k: video_window_counts(video.histograms, self.space, n, self.min_tube_area, tubes)
            for n, k in sizes
        }

    @classmethod
    def score_label(cls, key: str) -> str:
        """``all`` -> ``VPQ``, ``things`` -> ``VPQ Th``, ``stuff`` -> ``VPQ St``."""
        return {"all": "VPQ", "things": "VPQ Th", "stuff": "VPQ St"}.get(key, key)

    def settings(self) -> tuple:
        return (
            self.space,
            self.window_sizes,
            self.k_labels,
            self.min_tube_area,
            self.excluded,
            self.tube_rule,
        )

    def totals(self) -> dict[int, ClassCounts]:
        """Per-class counts per k, summed over videos in the order they were added."""
        total = {k: ClassCounts.zeros(len(self.space.category_ids)) for k in self.k_labels}
        for video in self.videos.values():
            for k, counts in video.counts.items():
                total[k] += counts
        return total

    def _summary(self, per_k: dict[int, ClassCounts]) -> dict:
        by_k = {k: group_averages(c, self.space, self.excluded) for k, c in per_k.items()}
        out: dict = {"k": {str(k): {g: by_k[k][g]["pq"] for g in GROUPS} for k in by_k}}
        for g in GROUPS:
            values = [by_k[k][g]["pq"] for k in self.k_labels]
            out[g] = None if any(v is None for v in values) else sum(values) / len(values)
        out["groups"] = {str(k): by_k[k] for k in by_k}
        return out

    def result(self) -> dict:
        """{"k": {k: {all, things, stuff}}, "all", "things", "stuff"} in percent and, for each
        None, ``empty[group]``: why there is no value."""
        out = self._summary(self.totals())
        out["window_sizes"] = list(self.window_sizes)
        out["k_labels"] = list(self.k_labels)
        longest = max((v.frames for v in self.videos.values()), default=0)
        empty = {g: self.why_empty(out, g, longest) for g in GROUPS if out[g] is None}
        if empty:
            out["empty"] = empty
        return out

    def why_empty(self, summary: dict, group: str, frames: int, one_video: bool = False) -> str:
        """Why ``group``'s VPQ in ``summary`` (``_summary``'s, of all videos or ``one_video``)
        has no value: a window longer than the videos (``frames``: the longest), or no class
        of the group with a count."""
        if not self.videos:
            return "no video was scored"
        for n, k in zip(self.window_sizes, self.k_labels, strict=True):
            if summary["k"][str(k)][group] is None:
                if frames < n and one_video:
                    return f"VPQ needs {n} annotated frames (k={k}), the video has {frames}"
                if frames < n:
                    return f"no video has {n} annotated frames (k={k}); the longest has {frames}"
                kind = {"all": "", "things": "thing ", "stuff": "stuff "}[group]
                return (
                    f"no {kind}class has a GT or predicted segment that counts at k={k} "
                    "(TP + FP + FN = 0 for every one)"
                )
        raise ValueError(f"VPQ {group} has a value")

    def per_class(self) -> list[dict]:
        rows = []
        for k, counts in self.totals().items():
            rows.extend(per_class_rows(counts, self.space, k=k))
        return rows

    def per_video(self) -> list[dict]:
        rows = []
        for video_id, video in self.videos.items():
            summary = self._summary(video.counts)
            reasons = dict.fromkeys(
                self.why_empty(summary, g, video.frames, one_video=True)
                for g in GROUPS
                if summary[g] is None
            )
            note = "; ".join(reasons) or None
            rows.append({"video_id": video_id, **{g: summary[g] for g in GROUPS}, "note": note})
        return rows
