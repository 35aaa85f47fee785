"""``vpsbench validate`` and ``vpsbench info``: check unified files (and submissions against a
GT) and summarise them."""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

from vpsbench.cli.common import add_command, add_workers_option, progress
from vpsbench.messages import count

VALIDATE_HELP = """
Checks the whole format contract (docs/FORMAT.md): root attributes, category table, protocol,
video index, frame tables (order, stems), dataset shapes/dtypes/chunking, image headers, every
label value (known category, exact void, stuff with instance 0), one category per instance in
ground truth, and track tables. Every problem is printed with its location in the file.

Given a ground-truth and a prediction file, it also checks that they belong together (the
prediction's GT content id, categories, encoding, one map per annotated GT frame, sizes).

Given a ground-truth file and a submission in an official layout (a zip or a folder:
pred.json + pan_pred/, per-video folders, STEP PNG folders), it reads the submission as
`vpsbench eval` does (every PNG decoded, every id and category checked against its JSON and
the GT) and reports the first problem that would stop the evaluation, without the scores.

exit status: 0 valid, 1 problems found, 2 a file cannot be read.

example:
  vpsbench validate synth_val.h5
  vpsbench validate synth_val.h5 pred.h5
  vpsbench validate cityscapes_vps_val.h5 submission.zip
"""

INFO_HELP = """
Prints what a unified file holds: kind, dataset/split, videos and frames, frame size,
categories, evaluation protocol, and its size on disk (label maps and images separately).

example:
  vpsbench info synth_val.h5
  vpsbench info synth_val.h5 --json
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the validate and info subcommands."""
    p = add_command(
        subparsers, "validate", "check unified files, pairs and submissions", VALIDATE_HELP
    )
    p.add_argument("file", type=Path, help="a unified .h5 file (ground truth or prediction)")
    p.add_argument(
        "pred", type=Path, nargs="?",
        help="a prediction of FILE, checked as a pair: a unified .h5 file or a submission",
    )  # fmt: skip
    add_workers_option(p, "processes that read a submission")
    p.set_defaults(run=run_validate)

    p = add_command(subparsers, "info", "summarise a unified file", INFO_HELP)
    p.add_argument("file", type=Path, help="a unified .h5 file")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run_info)


def validate_paths(gt: Path, pred: Path | None, show_progress: bool) -> list:
    """Problems of one file, or of two files and of their pairing."""
    from vpsbench.format import VPSFile
    from vpsbench.format.validate import validate_file, validate_pair

    problems = []
    for path in [gt] + ([pred] if pred else []):
        found = validate_file(
            str(path), progress=lambda it, p=path: progress(it, show_progress, p.name, "video")
        )
        problems += [(path, p) for p in found]
    if pred and not problems:
        with VPSFile(gt) as g, VPSFile(pred) as p:
            # A pair problem is the prediction's unless it names the file it is in.
            problems += [(Path(q.file or pred), q) for q in validate_pair(g, p)]
    return problems


def validate_submission(gt: Path, submission: Path, show_progress: bool, workers: int = 1) -> list:
    """The problem that stops ``vpsbench eval`` from scoring a submission against ``gt`` (as
    (path, " message"); [] when there is none): the submission read exactly as eval reads it."""
    from vpsbench.evaluation import EvaluationError, evaluate

    try:
        evaluate(gt, submission, metrics="vpq", workers=workers, progress=show_progress)
    except (EvaluationError, ValueError, OSError) as err:
        message = str(err)
        for name in (str(submission), submission.name):  # the path is printed once, before
            if message.startswith(f"{name}: "):
                message = message[len(name) + 2 :]
                break
        return [(submission, f" {message}")]
    return []


def run_validate(args: argparse.Namespace) -> int:
    from vpsbench.evaluation.predictions import is_hdf5
    from vpsbench.format import FormatError

    if not args.file.is_file():
        raise FileNotFoundError(f"{args.file}: no such file")
    if args.pred is not None and not args.pred.exists():
        raise FileNotFoundError(f"{args.pred}: no such file or directory")
    submission = args.pred is not None and not (args.pred.is_file() and is_hdf5(args.pred))
    try:
        if submission:
            problems = validate_paths(args.file, None, args.progress)
            if not problems:
                problems = validate_submission(args.file, args.pred, args.progress, args.workers)
        else:
            problems = validate_paths(args.file, args.pred, args.progress)
    except FormatError as err:
        print(f"vpsbench validate: cannot read: {err}", file=sys.stderr)
        return 2
    for path, problem in problems:
        print(f"{path.name}:{problem}")
    names = " + ".join(p.name for p in (args.file, args.pred) if p)
    if problems:
        print(f"{names}: INVALID ({count(len(problems), 'problem')})")
        return 1
    print(f"{names}: valid")
    return 0


def image_bytes(dataset) -> int:
    """Bytes of the encoded images of a video. They are variable-length entries, kept outside
    the dataset's own storage (which holds only a reference per entry), so each is read."""
    return sum(len(dataset[i]) for i in range(dataset.shape[0]))


