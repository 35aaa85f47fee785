"""Evaluator speed and memory on W1 (Cityscapes-VPS val size: 50 videos x 6 frames, 1024x2048).

Prints, in one run, every figure next to its ratio to the literal official procedure and to
the decode floor, measured side by side (absolute times depend on the machine's load):

  * the literal official procedure (mcahny/vps ``tools/eval_vpq.py``, VPQ only, one process):
    each prediction PNG decoded with ``np.array(Image.open(...))``, and for each of the 4
    window sizes and each window the frames converted to ids (R + 256 G + 65536 B), stacked
    and counted with one ``np.unique`` (tests/literal_vpq.py's matching). GT maps come from
    the HDF5 file (the official script decodes GT PNGs too, so this is conservative). Timed
    on ``--literal-videos`` videos and scaled to all;
  * all metrics (vpq,pq,stq,vc,idsw) from the PNG submission and from HDF5, with 1 and 2
    workers (``--workers``), each in a fresh process; VPQ alone with 1 worker, so the cost of
    PQ + STQ + VC + IDSW shows as a percentage, also measured as CPU seconds in one warm
    process (``--overhead-rounds``, HDF5): per round VPQ alone then all metrics, and the
    extra metrics' own code (VC's per-frame counter, the other metrics' per-video and final
    work) timed inside the all-metrics run, which the machine's drift does not blur;
  * PNG figures for each decoder (``--decoders``: pyspng, the default, and Pillow);
  * all metrics again with NumPy's per-frame kernels (``$VPSBENCH_KERNELS=numpy``) where the
    compiled ones are built: what a user without a C compiler at install time gets
    (``--no-numpy-kernels`` leaves it out);
  * the decode floor with the same workers, scheduled as the scorer schedules its videos
    (``vpsbench.parallel.ordered_map``: this process and N - 1 pool workers): every
    prediction PNG decoded once (to RGB
    pixels, libspng's fastest output, not packed to ids) or every prediction map read from
    HDF5 once, and every GT map read once, nothing else; stored maps read whole and in the
    scorer's pieces, the faster kept;
  * 1 -> 2 worker scaling of each;
  * peak RSS: the evaluating process, its largest worker, and the largest sum over the
    process tree (sampled from /proc every 20 ms).

    python benchmarks/bench_eval.py --videos 50 --height 1024 --width 2048   # W1, minutes
    python benchmarks/bench_eval.py --quick                                   # seconds
    python benchmarks/bench_eval.py --repeat 3   # the fastest of 3 runs each, on a busy machine

Files are cached in --workdir per size; pass --fresh to regenerate them.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import threading
import time
from pathlib import Path

import numpy as np
from from_tests import load_test_module
from PIL import Image

from vpsbench.datasets.cityscapes_vps import PROTOCOL as CITYSCAPES_VPS_PROTOCOL
from vpsbench.evaluation import evaluate
from vpsbench.format import VPSFile, VPSWriter
from vpsbench.format.schema import Category, FileInfo, GroundTruthRef
from vpsbench.io.archive import SubmissionLimits
from vpsbench.io.png import DECODER_ENV, decode_pixels
from vpsbench.io.submission import PNG_DIR, check_png_header, write_submission
from vpsbench.kernels import KERNELS_ENV, kernels_name
from vpsbench.metrics.core import BLOCK_PIXELS
from vpsbench.parallel import keep_freed_memory, ordered_map, worker_context

window_counts = load_test_module("literal_vpq").window_counts

CATEGORIES = [
    Category(i, f"class{i}", i >= 11, (i * 13 + 1, i * 37 % 256, i * 71 % 256), i)
    for i in range(19)
]
THINGS = {c.id for c in CATEGORIES if c.isthing}
FRAMES = 6
ALL = "vpq,pq,stq,vc,idsw"
WINDOWS = (1, 2, 3, 4)  # Cityscapes-VPS k = 0, 5, 10, 15


# --- the W1 workload ---------------------------------------------------------------------


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


# --- measuring in fresh processes ----------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (/proc/PID/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            continue
    return out


def rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (/proc/PID/stat), None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class TreeSampler(threading.Thread):
    """Samples a process and its descendants: largest RSS sum, largest single child RSS, and
    the CPU seconds of the whole tree (each process's last sample, up to 20 ms short)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_sum = self.peak_child = 0.0
        self.cpu: dict[int, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            tree = process_tree(self.pid)
            sizes = {p: rss_mib(p) for p in tree}
            self.peak_sum = max(self.peak_sum, sum(sizes.values()))
            children = [size for p, size in sizes.items() if p != self.pid]
            self.peak_child = max([self.peak_child, *children])
            for p in tree:
                seconds = cpu_seconds(p)
                if seconds is not None:
                    self.cpu[p] = seconds
            self.done.wait(self.interval)


def in_child(target, *args) -> dict:
    """Run ``target(queue, *args)`` in a fresh process; its dict, plus the RSS samples."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(queue, *args))
    process.start()
    sampler = TreeSampler(process.pid)
    sampler.start()
    value = queue.get()
    process.join()
    sampler.done.set()
    sampler.join()
    value.update(rss_tree=sampler.peak_sum, rss_worker=sampler.peak_child)
    value["cpu"] = sum(sampler.cpu.values())
    return value


def evaluate_in_child(
    queue, gt: Path, pred: Path, metrics: str, workers: int, decoder: str, kernels: str = "auto"
):
    """One evaluation in a fresh process: seconds, summary and own peak RSS (MiB)."""
    os.environ[DECODER_ENV] = decoder
    os.environ[KERNELS_ENV] = kernels  # inherited by the pool's workers
    keep_freed_memory()  # as `vpsbench eval` does in its own process
    start = time.perf_counter()
    result = evaluate(gt, pred, metrics=metrics, workers=workers)
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"seconds": seconds, "summary": result.summary, "rss_main": own})


def overhead_in_child(queue, gt: Path, pred: Path, rounds: int) -> None:
    """Per round, CPU seconds of VPQ alone then all metrics, back to back in one warm process,
    1 worker, and of the extra metrics' own code inside the all-metrics run: VC's per-frame
    counter and the other metrics' per-video and final work (``update``, ``result``,
    ``per_class``, ``per_video``), timed where it runs, so the machine's drift cancels."""
    from vpsbench.metrics import METRICS
    from vpsbench.metrics.consistency import ClipCounter

    keep_freed_memory()
    evaluate(gt, pred, metrics=ALL, workers=1)  # warm: imports, page cache
    inside = {"seconds": 0.0, "depth": 0}

    def timed(function):
        def wrapper(*args, **kwargs):
            inside["depth"] += 1  # only the outermost timed call counts (no double count)
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                inside["depth"] -= 1
                if inside["depth"] == 0:
                    inside["seconds"] += time.process_time() - start

        return wrapper

    originals = [(ClipCounter, "add_pair_runs"), (ClipCounter, "add_panoptic")]
    originals += [(METRICS[name], method) for name in ALL.split(",") if name != "vpq"
                  for method in ("update", "result", "per_class", "per_video")]  # fmt: skip
    saved = [(cls, method, cls.__dict__.get(method)) for cls, method in originals]
    rounds_out = []
    for _ in range(rounds):
        start = time.process_time()
        evaluate(gt, pred, metrics="vpq", workers=1)
        alone = time.process_time() - start
        for cls, method in originals:
            setattr(cls, method, timed(getattr(cls, method)))
        inside["seconds"] = 0.0
        start = time.process_time()
        evaluate(gt, pred, metrics=ALL, workers=1)
        every = time.process_time() - start
        for cls, method, original in saved:
            if original is None:
                delattr(cls, method)
            else:
                setattr(cls, method, original)
        rounds_out.append((alone, every, inside["seconds"]))
    queue.put({"rounds": rounds_out, "seconds": 0.0})


def floor_video(job: tuple) -> int:
    """Read every GT map of one video once and decode (or read) every prediction map once:
    stored maps whole or in the scorer's pieces (``pieces``), PNGs decoded and not packed."""
    gt_path, pred, video_id, pieces = job
    pixels = 0
    with VPSFile(gt_path) as gt:
        video = gt.video(video_id)
        stems = [video.stems[i] for i in video.annotated_indices]
        pixels += read_maps(video, len(stems), pieces)
        if pred.suffix == ".h5":
            with VPSFile(pred) as file:
                pixels += read_maps(file.video(video_id), len(stems), pieces)
        else:
            for stem in stems:
                png = pred / PNG_DIR / f"{stem}.png"
                check_png_header(png, video.height, video.width, SubmissionLimits.max_pixels)
                # RGB, libspng's fastest output (RGBA takes twice as long), as the scorer.
                rgb, packed = decode_pixels(png, video.height, video.width, alpha=False)
                pixels += (rgb if packed is None else packed).size
    return pixels


def read_maps(video, rows: int, pieces: bool) -> int:
    """Read a video's stored maps once, whole or in the scorer's pieces; their pixels."""
    if not pieces:
        return sum(video.panoptic_row(row, writable=False).size for row in range(rows))
    return sum(b.size for row in range(rows) for b in video.panoptic_row_blocks(row, BLOCK_PIXELS))


def floor_in_child(
    queue, gt: Path, pred: Path, workers: int, decoder: str, pieces: bool = False
) -> None:
    """The decode floor with the evaluation's scheduling (``ordered_map``: same workers, this
    process among them, one task a video)."""
    os.environ[DECODER_ENV] = decoder
    keep_freed_memory()  # the evaluation's own process and workers do the same
    start = time.perf_counter()
    with VPSFile(gt) as f:
        jobs = [(gt, pred, video_id, pieces) for video_id in f.video_ids]
    # The scorer's scheduling: this process takes videos too while the pool starts.
    list(ordered_map(floor_video, jobs, workers, worker_context([__name__])))
    seconds = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"seconds": seconds, "rss_main": own})


