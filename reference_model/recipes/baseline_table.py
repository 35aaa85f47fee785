"""Tables and the plot of the synthetic baseline from the runs of ``synthetic_baseline.sh``.

    python reference_model/recipes/baseline_table.py runs/ --plot docs/img/baseline_vpq_vs_k.png
    python reference_model/recipes/baseline_table.py --entries leaderboard/entries

Reads RUNS/PRESET_sSEED/VARIANT.json (``vpsbench eval`` output) and/or, with --entries, the
runs recorded in the leaderboard's VPSNet synthetic entries (each seed's scores; a local run
of the same preset, variant and seed wins); prints one Markdown table per preset (mean over
the seeds found, each seed's VPQ after it) and draws VPQ against k per variant, one panel per
preset.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

VARIANTS = ("image", "fuse", "track", "fusetrack")
RUN_DIR = re.compile(r"^(?P<preset>[a-z]+)_s(?P<seed>\d+)$")
ENTRY_ID = re.compile(
    r"^vpsnet-(?P<variant>[a-z]+)-synthetic-tiny-synthetic-(?P<split>val|val-hard)$"
)
PRESET_OF_SPLIT = {"val": "standard", "val-hard": "hard"}


def load_runs(runs: Path) -> dict[str, dict[str, dict[int, dict]]]:
    """{preset: {variant: {seed: eval summary}}} of every finished run under ``runs``."""
    found: dict[str, dict[str, dict[int, dict]]] = {}
    for folder in sorted(runs.iterdir()):
        match = RUN_DIR.match(folder.name)
        if not match:
            continue
        for variant in VARIANTS:
            scores = folder / f"{variant}.json"
            if scores.is_file():
                by_variant = found.setdefault(match["preset"], {}).setdefault(variant, {})
                by_variant[int(match["seed"])] = json.loads(scores.read_text())
    return found


def load_entries(entries: Path) -> dict[str, dict[str, dict[int, dict]]]:
    """{preset: {variant: {seed: metrics}}} of the runs in the VPSNet synthetic entries."""
    found: dict[str, dict[str, dict[int, dict]]] = {}
    for path in sorted(entries.glob("*.json")):
        match = ENTRY_ID.match(path.stem)
        if not match or match["variant"] not in VARIANTS:
            continue
        entry = json.loads(path.read_text())
        source = entry["source"]
        runs = source.get("runs") or [{"seed": source.get("seed"), "metrics": entry["metrics"]}]
        by_variant = found.setdefault(PRESET_OF_SPLIT[match["split"]], {})
        by_variant = by_variant.setdefault(match["variant"], {})
        for run in runs:
            by_variant[int(run["seed"])] = run["metrics"]
    return found


def merged(*sources: dict) -> dict:
    """The runs of several ``load_*`` results; a later source wins for the same seed."""
    out: dict = {}
    for found in sources:
        for preset, variants in found.items():
            for variant, seeds in variants.items():
                out.setdefault(preset, {}).setdefault(variant, {}).update(seeds)
    for variants in out.values():
        for variant, seeds in variants.items():
            variants[variant] = dict(sorted(seeds.items()))
    return out


def row_values(summary: dict) -> list[float]:
    """VPQ per k, VPQ, Things, Stuff, STQ, AQ, IDSW of one summary."""
    vpq = summary["vpq"]
    per_k = [vpq["k"][k]["all"] for k in vpq["k"]]
    return [*per_k, vpq["all"], vpq["things"], vpq["stuff"], summary["stq"]["stq"],
            summary["stq"]["aq"], summary["idsw"]["idsw"]]  # fmt: skip


def markdown(preset: str, variants: dict[str, dict[int, dict]]) -> str:
    """The table of one preset: means over seeds, and each seed's VPQ."""
    first = next(iter(next(iter(variants.values())).values()))
    ks = list(first["vpq"]["k"])
    header = [f"VPQ k={ks[0]}", *(f"k={k}" for k in ks[1:])]
    header = ["variant", *header, "VPQ", "Things", "Stuff", "STQ", "AQ", "IDSW", "VPQ per seed"]
    lines = [f"**{preset}** (mean over seeds)", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "---|" * len(header))
    for variant in VARIANTS:
        seeds = variants.get(variant, {})
        if not seeds:
            continue
        values = [row_values(s) for s in seeds.values()]
        means = [sum(col) / len(col) for col in zip(*values, strict=True)]
        cells = [f"{v:.1f}" for v in means[:-1]] + [f"{means[-1]:g}"]
        per_seed = ", ".join(f"s{seed}: {s['vpq']['all']:.1f}" for seed, s in seeds.items())
        lines.append(f"| `{variant}` | " + " | ".join(cells) + f" | {per_seed} |")
    return "\n".join(lines)


def preset_order(preset: str) -> tuple:
    """The standard preset first, then the hard one, then any other by name."""
    known = ("standard", "hard")
    return (known.index(preset) if preset in known else len(known), preset)


def plot(found: dict, path: Path) -> None:
    """VPQ against k per variant (mean over seeds, each seed as a faint line), per preset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    presets = sorted(found, key=preset_order)
    fig, axes = plt.subplots(1, len(presets), figsize=(5.2 * len(presets), 4.4), squeeze=False)
    for ax, preset in zip(axes[0], presets, strict=True):
        top = 0.0
        for variant in VARIANTS:
            seeds = found[preset].get(variant, {})
            if not seeds:
                continue
            ks = [int(k) for k in next(iter(seeds.values()))["vpq"]["k"]]
            curves = [[s["vpq"]["k"][str(k)]["all"] for k in ks] for s in seeds.values()]
            mean = [sum(c) / len(c) for c in zip(*curves, strict=True)]
            runs = f"{len(seeds)} seed{'s' if len(seeds) > 1 else ''}"
            (line,) = ax.plot(ks, mean, marker="o", label=f"{variant} ({runs})")
            top = max(top, *mean)
            for curve in curves:
                ax.plot(ks, curve, color=line.get_color(), alpha=0.25, linewidth=1)
        ax.set_title(f"synthetic benchmark, {preset} preset")
        ax.set_xlabel("k (source frames)")
        ax.set_ylabel("VPQ (%)")
        ax.set_ylim(0, min(100, top + 15))  # from 0: differences are not magnified
        ax.set_xticks(ks)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "runs", type=Path, nargs="?", help="the RUNS folder of synthetic_baseline.sh"
    )
    parser.add_argument(
        "--entries", type=Path, help="also read the runs of the leaderboard's VPSNet entries here"
    )
    parser.add_argument("--plot", type=Path, help="write the VPQ-vs-k plot here")
    args = parser.parse_args()
    if args.runs is None and args.entries is None:
        parser.error("give RUNS, --entries DIR, or both")
    found = merged(
        load_entries(args.entries) if args.entries else {},
        load_runs(args.runs) if args.runs else {},
    )
    if not found:
        raise SystemExit("no finished run (RUNS/PRESET_sSEED/VARIANT.json or a VPSNet entry)")
    for preset in sorted(found, key=preset_order):
        print(markdown(preset, found[preset]), end="\n\n")
    if args.plot:
        plot(found, args.plot)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
