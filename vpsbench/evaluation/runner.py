"""``evaluate``: score a prediction against a unified GT file with every requested metric;
``evaluate_many``: several predictions in one pass over the GT.

Data flows one way: each video is read once (in a worker process when ``workers > 1``) and
reduced to a small ``VideoStats`` (one pair histogram per annotated frame, VC clip counts) by
the streaming evaluator's ``VideoAccumulator``; the videos are then fed to an ``Evaluator`` in
GT order, so results do not depend on ``workers`` and equal the in-memory API's. With several
predictions one task per video holds every prediction source: each GT frame is decoded once and
every prediction's map of it is reduced against it, one ``VideoStats`` and one ``Evaluator`` per
prediction; ``evaluate`` is the one-prediction case of the same code.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from tqdm import tqdm

from vpsbench import __version__
from vpsbench.format import VPSFile
from vpsbench.format.reader import StoredLabelMap
from vpsbench.format.schema import STQ_RULE_VIPSEG, Protocol
from vpsbench.io.archive import SubmissionLimits
from vpsbench.metrics.core import BLOCK_PIXELS, LabelSpace, VideoStats, pair_runs_of_blocks
from vpsbench.parallel import ordered_map, start_server, worker_context

from .predictions import EvaluationError, check_prediction_map, open_predictions
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

if TYPE_CHECKING:
    from vpsbench.report.result import EvalResult

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
    "compute_video_stats_many",
    "evaluate",
    "evaluate_many",
    "iter_video_stats",
    "parse_metrics",
    "unknown_category_values",
]


@dataclass(frozen=True)
class VideoTask:
    """What a worker needs to reduce one video to its statistics, for every prediction source
    (``sources``: a tuple of them, or one source)."""

    gt_path: Path
    sources: tuple
    video_id: str
    category_ids: tuple[int, ...]
    vc_ns: tuple[int, ...]
    vc_mode: str
    first_listed: bool = False  # read the GT's segment listing order (stq_rule "vipseg")
    labels: tuple[str, ...] = ()  # how errors name each source; () leaves them unprefixed

    def __post_init__(self) -> None:
        if not isinstance(self.sources, (tuple, list)):
            object.__setattr__(self, "sources", (self.sources,))
        object.__setattr__(self, "sources", tuple(self.sources))


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


@contextlib.contextmanager
def named_source(label: str) -> Iterator[None]:
    """Prefix the one-line error of a prediction source with its name (``label``; "" leaves
    the error as it is, as with a single prediction)."""
    if not label:
        yield
        return
    try:
        yield
    except (ValueError, OSError) as err:
        raise EvaluationError(source_error(label, err)) from err


def source_error(label: str, err: BaseException) -> str:
    """``label: message``; a message that starts with the path already starts with it as given
    (``C/: ...``, not ``C/: C: ...``)."""
    message = str(err) or type(err).__name__
    for name in (label, str(Path(label))):
        if message.startswith((f"{name}:", f"{name} ")):
            return label + message[len(name) :]
    return f"{label}: {message}"


def compute_video_stats_many(task: VideoTask) -> list[VideoStats]:
    """Read one GT video once and reduce every prediction source's maps of it against the same
    decoded GT maps: one ``VideoStats`` per source, in ``task.sources`` order."""
    labels = task.labels or ("",) * len(task.sources)
    with VPSFile(task.gt_path) as gt:
        video = gt.video(task.video_id)
        space = LabelSpace(
            gt.info.label_divisor, gt.info.ignore_label, task.category_ids, frozenset()
        )
        stems = [video.stems[i] for i in video.annotated_indices]
        first = None
        if task.first_listed:
            first = first_listed_value(video.frame_meta, video.annotated_indices)
        accumulators, maps = [], []
        for label, source in zip(labels, task.sources, strict=True):
            with named_source(label):
                tubes = source.video_tubes(task.video_id, stems)
                # The same per-frame reduction as the streaming Evaluator's add_frame.
                accumulators.append(
                    VideoAccumulator(task.video_id, space, task.vc_ns, task.vc_mode, tubes, first)
                )
                maps.append(iter(source.video_maps(task.video_id, stems)))
        shape = (video.height, video.width)
        in_blocks = video.stores_maps_in_blocks and video.height * video.width > 0
        for row, stem in enumerate(stems):
            preds = []
            for label, pred_maps in zip(labels, maps, strict=True):
                with named_source(label):
                    pred = next(pred_maps, None)
                    if pred is None:
                        raise EvaluationError(
                            f"video {task.video_id}, frame {stem}: the prediction has no map"
                        )
                    check_prediction_map(pred, shape, f"video {task.video_id}, frame {stem}")
                preds.append(pred)
            if in_blocks:  # the GT inflated piece by piece, each piece compared while cached
                gt = StoredLabelMap(video, row)
                # Over one run per 8 pixels (noise), counting pixels beats the runs (W1 with
                # 30% noise: 18 s against 53 s from the runs): such a prediction is counted
                # against the whole GT map, made of the first piece and the rest.
                frame_runs = pair_runs_of_blocks(
                    gt.blocks(BLOCK_PIXELS), preds, shape[0] * shape[1], BLOCK_PIXELS, True
                )
                for label, accumulator, pred, runs in zip(
                    labels, accumulators, preds, frame_runs, strict=True
                ):
                    with named_source(label):
                        if runs is None:
                            accumulator.add(np.asarray(gt), pred, stem)
                        else:
                            accumulator.add_runs(shape, pred, runs, stem)
                continue
            gt_map = video.panoptic_row(row, writable=False)  # decoded once, for every source
            for label, accumulator, pred in zip(labels, accumulators, preds, strict=True):
                with named_source(label):
                    accumulator.add(gt_map, pred, stem)
    return [accumulator.stats() for accumulator in accumulators]


def compute_video_stats(task: VideoTask) -> VideoStats:
    """Read one GT video and its prediction once; return its per-frame statistics (a task of
    one source; ``compute_video_stats_many`` reduces several)."""
    if len(task.sources) != 1:
        raise ValueError(f"the task has {len(task.sources)} sources: use compute_video_stats_many")
    return compute_video_stats_many(task)[0]


def scoring_context() -> BaseContext:
    """The scoring workers' context: their server preloads this module."""
    return worker_context([__name__])