def file_summary(path: Path) -> dict:
    """A JSON-able summary of a unified file (reads metadata and storage sizes only)."""
    import dataclasses

    from vpsbench.format import VPSFile, schema

    with VPSFile(path) as f:
        total, annotated = f.num_frames()
        sizes = sorted({(v.height, v.width) for v in f})
        storage = {"panoptic": 0, "images": 0}
        for video in f:
            group = f.h5[schema.VIDEOS][video.video_id]
            if schema.PANOPTIC in group:
                storage["panoptic"] += group[schema.PANOPTIC].id.get_storage_size()
            if schema.IMAGES in group:
                storage["images"] += image_bytes(group[schema.IMAGES])
        info = f.info
        summary = {
            "file": str(path),
            "kind": info.kind,
            "dataset": info.dataset,
            "split": info.split,
            "format_version": info.format_version,
            "created": info.created,
            "tool_version": info.tool_version,
            "source": info.source,
            "content_id": info.content_id,
            "label_divisor": info.label_divisor,
            "ignore_label": info.ignore_label,
            "videos": len(f),
            "frames": total,
            "annotated_frames": annotated,
            "label_spacing": list(f.label_spacing()),
            "max_annotated_per_video": max((v.num_annotated for v in f), default=0),
            "frame_sizes": [list(s) for s in sizes],
            "categories": len(f.categories),
            "thing_categories": [c.name for c in f.categories if c.isthing],
            "stuff_categories": [c.name for c in f.categories if not c.isthing],
            "protocol": dataclasses.asdict(f.protocol) if f.protocol else None,
            "bytes_on_disk": path.stat().st_size,
            "bytes_panoptic": storage["panoptic"],
            "bytes_images": storage["images"],
        }
        if info.predicts:
            summary["predicts"] = info.predicts.__dict__
    return summary


def format_summary(s: dict) -> str:
    """Human-readable lines for ``file_summary``."""
    mib = 1024 * 1024
    lines = [
        f"{s['file']}: {s['kind']} of {s['dataset']}/{s['split']} "
        f"(format {s['format_version']}, vpsbench {s['tool_version']}, created {s['created']})",
        f"  videos {s['videos']}, frames {s['frames']} ({s['annotated_frames']} annotated), "
        f"sizes {' '.join('x'.join(map(str, hw)) for hw in s['frame_sizes'])} (HxW)",
        f"  categories {s['categories']}: things {', '.join(s['thing_categories'])}",
        f"    stuff {', '.join(s['stuff_categories'])}",
        f"  labels: semantic*{s['label_divisor']}+instance, void = {s['ignore_label']}",
    ]
    if s["protocol"]:
        from vpsbench.report.markdown import describe_spacing

        p = s["protocol"]
        lines.append(
            f"  protocol {p.get('name', 'custom')}: VPQ windows {list(p['vpq_window_sizes'])} "
            "annotated frames "
            f"reported as k={list(p['vpq_k'])}, min tube area {p['min_tube_area']}, "
            f"excluded categories {list(p['excluded_category_ids'])}, "
            f"VC clip lengths {list(p['vc_clip_lengths'])}"
        )
        lines.append(f"    {describe_spacing(list(p['vpq_window_sizes']), s['label_spacing'])}")
        longest = s["max_annotated_per_video"]
        windows = [n for n in p["vpq_window_sizes"] if n > longest]
        if windows:
            lines.append(
                f"    VPQ will be empty: its windows of {'/'.join(map(str, windows))} annotated "
                f"frames are longer than the longest video ({longest})"
            )
        too_long = [n for n in p["vc_clip_lengths"] if n > longest]
        if too_long:
            lines.append(
                f"    VC_{'/VC_'.join(map(str, too_long))} will be empty: the longest video has "
                f"{longest} annotated frames"
            )
    if "predicts" in s:
        ref = s["predicts"]
        lines.append(f"  predicts: {ref['dataset']}/{ref['split']} ({ref['file']})")
    per_frame = s["bytes_panoptic"] / max(s["annotated_frames"], 1) / 1024
    lines.append(
        f"  on disk {s['bytes_on_disk'] / mib:.1f} MiB: label maps {s['bytes_panoptic'] / mib:.1f} "
        f"MiB ({per_frame:.1f} KiB/frame), images {s['bytes_images'] / mib:.1f} MiB"
    )
    if s["source"]:
        lines.append(f"  source: {s['source']}")
    return "\n".join(lines)


def is_zip(path: Path) -> bool:
    """Whether ``path`` is a zip archive (by its content, not its name)."""
    return path.is_file() and zipfile.is_zipfile(path)


def run_info(args: argparse.Namespace) -> int:
    kind = "a folder" if args.file.is_dir() else "a zip archive" if is_zip(args.file) else None
    if kind:
        raise ValueError(
            f"{args.file} is {kind}; info summarises a unified .h5 file (a submission is "
            f"checked with: vpsbench validate GT.h5 {args.file})"
        )
    if not args.file.is_file():
        raise FileNotFoundError(f"{args.file}: no such file")
    summary = file_summary(args.file)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0
