"""``vpsbench demo``: the main job end to end on the embedded synthetic benchmark."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from vpsbench.cli.common import add_command
from vpsbench.messages import spoken_list

DEMO_HELP = """
Runs the toolkit end to end on the embedded synthetic benchmark, with nothing to download:
  1. builds the synthetic ground truth (Cityscapes-VPS categories and protocol), or reuses it
     from the cache ($VPSBENCH_CACHE, else $XDG_CACHE_HOME/vpsbench or ~/.cache/vpsbench),
  2. makes predictions of it at three quality levels (synth-predict) and, when the model extra
     is installed (pip install -e ".[model]"), runs the reference VPSNet (fusetrack, trained
     with the synthetic-tiny config; the int8 checkpoint shipped in reference_model/weights/)
     over it,
  3. validates and scores each one (VPQ, PQ, STQ, VC, identity switches),
  4. prints a leaderboard table and writes a report (JSON, Markdown, CSV, plots) per
     prediction under --out.

example:
  vpsbench demo
  vpsbench demo --out /tmp/demo --videos 8 --seed 3
  vpsbench demo --checkpoint runs/fusetrack/model_final.pt   # your own trained model
"""

NOISE_LEVELS = (0.0, 0.3, 0.7)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the demo subcommand."""
    p = add_command(subparsers, "demo", "run the toolkit end to end on synthetic data", DEMO_HELP)
    p.add_argument(
        "--out",
        type=Path,
        default=Path("vpsbench-demo"),
        help="directory for the reports (default: ./vpsbench-demo)",
    )
    p.add_argument("--videos", type=int, default=4, help="videos to generate (default: 4)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--no-cache", action="store_true", help="regenerate instead of reusing")
    model = p.add_mutually_exclusive_group()
    model.add_argument(
        "--checkpoint",
        type=Path,
        help="reference-model checkpoint to run (default: the shipped synthetic-tiny fusetrack)",
    )
    model.add_argument("--no-model", action="store_true", help="skip the reference model")
    p.set_defaults(run=run_demo)


def cache_dir() -> Path:
    """Where generated benchmark files are kept between runs."""
    if os.environ.get("VPSBENCH_CACHE"):
        return Path(os.environ["VPSBENCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vpsbench"


def demo_model():
    """The installed demo model (a ``vpsbench.demo_models`` entry point), or None."""
    from vpsbench.plugins import DEMO_MODELS, load_group

    return next(iter(load_group(DEMO_MODELS).values()), None)


def leaderboard_table(rows: list[tuple[str, dict]]) -> str:
    """One line per prediction: VPQ per k, then the brief headline fields of every metric."""
    from vpsbench.metrics import METRICS, headline
    from vpsbench.report.markdown import fmt, plain_table

    first = rows[0][1]
    header = ["prediction", *(f"VPQ k={k}" if i == 0 else f"k={k}"
                              for i, k in enumerate(first["vpq"]["k"]))]  # fmt: skip
    names = [name for name in METRICS if name in first]
    header += [label for name in names for label, _, _ in headline(name, first[name], True)]
    body = []
    for name, s in rows:
        cells = [fmt(s["vpq"]["k"][k]["all"]) for k in s["vpq"]["k"]]
        cells += [fmt(v) for m in names for _, _, v in headline(m, s[m], True)]
        body.append([name, *cells])
    return plain_table(header, body)


def run_demo(args: argparse.Namespace) -> int:
    from vpsbench import __version__
    from vpsbench.cli.check import validate_paths
    from vpsbench.evaluation import evaluate
    from vpsbench.report import write_report
    from vpsbench.synth import SynthConfig, generate, synth_predict

    config = SynthConfig(num_videos=args.videos, seed=args.seed)
    cache = cache_dir() / f"synth-{__version__}-v{config.num_videos}-s{config.seed}"
    gt = cache / "synth_val.h5"
    reuse = gt.exists() and not args.no_cache
    print(
        f"[1/4] {'reusing' if reuse else 'generating'} {config.num_videos} synthetic videos x "
        f"{config.frames_per_video} frames ({config.height}x{config.width}): {gt}"
    )
    if not reuse:
        generate(gt, config, split="val", progress=args.progress, overwrite=True)

    preds = {noise: cache / f"pred_noise{noise:.1f}.h5" for noise in NOISE_LEVELS}
    print(f"[2/4] predictions at noise levels {', '.join(map(str, NOISE_LEVELS))}")
    for noise, path in preds.items():
        if not (reuse and path.exists()):
            synth_predict(gt, path, noise=noise, seed=args.seed, overwrite=True)

    model = None if args.no_model else demo_model()
    checkpoint = None
    if model is not None:
        checkpoint = args.checkpoint or model.default_checkpoint()
    elif args.checkpoint:
        raise ValueError('--checkpoint needs the reference model: pip install -e ".[model]"')
    names = {path: f"noise {noise:.1f}" for noise, path in preds.items()}
    if checkpoint is not None:
        from vpsbench.io.digest import file_digest

        path = cache / f"pred_vpsnet_{checkpoint.stem}.h5"
        # Inference is the slow step: reuse its output only if it came from this very file
        # (checkpoints of different runs share names such as model_final.pt).
        source = path.with_name(path.name + ".source")
        digest = file_digest(checkpoint)
        fresh = reuse and path.exists() and source.exists() and source.read_text() == digest
        note = "reused" if fresh else "CPU"
        print(f"      and the reference VPSNet from {checkpoint} ({note})")
        if not fresh:
            started = time.perf_counter()
            model.predict(checkpoint, gt, path, args.progress)
            source.write_text(digest)
            seconds = time.perf_counter() - started
            frames = config.num_videos * config.frames_per_video
            print(
                f"      VPSNet ran over {frames} frames in {seconds:.0f} s "
                f"({1000 * seconds / frames:.0f} ms/frame on this CPU)"
            )
        names[path] = model.title
    elif not args.no_model:
        print('      (no reference model: pip install -e ".[model]" or pass --checkpoint)')

    print("[3/4] validating and scoring")
    rows = []
    for path, name in names.items():
        problems = validate_paths(gt, path, args.progress)
        if problems:
            for file, problem in problems[:10]:
                print(f"  {file.name}:{problem}")
            return 1
        # The GT's own protocol (cityscapes_vps_official), as the figures' subtitles say.
        result = evaluate(gt, path, progress=args.progress)
        report_dir = args.out / path.stem
        write_report(result, report_dir, overwrite=True)  # a demo run replaces the last
        rows.append((name, result.summary))
        print(f"  {path.name}: valid, VPQ {result.summary['vpq']['all']:.1f}, report {report_dir}/")

    clips = rows[0][1]["protocol"]["vc_clip_lengths"]
    print(f"[4/4] leaderboard (percent; VC over clips of {spoken_list(clips)} annotated frames)")
    print(leaderboard_table(rows))
    return 0
