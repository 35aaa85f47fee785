"""The streaming, in-memory evaluator: score label maps as a training loop produces them.

``Evaluator`` takes numpy label maps frame by frame (``add_frame``) or a video at a time
(``add_video``), reduces each frame at once to its GT x prediction pair histogram (plus the
VC run-length counters, which keep one frame), and feeds each finished video to the metric
objects. ``result()`` gives the same ``EvalResult`` as ``vpsbench.evaluate``, which is built
on the same pieces: ``VideoAccumulator`` is the one per-frame reduction of both paths, and the
file-based runner feeds its videos through an ``Evaluator`` (docs/LIBRARY.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vpsbench.format.schema import (
    DEFAULT_IGNORE_LABEL,
    DEFAULT_LABEL_DIVISOR,
    TUBE_IDENTITIES,
    TUBE_IDENTITY_INSTANCE,
    Category,
    Protocol,
)
from vpsbench.metrics import METRICS
from vpsbench.metrics.consistency import VC_MODES, ClipCounter
from vpsbench.metrics.core import (
    LabelSpace,
    MetricContext,
    PairHistogram,
    PairRuns,
    VideoStats,
    histogram_and_runs,
)
from vpsbench.metrics.tubes import InstanceTubes, TubeIdentity, conflicting_keys
from vpsbench.metrics.vpq import TUBE_RULES
from vpsbench.runlength import RunMap

from .predictions import EvaluationError, check_prediction_map

if TYPE_CHECKING:
    from vpsbench.format import VPSFile
    from vpsbench.report.result import EvalResult

ALL_METRICS = tuple(METRICS)

# What a label map may be: a panoptic map, or a (semantic, instance) pair of maps.
LabelMap = Any

# How the two paths name the GT's category table in an unknown-category error, and the fix.
FILE_GT = ("the GT file's category table", "run vpsbench validate on the GT file")
STREAM_GT = (
    "the evaluator's categories",
    "pass categories= with every category the GT uses, or fix the GT map",
)


def parse_metrics(metrics: str | Sequence[str] | None) -> tuple[str, ...]:
    """Normalise a metric selection ("vpq,pq" or a list); unknown names are an error."""
    if metrics is None:
        return ALL_METRICS
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    names = [n.strip().lower() for n in names if n.strip()]
    unknown = sorted(set(names) - set(ALL_METRICS))
    if unknown or not names:
        raise EvaluationError(
            f"unknown metrics {unknown}; choose from {', '.join(ALL_METRICS)}"
            if unknown
            else "no metric selected"
        )
    return tuple(n for n in ALL_METRICS if n in names)


def build_metrics(
    names: Sequence[str],
    space: LabelSpace,
    protocol: Protocol,
    vc_ns,
    vc_mode: str,
    tube_rule: str = "official",
) -> dict:
    """The metric objects of a run, each configured from the protocol by its class."""
    context = MetricContext(space, protocol, tuple(vc_ns or ()), vc_mode, tube_rule)
    return {name: METRICS[name].from_context(context) for name in names}


def unknown_category_values(
    values: np.ndarray, category_ids: np.ndarray, space: LabelSpace
) -> np.ndarray:
    """The distinct values that are neither void nor of a category of ``category_ids``."""
    values = np.asarray(values)
    if np.array_equal(category_ids, space.category_ids):
        # Called on every frame's histogram: the space's lookup table, no sort of all values.
        known = space.category_index(values) >= 0
    else:
        known = np.isin(space.category(values), category_ids)
    return np.unique(values[(values != space.void) & ~known])


def check_prediction_values(
    values: np.ndarray, category_ids: np.ndarray, space: LabelSpace, where: str
) -> None:
    """Each predicted value (e.g. of the pair histogram) is >= 0, and void or of a known
    category."""
    if len(values) and values.min() < 0:
        raise EvaluationError(f"{where}: prediction has negative values; ids must be >= 0")
    bad = unknown_category_values(values, category_ids, space)
    if len(bad):
        raise EvaluationError(
            f"{where}: predicted values {bad[:5].tolist()} have unknown categories "
            f"(value // label_divisor must be one of {category_ids.tolist()})"
        )


def check_gt_values(
    values: np.ndarray,
    category_ids: np.ndarray,
    space: LabelSpace,
    where: str,
    table: tuple[str, str] = FILE_GT,
) -> None:
    """Each GT value is void or of a known category (else a corrupt GT file or a wrong table)."""
    # Unchecked, such a tube's false negatives would be booked to a neighbouring class.
    bad = unknown_category_values(values, category_ids, space)
    if len(bad):
        name, fix = table
        raise EvaluationError(
            f"{where}: GT values {bad[:5].tolist()} have categories not in {name} "
            f"{category_ids.tolist()} ({fix})"
        )


def check_tube_identity(values: np.ndarray, tubes: TubeIdentity | None, where: str) -> None:
    """A tube is one segment of one category in each frame (instance-identity files)."""
    if tubes is None:
        return
    shared = conflicting_keys(values, tubes)
    if len(shared):
        raise EvaluationError(
            f"{where}: instance ids {shared[:5].tolist()} have two categories in this frame; a "
            'prediction file with tube_identity "instance" needs one category per instance a frame'
        )


def is_label_pair(labels: object) -> bool:
    """Whether ``labels`` is a (semantic, instance) pair rather than one panoptic map."""
    if isinstance(labels, tuple):
        return True
    # A list of two 2-D arrays is a pair; a nested list of ints is a (small) panoptic map.
    return (
        isinstance(labels, list)
        and len(labels) == 2
        and all(getattr(m, "ndim", None) == 2 for m in labels)
    )


def _integer_map(array: object, what: str, where: str) -> np.ndarray:
    """A 2-D integer array, or an error naming what is wrong with it."""
    array = np.asarray(array)
    if array.ndim != 2:
        raise EvaluationError(
            f"{where}: {what} has shape {array.shape}; pass one (H, W) map per frame"
        )
    if not np.issubdtype(array.dtype, np.integer):
        raise EvaluationError(
            f"{where}: {what} dtype {array.dtype} is not an integer type (cast with .astype)"
        )
    return array


def to_panoptic(labels: LabelMap, space: LabelSpace, role: str, where: str) -> np.ndarray:
    """A panoptic map (``category * divisor + instance``) from a map or a (semantic, instance)
    pair; pixels of semantic ``ignore_label`` become void whatever their instance."""
    if not is_label_pair(labels):
        pan = _integer_map(labels, f"{role} map", where)
        if pan.size and pan.min() < 0:
            raise EvaluationError(f"{where}: {role} map has negative values; ids must be >= 0")
        return pan
    if len(labels) != 2:
        raise EvaluationError(
            f"{where}: {role} is a tuple of {len(labels)} arrays; pass a panoptic map or a "
            "(semantic, instance) pair"
        )
    semantic = _integer_map(labels[0], f"{role} semantic map", where)
    instance = _integer_map(labels[1], f"{role} instance map", where)
    if semantic.shape != instance.shape:
        raise EvaluationError(
            f"{where}: {role} semantic map is {semantic.shape} but its instance map is "
            f"{instance.shape}"
        )
    if semantic.size and semantic.min() < 0:
        raise EvaluationError(f"{where}: {role} semantic map has negative values")
    if instance.size and (instance.min() < 0 or instance.max() >= space.label_divisor):
        raise EvaluationError(
            f"{where}: {role} instance ids must be in [0, {space.label_divisor}) (the label "
            f"divisor), got {int(instance.min())}..{int(instance.max())}; pass label_divisor="
        )
    pan = semantic.astype(np.int64) * space.label_divisor + instance
    return np.where(semantic == space.ignore_label, space.void, pan)


class VideoAccumulator:
    """One video's frames, in temporal order, reduced to a ``VideoStats`` as they arrive.

    The one per-frame reduction of both scoring paths: each frame is checked, reduced to its
    pair histogram and fed to the VC clip counters (which keep one frame), so no full label
    map is kept. A frame that fails a check leaves the accumulator as it was.
    """

    def __init__(
        self,
        video_id: str,
        space: LabelSpace,
        vc_ns: Sequence[int] = (),
        vc_mode: str = "corrected",
        tubes: TubeIdentity | None = None,
        gt_first_listed: int | None = None,
        gt_table: tuple[str, str] = FILE_GT,
    ) -> None:
        self.video_id = video_id
        self.space = space
        self.tubes = tubes
        self.gt_first_listed = gt_first_listed
        self.gt_table = gt_table
        self.stems: list[str] = []
        self.histograms: list[PairHistogram] = []
        self.shape: tuple[int, ...] | None = None
        self._categories = np.asarray(space.category_ids)
        self._clips = ClipCounter(vc_ns, vc_mode, space.ignore_label) if vc_ns else None

    def __len__(self) -> int:
        return len(self.histograms)

    def add(self, gt: np.ndarray, pred: np.ndarray, stem: str | None = None) -> None:
        """Check and reduce the next annotated frame (panoptic maps); ``stem`` names it."""
        stem, where = self._name(stem)
        self._check_shapes(pred, gt.shape, where)
        if not isinstance(pred, RunMap):
            pred = np.asarray(pred)  # a stored map (StoredLabelMap) is read once, here
        # One pass over the pixels: the runs of equal pairs give the histogram and VC's counts.
        histogram, runs = histogram_and_runs(gt, pred)
        self._commit(gt.shape, histogram, runs, stem, where, maps=(gt, pred))

    def add_runs(
        self, shape: tuple[int, int], pred: object, runs: PairRuns, stem: str | None = None
    ) -> None:
        """Check and reduce the next annotated frame from its pair runs, found already
        (``pair_runs_of_blocks``, the file scorer's path); ``pred`` is checked for its shape
        and dtype only."""
        stem, where = self._name(stem)
        self._check_shapes(pred, tuple(shape), where)
        self._commit(tuple(shape), runs.histogram(), runs, stem, where)

    def _name(self, stem: str | None) -> tuple[str, str]:
        stem = str(len(self.stems)) if stem is None else stem
        return stem, f"video {self.video_id}, frame {stem}"

    def _check_shapes(self, pred: object, shape: tuple, where: str) -> None:
        check_prediction_map(pred, shape, where)
        if self.shape is not None and shape != self.shape:
            raise EvaluationError(
                f"{where}: the GT frame is {shape} but earlier frames of this video are "
                f"{self.shape}; the frames of one video share one size"
            )

    def _commit(
        self,
        shape: tuple,
        histogram: PairHistogram,
        runs: PairRuns | None,
        stem: str,
        where: str,
        maps: tuple | None = None,
    ) -> None:
        """Check the frame's values, then add it (``maps``: VC's input where there are no runs)."""
        check_gt_values(histogram.gt, self._categories, self.space, where, self.gt_table)
        check_prediction_values(histogram.pred, self._categories, self.space, where)
        check_tube_identity(histogram.pred, self.tubes, where)
        # Every check has passed: only now does the frame change the accumulator.
        if self._clips is not None:
            if runs is not None:
                self._clips.add_pair_runs(shape, runs, self.space.label_divisor)
            else:
                self._clips.add_panoptic(*maps, self.space.label_divisor)
        self.shape = shape
        self.stems.append(stem)
        self.histograms.append(histogram)

    def stats(self) -> VideoStats:
        """The video's statistics over the frames added so far (the accumulator stays usable)."""
        vc = self._clips.counts() if self._clips is not None else {}
        return VideoStats(
            self.video_id,
            list(self.stems),
            list(self.histograms),
            vc,
            self.tubes,
            self.gt_first_listed,
        )


