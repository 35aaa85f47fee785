"""``vpsbench eval``: score a prediction against a ground-truth file."""

from __future__ import annotations

import argparse
import inspect
import os
from pathlib import Path

from vpsbench.cli.common import (
    add_command,
    add_limit_options,
    add_workers_option,
    limits_from_args,
)
from vpsbench.datasets import Dataset, detect_dataset
from vpsbench.plugins import CONVERTERS, load_one

EVAL_HELP = """
Scores a prediction against a unified ground-truth file with the dataset's official protocol,
read from the GT file (Cityscapes-VPS: windows of 1,2,3,4 annotated frames reported as
k=0,5,10,15, VC_2/4/6; VIPER: 1,5,10,15 annotated frames, tubes < 1024 px skipped, class 11
excluded, VC_8/16; KITTI-STEP, MOTChallenge-STEP: STQ as deeplab2, VPQ windows of 1,6,11,16
frames as an extra). Windows and VC clips count annotated frames; the output says how many
source frames they span.

PRED is a unified prediction file (.h5), or an official Cityscapes-VPS submission: a directory
with pred.json + pan_pred/*.png, or submission.zip. Submission frames are paired by image_id /
file_name where pred.json gives them, else by the official order (GT frames sorted by name).
A submission is refused (exit 2, nothing written) when it breaks the contract of
docs/METRICS.md, "Submission contract": ids and category ids must be JSON integers, id 0 is not
listed, PNGs are 8-bit RGB of the GT frame's size, and the limits below hold (the same
defaults as 'vpsbench leaderboard score'). For KITTI-STEP and MOTChallenge-STEP, PRED may
also be a directory PRED/SSSS/FFFFFF.png of 8-bit RGB PNGs in the release's encoding (R = class,
256 G + B = instance id) for exactly the annotated GT frames (docs/METRICS.md, "STEP prediction
directories").

Metrics: vpq (official Cityscapes-VPS VPQ), pq (image PQ, panopticapi), stq (STQ/AQ/SQ as
deeplab2), vc (video consistency VC_n), idsw (identity switches, MOTSA). Scores are percent.

example:
  vpsbench eval --gt synth_val.h5 --pred pred.h5
  vpsbench eval --gt cityscapes_vps_val.h5 --pred submission.zip --json scores.json --report out/
  vpsbench eval --gt viper_val.h5 --pred pred.h5 --metrics vpq,stq --workers 2
  vpsbench eval --gt data/cityscapes_vps --split val --pred submission.zip
  vpsbench eval --gt kitti_step_val.h5 --pred pred_png/ --workers 2
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the eval subcommand."""
    p = add_command(subparsers, "eval", "score a prediction (VPQ, PQ, STQ, VC, IDSW)", EVAL_HELP)
    p.add_argument(
        "--gt",
        required=True,
        type=Path,
        help="ground-truth unified .h5 file, or a dataset root (with --split) converted on the fly",
    )
    p.add_argument("--split", help="split of a dataset root given as --gt (e.g. val)")
    p.add_argument("--pred", required=True, type=Path, help="prediction .h5, directory or zip")
    p.add_argument("--metrics", default="vpq,pq,stq,vc,idsw", help="comma-separated (default: all)")
    p.add_argument("--json", type=Path, help="write the summary JSON here")
    p.add_argument(
        "--report", type=Path, metavar="DIR",
        help="write JSON, Markdown, CSV and plots to this dir (an existing report needs --force)",
    )  # fmt: skip
    p.add_argument(
        "-f", "--force", action="store_true",
        help="replace an existing --report DIR whole (no file of the earlier report stays)",
    )  # fmt: skip
    p.add_argument(
        "--per-video", action="store_true", help="also print a table with one row per video"
    )
    add_workers_option(p, "processes that score videos (and convert a dataset root)")
    p.add_argument(
        "--protocol",
        metavar="NAME",
        help="score with this registered protocol instead of the GT file's (vpsbench protocols)",
    )
    p.add_argument(
        "--windows",
        type=int,
        nargs="+",
        metavar="N",
        help="override the VPQ window sizes (their k labels become (N-1)*5 unless --k is given)",
    )
    p.add_argument("--k", type=int, nargs="+", help="k labels of --windows")
    p.add_argument("--min-tube-area", type=int, help="override the minimum GT tube area (px)")
    p.add_argument("--exclude", type=int, nargs="*", help="override the excluded category ids")
    p.add_argument(
        "--vc-n",
        type=int,
        nargs="+",
        help="VC clip lengths in annotated frames (default: the GT protocol's, e.g. "
        "Cityscapes-VPS 2 4 6, VIPER 8 16)",
    )
    p.add_argument(
        "--vc-mode",
        choices=("corrected", "vspw_official"),
        default="corrected",
        help="VC clip count: all C-n+1 clips, or the VSPW script's C-n (default: corrected)",
    )
    p.add_argument(
        "--tube-rule",
        choices=("official", "split"),
        default="official",
        help="VPQ prediction tubes: one colour id with the category of its first frame in the "
        "window, as the official scorer (default), or split where an id changes category",
    )
    add_limit_options(p)
    p.set_defaults(run=run_eval)


