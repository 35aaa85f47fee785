"""Conversion speed against the decode limit, on Cityscapes-size, KITTI-size and VIPSeg trees.

Builds the test suite's miniature releases enlarged (cached in --workdir): Cityscapes-VPS at
1024x2048, KITTI-STEP at 375x1242 (two sequences of --step-frames frames, every frame
labelled, as in the release), VIPSeg as a raw 1080p release (two videos of --vipseg-frames
frames) and its official 720p preparation. Then prints annotated frames/s of plain PNG
decoding of the label files (the limit, in the same number of processes) and of the converter
with --workers, and their ratio: per label state for Cityscapes-VPS, for KITTI-STEP, and for
VIPSeg's prepared layout, raw release and raw release with --resize 720 (``--dataset``). The
target is conversion >= 50% of decode throughput with 2 workers.

    python benchmarks/bench_convert.py [--dataset all] [--workers 2] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import tempfile
import time
from pathlib import Path

import numpy as np
from from_tests import load_test_module
from PIL import Image

from vpsbench_converters.cityscapes_vps import convert_cityscapes_vps
from vpsbench_converters.step import convert_step
from vpsbench_converters.vipseg import convert_vipseg

write_release = load_test_module("cityscapes_fixtures").write_release
step_fixtures = load_test_module("step_fixtures")
vipseg_fixtures = load_test_module("vipseg_fixtures")
KITTI_SIZE = (375, 1242)
VIPSEG_RAW_SIZE = (1080, 1920)  # a common VIPSeg source size: the official resize gives 720x1280

LABEL_FOLDERS = {"prepared": ("panoptic_video",), "raw": ("cls", "inst")}


def decode_frame(paths: tuple[Path, ...]) -> int:
    """Decode the label PNGs of one frame to arrays (what any converter must at least do)."""
    return sum(np.asarray(Image.open(p)).size for p in paths)


def decode_fps(root: Path, state: str, workers: int) -> float:
    folders = [sorted((root / "val" / f).glob("*.png")) for f in LABEL_FOLDERS[state]]
    frames = list(zip(*folders, strict=True))
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        list(pool.map(decode_frame, frames))
    return len(frames) / (time.perf_counter() - start)


def convert_fps(root: Path, state: str, workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        convert_cityscapes_vps(root, "val", Path(tmp) / "out.h5", state, workers=workers)
        seconds = time.perf_counter() - start
    frames = len(list((root / "val" / LABEL_FOLDERS[state][0]).glob("*.png")))
    return frames / seconds


def write_kitti_tree(root: Path, frames: int) -> None:
    """Two KITTI-size val sequences of the test suite's STEP scene, every frame labelled."""
    things = {step_fixtures.KITTI["person"], step_fixtures.KITTI["car"]}
    for s, seq in enumerate(("0002", "0006")):
        layers = step_fixtures.kitti_layers
        step_fixtures.write_sequence(
            root, "val", seq, KITTI_SIZE, range(frames), layers, ".png", True, things, s
        )


def step_decode_fps(root: Path, workers: int) -> float:
    frames = [(p,) for p in sorted((root / "panoptic_maps" / "val").glob("*/*.png"))]
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        list(pool.map(decode_frame, frames))
    return len(frames) / (time.perf_counter() - start)