def resolve_settings(
    protocol: str | Protocol | None,
    categories: Sequence[Category] | None,
    dataset: str | None,
    label_divisor: int | None,
) -> tuple[Protocol, tuple[Category, ...], int, str | None]:
    """(protocol, categories, label divisor, dataset name) from what the caller gave and the
    dataset registry: a registered protocol or dataset supplies what was left out."""
    from vpsbench import datasets

    known = None
    if dataset is not None:
        try:
            known = datasets.get_dataset(dataset)
        except KeyError as err:
            raise EvaluationError(err.args[0]) from err
    if protocol is None:
        if known is None:
            raise EvaluationError(
                "pass protocol= (a name of `vpsbench protocols` or a Protocol) or dataset="
            )
        protocol = known.protocol
    elif isinstance(protocol, str):
        try:
            protocol = datasets.get_protocol(protocol)
        except KeyError as err:
            raise EvaluationError(err.args[0]) from err
    if not isinstance(protocol, Protocol):
        raise EvaluationError(f"protocol must be a name or a Protocol, got {protocol!r}")
    if known is None:
        # The datasets scored with this protocol; they must agree on the label space to be
        # a default (step_official serves KITTI-STEP and MOTChallenge-STEP, with other tables).
        users = [
            d
            for d in datasets.DATASETS.values()
            if any(p.name == protocol.name for p in d.protocols)
        ]
        if len({(d.categories, d.label_divisor) for d in users}) == 1:
            known = users[0]
        elif len({d.label_divisor for d in users}) == 1 and label_divisor is None:
            label_divisor = users[0].label_divisor
        if known is None and categories is None:
            names = ", ".join(d.name for d in users)
            raise EvaluationError(
                f"protocol {protocol.name!r} names no single dataset"
                + (f" (used by {names}, with different category tables)" if users else "")
                + "; pass categories= (a list of vpsbench.format.Category) or dataset="
            )
    # The dataset is recorded only when it was named or its category table is used.
    name = known.name if known is not None and (dataset or categories is None) else None
    if categories is None:
        categories = known.categories
    if label_divisor is None:
        label_divisor = known.label_divisor if known is not None else DEFAULT_LABEL_DIVISOR
    return protocol, tuple(categories), int(label_divisor), name


