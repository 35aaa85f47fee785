"""``vpsbench protocols``: the registered evaluation protocols and what each one fixes."""

from __future__ import annotations

import argparse

from vpsbench.cli.common import add_command

PROTOCOLS_HELP = """
Lists every registered evaluation protocol: its name (for eval --protocol), the datasets that
use it by default, VPQ windows (annotated frames) and their k labels, the minimum tube area,
excluded categories and VC clip lengths. A GT file records the protocol it was converted with;
eval scores with it unless --protocol (or --windows, --min-tube-area, --exclude) says otherwise.

example:
  vpsbench protocols
  vpsbench eval --gt viper_val.h5 --pred pred.h5 --protocol viper_official
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the protocols subcommand."""
    p = add_command(subparsers, "protocols", "list the evaluation protocols", PROTOCOLS_HELP)
    p.set_defaults(run=run_protocols)


def protocol_lines() -> list[str]:
    """One block per protocol: name, datasets, description, the values it fixes."""
    from vpsbench.datasets import DATASETS, protocols
    from vpsbench.format.schema import STQ_RULE_DEEPLAB2

    lines = []
    for name, protocol in protocols().items():
        users = [d.name for d in DATASETS.values() if d.protocol.name == name]
        lines.append(f"{name}  (default of: {', '.join(users) or '-'})")
        if protocol.description:
            lines.append(f"  {protocol.description}")
        lines.append(
            f"  VPQ windows {list(protocol.vpq_window_sizes)} annotated frames as "
            f"k={list(protocol.vpq_k)}; min tube area {protocol.min_tube_area}; excluded "
            f"categories {list(protocol.excluded_category_ids)}; VC clip lengths "
            f"{list(protocol.vc_clip_lengths)}"
            + ("" if protocol.stq_rule == STQ_RULE_DEEPLAB2 else f"; STQ rule {protocol.stq_rule}")
        )
    return lines


def run_protocols(args: argparse.Namespace) -> int:
    print("\n".join(protocol_lines()))
    return 0
