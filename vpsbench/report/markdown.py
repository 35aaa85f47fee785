"""Text renderings of an evaluation summary: the console table and the Markdown report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vpsbench.format.schema import CUSTOM_PROTOCOL
from vpsbench.messages import spoken_list

if TYPE_CHECKING:
    from vpsbench.report.result import EvalResult

GROUPS = ("all", "things", "stuff")


def fmt(value, digits: int = 1) -> str:
    """A percentage as the papers print it; '-' when undefined."""
    if value is None or value != value:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def vpq_rows(vpq: dict) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the VPQ-by-k table (All / Things / Stuff)."""
    ks = list(vpq["k"])
    header = ["VPQ", *[f"k={k}" for k in ks], "mean"]
    rows = [[g, *[fmt(vpq["k"][k][g]) for k in ks], fmt(vpq[g])] for g in GROUPS]
    return header, rows


def scalar_rows(summary: dict) -> list[list[str]]:
    """(metric, value) rows of the headline fields of every metric other than VPQ (whose
    table by k comes first), in registry order."""
    from vpsbench.metrics import METRICS, headline

    rows = []
    for name in METRICS:
        if name != "vpq" and name in summary:
            rows += [[label, fmt(value)] for label, _, value in headline(name, summary[name])]
    return rows


def describe_spacing(window_sizes: list[int], spacing: list[int]) -> str:
    """What VPQ windows of ``window_sizes`` annotated frames span, given the label spacing."""
    sizes = ", ".join(map(str, window_sizes))
    if not spacing:
        return f"VPQ windows of {sizes} annotated frames (no video has two annotated frames)"
    if len(spacing) > 1:
        return (
            f"VPQ windows of {sizes} annotated frames; annotated frames are "
            f"{spacing[0]} to {spacing[-1]} source frames apart (irregular)"
        )
    gap = spacing[0]
    if gap == 1:
        return f"VPQ windows of {sizes} annotated frames; every source frame is annotated"
    spans = ", ".join(str((n - 1) * gap + 1) for n in window_sizes)
    return (
        f"VPQ windows of {sizes} annotated frames; annotated frames are {gap} source frames "
        f"apart, so the windows span {spans} source frames"
    )


def describe_protocol(protocol: dict, with_vc: bool) -> str:
    """``protocol cityscapes_vps_official: VC clips of 2, 4 and 6 annotated frames, ...``: the
    scoring settings a reader cannot see in the tables."""
    parts = []
    if with_vc and protocol.get("vc_clip_lengths"):
        parts.append(f"VC clips of {spoken_list(protocol['vc_clip_lengths'])} annotated frames")
    if protocol.get("min_tube_area"):
        area = protocol["min_tube_area"]
        parts.append(f"GT tubes of fewer than {area} pixels in a window neither matched nor missed")
    if protocol.get("excluded_category_ids"):
        ids = protocol["excluded_category_ids"]
        noun = "category" if len(ids) == 1 else "categories"
        parts.append(f"{noun} {spoken_list(ids)} not in the class means")
    settings = f": {', '.join(parts)}" if parts else ""
    custom = " (not a registered protocol)" if protocol["name"] == CUSTOM_PROTOCOL else ""
    return f"protocol {protocol['name']}{custom}{settings}"


def notes(summary: dict) -> list[str]:
    """Lines explaining the table: what the windows span, a non-official tube rule, empty
    scores."""
    lines = []
    protocol, inputs = summary.get("protocol", {}), summary.get("inputs", {})
    if protocol.get("name"):
        lines.append(describe_protocol(protocol, "vc" in summary))
    if "vpq" in summary and "label_spacing" in inputs and "vpq_window_sizes" in protocol:
        lines.append(describe_spacing(protocol["vpq_window_sizes"], inputs["label_spacing"]))
    if "vpq" in summary and inputs.get("vpq_tube_rule", "official") != "official":
        lines.append(
            f"VPQ tube rule {inputs['vpq_tube_rule']!r}: a prediction id that changes category is "
            "split into one tube per category (not the official scorer's rule)"
        )
    return lines + empty_notes(summary)


