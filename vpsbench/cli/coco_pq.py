"""``vpsbench pq``: image PQ of COCO-panoptic files, as panopticapi's ``pq_compute``."""

from __future__ import annotations

import argparse
from pathlib import Path

from vpsbench.cli.common import (
    add_command,
    add_workers_option,
    print_outputs,
    to_stdout,
    write_output,
)

PQ_HELP = """
Scores a COCO-panoptic prediction (JSON + folder of PNGs) against a COCO-panoptic GT with image
PQ exactly as panopticapi's pq_compute (cocodataset/panopticapi, panopticapi/evaluation.py):
segments of one category match with IoU > 0.5 (the prediction's overlap with void, id 0,
removed from the union), crowd GT is never matched nor missed, and an unmatched prediction
more than half on void plus its category's crowd region is no false positive. Per-class PQ,
SQ and RQ are averaged over the GT categories with TP + FP + FN > 0, for All, Things and
Stuff. It prints panopticapi's table (percent); --json writes what pq_compute returns:
{"All": {"pq", "sq", "rq", "n"}, "per_class": {category_id: {"pq", "sq", "rq"}}, "Things",
"Stuff"} as fractions (0-1).

PNG ids are R + 256 G + 256^2 B of 8-bit RGB PNGs. Predictions are paired with the GT by
image_id and their PNGs found by the annotation's file_name. Refused with one line (exit 2),
as panopticapi refuses them: a GT image without a prediction, a missing PNG, a prediction
PNG id not in its segments_info or a listed id not in the PNG, a predicted category not in
the GT categories; also PNGs that are not 8-bit RGB or differ in size, and ids listed twice
or 0 (docs/METRICS.md, "Image PQ").

example:
  vpsbench pq --gt-json panoptic_val2017.json --gt-folder panoptic_val2017/ \\
      --pred-json pred.json --pred-folder pred/ --json pq.json --workers 4
  vpsbench pq --gt-json gt.json --pred-json pred.json    # PNGs in gt/ and pred/
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the pq subcommand."""
    p = add_command(
        subparsers, "pq", "image PQ of COCO-panoptic files (panopticapi's pq_compute)", PQ_HELP
    )
    p.add_argument("--gt-json", required=True, type=Path, help="COCO-panoptic GT JSON")
    p.add_argument(
        "--gt-folder",
        type=Path,
        help="folder of the GT PNGs (default: the GT JSON's path without .json, as panopticapi)",
    )
    p.add_argument("--pred-json", required=True, type=Path, help="COCO-panoptic prediction JSON")
    p.add_argument(
        "--pred-folder",
        type=Path,
        help="folder of the prediction PNGs (default: the prediction JSON's path without .json)",
    )
    p.add_argument(
        "--json", type=Path, metavar="OUT",
        help="write pq_compute's result (fractions) here; - prints it on stdout (the table "
        "then goes to stderr)",
    )  # fmt: skip
    add_workers_option(p, "processes that score images")
    p.set_defaults(run=run_pq)


def run_pq(args: argparse.Namespace) -> int:
    from vpsbench.io.coco_panoptic import pq_compute
    from vpsbench.report.panopticapi import format_table, json_text

    if args.json is not None and not to_stdout(args.json):  # refused before anything is scored
        if args.json.is_dir():
            raise ValueError(f"--json {args.json}: is a directory")
        if not args.json.absolute().parent.is_dir():
            raise ValueError(f"--json {args.json}: no directory {args.json.parent}")
    results = pq_compute(
        args.gt_json,
        args.pred_json,
        args.gt_folder,
        args.pred_folder,
        workers=args.workers,
        progress=args.progress,
    )
    # Written before the table: | head must not cost the file.
    written, data = write_output(args.json, json_text(results)) if args.json else ([], None)
    print_outputs(format_table(results), written, data)
    return 0
