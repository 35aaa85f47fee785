"""``vpsbench eval``: score one prediction, or several side by side, against a ground-truth
file."""

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
    print_outputs,
    to_stdout,
    write_output,
)
from vpsbench.cli.formats import add_format_option, check_format, print_panopticapi
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

Several predictions (--pred A.h5 B.zip C/) are scored in one pass, each GT frame decoded once,
and printed as one comparison table: a row per prediction (its path as given), a column per
headline field of the selected metrics. Every prediction is checked before any is scored.
Per-prediction outputs are named by the prediction's file or folder name without .h5/.zip
(A.h5 -> A, C/ -> C; two predictions of one name are refused): --json-dir DIR writes
DIR/<name>.json, --report DIR writes DIR/<name>/ (each an ordinary report; an existing one
needs --force, which replaces it whole) plus DIR/comparison.csv and DIR/comparison.md; --csv
PATH writes the comparison table. --json PATH takes one prediction only.

example:
  vpsbench eval --gt synth_val.h5 --pred pred.h5
  vpsbench eval --gt cityscapes_vps_val.h5 --pred submission.zip --json scores.json --report out/
  vpsbench eval --gt viper_val.h5 --pred pred.h5 --metrics vpq,stq --workers 2
  vpsbench eval --gt data/cityscapes_vps --split val --pred submission.zip
  vpsbench eval --gt kitti_step_val.h5 --pred pred_png/ --workers 2
  vpsbench eval --gt synth_val.h5 --pred A.h5 B.zip C/ --report out/ --csv comparison.csv
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the eval subcommand."""
    p = add_command(subparsers, "eval", "score predictions (VPQ, PQ, STQ, VC, IDSW)", EVAL_HELP)
    p.add_argument(
        "--gt",
        required=True,
        type=Path,
        help="ground-truth unified .h5 file, or a dataset root (with --split) converted on the fly",
    )
    p.add_argument("--split", help="split of a dataset root given as --gt (e.g. val)")
    p.add_argument(
        "--pred", required=True, nargs="+", metavar="PRED",
        help="prediction .h5, directory or zip; several are scored in one pass and compared",
    )  # fmt: skip
    p.add_argument("--metrics", default="vpq,pq,stq,vc,idsw", help="comma-separated (default: all)")
    p.add_argument(
        "--json", type=Path, metavar="PATH",
        help="write the summary JSON here (one --pred only); - prints it on stdout (the table "
        "then goes to stderr)",
    )  # fmt: skip
    p.add_argument(
        "--json-dir", type=Path, metavar="DIR",
        help="write each prediction's summary JSON to DIR/<name>.json",
    )  # fmt: skip
    p.add_argument(
        "--csv", type=Path, metavar="PATH",
        help="write the comparison table (a row per prediction, headline fields) as CSV; - "
        "prints it on stdout (the table then goes to stderr)",
    )  # fmt: skip
    p.add_argument(
        "--report", type=Path, metavar="DIR",
        help="write JSON, Markdown, CSV and plots to this dir (an existing report needs --force); "
        "several predictions: DIR/<name>/ each, plus DIR/comparison.csv and comparison.md",
    )  # fmt: skip
    p.add_argument(
        "-f", "--force", action="store_true",
        help="replace an existing --report DIR whole (no file of the earlier report stays); "
        "several predictions: each DIR/<name>/ and the comparison files",
    )  # fmt: skip
    p.add_argument(
        "--per-video", action="store_true", help="also print a table with one row per video"
    )
    add_workers_option(p, "processes that score videos (and convert a dataset root)")
    add_format_option(p)
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
    check_format(args)
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


# A prediction's outputs are named by its file or folder name without one of these suffixes.
OUTPUT_SUFFIXES = (".h5", ".hdf5", ".zip")
# What --report DIR holds beside the per-prediction folders, with several predictions.
COMPARISON_FILES = ("comparison.csv", "comparison.md")


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse --json, --json-dir, --csv and --report paths that cannot be written, and
    clashing prediction names, before anything is scored (the report's missing parents are
    made, as ``write_report`` does)."""
    preds = args.pred
    given_twice = sorted({pred for pred in preds if preds.count(pred) > 1})
    if given_twice:
        raise ValueError(f"--pred {given_twice[0]}: given twice")
    several = len(preds) > 1
    if several and args.json is not None:
        raise ValueError(
            f"--json {args.json}: takes one prediction, {len(preds)} are given (--json-dir DIR "
            "writes DIR/<name>.json for each)"
        )
    if to_stdout(args.json) and to_stdout(args.csv):
        raise ValueError("--json - and --csv -: only one of them can be printed on stdout")
    if args.json is not None:
        check_file_output("--json", args.json)
    if args.csv is not None:
        check_file_output("--csv", args.csv)
    names = None
    if args.json_dir is not None or (several and args.report is not None):
        names = output_names(preds, reserved=COMPARISON_FILES if args.report else ())
    if args.json_dir is not None:
        check_folder_output("--json-dir", args.json_dir)
        for name in names:
            if (args.json_dir / f"{name}.json").is_dir():
                raise ValueError(f"--json-dir {args.json_dir}: {name}.json is a directory")
    report = args.report
    if report is None:
        return
    if not several:
        check_report(report, f"--report {report}: ", args.force)
        return
    check_folder_output("--report", report)
    for name in names:
        check_report(report / name, f"--report {report}: {report / name} ", args.force)
    for name in COMPARISON_FILES:
        path = report / name
        if path.is_dir():
            raise ValueError(f"--report {report}: {path} is a directory")
        if path.exists() and not args.force:
            raise ValueError(f"--report {report}: {path} exists (--force replaces it)")


