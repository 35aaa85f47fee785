"""Compact an inference checkpoint: int8 weights, no optimizer, about a quarter of the size.

    python -m vpsbench_model.export runs/fusetrack/model_final.pt -o fusetrack_int8.pt

``vpsbench_model.infer`` and ``load_checkpoint`` read the result like any checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vpsbench.io.archive import human_size
from vpsbench_model.checkpoint import compact_checkpoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vpsbench_model.export",
        description="Write an inference-only checkpoint with int8 weights (one scale per output "
        "channel); norms, biases and small tensors stay float.",
    )
    parser.add_argument("checkpoint", type=Path, help="a checkpoint written by training")
    parser.add_argument("-o", "--out", type=Path, required=True, help="compact checkpoint to write")
    args = parser.parse_args(argv)
    try:
        compact_checkpoint(args.checkpoint, args.out)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    before, after = args.checkpoint.stat().st_size, args.out.stat().st_size
    print(f"wrote {args.out}: {human_size(after)} (from {human_size(before)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