def literal_in_child(queue, gt_path: Path, submission: Path, videos: int) -> None:
    """The official procedure on ``videos`` videos: decode PNGs, then per window size and
    window convert RGB to ids, stack and count (one process, like the official script)."""
    import json

    start = time.perf_counter()
    entries = json.loads((submission / "pred.json").read_text())["annotations"]
    tables = {
        e["image_id"]: {s["id"]: s["category_id"] for s in e["segments_info"]} for e in entries
    }
    categories = [c.id for c in CATEGORIES]
    with VPSFile(gt_path) as gt:
        for video_id in gt.video_ids[:videos]:
            video = gt.video(video_id)
            stems = [video.stems[i] for i in video.annotated_indices]
            gts = [video.panoptic_row(row) for row in range(len(stems))]
            rgbs = [np.array(Image.open(submission / PNG_DIR / f"{s}.png")) for s in stems]
            for n in WINDOWS:
                for t0 in range(len(stems) - n + 1):
                    ids = []
                    for rgb in rgbs[t0 : t0 + n]:
                        pan = np.uint32(rgb)
                        ids.append(pan[:, :, 0] + pan[:, :, 1] * 256 + pan[:, :, 2] * 256 * 256)
                    window_counts(
                        np.stack(gts[t0 : t0 + n]),
                        np.stack(ids),
                        categories,
                        THINGS,
                        1000,
                        255_000,
                        0,
                        [tables[s] for s in stems[t0 : t0 + n]],
                    )
    queue.put({"seconds": time.perf_counter() - start})