def step_convert_fps(root: Path, workers: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        convert_step("kitti_step", root, "val", Path(tmp) / "out.h5", workers=workers)
        seconds = time.perf_counter() - start
    return len(list((root / "panoptic_maps" / "val").glob("*/*.png"))) / seconds


def write_vipseg_trees(root: Path, frames: int) -> tuple[Path, Path]:
    """A raw 1080p VIPSeg release (the test scene enlarged) and its official 720p preparation."""
    raw, prepared = root / "VIPSeg", root / "VIPSeg_720P"
    if (prepared / "panoptic_gt_VIPSeg_val.json").is_file():
        return raw, prepared
    h, w = vipseg_fixtures.H, vipseg_fixtures.W
    scale = np.ones((-(-VIPSEG_RAW_SIZE[0] // h), -(-VIPSEG_RAW_SIZE[1] // w)))
    masks = {
        video: {
            f"{1 + 5 * t:08d}": np.kron(vipseg_fixtures.raw_mask(video, t % 9), scale)[
                : VIPSEG_RAW_SIZE[0], : VIPSEG_RAW_SIZE[1]
            ].astype(np.uint16)
            for t in range(frames)
        }
        for video in ("12_abcDEF-_01", "3_Zz9-x_Yq")
    }
    vipseg_fixtures.write_raw(raw, masks, {"val": list(masks), "train": [], "test": []})
    vipseg_fixtures.prepare_720p(raw, prepared)
    return raw, prepared


def vipseg_fps(root: Path, folder: str, workers: int, **options) -> tuple[float, float]:
    """(decode limit, conversion) in frames/s for one VIPSeg layout."""
    frames = [(p,) for p in sorted((root / folder).glob("*/*.png"))]
    start = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(workers) as pool:
        list(pool.map(decode_frame, frames))
    limit = len(frames) / (time.perf_counter() - start)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        convert_vipseg(root, "val", Path(tmp) / "out.h5", workers=workers, **options)
        return limit, len(frames) / (time.perf_counter() - start)


def bench_vipseg(workdir: Path, frames: int, workers: int) -> None:
    raw, prepared = write_vipseg_trees(workdir, frames)
    print(f"trees: {workdir}, raw {VIPSEG_RAW_SIZE[1]}x{VIPSEG_RAW_SIZE[0]} and 720p, "
          f"{2 * frames} annotated frames")  # fmt: skip
    report("prepared", *vipseg_fps(prepared, "panomasksRGB", workers), workers)
    report("raw", *vipseg_fps(raw, "panomasks", workers), workers)
    report("raw 720", *vipseg_fps(raw, "panomasks", workers, resize=720), workers)


def report(name: str, limit: float, speed: float, workers: int) -> None:
    print(
        f"{name:10s}: PNG decode {limit:6.1f} frames/s, conversion {speed:6.1f} frames/s "
        f"with {workers} workers: {100 * speed / limit:5.1f}% of the decode limit"
    )


def bench_cityscapes(workdir: Path, videos: int, workers: int) -> None:
    if not (workdir / "val" / "inst").is_dir():
        write_release(workdir, scale=32, videos=videos)
    size = Image.open(next((workdir / "val" / "cls").glob("*.png"))).size
    annotated = len(list((workdir / "val" / "cls").glob("*.png")))
    print(f"tree: {workdir}, {size[0]}x{size[1]}, {annotated} annotated frames (+ img_all)")
    for state in ("prepared", "raw"):
        report(state, decode_fps(workdir, state, workers), convert_fps(workdir, state, workers),
               workers)  # fmt: skip


def bench_kitti_step(workdir: Path, frames: int, workers: int) -> None:
    if not (workdir / "panoptic_maps" / "val").is_dir():
        write_kitti_tree(workdir, frames)
    annotated = len(list((workdir / "panoptic_maps" / "val").glob("*/*.png")))
    print(f"tree: {workdir}, {KITTI_SIZE[1]}x{KITTI_SIZE[0]}, {annotated} annotated frames")
    report("kitti_step", step_decode_fps(workdir, workers), step_convert_fps(workdir, workers),
           workers)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--dataset", choices=("all", "cityscapes_vps", "kitti_step", "vipseg"), default="all"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--videos", type=int, default=10, help="videos in the tree (6 labels each)")
    parser.add_argument("--step-frames", type=int, default=60, help="frames per KITTI sequence")
    parser.add_argument("--vipseg-frames", type=int, default=20, help="frames per VIPSeg video")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vpsbench-convert"))
    args = parser.parse_args()
    if args.dataset in ("all", "cityscapes_vps"):
        bench_cityscapes(args.workdir, args.videos, args.workers)
    if args.dataset in ("all", "kitti_step"):
        bench_kitti_step(args.workdir / "kitti_step", args.step_frames, args.workers)
    if args.dataset in ("all", "vipseg"):
        bench_vipseg(args.workdir / "vipseg", args.vipseg_frames, args.workers)


if __name__ == "__main__":
    main()
