"""``evaluate``: score a prediction against a unified GT file with every requested metric.

Data flows one way: each video is read once (in a worker process when ``workers > 1``) and
reduced to a small ``VideoStats`` (one pair histogram per annotated frame, VC clip counts) by
the streaming evaluator's ``VideoAccumulator``; the videos are then fed to an ``Evaluator`` in
GT order, so results do not depend on ``workers`` and equal the in-memory API's.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vpsbench import __version__
from vpsbench.format import VPSFile
from vpsbench.format.schema import STQ_RULE_VIPSEG, Protocol
from vpsbench.io.archive import SubmissionLimits
from vpsbench.metrics.core import LabelSpace, VideoStats
from vpsbench.parallel import ignore_sigint, worker_context

from .predictions import EvaluationError, open_predictions
from .streaming import (
    ALL_METRICS,
    Evaluator,
    VideoAccumulator,
    build_metrics,
    check_gt_values,
    check_prediction_values,
    check_tube_identity,
    parse_metrics,
    unknown_category_values,
)

# The input checks and metric helpers live with the streaming evaluator; named here too, as
# the runner's API before the two paths shared them.
__all__ = [
    "ALL_METRICS",
    "Evaluator",
    "VideoTask",
    "build_metrics",
    "check_gt_values",
    "check_prediction_values",
    "check_tube_identity",
    "compute_video_stats",
    "evaluate",
    "iter_video_stats",
    "parse_metrics",
    "unknown_category_values",
]


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
        tubes = task.source.video_tubes(task.video_id, stems)
        # The same per-frame reduction as the streaming Evaluator's add_frame.
        accumulator = VideoAccumulator(task.video_id, space, task.vc_ns, task.vc_mode, tubes, first)
        pred_maps = task.source.video_maps(task.video_id, stems)
        for row, (stem, pred) in enumerate(zip(stems, pred_maps, strict=True)):
            accumulator.add(video.panoptic_row(row), pred, stem)
    return accumulator.stats()


def iter_video_stats(tasks: list[VideoTask], workers: int, progress: bool) -> Iterator[VideoStats]:
    """Video statistics in task order, computed in ``workers`` processes."""
    bar = tqdm(total=len(tasks), desc="scoring videos", unit="video", disable=not progress)
    with bar:
        if workers <= 1 or len(tasks) <= 1:
            for task in tasks:
                yield compute_video_stats(task)
                bar.update()
            return
        context = worker_context([__name__])
        pool = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=context, initializer=ignore_sigint
        )
        try:
            for stats in pool.map(compute_video_stats, tasks):
                yield stats
                bar.update()
        except BaseException:
            # Interrupted or failed: drop the queued videos, wait only for the running ones.
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)


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
    names = parse_metrics(metrics)
    gt_path = Path(gt)
    if not gt_path.is_file():
        raise EvaluationError(f"{gt_path}: no such GT file")
    with contextlib.ExitStack() as stack:
        gt_file = stack.enter_context(VPSFile(gt_path))
        if gt_file.info.is_prediction:
            raise EvaluationError(f"{gt_path.name} is a prediction file; --gt needs ground truth")
        evaluator = Evaluator.from_gt(
            gt_file,
            protocol=resolve_protocol(gt_file, protocol),
            metrics=names,
            vc_ns=vc_ns,
            vc_mode=vc_mode,
            tube_rule=tube_rule,
        )
        proto, space = evaluator.protocol, evaluator.space
        source = stack.enter_context(open_predictions(pred, gt_file, limits))
        listing = "stq" in names and proto.stq_rule == STQ_RULE_VIPSEG
        tasks = [
            VideoTask(
                gt_path,
                source,
                video.video_id,
                space.category_ids,
                evaluator.vc_ns,
                vc_mode,
                listing,
            )
            for video in gt_file
            if video.num_annotated > 0
        ]
        for stats in iter_video_stats(tasks, workers, progress):
            evaluator.add_video_stats(stats)
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
        return evaluator.result(inputs)
