"""``vpsbench leaderboard``: list, add, score (untrusted submissions), build the page, and
print a GT's digest."""

from __future__ import annotations

import argparse
from pathlib import Path

from vpsbench.cli.common import (
    add_command,
    add_limit_options,
    add_workers_option,
    limits_from_args,
)

LEADERBOARD_HELP = """
The registry holds one validated JSON file per result (docs/LEADERBOARD.md): published numbers
with their citation and verification status, and results reproduced with vpsbench with their
exact command. The shipped registry (the package's leaderboard/entries/) is never written:
add and score write into your registry, named with --registry DIR or $VPSBENCH_REGISTRY, and
refuse when neither is given. list and build show the shipped entries plus yours.

A result is ranked in an official table (leaderboard/splits.py) only when its GT is that
table's official GT (same content_id and labels digest); another GT goes into a custom table
named with score --split, shown apart and never verified.

example:
  vpsbench leaderboard list --dataset cityscapes_vps
  vpsbench leaderboard add my_method.json --registry ~/vpsbench-results
  VPSBENCH_REGISTRY=~/vpsbench-results vpsbench leaderboard score submission.zip \\
      --gt cityscapes_vps_val.h5 --method MyNet
  vpsbench leaderboard build --out site/
  vpsbench leaderboard digest synth_val.h5
"""

LIST_HELP = """
Prints one table per dataset split, best VPQ first: VPQ per k, mean VPQ (All/Things/Stuff),
STQ, where the numbers come from and whether they were verified.

example:
  vpsbench leaderboard list
  vpsbench leaderboard list --dataset vipseg --split val
"""

ADD_HELP = """
Validates ENTRY.json against the schema (docs/LEADERBOARD.md) and copies it into your
registry (--registry DIR, else $VPSBENCH_REGISTRY; refused when neither is given) as <id>.json.
An invalid entry is refused with every problem named, and so is a reproduced entry that claims
verified: true without the official GT's content_id; an existing id is refused unless
--replace is given.

example:
  vpsbench leaderboard add my_method_cityscapes_vps_val.json --registry ~/vpsbench-results
  VPSBENCH_REGISTRY=~/vpsbench-results vpsbench leaderboard add fixed.json --replace
"""

SCORE_HELP = """
Scores an untrusted submission against a GT file and adds a 'reproduced' entry (vpsbench
version, command, seed, commit and whether the checkout was dirty, date, hardware, the GT's
content_id and labels digest) to your registry: --registry DIR, else $VPSBENCH_REGISTRY;
refused when neither is given.

The entry goes into the table of the GT's dataset and split, or of --split. When that is an
official table whose GT digest is recorded (leaderboard/splits.py) and the GT differs, the
submission is refused before scoring; name a table of your own (--split val-custom) to keep
the result apart, never verified. On an official table whose digest is not recorded yet the
entry is shown as "GT not verified".

Several SUBMISSIONs, one per --seed, make one entry whose scores are the mean over the runs
(counts such as IDSW too, so they may be fractional); each run's seed, file digest and scores
are kept in source.runs, and the tables show the runs beside the mean.

SUBMISSION is a unified prediction .h5, or
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
  vpsbench leaderboard score submission.zip --gt cityscapes_vps_val.h5 --method MyNet \\
      --registry ~/vpsbench-results
  vpsbench leaderboard score pred.h5 --gt synth_val.h5 --method MyNet --variant R50 --seed 1 \\
      --registry ~/vpsbench-results
  vpsbench leaderboard score pred.h5 --gt my3videos.h5 --split val-custom --method MyNet \\
      --registry ~/vpsbench-results
  vpsbench leaderboard score pred_s0.h5 pred_s1.h5 --seed 0 1 --gt synth_val.h5 \\
      --method MyNet --registry ~/vpsbench-results     # one entry: the mean of both runs
  vpsbench leaderboard score pred_s2.h5 --seed 2 --add-run --gt synth_val.h5 --method MyNet \\
      --registry ~/vpsbench-results     # add a third run to that entry
"""