# --- the report ----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=50)
    parser.add_argument("--height", type=int, default=1024)
    parser.add_argument("--width", type=int, default=2048)
    parser.add_argument("--quick", action="store_true", help="4 videos of 256x512: seconds")
    parser.add_argument("--literal-videos", type=int, default=5, help="timed, then scaled")
    parser.add_argument("--workers", default="1,2", help="worker counts compared (default 1,2)")
    parser.add_argument("--decoders", default="pyspng,pillow", help="PNG decoders compared")
    parser.add_argument("--no-numpy-kernels", action="store_true",
                        help="leave out the runs with NumPy's per-frame kernels")  # fmt: skip
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vpsbench-w1"))
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each, the fastest kept")
    parser.add_argument("--overhead-rounds", type=int, default=8,
                        help="paired warm runs of VPQ alone and all metrics")  # fmt: skip
    args = parser.parse_args()
    if args.quick:
        args.videos, args.height, args.width, args.literal_videos = 4, 256, 512, 2
    workers = [int(w) for w in args.workers.split(",")]
    decoders = [d.strip() for d in args.decoders.split(",") if d.strip()]
    workdir = args.workdir / f"{args.videos}x{args.height}x{args.width}"
    workdir.mkdir(parents=True, exist_ok=True)
    gt, pred = workdir / "w1_gt.h5", workdir / "w1_pred.h5"
    submission = workdir / "submission"
    if args.fresh or not gt.exists() or not pred.exists():
        start = time.perf_counter()
        write_w1(workdir, args.videos, args.height, args.width)
        print(f"wrote W1 ({args.videos} videos x {FRAMES} frames) in "
              f"{time.perf_counter() - start:.1f}s")  # fmt: skip
    if args.fresh or not (submission / "pred.json").exists():
        with VPSFile(gt) as g, VPSFile(pred) as p:
            write_submission(p, g, submission)

    def best(*job) -> dict:  # the fastest of --repeat fresh runs (a shared machine is noisy)
        return min((in_child(*job) for _ in range(max(args.repeat, 1))), key=lambda r: r["seconds"])

    n_lit = min(args.literal_videos, args.videos)
    literal = in_child(literal_in_child, gt, submission, n_lit)["seconds"] * args.videos / n_lit
    runs: dict[tuple, dict] = {}
    floors: dict[tuple, dict] = {}
    sources = [("HDF5", pred, "pyspng")] + [(f"PNG/{d}", submission, d) for d in decoders]
    for name, path, decoder in sources:
        for w in workers:
            # Stored maps read whole and in the scorer's pieces: the faster is the floor.
            floors[name, w] = min(
                (best(floor_in_child, gt, path, w, decoder, pieces) for pieces in (False, True)),
                key=lambda r: r["seconds"],
            )
            runs[name, ALL, w] = best(evaluate_in_child, gt, path, ALL, w, decoder)
        runs[name, "vpq", 1] = best(evaluate_in_child, gt, path, "vpq", 1, decoder)
    # What a user without the compiled kernels gets (not for Pillow: its decode dominates).
    numpy_sources = [] if args.no_numpy_kernels or kernels_name() == "numpy" else sources[:2]
    for name, path, decoder in numpy_sources:
        for w in workers:
            runs[name, "numpy", w] = best(evaluate_in_child, gt, path, ALL, w, decoder, "numpy")
    # The metrics' cost does not depend on the source: measured on HDF5 (no decoder noise).
    overhead = in_child(overhead_in_child, gt, pred, args.overhead_rounds)
    summaries = {str(r["summary"]["vpq"]) for key, r in runs.items()}
    assert len(summaries) == 1, "VPQ differs between runs"
    summary = next(iter(runs.values()))["summary"]

    print(f"W1: {args.videos} videos x {FRAMES} frames, {args.height}x{args.width}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the end")  # fmt: skip
    print(f"VPQ all/things/stuff {summary['vpq']['all']:.4f} / {summary['vpq']['things']:.4f} "
          f"/ {summary['vpq']['stuff']:.4f}, STQ {summary['stq']['stq']:.4f}, "
          f"IDSW {summary['idsw']['idsw']} (equal in every run)")  # fmt: skip
    print(f"literal official procedure (VPQ only, 1 process; timed on {n_lit} videos, scaled to "
          f"{args.videos}): {literal:.1f} s")  # fmt: skip
    print(f"each figure: the fastest of {args.repeat} run(s); per-frame kernels: "
          f"{kernels_name()} (NumPy's where said)")  # fmt: skip
    print(
        "seconds: wall clock of a fresh process (pool start included); CPU s: user + system "
        "seconds of its process tree (what the workers share when cores are free)"
    )
    header = f"{'':40s} {'seconds':>8s} {'x literal':>10s} {'x floor':>8s} {'1->2':>6s} CPU s"
    print(header)
    for name, _, _ in sources:
        for w in workers:
            floor = floors[name, w]["seconds"]
            scale = floors[name, workers[0]]["seconds"] / floor if w != workers[0] else None
            print(row(f"{name} decode floor, {w} worker(s)", floor, literal, None, scale,
                      floors[name, w]["cpu"]))  # fmt: skip
        for w in workers:
            seconds = runs[name, ALL, w]["seconds"]
            first = runs[name, ALL, workers[0]]["seconds"]
            scale = first / seconds if w != workers[0] else None
            print(row(f"{name} all metrics, {w} worker(s)", seconds, literal,
                      floors[name, w]["seconds"], scale, runs[name, ALL, w]["cpu"]))  # fmt: skip
        for w in workers if (name, "numpy", workers[0]) in runs else ():
            seconds = runs[name, "numpy", w]["seconds"]
            compiled = runs[name, ALL, w]["seconds"]
            print(row(f"{name} NumPy kernels, {w} worker(s)", seconds, literal,
                      floors[name, w]["seconds"], None, runs[name, "numpy", w]["cpu"])
                  + f"  ({seconds / compiled:.2f}x the compiled kernels' time)")  # fmt: skip
        vpq, every = runs[name, "vpq", 1]["seconds"], runs[name, ALL, 1]["seconds"]
        print(row(f"{name} VPQ alone, 1 worker", vpq, literal, floors[name, 1]["seconds"], None,
                  runs[name, "vpq", 1]["cpu"]))  # fmt: skip
        print(f"  {name}: PQ + STQ + VC + IDSW add {100 * (every - vpq) / vpq:+.0f}% to VPQ alone "
              f"(1 worker, {every:.2f} vs {vpq:.2f} s)")  # fmt: skip
    print(overhead_line(overhead["rounds"]))
    print("peak RSS (MiB): evaluating process / largest worker / whole process tree")
    for (name, metrics, w), r in runs.items():
        if metrics == ALL:  # the default kernels
            print(f"  {name} all metrics, {w} worker(s): {r['rss_main']:.0f} / "
                  f"{r['rss_worker']:.0f} / {r['rss_tree']:.0f}")  # fmt: skip


