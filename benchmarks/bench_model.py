"""Per-frame CPU inference time of the VPSNet variants against torchvision's Mask R-CNN.

    python benchmarks/bench_model.py                      # 256x512, paper-sized R50-FPN model
    python benchmarks/bench_model.py --sizes 256x512 512x1024 --config synthetic-tiny

Every model is untrained (weights=None, nothing downloads). So that untrained detectors do
the same instance work, all of them keep exactly ``--detections`` boxes per frame (score
thresholds at 0). VPSNet runs as in video inference: frame after frame with a ``VideoState``,
so the Fuse variants reuse the previous frame's features. Prints ms/frame and the ratio to
Mask R-CNN R50-FPN at the same size (the issue's target: fusetrack <= 1.6x).
"""

from __future__ import annotations

import argparse
import time

import torch
from torchvision.models.detection import maskrcnn_resnet50_fpn

from vpsbench_model.config import CONFIGS, VARIANTS, get_config
from vpsbench_model.model import VideoState, VPSNet


def time_frames(run, frames: int, warmup: int) -> float:
    """Median seconds per call of ``run(i)`` after ``warmup`` calls."""
    for i in range(warmup):
        run(i)
    times = []
    for i in range(frames):
        start = time.perf_counter()
        run(warmup + i)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def video(size: tuple[int, int], count: int) -> list[torch.Tensor]:
    """A short "video": a random image shifted by one pixel per frame."""
    base = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(0))
    return [base.roll(i, -1) for i in range(count)]


def bench_maskrcnn(size: tuple[int, int], frames: list[torch.Tensor], detections: int,
                   args) -> float:  # fmt: skip
    # Seeded like VPSNet: with random weights the post-processing work (per-class NMS over
    # 1000 proposals x 90 classes) depends on the initialisation, and so did the time.
    torch.manual_seed(0)
    model = maskrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, min_size=size[0], max_size=size[1],
        box_score_thresh=0.0, box_detections_per_img=detections,
    ).eval()  # fmt: skip

    @torch.no_grad()
    def run(i: int) -> None:
        model([frames[i % len(frames)][0]])

    return time_frames(run, args.frames, args.warmup)


def bench_vpsnet(config_name: str, variant: str, frames: list[torch.Tensor], detections: int,
                 args) -> float:  # fmt: skip
    config = get_config(config_name, variant)
    config.model.det_score_thresh, config.model.max_detections = 0.0, detections
    config.model.fuse_level = args.fuse_level
    torch.manual_seed(0)
    model = VPSNet(config.model).eval()
    state = VideoState()
    # The images are 0..1 noise; scale to the 0..255 range the normalisation expects.
    inputs = [(f * 255 - 120) / 60 for f in frames]

    def run(i: int) -> None:
        model.predict(inputs[i % len(inputs)], state)

    return time_frames(run, args.frames, args.warmup)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["256x512"], help="HxW, multiples of 32")
    parser.add_argument("--config", default="cityscapes-vps", choices=sorted(CONFIGS))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--detections", type=int, default=20)
    parser.add_argument("--fuse-level", type=int, default=0, help="0: P2 (official), 1: P3")
    parser.add_argument("--frames", type=int, default=8, help="timed frames per model")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, config {args.config}, "
        f"fuse level {args.fuse_level}, {args.detections} detections/frame, "
        f"median of {args.frames} frames"
    )
    for text in args.sizes:
        size = tuple(int(v) for v in text.lower().split("x"))
        frames = video(size, args.frames + args.warmup)
        base = bench_maskrcnn(size, frames, args.detections, args)
        print(f"\n{size[0]}x{size[1]}")
        print(f"  {'Mask R-CNN R50-FPN':<22} {base * 1e3:8.1f} ms/frame   1.00x")
        for variant in args.variants:
            seconds = bench_vpsnet(args.config, variant, frames, args.detections, args)
            name = f"VPSNet {variant}"
            print(f"  {name:<22} {seconds * 1e3:8.1f} ms/frame   {seconds / base:4.2f}x")


if __name__ == "__main__":
    main()