def empty_notes(summary: dict) -> list[str]:
    """A line "VC_4 is empty: why" for every score of the summary that has none, from each metric's
    ``empty`` {key: why}; scores that are empty for one reason share a line."""
    from vpsbench.metrics import METRICS

    lines = []
    for name, metric in METRICS.items():
        by_reason: dict[str, list[str]] = {}
        for key, why in (summary.get(name) or {}).get("empty", {}).items():
            by_reason.setdefault(why, []).append(metric.score_label(key))
        for why, labels in by_reason.items():
            named = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
            lines.append(f"{named} {'is' if len(labels) == 1 else 'are'} empty: {why}")
    return lines


def plain_table(header: list[str], rows: list[list[str]]) -> str:
    """Fixed-width columns for the terminal."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [
            str(c).rjust(w) if i else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def markdown_table(header: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def per_video_rows(summary: dict, videos: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-video table: the compact (brief) headline fields of every
    metric, read from the per-video columns (``vpq_all``, ``stq``, ``idsw``...)."""
    from vpsbench.metrics import METRICS
    from vpsbench.report.result import named_once

    columns = []
    for name in METRICS:
        if name in summary:
            keys = [
                (named_once(name)(key), label)
                for field in METRICS[name].fields
                if field.brief
                for key, label in field.expand(summary[name])
            ]
            columns += [(key, label) for key, label in keys if any(key in v for v in videos)]
    header = ["video", *[label for _, label in columns]]
    rows = [[str(v["video_id"]), *[fmt(v.get(key)) for key, _ in columns]] for v in videos]
    return header, rows


def render_console(summary: dict, videos: list[dict] | None = None) -> str:
    """The compact table printed by ``vpsbench eval``; ``videos`` (the per-video records)
    adds a table with one row per video."""
    parts = []
    if "vpq" in summary:
        parts.append(plain_table(*vpq_rows(summary["vpq"])))
    others = scalar_rows(summary)
    if others:
        parts.append(plain_table(["metric", "value"], others))
    if videos:
        parts.append(plain_table(*per_video_rows(summary, videos)))
    if notes(summary):
        parts.append("\n".join(notes(summary)))
    return "\n\n".join(parts)


def per_class_markdown(result: EvalResult) -> str:
    """VPQ per class and k (percent), one row per category."""
    table = result.per_class
    if table.empty or "metric" not in table:
        return ""
    vpq = table[table["metric"] == "vpq"]
    if vpq.empty:
        return ""
    wide = vpq.pivot(index="category_id", columns="k", values="pq")
    names = vpq.drop_duplicates("category_id").set_index("category_id")["name"]
    header = ["id", "class", *[f"k={int(k)}" for k in wide.columns]]
    rows = [[int(cid), names[cid], *[fmt(v) for v in values]] for cid, values in wide.iterrows()]
    return markdown_table(header, rows)


def render_markdown(result: EvalResult) -> str:
    """The Markdown report: inputs, VPQ by k, other metrics, per-class VPQ."""
    s = result.summary
    inputs = s.get("inputs", {})
    parts = [f"# Evaluation of `{inputs.get('pred', 'prediction')}`", ""]
    if inputs:
        parts += [
            f"Ground truth `{inputs.get('gt')}`: {inputs.get('dataset')}/{inputs.get('split')}, "
            f"{inputs.get('videos')} videos, {inputs.get('frames')} annotated frames. "
            f"vpsbench {inputs.get('vpsbench_version')}.",
            "",
        ]
    if "vpq" in s:
        parts += ["## VPQ", "", markdown_table(*vpq_rows(s["vpq"])), ""]
    others = scalar_rows(s)
    if others:
        parts += ["## Other metrics", "", markdown_table(["metric", "value"], others), ""]
    if notes(s):
        parts += ["## Notes", "", *[f"* {line}" for line in notes(s)], ""]
    per_class = per_class_markdown(result)
    if per_class:
        parts += ["## VPQ per class", "", per_class, ""]
    return "\n".join(parts)
