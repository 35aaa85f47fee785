"""``vpsbench eval --format``: the image PQ of an evaluation in another tool's shape.

``--format panopticapi`` prints panopticapi's table and writes ``--json`` as panopticapi's
``pq_compute`` returns it (``vpsbench.report.panopticapi``); ``--report`` stays vpsbench's.
"""

from __future__ import annotations

import argparse

from vpsbench.cli.common import print_outputs, write_output

FORMATS = ("vpsbench", "panopticapi")


def add_format_option(p: argparse.ArgumentParser) -> None:
    """``--format`` of ``vpsbench eval``."""
    p.add_argument(
        "--format", choices=FORMATS, default="vpsbench",
        help="vpsbench: every metric, in percent (default); panopticapi: image PQ as "
        "panopticapi's pq_compute prints and returns it ({'All', 'per_class', 'Things', "
        "'Stuff'}, fractions) on stdout and in --json; needs the pq metric",
    )  # fmt: skip


def check_format(args: argparse.Namespace) -> None:
    """Refuse, before anything is scored, what --format panopticapi cannot give."""
    if getattr(args, "format", "vpsbench") != "panopticapi":
        return
    metrics = [m.strip().lower() for m in str(args.metrics).split(",")]
    if "pq" not in metrics:
        raise ValueError(
            f"--format panopticapi reports image PQ, and --metrics {args.metrics} leaves it "
            "out: add pq (e.g. --metrics pq)"
        )
    preds = args.pred if isinstance(args.pred, list) else [args.pred]
    if len(preds) > 1:
        raise ValueError(
            f"--format panopticapi takes one prediction, {len(preds)} are given; score them "
            "one at a time"
        )
    for flag in ("json_dir", "csv"):
        if getattr(args, flag, None) is not None:
            raise ValueError(
                f"--{flag.replace('_', '-')} is not written in --format panopticapi; use --json"
            )


def print_panopticapi(args: argparse.Namespace, result) -> int:
    """Write --json (panopticapi's dict) and --report (vpsbench's), then print panopticapi's
    table; as ``vpsbench eval`` does, the files come first, each atomically."""
    from vpsbench.report import write_report
    from vpsbench.report.panopticapi import format_table, json_text, to_panopticapi

    results = to_panopticapi(result)
    written, data = write_output(args.json, json_text(results)) if args.json else ([], None)
    if args.report:
        files = write_report(result, args.report, overwrite=args.force)
        written.append(f"wrote report to {args.report}/ ({len(files)} files)")
    print_outputs(format_table(results), written, data)
    return 0