def check_file_output(flag: str, path: Path) -> None:
    """Refuse an output file that is a directory or whose folder is missing or read-only
    (``-``, standard output, is always fine)."""
    if to_stdout(path):
        return
    if path.is_dir():
        raise ValueError(f"{flag} {path}: is a directory")
    if not path.absolute().parent.is_dir():
        raise ValueError(f"{flag} {path}: no directory {path.parent}")
    check_writable(flag, path, path.absolute().parent)


def check_folder_output(flag: str, folder: Path) -> None:
    """Refuse an output folder that is a file or cannot be made (missing parents are made)."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{flag} {folder}: is a file, not a directory")
    check_writable(flag, folder, next(p for p in folder.absolute().parents if p.exists()))


def check_report(folder: Path, where: str, force: bool) -> None:
    """The one-report rules of a --report folder: a new or empty folder, or (with --force) an
    earlier report, which is then replaced whole. ``where`` starts each message."""
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{where}is a file, not a directory")
    check_writable("--report", folder, next(p for p in folder.absolute().parents if p.exists()))
    if folder.is_dir() and any(folder.iterdir()):
        if not force:
            raise ValueError(f"{where}exists and is not empty (--force replaces it)")
        from vpsbench.report import check_replaceable

        check_replaceable(folder)


def output_name(pred: str) -> str:
    """The name of a prediction's outputs: its file or folder name without .h5/.hdf5/.zip
    (``runs/A.h5`` -> ``A``, ``B.zip`` -> ``B``, ``C/`` -> ``C``)."""
    name = Path(os.path.abspath(pred)).name
    for suffix in OUTPUT_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    if not name:
        raise ValueError(f"--pred {pred}: has no file or folder name to name its outputs by")
    return name


def output_names(preds: list[str], reserved: tuple[str, ...] = ()) -> list[str]:
    """Each prediction's output name; two predictions of one name (case aside, as some file
    systems do) or a name of ``reserved`` are refused."""
    names = [output_name(pred) for pred in preds]
    seen: dict[str, str] = {}
    for pred, name in zip(preds, names, strict=True):
        if name.casefold() in {r.casefold() for r in reserved}:
            raise ValueError(
                f"--pred {pred}: its outputs would be named {name!r}, which --report keeps for "
                "the comparison table; rename the prediction"
            )
        other = seen.setdefault(name.casefold(), pred)
        if other != pred:
            raise ValueError(
                f"--pred {pred}: its outputs would be named {name!r}, as those of {other}; give "
                "the predictions distinct file or folder names"
            )
    return names


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
    from vpsbench.evaluation import evaluate, evaluate_many
    from vpsbench.report import write_report

    options = dict(
        metrics=args.metrics,
        protocol=protocol_override(args, gt),
        workers=args.workers,
        progress=args.progress,
        vc_ns=None if args.vc_n is None else tuple(args.vc_n),
        vc_mode=args.vc_mode,
        tube_rule=args.tube_rule,
        limits=limits_from_args(args),
    )
    if len(args.pred) > 1:
        return score_many(args, evaluate_many(gt, args.pred, **options))
    result = evaluate(gt, args.pred[0], **options)
    if args.format == "panopticapi":
        return print_panopticapi(args, result)
    # Outputs are written only now that scoring succeeded, each atomically, and before the
    # table: a reader that closes stdout early (| head) must not cost the files.
    written, data = write_output(args.json, result.to_json()) if args.json else ([], None)
    written += write_json_dir(args, [result])
    if args.report:
        files = write_report(result, args.report, overwrite=args.force)
        written.append(f"wrote report to {args.report}/ ({len(files)} files)")
    csv_lines, csv_data = write_csv(args, [result])
    print_outputs(result.table(per_video=args.per_video), written + csv_lines, data or csv_data)
    return 0


def score_many(args: argparse.Namespace, results: list) -> int:
    """Write the outputs of several predictions (each under its name), then print the
    comparison table; as with one, only once every prediction has been scored."""
    from vpsbench.report import write_report
    from vpsbench.report.comparison import (
        render_comparison,
        write_comparison_csv,
        write_comparison_markdown,
    )

    written = write_json_dir(args, results)
    if args.report:
        for name, result in zip(output_names(args.pred), results, strict=True):
            files = write_report(result, args.report / name, overwrite=args.force)
            written.append(f"wrote report to {args.report / name}/ ({len(files)} files)")
        csv, markdown = (args.report / name for name in COMPARISON_FILES)
        write_comparison_csv(csv, args.pred, results)
        write_comparison_markdown(markdown, args.pred, results)
        written.append(f"wrote {csv} and {markdown}")
    csv_lines, csv_data = write_csv(args, results)
    table = render_comparison(args.pred, results, per_video=args.per_video)
    print_outputs(table, written + csv_lines, csv_data)
    return 0


def write_json_dir(args: argparse.Namespace, results: list) -> list[str]:
    """--json-dir DIR: each prediction's summary JSON as DIR/<name>.json (DIR is made)."""
    if args.json_dir is None:
        return []
    args.json_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, result in zip(output_names(args.pred), results, strict=True):
        path = args.json_dir / f"{name}.json"
        result.to_json(path)
        written.append(f"wrote {path}")
    return written


def write_csv(args: argparse.Namespace, results: list) -> tuple[list[str], str | None]:
    """--csv PATH: the comparison table, a row per prediction; ("wrote" lines, the CSV text
    when PATH is ``-``, for stdout)."""
    if args.csv is None:
        return [], None
    from vpsbench.report.comparison import comparison_csv

    return write_output(args.csv, comparison_csv(args.pred, results))
