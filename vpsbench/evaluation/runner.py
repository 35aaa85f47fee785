"""``evaluate``: score a prediction against a unified GT file with every requested metric.

Data flows one way: each video is read once (in a worker process when ``workers > 1``) and
reduced to a small ``VideoStats`` (one pair histogram per annotated frame, VC clip counts);
the metrics are then fed the videos in GT order, so results do not depend on ``workers``.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vpsbench import __version__
from vpsbench.format import VPSFile
from vpsbench.format.schema import STQ_RULE_VIPSEG, Protocol
from vpsbench.io.archive import SubmissionLimits
from vpsbench.metrics import METRICS
from vpsbench.metrics.core import LabelSpace, MetricContext, VideoStats, pair_histogram
from vpsbench.metrics.tubes import TubeIdentity, conflicting_keys

from .predictions import EvaluationError, check_prediction_map, open_predictions

ALL_METRICS = tuple(METRICS)


@dataclass(frozen=True)
class VideoTask:
    """What a worker needs to reduce one video to its statistics."""

    gt_path: Path
    source: object
    video_id: str
    category_ids: tuple[int, ...]
    vc_ns: tuple[int, ...]
    vc_mode: str
    first_listed: bool = False  # read the GT's segment listing order (stq_rule "vipseg")


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


def unknown_category_values(
    values: np.ndarray, category_ids: np.ndarray, space: LabelSpace
) -> np.ndarray:
    """The distinct values that are neither void nor of a category of ``category_ids``."""
    values = np.unique(values)
    return values[(values != space.void) & ~np.isin(space.category(values), category_ids)]


def check_prediction_values(
    values: np.ndarray, category_ids: np.ndarray, space: LabelSpace, where: str
) -> None:
    """Each predicted value (e.g. of the pair histogram) is void or of a known category."""
    bad = unknown_category_values(values, category_ids, space)
    if len(bad):
        raise EvaluationError(
            f"{where}: predicted values {bad[:5].tolist()} have unknown categories "
            f"(value // label_divisor must be one of {category_ids.tolist()})"
        )


def check_gt_values(
    values: np.ndarray, category_ids: np.ndarray, space: LabelSpace, where: str
) -> None:
    """Each GT value is void or of a category of the file's table (else a corrupt GT file)."""
    # Unchecked, such a tube's false negatives would be booked to a neighbouring class.
    bad = unknown_category_values(values, category_ids, space)
    if len(bad):
        raise EvaluationError(
            f"{where}: GT values {bad[:5].tolist()} have categories not in the GT file's "
            f"category table {category_ids.tolist()} (run vpsbench validate on the GT file)"
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


def first_listed_value(frame_meta: list[dict], annotated: np.ndarray) -> int | None:
    """The GT value listed first in a video: the first entry of the first annotated frame's
    non-empty ``segments`` meta (the release's listing order); None when not recorded."""
    for index in annotated:
        segments = frame_meta[int(index)].get("segments")
        if segments is None:
            return None
        if segments:
            return int(segments[0])
    return None


def compute_video_stats(task: VideoTask) -> VideoStats:
    """Read one GT video and its prediction once; return its per-frame statistics."""
    with VPSFile(task.gt_path) as gt:
        video = gt.video(task.video_id)
        space = LabelSpace(
            gt.info.label_divisor, gt.info.ignore_label, task.category_ids, frozenset()
        )
        stems = [video.stems[i] for i in video.annotated_indices]
        first = None
        if task.first_listed:
            first = first_listed_value(video.frame_meta, video.annotated_indices)
        ignore = gt.info.ignore_label
        cats = np.asarray(task.category_ids)
        histograms, gt_sem, pred_sem = [], [], []
        tubes = task.source.video_tubes(task.video_id, stems)
        pred_maps = task.source.video_maps(task.video_id, stems)
        for row, (stem, pred) in enumerate(zip(stems, pred_maps, strict=True)):
            where = f"video {task.video_id}, frame {stem}"
            gt_map = video.panoptic_row(row)
            check_prediction_map(pred, gt_map.shape, where)
            histograms.append(pair_histogram(gt_map, pred))
            check_gt_values(histograms[-1].gt, cats, space, where)
            check_prediction_values(histograms[-1].pred, cats, space, where)
            check_tube_identity(histograms[-1].pred, tubes, where)
            if task.vc_ns:
                gt_sem.append(space.category(gt_map).astype(np.uint16))
                pred_sem.append(space.category(pred).astype(np.uint16))
    vc = {}
    if task.vc_ns:
        from vpsbench.metrics.consistency import vc_clip_counts

        vc = {
            n: vc_clip_counts(gt_sem, pred_sem, n, mode=task.vc_mode, ignore_label=ignore)
            for n in task.vc_ns
        }
    return VideoStats(task.video_id, stems, histograms, vc, tubes, first)


def iter_video_stats(tasks: list[VideoTask], workers: int, progress: bool) -> Iterator[VideoStats]:
    """Video statistics in task order, computed in ``workers`` processes."""
    bar = tqdm(total=len(tasks), desc="scoring videos", unit="video", disable=not progress)
    with bar:
        if workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                yield compute_video_stats(task)
                bar.update()
            return
        # forkserver: workers start clean, without the parent's open HDF5 handles.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            for stats in pool.map(compute_video_stats, tasks):
                yield stats
                bar.update()


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


def resolve_protocol(gt: VPSFile, override: Protocol | None) -> Protocol:
    """The protocol to score with: the override, else the one the GT file records."""
    protocol = override or gt.protocol
    if protocol is None:
        raise EvaluationError(f"{gt.path.name} has no /protocol; pass protocol= (CLI: --windows)")
    return protocol


def evaluate(
    gt: str | Path,
    pred: str | Path,
    metrics: str | Sequence[str] | None = None,
    protocol: Protocol | None = None,
    workers: int = 1,
    progress: bool = False,
    vc_ns: Sequence[int] | None = None,
    vc_mode: str = "corrected",
    tube_rule: str = "official",
    limits: SubmissionLimits | None = None,
):
    """Score ``pred`` (unified prediction file or official submission) against the GT file.

    ``tube_rule="split"`` (not official) makes a prediction id that changes category two tubes.
    ``vc_ns`` overrides the protocol's VC clip lengths (``Protocol.vc_clip_lengths``).
    """
    from vpsbench.report.result import build_result

    names = parse_metrics(metrics)
    gt_path = Path(gt)
    if not gt_path.is_file():
        raise EvaluationError(f"{gt_path}: no such GT file")
    with contextlib.ExitStack() as stack:
        gt_file = stack.enter_context(VPSFile(gt_path))
        if gt_file.info.is_prediction:
            raise EvaluationError(f"{gt_path.name} is a prediction file; --gt needs ground truth")
        proto = resolve_protocol(gt_file, protocol)
        if vc_ns is not None:  # recorded in the result's protocol, as the lengths used
            proto = proto.changed(vc_clip_lengths=tuple(int(n) for n in vc_ns))
        space = LabelSpace.from_categories(
            gt_file.categories, gt_file.info.label_divisor, gt_file.info.ignore_label
        )
        source = stack.enter_context(open_predictions(pred, gt_file, limits))
        ns = proto.vc_clip_lengths if "vc" in names else ()
        listing = "stq" in names and proto.stq_rule == STQ_RULE_VIPSEG
        tasks = [
            VideoTask(gt_path, source, video.video_id, space.category_ids, ns, vc_mode, listing)
            for video in gt_file
            if video.num_annotated > 0
        ]
        metric_objs = build_metrics(names, space, proto, proto.vc_clip_lengths, vc_mode, tube_rule)
        for stats in iter_video_stats(tasks, workers, progress):
            for metric in metric_objs.values():
                metric.update(stats)
        inputs = {
            "gt": str(gt_path),
            **source.describe(),
            "dataset": gt_file.info.dataset,
            "split": gt_file.info.split,
            "gt_content_id": gt_file.info.content_id,
            "videos": len(tasks),
            "frames": int(sum(len(v.annotated_indices) for v in gt_file)),
            # source frames between consecutive annotated frames: what a window spans
            "label_spacing": list(gt_file.label_spacing()),
            "vpq_tube_rule": tube_rule,
            "vpsbench_version": __version__,
        }
        return build_result(metric_objs, gt_file.categories, proto, inputs)
