"""Several predictions side by side: one row per prediction, one column per headline field of
the selected metrics (``vpsbench.metrics.METRICS``), as ``vpsbench eval --pred A B C`` prints
it and writes it to CSV and Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from vpsbench.atomic import write_text_atomically
from vpsbench.report.markdown import fmt, markdown_table, notes, per_video_rows, plain_table
from vpsbench.report.result import json_safe, named_once

if TYPE_CHECKING:
    from vpsbench.report.result import EvalResult


def comparison_columns(results: Sequence[EvalResult]) -> list[tuple[str, str, str, str]]:
    """(metric, result key, label, unit) of every headline field present in any result, in
    registry order (fields such as ``vc_*`` expand to the keys the results have)."""
    from vpsbench.metrics import METRICS

    columns: dict[tuple[str, str], tuple[str, str, str, str]] = {}
    for name, metric in METRICS.items():
        for result in results:
            summary = result.summary.get(name)
            if summary is None:
                continue
            for field in metric.fields:
                for key, label in field.expand(summary):
                    columns.setdefault((name, key), (name, key, label, field.unit))
    return list(columns.values())


def comparison_rows(
    labels: Sequence[str], results: Sequence[EvalResult]
) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the console and Markdown comparison: one row per prediction."""
    columns = comparison_columns(results)
    header = ["prediction", *[label for _, _, label, _ in columns]]
    rows = [
        [label, *[fmt(result.summary[m].get(key)) for m, key, _, _ in columns]]
        for label, result in zip(labels, results, strict=True)
    ]
    return header, rows


def comparison_frame(labels: Sequence[str], results: Sequence[EvalResult]) -> pd.DataFrame:
    """The comparison as a table for CSV: ``prediction`` (as given), ``pred_format``, then one
    column per headline field named as the per-video columns are (``vpq_all``, ``pq_all``,
    ``stq``, ``stq_aq``, ``vc_2``, ``idsw``...); unrounded percentages, integer counts."""
    columns = comparison_columns(results)
    rows = []
    for label, result in zip(labels, results, strict=True):
        row = {"prediction": label, "pred_format": result.summary["inputs"].get("pred_format")}
        for metric, key, _, _ in columns:
            row[named_once(metric)(key)] = result.summary[metric].get(key)
        rows.append(json_safe(row))
    counts = [named_once(m)(key) for m, key, _, unit in columns if unit == "count"]
    return pd.DataFrame(rows).astype(dict.fromkeys(counts, "Int64"))


def shared_notes(results: Sequence[EvalResult]) -> list[str]:
    """The table notes of every result, each once (they come from the GT and the options,
    which the predictions of one run share)."""
    return list(dict.fromkeys(line for result in results for line in notes(result.summary)))


def render_comparison(
    labels: Sequence[str], results: Sequence[EvalResult], per_video: bool = False
) -> str:
    """The console comparison ``vpsbench eval`` prints for several predictions; ``per_video``
    adds each prediction's table with one row per video."""
    parts = [plain_table(*comparison_rows(labels, results))]
    if per_video:
        for label, result in zip(labels, results, strict=True):
            videos = json_safe(result.per_video.to_dict(orient="records"))
            if videos:
                parts.append(f"{label}\n" + plain_table(*per_video_rows(result.summary, videos)))
    lines = shared_notes(results)
    if lines:
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def comparison_markdown(labels: Sequence[str], results: Sequence[EvalResult]) -> str:
    """A Markdown page of the comparison: the GT, the table, its notes."""
    inputs = results[0].summary.get("inputs", {}) if results else {}
    parts = [f"# Comparison of {len(results)} predictions", ""]
    if inputs:
        parts += [
            f"Ground truth `{inputs.get('gt')}`: {inputs.get('dataset')}/{inputs.get('split')}, "
            f"{inputs.get('videos')} videos, {inputs.get('frames')} annotated frames. "
            f"vpsbench {inputs.get('vpsbench_version')}.",
            "",
        ]
    header, rows = comparison_rows(labels, results)
    parts += [markdown_table(header, [[f"`{row[0]}`", *row[1:]] for row in rows]), ""]
    lines = shared_notes(results)
    if lines:
        parts += ["## Notes", "", *[f"* {line}" for line in lines], ""]
    return "\n".join(parts)


def comparison_csv(labels: Sequence[str], results: Sequence[EvalResult]) -> str:
    """The comparison table as CSV text: a row per prediction, a column per headline field."""
    return comparison_frame(labels, results).to_csv(index=False)


def write_comparison_csv(
    path: str | Path, labels: Sequence[str], results: Sequence[EvalResult]
) -> Path:
    """Write the comparison table as CSV, atomically (a reader never sees half a file)."""
    return write_text_atomically(path, comparison_csv(labels, results))


def write_comparison_markdown(
    path: str | Path, labels: Sequence[str], results: Sequence[EvalResult]
) -> Path:
    """Write the Markdown comparison, atomically."""
    return write_text_atomically(path, comparison_markdown(labels, results) + "\n")