def iter_video_stats(
    tasks: list[VideoTask], workers: int, progress: bool
) -> Iterator[list[VideoStats]]:
    """Video statistics in task order (one list per task, a ``VideoStats`` per source),
    computed in ``workers`` processes."""
    bar = tqdm(total=len(tasks), desc="scoring videos", unit="video", disable=not progress)
    with bar:
        if workers > 1 and len(tasks) > 1:
            # While the pool's workers start, load what the result needs.
            importlib.import_module("vpsbench.report.result")
        for stats in ordered_map(compute_video_stats_many, tasks, workers, scoring_context()):
            yield stats
            bar.update()


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
    return score_predictions(
        gt, [pred], metrics, protocol, workers, progress, vc_ns, vc_mode, tube_rule, limits
    )[0]


def evaluate_many(
    gt: str | Path,
    preds: Sequence[str | Path],
    metrics: str | Sequence[str] | None = None,
    protocol: Protocol | None = None,
    workers: int = 1,
    progress: bool = False,
    vc_ns: Sequence[int] | None = None,
    vc_mode: str = "corrected",
    tube_rule: str = "official",
    limits: SubmissionLimits | None = None,
) -> list[EvalResult]:
    """Score several predictions against one GT file in one pass; one ``EvalResult`` per
    prediction, in the order of ``preds``, each equal to ``evaluate(gt, pred, ...)``.

    Every prediction is opened and checked against the GT before any video is scored, so a
    bad one fails at once; errors name the prediction by its path as given. Each GT frame is
    decoded once (per worker task, one task per video) and reduced against every
    prediction's map of it. The options are those of ``evaluate``, shared by every prediction.
    """
    if isinstance(preds, (str, Path)):
        preds = [preds]
    preds = list(preds)
    if not preds:
        raise EvaluationError("no prediction given; pass one path or more")
    return score_predictions(
        gt, preds, metrics, protocol, workers, progress, vc_ns, vc_mode, tube_rule, limits
    )


def score_predictions(
    gt: str | Path,
    preds: list[str | Path],
    metrics: str | Sequence[str] | None,
    protocol: Protocol | None,
    workers: int,
    progress: bool,
    vc_ns: Sequence[int] | None,
    vc_mode: str,
    tube_rule: str,
    limits: SubmissionLimits | None,
) -> list[EvalResult]:
    """The one scoring path of ``evaluate`` and ``evaluate_many``: one result per prediction.
    With several predictions, errors are prefixed with the prediction's path as given."""
    names = parse_metrics(metrics)
    gt_path = Path(gt)
    if not gt_path.is_file():
        raise EvaluationError(f"{gt_path}: no such GT file")
    if workers > 1:
        # The worker server's imports overlap the checks of the predictions below.
        start_server(scoring_context())
    labels = tuple(str(pred) for pred in preds) if len(preds) > 1 else ("",)
    with contextlib.ExitStack() as stack:
        gt_file = stack.enter_context(VPSFile(gt_path))
        if gt_file.info.is_prediction:
            raise EvaluationError(f"{gt_path.name} is a prediction file; --gt needs ground truth")
        proto = resolve_protocol(gt_file, protocol)
        evaluators = [
            Evaluator.from_gt(
                gt_file,
                protocol=proto,
                metrics=names,
                vc_ns=vc_ns,
                vc_mode=vc_mode,
                tube_rule=tube_rule,
            )
            for _ in preds
        ]
        first = evaluators[0]
        sources = []
        for label, pred in zip(labels, preds, strict=True):
            with named_source(label):  # each is checked before any video is scored
                sources.append(stack.enter_context(open_predictions(pred, gt_file, limits)))
        listing = "stq" in names and first.protocol.stq_rule == STQ_RULE_VIPSEG
        tasks = [
            VideoTask(
                gt_path,
                tuple(source.for_video(video.video_id) for source in sources),
                video.video_id,
                first.space.category_ids,
                first.vc_ns,
                vc_mode,
                listing,
                labels if len(preds) > 1 else (),
            )
            for video in gt_file
            if video.num_annotated > 0
        ]
        for stats in iter_video_stats(tasks, workers, progress):
            for evaluator, video_stats in zip(evaluators, stats, strict=True):
                evaluator.add_video_stats(video_stats)
        shared = {
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
        return [
            evaluator.result({"gt": str(gt_path), **source.describe(), **shared})
            for evaluator, source in zip(evaluators, sources, strict=True)
        ]
