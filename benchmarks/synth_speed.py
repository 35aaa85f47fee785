"""Synthetic benchmark generation speed (the issue target: 50 x 30 frames at 256x512 well
under a minute on 2 cores).

    python benchmarks/synth_speed.py [--videos 50] [--no-images]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from vpsbench.synth import SynthConfig, generate, synth_predict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=50)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--size", type=int, nargs=2, default=(256, 512))
    parser.add_argument("--no-images", action="store_true")
    args = parser.parse_args()
    config = SynthConfig(
        num_videos=args.videos,
        frames_per_video=args.frames,
        height=args.size[0],
        width=args.size[1],
        with_images=not args.no_images,
    )
    with tempfile.TemporaryDirectory() as tmp:
        gt = Path(tmp) / "synth.h5"
        start = time.perf_counter()
        generate(gt, config)
        seconds = time.perf_counter() - start
        frames = config.num_videos * config.frames_per_video
        size = gt.stat().st_size / 2**20
        print(
            f"generate: {config.num_videos} videos x {config.frames_per_video} frames "
            f"{config.height}x{config.width} images={config.with_images}: {seconds:.1f} s, "
            f"{frames / seconds:.0f} frames/s, {size:.1f} MiB"
        )
        start = time.perf_counter()
        synth_predict(gt, Path(tmp) / "pred.h5", noise=0.5)
        seconds = time.perf_counter() - start
        annotated = sum(config.is_annotated(t) for t in range(config.frames_per_video))
        print(
            f"synth-predict (noise 0.5): {seconds:.1f} s, "
            f"{config.num_videos * annotated / seconds:.0f} annotated frames/s"
        )


if __name__ == "__main__":
    main()