def protocol_override(args: argparse.Namespace, gt_path: Path):
    """The protocol to score with when the command line changes the GT file's (else None):
    ``--protocol NAME``, then ``--windows``/``--min-tube-area``/``--exclude`` on top (a
    protocol changed that way is named ``custom``)."""
    from vpsbench.datasets import get_protocol
    from vpsbench.format import VPSFile

    named = get_protocol(args.protocol) if args.protocol else None
    if args.windows is None and args.min_tube_area is None and args.exclude is None:
        return named
    if named is None:
        with VPSFile(gt_path) as gt:
            named = gt.protocol
    changes = {}
    if args.windows is not None:
        ks = args.k if args.k is not None else [(n - 1) * 5 for n in args.windows]
        if len(ks) != len(args.windows):
            raise ValueError("--k needs one label per --windows size")
        changes.update(vpq_window_sizes=tuple(args.windows), vpq_k=tuple(ks))
    if args.min_tube_area is not None:
        changes["min_tube_area"] = args.min_tube_area
    if args.exclude is not None:
        changes["excluded_category_ids"] = tuple(args.exclude)
    return named.changed(**changes)


def run_eval(args: argparse.Namespace) -> int:
    from vpsbench.io.archive import PrivateDirectory

    limits_from_args(args)  # refuse bad limits before converting a dataset root
    check_outputs(args)
    options = conversion_options(args)
    if not args.gt.is_dir():
        if options:
            raise ValueError(f"{flags(options)}: only for a dataset root (--gt ROOT --split S)")
        return score(args, args.gt)
    if not args.split:
        raise ValueError(f"{args.gt} is a directory: give --split to convert that split")
    dataset = detect_dataset(args.gt, args.split)
    convert = converter_for(dataset)
    unknown = [name for name in options if name not in inspect.signature(convert).parameters]
    if unknown:
        raise ValueError(f"{flags(unknown)}: not an option of the {dataset.title} converter")
    with PrivateDirectory() as tmp:
        gt = convert(args.gt, args.split, tmp / "gt.h5", args.workers, args.progress, **options)
        return score(args, gt)


def conversion_options(args: argparse.Namespace) -> dict:
    """The converter options given on the command line (plug-ins list them in
    ``converter_options``; one not given is None and left to the converter)."""
    names = getattr(args, "converter_options", ())
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def flags(names) -> str:
    """Command-line spellings of option dests: ``frames_per_video`` -> ``--frames-per-video``."""
    return ", ".join("--" + name.replace("_", "-") for name in names)


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse --json and --report paths that cannot be written, before anything is scored
    (the report's missing parents are made, as ``write_report`` does)."""
    if args.json is not None:
        if args.json.is_dir():
            raise ValueError(f"--json {args.json}: is a directory")
        if not args.json.absolute().parent.is_dir():
            raise ValueError(f"--json {args.json}: no directory {args.json.parent}")
        check_writable("--json", args.json, args.json.absolute().parent)
    report = args.report
    if report is None:
        return
    if report.exists() and not report.is_dir():
        raise ValueError(f"--report {report}: is a file, not a directory")
    check_writable("--report", report, next(p for p in report.absolute().parents if p.exists()))
    if report.is_dir() and any(report.iterdir()):
        if not args.force:
            raise ValueError(f"--report {report}: exists and is not empty (--force replaces it)")
        from vpsbench.report import check_replaceable

        check_replaceable(report)


def check_writable(flag: str, path: Path, folder: Path) -> None:
    """Refuse an output whose folder (where its temporary file goes) cannot be written."""
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: cannot write in {folder}")


def converter_for(dataset: Dataset):
    """The installed label converter of a dataset (a ``vpsbench.converters`` entry point)."""
    convert = load_one(CONVERTERS, dataset.name)
    if convert is None:
        raise ValueError(
            f"no converter for {dataset.title} is installed; convert it to a unified file "
            "first or install the vpsbench converters"
        )
    return convert


def score(args: argparse.Namespace, gt: Path) -> int:
    """Evaluate, write the requested outputs, then print the table."""
    from vpsbench.evaluation import evaluate
    from vpsbench.report import write_report

    result = evaluate(
        gt,
        args.pred,
        metrics=args.metrics,
        protocol=protocol_override(args, gt),
        workers=args.workers,
        progress=args.progress,
        vc_ns=None if args.vc_n is None else tuple(args.vc_n),
        vc_mode=args.vc_mode,
        tube_rule=args.tube_rule,
        limits=limits_from_args(args),
    )
    # Outputs are written only now that scoring succeeded, each atomically, and before the
    # table: a reader that closes stdout early (| head) must not cost the files.
    written = []
    if args.json:
        result.to_json(args.json)
        written.append(f"wrote {args.json}")
    if args.report:
        files = write_report(result, args.report, overwrite=args.force)
        written.append(f"wrote report to {args.report}/ ({len(files)} files)")
    print(result.table(per_video=args.per_video))
    for line in written:
        print(line)
    return 0
