"""Evaluator speed and memory on W1 (Cityscapes-VPS val size: 50 videos x 6 frames, 1024x2048).

Prints, in one run:
  * the literal per-window VPQ (tests/metrics/literal_vpq.py, which mirrors the official
    scorer's work: stack each window, one np.unique per window) on decoded maps, timed on
    ``--literal-videos`` videos and scaled to all videos;
  * the fast path (VPQ 4 windows + PQ + STQ) from HDF5 with 1 and 2 workers, and the ratios;
  * the fast path from the official PNG submission layout;
  * the per-frame floor (read + decode one GT and one prediction map, one pair histogram);
  * peak RSS of this process and of its workers.

    python benchmarks/bench_eval.py --videos 50 --height 1024 --width 2048 --workdir /tmp/w1

Files are cached in --workdir; pass --fresh to regenerate them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
from pathlib import Path

import numpy as np
from from_tests import load_test_module

from vpsbench.datasets.cityscapes_vps import PROTOCOL as CITYSCAPES_VPS_PROTOCOL
from vpsbench.evaluation import evaluate
from vpsbench.format import VPSFile, VPSWriter
from vpsbench.format.schema import Category, FileInfo, GroundTruthRef
from vpsbench.io.submission import write_submission
from vpsbench.metrics.core import pair_histogram

literal_vpq = load_test_module("literal_vpq").literal_vpq

CATEGORIES = [
    Category(i, f"class{i}", i >= 11, (i * 13 + 1, i * 37 % 256, i * 71 % 256), i)
    for i in range(19)
]
THINGS = {c.id for c in CATEGORIES if c.isthing}
FRAMES = 6


def w1_video(rng: np.random.Generator, h: int, w: int) -> tuple[list, list]:
    """Six GT maps (stuff bands, ~20 moving things, void) and a noisy prediction of them."""
    bands = np.sort(rng.choice(np.arange(1, 11), 5, replace=False))
    rows = np.sort(rng.integers(0, h, 4))
    objects = [
        (
            int(rng.choice(sorted(THINGS))),
            i + 1,
            rng.integers(0, h),
            rng.integers(0, w),
            rng.integers(20, h // 4),
            rng.integers(20, w // 6),
            rng.integers(-20, 21, 2),
        )
        for i in range(20)
    ]
    gts, preds = [], []
    for t in range(FRAMES):
        gt = np.zeros((h, w), np.int32)
        for band, start in zip(bands[1:], rows, strict=True):
            gt[start + 3 * t :] = band * 1000
        for cat, inst, y, x, oh, ow, (vy, vx) in objects:
            y0, x0 = int(y + vy * t), int(x + vx * t)
            gt[max(y0, 0) : max(y0 + oh, 0), max(x0, 0) : max(x0 + ow, 0)] = cat * 1000 + inst
        gt[-h // 10 :] = 255_000
        pred = np.roll(gt, (2, 3), axis=(0, 1))
        if t >= 3:  # an identity switch on the first object
            pred[pred == objects[0][0] * 1000 + 1] = objects[0][0] * 1000 + 99
        gts.append(gt)
        preds.append(pred)
    return gts, preds


def write_w1(workdir: Path, videos: int, h: int, w: int) -> tuple[Path, Path]:
    """GT and prediction files of the W1 workload, streamed video by video (bounded memory)."""
    gt_path, pred_path = workdir / "w1_gt.h5", workdir / "w1_pred.h5"
    gt_info = FileInfo(kind="groundtruth", dataset="w1", split="val", source="bench_eval")
    with VPSWriter(gt_path, gt_info, CATEGORIES, CITYSCAPES_VPS_PROTOCOL, overwrite=True) as out:
        write_w1_videos(out, videos, h, w, which=0)
    with VPSFile(gt_path) as gt:
        ref = GroundTruthRef("w1", "val", gt_path.name, gt.info.content_id)
    pred_info = FileInfo(kind="prediction", dataset="w1", split="val", predicts=ref)
    with VPSWriter(pred_path, pred_info, CATEGORIES, overwrite=True) as out:
        write_w1_videos(out, videos, h, w, which=1)
    return gt_path, pred_path


def write_w1_videos(writer: VPSWriter, videos: int, h: int, w: int, which: int) -> None:
    """Append the GT (which=0) or prediction (which=1) maps of every W1 video."""
    for v in range(videos):
        maps = w1_video(np.random.default_rng(v), h, w)[which]
        with writer.video(f"{v:04d}", h, w) as video:
            for t, label_map in enumerate(maps):
                video.add_frame(f"{v:04d}_{t:04d}", t, label_map)


def evaluate_in_child(queue, gt: Path, pred: Path, metrics: str, workers: int) -> None:
    """Run one evaluation in a fresh process and report (seconds, summary, peak RSS MiB)."""
    seconds, result = timed(evaluate, gt, pred, metrics=metrics, workers=workers)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((seconds, result.summary, own))


def in_child(target, *args):
    """Run ``target(queue, *args)`` in a fresh process and return what it puts in the queue."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(queue, *args))
    process.start()
    value = queue.get()
    process.join()
    return value


