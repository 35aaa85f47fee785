"""The ``vpsbench`` command line: one subcommand per job, each module registering its own."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from vpsbench import __version__
from vpsbench.cli import check, coco_pq, data, demo, evaluate, protocols
from vpsbench.cli.common import add_global_flags, check_workers
from vpsbench.parallel import keep_freed_memory
from vpsbench.plugins import COMMANDS, load_group
from vpsbench.termination import Terminated, terminate_as_interrupt

# The core's commands; converters and the leaderboard add theirs as vpsbench.commands entry
# points (vpsbench.plugins), so the core imports neither.
COMMAND_MODULES = (demo, evaluate, coco_pq, data, check, protocols)

DESCRIPTION = """\
vpsbench: video panoptic segmentation benchmark toolkit.

Every command reads or writes the unified HDF5 format (docs/FORMAT.md).
Run 'vpsbench COMMAND --help' for the arguments of a command and an example."""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="vpsbench", description=DESCRIPTION, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--version",
        action=VersionAction,
        help="show the version and the kernels and PNG decoder in use, and exit",
    )
    add_global_flags(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    for register in load_group(COMMANDS).values():
        register(subparsers)
    for sub in subcommand_parsers(parser):
        add_global_flags(sub, default=argparse.SUPPRESS)
    return parser


class VersionAction(argparse.Action):
    """``--version``: the version and what this install computes with (the compiled kernels
    are optional at build time, pyspng at run time), so a slow install can be told apart."""

    def __init__(self, option_strings, dest, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(version_line())
        parser.exit()


def version_line() -> str:
    """``vpsbench 0.1.0 (per-frame kernels: compiled, PNG decoder: pyspng)``."""
    from vpsbench.io.png import decoder_name
    from vpsbench.kernels import kernels_name

    try:
        used = f"per-frame kernels: {kernels_name()}, PNG decoder: {decoder_name()}"
    except ValueError as err:  # a bad $VPSBENCH_KERNELS / $VPSBENCH_PNG_DECODER: say which
        used = str(err)
    return f"vpsbench {__version__} ({used})"


def subcommand_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every subcommand parser below ``parser``, nested ones (convert viper) included, once
    each (aliases share a parser)."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += [sub, *subcommand_parsers(sub)]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vpsbench`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    args.progress = not args.quiet and sys.stderr.isatty()
    try:
        check_workers(args)
        keep_freed_memory()  # the command's own process: with --workers 1 frames are done here
        # A job scheduler's SIGTERM removes partial outputs as Ctrl-C does.
        with terminate_as_interrupt():
            return int(args.run(args) or 0)
    except Terminated:
        print("vpsbench: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("vpsbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`vpsbench eval ... | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except Exception as err:  # every failure becomes one line unless --debug
        if args.debug:
            traceback.print_exc()
        else:
            # One line, as README promises; --debug (in --help) shows the traceback.
            print(f"vpsbench {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 2


def one_line(err: BaseException) -> str:
    """The message of an exception as a single line, with its type when the message is bare."""
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if isinstance(err, KeyError) and message.startswith(("'", '"')):
        message = message[1:-1]
    if not message or isinstance(err, (AssertionError, AttributeError, TypeError, IndexError)):
        return f"{type(err).__name__}: {message}"
    return message


if __name__ == "__main__":
    sys.exit(main())