def overhead_line(rounds: list[tuple[float, float, float]]) -> str:
    """The cost of PQ + STQ + VC + IDSW over VPQ alone: the median of the paired rounds'
    ratios, and the extra metrics' own code timed inside the all-metrics runs."""
    if not rounds:
        return "PQ + STQ + VC + IDSW over VPQ alone, one warm process: not measured (0 rounds)"
    paired = sorted(every / alone - 1 for alone, every, _ in rounds)
    inside = sorted(extra / (every - extra) for _, every, extra in rounds)
    median = len(rounds) // 2
    return (
        f"PQ + STQ + VC + IDSW over VPQ alone, HDF5, one warm process, 1 worker, {len(rounds)} "
        f"rounds, CPU s: {100 * inside[median]:+.1f}% by their own code timed inside the "
        f"all-metrics runs (range {100 * inside[0]:+.1f}% to {100 * inside[-1]:+.1f}%); "
        f"{100 * paired[median]:+.1f}% median of the rounds' all/VPQ-alone ratios (range "
        f"{100 * paired[0]:+.0f}% to {100 * paired[-1]:+.0f}%: machine noise)"
    )


def row(label: str, seconds: float, literal: float, floor, scale, cpu: float) -> str:
    floor_text = f"{seconds / floor:7.2f}x" if floor else f"{'':8s}"
    scale_text = f"{scale:5.2f}x" if scale else f"{'':6s}"
    return (
        f"{label:40s} {seconds:8.2f} {literal / seconds:9.1f}x {floor_text} {scale_text} {cpu:5.1f}"
    )


if __name__ == "__main__":
    main()