BUILD_HELP = """
Writes a static page that works from the file system with no network: index.html (sortable
tables per dataset split, CSS and JS inline), the matplotlib plots beside it (VPQ vs k per
method, VPQ vs STQ) and LEADERBOARD.md with the same tables for a README. --markdown also
writes that Markdown elsewhere (the repository keeps leaderboard/LEADERBOARD.md current).
The page shows the shipped entries plus your registry's (--registry DIR or $VPSBENCH_REGISTRY),
marked "your registry"; --no-shipped shows yours only.

example:
  vpsbench leaderboard build --out site/
  vpsbench leaderboard build --out site/ --markdown leaderboard/LEADERBOARD.md
  vpsbench leaderboard build --out /tmp/lb --registry my_entries/
"""

DIGEST_HELP = """
Prints a GT file's dataset, split, content_id (also shown by vpsbench info) and labels digest
(its label maps, label divisor and categories), and whether they are the official digests of
that table in leaderboard/splits.py. A maintainer who registers a split runs it on the official
release's GT and copies the printed line into leaderboard/splits.py (docs/LEADERBOARD.md).

example:
  vpsbench leaderboard digest synth_val.h5
  vpsbench leaderboard digest cityscapes_vps_val.h5 --split val
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
    register_digest(actions)


def add_registry_option(p: argparse.ArgumentParser, writes: bool = False) -> None:
    if writes:
        text = "your registry folder to write into (default: $VPSBENCH_REGISTRY; required)"
    else:
        text = "your registry folder, shown with the shipped one (default: $VPSBENCH_REGISTRY)"
    p.add_argument("--registry", type=Path, help=text)


def add_shipped_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--no-shipped", action="store_true", help="leave out the shipped entries (yours only)"
    )


def register_list(actions: argparse._SubParsersAction) -> None:
    p = add_command(actions, "list", "print the leaderboard tables", LIST_HELP)
    p.add_argument(
        "--dataset", help="only this dataset (e.g. cityscapes_vps, also spelled cityscapes-vps)"
    )
    p.add_argument("--split", help="only this split (e.g. val)")
    add_registry_option(p)
    add_shipped_option(p)
    p.set_defaults(run=run_list)


def register_add(actions: argparse._SubParsersAction) -> None:
    p = add_command(actions, "add", "validate an entry and add it to the registry", ADD_HELP)
    p.add_argument("entry", type=Path, metavar="ENTRY.json", help="the entry file")
    p.add_argument("--replace", action="store_true", help="replace an entry with the same id")
    add_registry_option(p, writes=True)
    p.set_defaults(run=run_add)


def register_score(actions: argparse._SubParsersAction) -> None:
    p = add_command(actions, "score", "score a submission safely and add it", SCORE_HELP)
    p.add_argument(
        "submission", type=Path, nargs="+", metavar="SUBMISSION",
        help=".h5, directory or zip; several (one per --seed) make one entry of their mean",
    )  # fmt: skip
    p.add_argument("--gt", required=True, type=Path, help="ground-truth unified .h5 file")
    p.add_argument("--method", required=True, help="method name shown in the tables")
    p.add_argument(
        "--split",
        help="table to rank in (default: the GT's split); a GT that is not the official GT "
        "of an official table needs a table of its own, e.g. val-custom",
    )
    p.add_argument("--variant", help="backbone, setting, ... (optional)")
    p.add_argument("--seed", type=int, nargs="+", help="seed of the run that made each prediction")
    p.add_argument("--notes", help="free text shown with the entry")
    p.add_argument("--id", dest="entry_id", help="entry id (default: from method/variant/split)")
    p.add_argument("--prediction-command", help="the command that made the prediction")
    p.add_argument("--metrics", help="comma-separated metrics (default: all)")
    add_workers_option(p, "processes that score videos")
    p.add_argument("--replace", action="store_true", help="replace an entry with the same id")
    p.add_argument(
        "--add-run", action="store_true",
        help="add this run (its --seed) to the existing entry of the same id: the entry becomes "
        "the mean of its runs",
    )  # fmt: skip
    add_limit_options(p)
    add_registry_option(p, writes=True)
    p.set_defaults(run=run_score)


def register_build(actions: argparse._SubParsersAction) -> None:
    p = add_command(actions, "build", "render index.html, plots and LEADERBOARD.md", BUILD_HELP)
    p.add_argument("--out", required=True, type=Path, help="site directory to write")
    p.add_argument("--markdown", type=Path, help="also write LEADERBOARD.md to this path")
    add_registry_option(p)
    add_shipped_option(p)
    p.set_defaults(run=run_build)


def register_digest(actions: argparse._SubParsersAction) -> None:
    p = add_command(actions, "digest", "print a GT file's content digests", DIGEST_HELP)
    p.add_argument("gt", type=Path, metavar="GT.h5", help="ground-truth unified .h5 file")
    p.add_argument("--split", help="compare with this table (default: the GT's split)")
    p.set_defaults(run=run_digest)


def shown_entries(args: argparse.Namespace) -> tuple[list[dict], set[str]]:
    """The entries list/build show: shipped plus the user's registry, or the user's only."""
    from vpsbench_leaderboard.registry import (
        RegistryError,
        load_entries,
        load_with_user,
        user_registry,
    )

    user = user_registry(args.registry)
    if not args.no_shipped:
        return load_with_user(user)
    if user is None:
        raise RegistryError(
            "--no-shipped needs your registry: --registry DIR or $VPSBENCH_REGISTRY"
        )
    entries = load_entries(user)
    return entries, {e["id"] for e in entries}


def run_list(args: argparse.Namespace) -> int:
    from vpsbench.datasets import canonical_name
    from vpsbench_leaderboard.tables import build_tables, render_console

    entries, mine = shown_entries(args)
    entries = [
        e
        for e in entries
        if (args.dataset is None or e["dataset"] == canonical_name(args.dataset))
        and (args.split is None or e["split"] == args.split)
    ]
    print(render_console(build_tables(entries, mine)))
    return 0


def run_add(args: argparse.Namespace) -> int:
    from vpsbench_leaderboard.registry import add_entry_file

    path = add_entry_file(args.entry, args.registry, args.replace)
    print(f"added {path}")
    return 0


def run_score(args: argparse.Namespace) -> int:
    from vpsbench_leaderboard.submit import RunInfo, submit

    limits = limits_from_args(args)
    seeds = tuple(args.seed or ())
    if len(args.submission) > 1 and len(seeds) != len(args.submission):
        raise ValueError(
            f"{len(args.submission)} submissions need one --seed each (--seed S1 S2 ...)"
        )
    if len(args.submission) == 1 and len(seeds) > 1:
        raise ValueError("one submission takes one --seed")
    info = RunInfo(
        args.method,
        args.variant,
        seeds[0] if len(seeds) == 1 else None,
        args.notes,
        args.entry_id,
        args.prediction_command,
        args.split,
        seeds if len(seeds) > 1 else (),
    )
    path, entry, result = submit(
        args.submission if len(args.submission) > 1 else args.submission[0],
        args.gt,
        info,
        args.registry,
        args.replace,
        args.metrics,
        args.workers,
        limits,
        add_to_existing=args.add_run,
    )
    print(result.table())
    print(f"added {path}" + ("" if entry["verified"] else " (not verified: GT not official)"))
    return 0


def run_build(args: argparse.Namespace) -> int:
    from vpsbench_leaderboard.render import build_site

    entries, mine = shown_entries(args)
    written = build_site(entries, args.out, mine)
    if args.markdown:
        args.markdown.write_text((args.out / "LEADERBOARD.md").read_text("utf-8"), "utf-8")
        print(f"wrote {args.markdown}")
    print(f"wrote {len(written)} files to {args.out}/ (open {args.out / 'index.html'})")
    return 0


def run_digest(args: argparse.Namespace) -> int:
    import json

    from vpsbench_leaderboard.splits import gt_digest, official_splits

    if not args.gt.is_file():
        raise FileNotFoundError(f"{args.gt}: no such GT file")
    digest = gt_digest(args.gt)
    split = args.split or digest.split
    row = {
        "dataset": digest.dataset,
        "split": split,
        "content_id": digest.content_id,
        "labels_digest": digest.labels_digest,
    }
    official = official_splits().get((digest.dataset, split))
    if official is None:
        verdict = "not an official table (leaderboard/splits.py): results go to a custom table"
    elif not official.digest_known:
        verdict = "official table, digest not recorded: add the line below to leaderboard/splits.py"
    elif (official.content_id, official.labels_digest) == (digest.content_id, digest.labels_digest):
        verdict = "the official GT of this table"
    else:
        verdict = "NOT the official GT of this table (the recorded digests differ)"
    print(f"{digest.dataset} {split}: {verdict}")
    print(json.dumps(row))
    return 0
