"""``vpsbench leaderboard``: list, add, score (untrusted submissions) and build the page."""

from __future__ import annotations

import argparse
from pathlib import Path

from vpsbench.cli.common import add_command, add_limit_options, limits_from_args

LEADERBOARD_HELP = """
The registry holds one validated JSON file per result (docs/LEADERBOARD.md): published numbers
with their citation and verification status, and results reproduced with vpsbench with their
exact command. --registry DIR points at another registry (default: leaderboard/entries/).

example:
  vpsbench leaderboard list --dataset cityscapes_vps
  vpsbench leaderboard add my_method.json
  vpsbench leaderboard score submission.zip --gt cityscapes_vps_val.h5 --method MyNet
  vpsbench leaderboard build --out site/
"""

LIST_HELP = """
Prints one table per dataset split, best VPQ first: VPQ per k, mean VPQ (All/Things/Stuff),
STQ, where the numbers come from and whether they were verified.

example:
  vpsbench leaderboard list
  vpsbench leaderboard list --dataset vipseg --split val
"""

ADD_HELP = """
Validates ENTRY.json against the schema (docs/LEADERBOARD.md) and copies it into the registry
as <id>.json. An invalid entry is refused with every problem named; an existing id is refused
unless --replace is given.

example:
  vpsbench leaderboard add my_method_cityscapes_vps_val.json
  vpsbench leaderboard add fixed.json --replace
"""

SCORE_HELP = """
Scores an untrusted submission against a GT file and adds a 'reproduced' entry (vpsbench
version, command, seed, commit, date, hardware). SUBMISSION is a unified prediction .h5, or
the official layout (pred.json + pan_pred/*.png) as a directory or zip. Before anything is
scored it is refused, with one line saying why and the registry untouched, when: a zip member
escapes the extraction directory or is a link or special file; the archive exceeds the size,
file-count or compression-ratio limits; a directory holds links or special files; pred.json
is too large or its ids are not JSON integers; a PNG is not an 8-bit RGB PNG of the GT frame's
size; an HDF5 file links outside itself or declares label maps of another shape or a
non-integer dtype. The rules and limits are those of 'vpsbench eval' (docs/METRICS.md,
"Submission contract"). Nothing is unpickled; zips are extracted into a private
temporary directory that is always removed.

example:
  vpsbench leaderboard score submission.zip --gt cityscapes_vps_val.h5 --method MyNet
  vpsbench leaderboard score pred.h5 --gt synth_val.h5 --method MyNet --variant R50 --seed 1
"""

BUILD_HELP = """
Writes a static page that works from the file system with no network: index.html (sortable
tables per dataset split, CSS and JS inline), the matplotlib plots beside it (VPQ vs k per
method, VPQ vs STQ) and LEADERBOARD.md with the same tables for a README. --markdown also
writes that Markdown elsewhere (the repository keeps leaderboard/LEADERBOARD.md current).

example:
  vpsbench leaderboard build --out site/
  vpsbench leaderboard build --out site/ --markdown leaderboard/LEADERBOARD.md
  vpsbench leaderboard build --out /tmp/lb --registry my_entries/
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the leaderboard command and its list/add/score/build subcommands."""
    p = add_command(
        subparsers, "leaderboard", "results registry and rendered page", LEADERBOARD_HELP
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    register_list(actions)
    register_add(actions)
    register_score(actions)
    register_build(actions)


def add_registry_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--registry", type=Path, help="registry folder (default: leaderboard/entries)")


def register_list(actions: argparse._SubParsersAction) -> None:
    p = add_command(actions, "list", "print the leaderboard tables", LIST_HELP)
    p.add_argument("--dataset", help="only this dataset (e.g. cityscapes_vps, vipseg)")
    p.add_argument("--split", help="only this split (e.g. val)")
    add_registry_option(p)
    p.set_defaults(run=run_list)


def register_add(actions: argparse._SubParsersAction) -> None:
    p = add_command(actions, "add", "validate an entry and add it to the registry", ADD_HELP)
    p.add_argument("entry", type=Path, metavar="ENTRY.json", help="the entry file")
    p.add_argument("--replace", action="store_true", help="replace an entry with the same id")
    add_registry_option(p)
    p.set_defaults(run=run_add)


def register_score(actions: argparse._SubParsersAction) -> None:
    p = add_command(actions, "score", "score a submission safely and add it", SCORE_HELP)
    p.add_argument("submission", type=Path, metavar="SUBMISSION", help=".h5, directory or zip")
    p.add_argument("--gt", required=True, type=Path, help="ground-truth unified .h5 file")
    p.add_argument("--method", required=True, help="method name shown in the tables")
    p.add_argument("--variant", help="backbone, setting, ... (optional)")
    p.add_argument("--seed", type=int, help="seed of the run that made the prediction")
    p.add_argument("--notes", help="free text shown with the entry")
    p.add_argument("--id", dest="entry_id", help="entry id (default: from method/variant/split)")
    p.add_argument("--prediction-command", help="the command that made the prediction")
    p.add_argument("--metrics", help="comma-separated metrics (default: all)")
    p.add_argument("--workers", type=int, default=1, help="processes (default: 1)")
    p.add_argument("--replace", action="store_true", help="replace an entry with the same id")
    add_limit_options(p)
    add_registry_option(p)
    p.set_defaults(run=run_score)


def register_build(actions: argparse._SubParsersAction) -> None:
    p = add_command(actions, "build", "render index.html, plots and LEADERBOARD.md", BUILD_HELP)
    p.add_argument("--out", required=True, type=Path, help="site directory to write")
    p.add_argument("--markdown", type=Path, help="also write LEADERBOARD.md to this path")
    add_registry_option(p)
    p.set_defaults(run=run_build)


def registry_of(args: argparse.Namespace) -> Path:
    from leaderboard.registry import DEFAULT_REGISTRY

    return args.registry or DEFAULT_REGISTRY


def run_list(args: argparse.Namespace) -> int:
    from leaderboard.registry import list_entries
    from leaderboard.tables import build_tables, render_console

    entries = list_entries(registry_of(args), args.dataset, args.split)
    print(render_console(build_tables(entries)))
    return 0


def run_add(args: argparse.Namespace) -> int:
    from leaderboard.registry import add_entry_file

    path = add_entry_file(args.entry, registry_of(args), args.replace)
    print(f"added {path}")
    return 0


def run_score(args: argparse.Namespace) -> int:
    from leaderboard.submit import RunInfo, submit

    if args.workers < 1:
        raise ValueError("--workers must be >= 1")
    limits = limits_from_args(args)
    info = RunInfo(
        args.method, args.variant, args.seed, args.notes, args.entry_id, args.prediction_command
    )
    path, _, result = submit(
        args.submission,
        args.gt,
        info,
        registry_of(args),
        args.replace,
        args.metrics,
        args.workers,
        limits,
    )
    print(result.table())
    print(f"added {path}")
    return 0


def run_build(args: argparse.Namespace) -> int:
    from leaderboard.registry import load_entries
    from leaderboard.render import build_site

    written = build_site(load_entries(registry_of(args)), args.out)
    if args.markdown:
        args.markdown.write_text((args.out / "LEADERBOARD.md").read_text("utf-8"), "utf-8")
        print(f"wrote {args.markdown}")
    print(f"wrote {len(written)} files to {args.out}/ (open {args.out / 'index.html'})")
    return 0
