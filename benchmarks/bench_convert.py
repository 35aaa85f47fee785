"""Cityscapes-VPS conversion speed against the decode limit, on a Cityscapes-size tree.

Builds the test suite's miniature release enlarged to 1024x2048 (cached in --workdir), then
prints, per label state, annotated frames/s of plain PNG decoding of the label files (the
limit, in the same number of processes) and of `convert_cityscapes_vps` with --workers, and
their ratio. The target is conversion >= 50% of decode throughput with 2 workers.

    python benchmarks/bench_convert.py [--workers 2] [--workdir /tmp/vpsbench-convert]
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

write_release = load_test_module("cityscapes_fixtures").write_release

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--videos", type=int, default=10, help="videos in the tree (6 labels each)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vpsbench-convert"))
    args = parser.parse_args()
    if not (args.workdir / "val" / "inst").is_dir():
        write_release(args.workdir, scale=32, videos=args.videos)
    size = Image.open(next((args.workdir / "val" / "cls").glob("*.png"))).size
    annotated = len(list((args.workdir / "val" / "cls").glob("*.png")))
    print(f"tree: {args.workdir}, {size[0]}x{size[1]}, {annotated} annotated frames (+ img_all)")
    for state in ("prepared", "raw"):
        limit = decode_fps(args.workdir, state, args.workers)
        speed = convert_fps(args.workdir, state, args.workers)
        print(
            f"{state:8s}: PNG decode {limit:6.1f} frames/s, conversion {speed:6.1f} frames/s "
            f"with {args.workers} workers: {100 * speed / limit:5.1f}% of the decode limit"
        )


if __name__ == "__main__":
    main()
