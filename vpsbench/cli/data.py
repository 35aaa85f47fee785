"""``vpsbench synth`` and ``vpsbench synth-predict``: the procedural synthetic benchmark."""

from __future__ import annotations

import argparse
from pathlib import Path

from vpsbench.cli.common import add_command, refuse_existing_output

SYNTH_HELP = """
Writes a deterministic, driving-like video panoptic dataset (Cityscapes-VPS categories: stuff
under a moving camera, cars/persons/... that move, occlude, enter and leave; crowd and void
regions) as a unified ground-truth file. The same seed gives byte-identical label maps.

With --train-out a train split (different videos, same settings) is written as well.

--preset hard adds what tracking and fusion exist for: 1-2 pairs of same-class objects that
cross paths, one object per video that a nearer bus or truck hides completely for 3-8 frames,
and per-frame image degradations (motion blur, noise bursts, lens smudges) that the previous
frame never shares; the labels are those of the scene. Its splits are named val-hard and
train-hard, so they are never ranked with the standard ones.

example:
  vpsbench synth -o synth_val.h5 --videos 10 --frames 30 --size 256 512 --seed 0
  vpsbench synth -o synth_val.h5 --train-out synth_train.h5 --videos 50
  vpsbench synth -o hard_val.h5 --train-out hard_train.h5 --videos 16 --preset hard
"""

SYNTH_PREDICT_HELP = """
Writes a prediction file that is a perturbed copy of a ground-truth file: boundary jitter,
identity switches partway through tracks, class confusions, missed and spurious segments.
--noise 0 gives a perfect prediction; 1 a poor one. Deterministic by --seed.

example:
  vpsbench synth-predict synth_val.h5 pred_noise03.h5 --noise 0.3 --seed 1
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the synth and synth-predict subcommands."""
    p = add_command(subparsers, "synth", "generate the synthetic benchmark", SYNTH_HELP)
    p.add_argument("-o", "--out", required=True, type=Path, help="output .h5 (the val split)")
    p.add_argument("--split", default="val", help="split name of --out (default: val)")
    p.add_argument("--train-out", type=Path, help="also write a train split to this file")
    p.add_argument("--videos", type=int, default=4, help="videos per split (default: 4)")
    p.add_argument("--frames", type=int, default=30, help="frames per video (default: 30)")
    p.add_argument(
        "--size",
        type=int,
        nargs=2,
        default=(256, 512),
        metavar=("H", "W"),
        help="frame height and width (default: 256 512)",
    )
    p.add_argument(
        "--stride",
        type=int,
        default=5,
        help="annotate every N-th frame, counted 1-based like Cityscapes-VPS (default: 5)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument(
        "--preset",
        choices=("standard", "hard"),
        default="standard",
        help="standard (default) or hard: crossings, long occlusions, degraded frames",
    )
    p.add_argument("--no-images", action="store_true", help="store label maps only")
    p.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(run=run_synth)

    p = add_command(
        subparsers, "synth-predict", "perturb a GT file into a prediction", SYNTH_PREDICT_HELP
    )
    p.add_argument("gt", type=Path, help="ground-truth .h5 to perturb")
    p.add_argument("out", type=Path, help="prediction .h5 to write")
    p.add_argument("--noise", type=float, default=0.3, help="quality in [0, 1] (default: 0.3)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    p.set_defaults(run=run_synth_predict)


def synth_config(args: argparse.Namespace):
    """The generator configuration described by the command-line arguments."""
    from vpsbench.synth import SynthConfig

    if args.videos < 1 or args.frames < 1 or min(args.size) < 16 or args.stride < 1:
        raise ValueError("need --videos >= 1, --frames >= 1, --stride >= 1 and --size >= 16 16")
    return SynthConfig(
        num_videos=args.videos,
        frames_per_video=args.frames,
        height=args.size[0],
        width=args.size[1],
        annotation_stride=args.stride,
        seed=args.seed,
        with_images=not args.no_images,
        preset=args.preset,
    )


def run_synth(args: argparse.Namespace) -> int:
    from vpsbench.synth import generate

    config = synth_config(args)
    outputs = [(args.out, args.split)]
    if args.train_out:
        outputs.append((args.train_out, "train"))
    for path, _ in outputs:
        refuse_existing_output(path, args.force)
    for path, split in outputs:
        generate(path, config, split=split, progress=args.progress, overwrite=args.force)
        name = config.split_name(split)
        print(
            f"wrote {path} ({name}: {config.num_videos} videos x {config.frames_per_video} frames)"
        )
    return 0


def run_synth_predict(args: argparse.Namespace) -> int:
    from vpsbench.synth import synth_predict

    if not 0.0 <= args.noise <= 1.0:
        raise ValueError(f"--noise must be in [0, 1], got {args.noise}")
    refuse_existing_output(args.out, args.force)
    synth_predict(
        args.gt,
        args.out,
        noise=args.noise,
        seed=args.seed,
        progress=args.progress,
        overwrite=args.force,
    )
    print(f"wrote {args.out} (prediction of {args.gt}, noise {args.noise}, seed {args.seed})")
    return 0