def measured(gt: Path, pred: Path, metrics: str, workers: int) -> tuple[float, dict, float]:
    """Seconds, summary and peak RSS (MiB) of one evaluation in a new process."""
    return in_child(evaluate_in_child, gt, pred, metrics, workers)


def worker_peak_in_child(queue, gt: Path, pred: Path) -> None:
    """Peak RSS of a process that does one worker's job: reduce one video to its statistics."""
    from vpsbench.evaluation.predictions import HDF5Predictions
    from vpsbench.evaluation.runner import VideoTask, compute_video_stats

    with VPSFile(gt) as f:
        video_id, categories = f.video_ids[0], tuple(c.id for c in f.categories)
    compute_video_stats(VideoTask(gt, HDF5Predictions(pred), video_id, categories, (), ""))
    queue.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def literal_seconds(gt_path: Path, pred_path: Path, videos: int) -> float:
    """Seconds of the literal per-window VPQ (4 window sizes) on ``videos`` decoded videos."""
    with VPSFile(gt_path) as gt, VPSFile(pred_path) as pred:
        data = [
            (list(gt.video(vid).load_panoptic()), list(pred.video(vid).load_panoptic()))
            for vid in gt.video_ids[:videos]
        ]
    seconds, _ = timed(literal_vpq, data, list(range(19)), THINGS, (1, 2, 3, 4))
    return seconds


def frame_floor(gt_path: Path, pred_path: Path) -> float:
    """Seconds to read both maps of one frame and histogram them (median of one video)."""
    times = []
    with VPSFile(gt_path) as gt, VPSFile(pred_path) as pred:
        vid = gt.video_ids[0]
        for row in range(FRAMES):
            start = time.perf_counter()
            pair_histogram(gt.video(vid).panoptic_row(row), pred.video(vid).panoptic_row(row))
            times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=50)
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--literal-videos", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vpsbench-w1"))
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--metrics", default="vpq,pq,stq")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    gt_path, pred_path = args.workdir / "w1_gt.h5", args.workdir / "w1_pred.h5"
    if args.fresh or not gt_path.exists() or not pred_path.exists():
        seconds, _ = timed(write_w1, args.workdir, args.videos, args.height, args.width)
        print(f"wrote W1 ({args.videos} videos x {FRAMES} frames) in {seconds:.1f}s")
    submission = args.workdir / "submission"
    if args.fresh or not (submission / "pred.json").exists():
        with VPSFile(gt_path) as gt, VPSFile(pred_path) as pred:
            write_submission(pred, gt, submission)

    metrics = args.metrics
    fast1, summary, rss1 = measured(gt_path, pred_path, metrics, 1)
    fast2, summary2, rss2 = measured(gt_path, pred_path, metrics, 2)
    png1, summary_png, _ = measured(gt_path, submission, metrics, 1)
    png2, _, _ = measured(gt_path, submission, metrics, 2)
    rss_worker = in_child(worker_peak_in_child, gt_path, pred_path)
    assert summary["vpq"] == summary2["vpq"] == summary_png["vpq"]
    n_lit = min(args.literal_videos, args.videos)
    literal = literal_seconds(gt_path, pred_path, n_lit) * args.videos / n_lit
    floor = frame_floor(gt_path, pred_path)
    frames = args.videos * FRAMES
    print(f"W1: {args.videos} videos x {FRAMES} frames, {args.height}x{args.width}")
    print(f"VPQ mean (all/things/stuff): {summary['vpq']['all']:.4f} / "
          f"{summary['vpq']['things']:.4f} / {summary['vpq']['stuff']:.4f}")  # fmt: skip
    print(f"literal per-window VPQ only, decoded maps ({n_lit} videos, scaled): {literal:8.1f} s")
    print(f"fast {metrics} from HDF5, 1 worker:   {fast1:8.1f} s  ratio {literal / fast1:5.1f}x")
    print(f"fast {metrics} from HDF5, 2 workers:  {fast2:8.1f} s  scaling {fast1 / fast2:4.2f}x")
    print(f"fast from PNG submission, 1 worker:    {png1:8.1f} s")
    print(f"fast from PNG submission, 2 workers:   {png2:8.1f} s  scaling {png1 / png2:4.2f}x")
    print(f"per-frame floor (read 2 maps + histogram): {1000 * floor:.1f} ms -> "
          f"{frames * floor:.1f} s for {frames} frames; 1-worker HDF5 run is "
          f"{fast1 / (frames * floor):.2f}x the floor")  # fmt: skip
    print(f"peak RSS, 1 worker: {rss1:.0f} MiB; 2 workers: main {rss2:.0f} MiB, "
          f"one worker process {rss_worker:.0f} MiB")  # fmt: skip


if __name__ == "__main__":
    main()
