"""``vpsbench demo``: the main job end to end on the embedded synthetic benchmark."""

from __future__ import annotations

import argparse
from pathlib import Path

from vpsbench.cli.check import file_summary, format_summary, validate_paths
from vpsbench.cli.common import add_command

DEMO_HELP = """
Runs the toolkit end to end on the embedded synthetic benchmark, with nothing to download:
  1. generates a synthetic ground-truth split (Cityscapes-VPS categories and protocol),
  2. makes predictions of it at several quality levels (synth-predict),
  3. validates every file and each GT/prediction pair,
  4. summarises the files.
Files are kept in --out so you can run the other commands on them afterwards.

example:
  vpsbench demo
  vpsbench demo --out /tmp/demo --videos 8 --seed 3
"""

NOISE_LEVELS = (0.0, 0.3, 0.7)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the demo subcommand."""
    p = add_command(subparsers, "demo", "run the toolkit end to end on synthetic data", DEMO_HELP)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("vpsbench-demo"),
        help="directory for the demo files (default: ./vpsbench-demo, overwritten)",
    )
    p.add_argument("--videos", type=int, default=4, help="videos to generate (default: 4)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from vpsbench.synth import SynthConfig, generate, synth_predict

    args.out.mkdir(parents=True, exist_ok=True)
    gt = args.out / "synth_val.h5"
    config = SynthConfig(num_videos=args.videos, seed=args.seed)
    print(
        f"[1/4] generating {config.num_videos} synthetic videos x {config.frames_per_video} "
        f"frames ({config.height}x{config.width}) -> {gt}"
    )
    generate(gt, config, split="val", progress=args.progress, overwrite=True)

    preds = {}
    print(f"[2/4] predictions at noise levels {', '.join(map(str, NOISE_LEVELS))}")
    for noise in NOISE_LEVELS:
        preds[noise] = args.out / f"pred_noise{noise:.1f}.h5"
        synth_predict(gt, preds[noise], noise=noise, seed=args.seed, overwrite=True)

    print("[3/4] validating")
    failures = 0
    for pred in preds.values():
        problems = validate_paths(gt, pred, args.progress)
        failures += len(problems)
        status = "valid" if not problems else f"INVALID ({len(problems)} problems)"
        print(f"  {gt.name} + {pred.name}: {status}")
        for path, problem in problems[:10]:
            print(f"    {path.name}:{problem}")

    print("[4/4] summary")
    print(format_summary(file_summary(gt)))
    print(
        "Scoring (VPQ, PQ, STQ) arrives with the evaluator; try the files with "
        f"'vpsbench info' and 'vpsbench validate' in {args.out}/."
    )
    return 1 if failures else 0