class Evaluator:
    """Streaming scorer: add label maps frame by frame or video by video, then ``result()``.

    Example: ``ev = Evaluator("cityscapes_vps_official"); ev.add_frame("v1", gt, pred);
    ev.result().summary["vpq"]["all"]``. Maps are int panoptic maps (``category *
    label_divisor + instance``, void ``ignore_label * label_divisor``) or (semantic, instance)
    pairs. ``categories`` and ``label_divisor`` default to the dataset of the protocol (or of
    ``dataset=``); ``metrics``, ``vc_ns``, ``vc_mode`` and ``tube_rule`` are those of
    ``vpsbench.evaluate``; ``tube_identity="instance"`` makes a predicted instance id one VPQ
    tube across categories (the official colour-id rule; docs/METRICS.md, "Tube identity").
    """

    def __init__(
        self,
        protocol: str | Protocol | None = None,
        categories: Sequence[Category] | None = None,
        *,
        dataset: str | None = None,
        label_divisor: int | None = None,
        ignore_label: int | None = None,
        metrics: str | Sequence[str] | None = None,
        vc_ns: Sequence[int] | None = None,
        vc_mode: str = "corrected",
        tube_rule: str = "official",
        tube_identity: str = "panoptic",
    ) -> None:
        self.metric_names = parse_metrics(metrics)
        if vc_mode not in VC_MODES:
            raise EvaluationError(f"unknown VC mode {vc_mode!r}; choose from {', '.join(VC_MODES)}")
        if tube_rule not in TUBE_RULES:
            raise EvaluationError(f"tube_rule must be one of {TUBE_RULES}, got {tube_rule!r}")
        if tube_identity not in TUBE_IDENTITIES:
            raise EvaluationError(
                f"tube_identity must be one of {TUBE_IDENTITIES}, got {tube_identity!r}"
            )
        proto, cats, divisor, self.dataset = resolve_settings(
            protocol, categories, dataset, label_divisor
        )
        if vc_ns is not None:  # recorded in the result's protocol, as the lengths used
            try:
                proto = proto.changed(vc_clip_lengths=tuple(int(n) for n in vc_ns))
            except ValueError as err:
                raise EvaluationError(str(err)) from err
        ignore = DEFAULT_IGNORE_LABEL if ignore_label is None else int(ignore_label)
        ids = [c.id for c in cats]
        if not cats or len(set(ids)) != len(ids):
            raise EvaluationError(f"categories must be non-empty with distinct ids, got {ids}")
        if divisor < 1:
            raise EvaluationError(f"label_divisor must be >= 1, got {divisor}")
        if ignore in ids:
            raise EvaluationError(f"ignore_label {ignore} is also a category id; pick another")
        self.protocol = proto
        self.categories = cats
        self.space = LabelSpace.from_categories(cats, divisor, ignore)
        self.vc_mode = vc_mode
        self.tube_rule = tube_rule
        self.tube_identity = tube_identity
        # Clip counts only when VC is scored; GT listing order only matters to VIPSeg's STQ.
        self.vc_ns = proto.vc_clip_lengths if "vc" in self.metric_names else ()
        self.gt_info: dict = {}  # dataset, split, content id of the GT file (from_gt)
        self.reset()

    @classmethod
    def from_gt(cls, gt: str | Path | VPSFile, **options: Any) -> Evaluator:
        """An evaluator with the protocol, categories, label divisor and ignore label of a GT
        file (an open ``VPSFile`` or a path); ``options`` as the constructor's."""
        from vpsbench.format import VPSFile

        if not hasattr(gt, "info"):
            path = Path(gt)
            if not path.is_file():
                raise EvaluationError(f"{path}: no such GT file")
            with VPSFile(path) as opened:
                return cls.from_gt(opened, **options)
        if gt.info.is_prediction:
            raise EvaluationError(f"{Path(gt.path).name} is a prediction file, not ground truth")
        protocol = options.pop("protocol", None) or gt.protocol
        if protocol is None:
            raise EvaluationError(f"{Path(gt.path).name} has no /protocol; pass protocol=")
        options.setdefault("label_divisor", gt.info.label_divisor)
        options.setdefault("ignore_label", gt.info.ignore_label)
        evaluator = cls(protocol, gt.categories, **options)
        evaluator.dataset = gt.info.dataset
        evaluator.gt_info = {
            "gt": str(gt.path),
            "dataset": gt.info.dataset,
            "split": gt.info.split,
            "gt_content_id": gt.info.content_id,
        }
        return evaluator

    # --- state ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every video (settings are kept), as at construction."""
        self._metrics = self._new_metrics()
        self._open: dict[str, VideoAccumulator] = {}
        self._done: dict[str, int] = {}  # finished video id -> annotated frames

    def _new_metrics(self) -> dict:
        return build_metrics(
            self.metric_names,
            self.space,
            self.protocol,
            self.protocol.vc_clip_lengths,
            self.vc_mode,
            self.tube_rule,
        )

    @property
    def video_ids(self) -> list[str]:
        """Every video added so far: finished ones, then open ones."""
        return [*self._done, *self._open]

    @property
    def open_video_ids(self) -> list[str]:
        """Videos that still take frames (``finish_video`` closes one)."""
        return list(self._open)

    @property
    def num_frames(self) -> int:
        """Annotated frames added so far, over every video."""
        return sum(self._done.values()) + sum(len(a) for a in self._open.values())

    def settings(self) -> dict:
        """What two evaluators must share to be merged, by name."""
        return {
            "protocol": self.protocol,
            "categories": self.categories,
            "label space": self.space,
            "metrics": self.metric_names,
            "vc_mode": self.vc_mode,
            "tube_rule": self.tube_rule,
            "tube_identity": self.tube_identity,
        }

    def __repr__(self) -> str:
        return (
            f"Evaluator(protocol={self.protocol.name!r}, metrics={','.join(self.metric_names)}, "
            f"videos={len(self._done)} finished + {len(self._open)} open)"
        )

    # --- adding data ---------------------------------------------------------------------

    def _accumulator(self, video_id: str) -> VideoAccumulator:
        tubes = None
        if self.tube_identity == TUBE_IDENTITY_INSTANCE:
            tubes = InstanceTubes(self.space.label_divisor, self.space.void)
        return VideoAccumulator(
            video_id, self.space, self.vc_ns, self.vc_mode, tubes, gt_table=STREAM_GT
        )

    def _check_new(self, video_id: str) -> None:
        if video_id in self._done:
            raise EvaluationError(
                f"video {video_id!r} was already finished; each video is added once (use "
                "another id, or reset() to start over)"
            )

    def add_frame(
        self, video_id: str, gt: LabelMap, pred: LabelMap, *, stem: str | None = None
    ) -> None:
        """Add the next annotated frame of a video (frames in temporal order): GT and
        prediction as panoptic maps or (semantic, instance) pairs; ``stem`` names the frame."""
        video_id = str(video_id)
        self._check_new(video_id)
        accumulator = self._open.get(video_id)
        if accumulator is None:
            accumulator = self._accumulator(video_id)
        where = f"video {video_id}, frame {stem if stem is not None else len(accumulator)}"
        gt_map = to_panoptic(gt, self.space, "GT", where)
        pred_map = to_panoptic(pred, self.space, "prediction", where)
        accumulator.add(gt_map, pred_map, stem)
        self._open[video_id] = accumulator  # only once a frame has been accepted

    def add_video(
        self,
        video_id: str,
        gt_maps: Iterable[LabelMap],
        pred_maps: Iterable[LabelMap],
        *,
        stems: Sequence[str] | None = None,
        gt_first_listed: int | None = None,
    ) -> None:
        """Add and finish a whole video: its annotated frames' GT and predicted maps, in
        temporal order (an (N, H, W) array or any iterable of maps or pairs)."""
        video_id = str(video_id)
        self._check_new(video_id)
        if video_id in self._open:
            raise EvaluationError(
                f"video {video_id!r} already has frames from add_frame; add the rest with "
                "add_frame, or use another id"
            )
        accumulator = self._accumulator(video_id)
        done = object()
        gt_iter, pred_iter = iter(gt_maps), iter(pred_maps)
        # Frame by frame, so a generator of maps is never held in memory all at once.
        while True:
            gt, pred = next(gt_iter, done), next(pred_iter, done)
            if gt is done or pred is done:
                if gt is not pred:
                    more = "GT" if pred is done else "prediction"
                    raise EvaluationError(
                        f"video {video_id}: there are more {more} maps than "
                        f"{'prediction' if more == 'GT' else 'GT'} maps (after "
                        f"{len(accumulator)} frames); pass one of each per annotated frame"
                    )
                break
            index = len(accumulator)
            stem = None if stems is None else str(stems[index])
            where = f"video {video_id}, frame {stem if stem is not None else index}"
            gt_map = to_panoptic(gt, self.space, "GT", where)
            pred_map = to_panoptic(pred, self.space, "prediction", where)
            accumulator.add(gt_map, pred_map, stem)
        if not len(accumulator):
            raise EvaluationError(f"video {video_id}: no frames; pass at least one pair of maps")
        accumulator.gt_first_listed = gt_first_listed
        self.add_video_stats(accumulator.stats())

    def finish_video(self, video_id: str, *, gt_first_listed: int | None = None) -> None:
        """Close a video added with ``add_frame`` and score it (``result()`` also scores open
        videos, so this is needed only to free its memory or to refuse later frames)."""
        video_id = str(video_id)
        self._check_new(video_id)
        if video_id not in self._open:
            raise EvaluationError(f"video {video_id!r} has no frames; add_frame it first")
        accumulator = self._open.pop(video_id)
        if gt_first_listed is not None:
            accumulator.gt_first_listed = gt_first_listed
        self.add_video_stats(accumulator.stats())

    def add_video_stats(self, stats: VideoStats) -> None:
        """Add a video already reduced to its ``VideoStats`` (by ``VideoAccumulator``, e.g. in
        a worker process, as ``vpsbench.evaluate`` does)."""
        self._check_new(stats.video_id)
        if stats.video_id in self._open:
            raise EvaluationError(f"video {stats.video_id!r} is open in this evaluator")
        for metric in self._metrics.values():
            metric.update(stats)
        self._done[stats.video_id] = len(stats.histograms)

    def merge(self, other: Evaluator) -> Evaluator:
        """Add the videos of another evaluator with the same settings (disjoint video ids);
        its open videos are taken as they stand and are finished here. Returns self."""
        if not isinstance(other, Evaluator):
            raise EvaluationError(f"can only merge an Evaluator, got {type(other).__name__}")
        if other is self:
            raise EvaluationError("cannot merge an evaluator with itself")
        mine, theirs = self.settings(), other.settings()
        differ = [name for name in mine if mine[name] != theirs[name]]
        if differ:
            raise EvaluationError(
                f"cannot merge evaluators with different {', '.join(differ)}; build both with "
                "the same arguments"
            )
        shared = sorted(set(self.video_ids) & set(other.video_ids))
        if shared:
            raise EvaluationError(
                f"videos {shared[:5]} are in both evaluators; merge needs disjoint videos"
            )
        for name, metric in self._metrics.items():
            metric.merge(other._metrics[name])
        self._done.update(other._done)
        for accumulator in other._open.values():
            self.add_video_stats(accumulator.stats())
        return self

    # --- results -------------------------------------------------------------------------

    def result(self, inputs: dict | None = None) -> EvalResult:
        """The ``EvalResult`` over every video so far, open ones with the frames they have (they
        stay open); callable any number of times. ``inputs`` replaces the recorded inputs."""
        from vpsbench import __version__
        from vpsbench.report.result import build_result

        metrics = self._metrics
        if self._open:
            # Score the open videos on copies, so that they can still take frames.
            metrics = self._new_metrics()
            for name, metric in metrics.items():
                metric.merge(self._metrics[name])
            for accumulator in self._open.values():
                stats = accumulator.stats()
                for metric in metrics.values():
                    metric.update(stats)
        if inputs is None:
            inputs = {
                "source": "vpsbench.Evaluator",
                "gt": "in-memory maps",
                "pred": "in-memory maps",
                **self.gt_info,
                "dataset": self.dataset,
                "videos": len(self._done) + len(self._open),
                "frames": self.num_frames,
                "vpq_tube_rule": self.tube_rule,
                "vpsbench_version": __version__,
            }
        return build_result(metrics, list(self.categories), self.protocol, inputs)
