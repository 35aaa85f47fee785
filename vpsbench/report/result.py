"""``EvalResult``: the scores of one evaluation, as a JSON summary and pandas tables."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vpsbench.atomic import write_text_atomically
from vpsbench.format.schema import STQ_RULE_DEEPLAB2, Category, Protocol

if TYPE_CHECKING:
    import pandas as pd


def json_safe(value):
    """Replace NaN/inf by None recursively so the JSON is strict (no ``NaN`` tokens)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    pandas = sys.modules.get("pandas")  # a pd.NA exists only once pandas is imported
    if pandas is not None and value is pandas.NA:  # a missing count of a nullable column
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return json_safe(value.item())
    return value


class EvalResult:
    """Summary scores (percentages), per-class and per-video tables of one evaluation.

    The tables are pandas DataFrames, built when first read: a caller that reads only the
    summary (a training loop) neither imports pandas (0.3 s) nor builds them.
    """

    def __init__(
        self,
        summary: dict,
        per_class: pd.DataFrame | None = None,
        per_video: pd.DataFrame | None = None,
        *,
        rows: tuple[list[dict], list[tuple[str, list[dict]]]] | None = None,
    ) -> None:
        self.summary = summary
        self._per_class, self._per_video = per_class, per_video
        self._rows = rows  # (per-class rows, per metric its per-video rows): tables to build

    @property
    def per_class(self) -> pd.DataFrame:
        """One row per (metric, category, k): scores and counts (nullable integer counts)."""
        self._build_tables()
        return self._per_class

    @per_class.setter
    def per_class(self, table: pd.DataFrame) -> None:
        self._build_tables()
        self._per_class = table

    @property
    def per_video(self) -> pd.DataFrame:
        """One row per video, the columns of every metric (``vc_8``, ``stq``, ...)."""
        self._build_tables()
        return self._per_video

    @per_video.setter
    def per_video(self, table: pd.DataFrame) -> None:
        self._build_tables()
        self._per_video = table

    def _build_tables(self) -> None:
        import pandas as pd

        if self._rows is not None:
            self._per_class, self._per_video = tables_of_rows(*self._rows)
            self._rows = None
        if self._per_class is None:
            self._per_class = pd.DataFrame()
        if self._per_video is None:
            self._per_video = pd.DataFrame()

    def __repr__(self) -> str:
        return f"EvalResult(metrics={[k for k in self.summary if k not in ('protocol', 'inputs')]})"

    def to_dict(self) -> dict:
        """The documented JSON schema (docs/METRICS.md): summary plus the per-class rows."""
        data = dict(self.summary)
        data["per_class"] = self.per_class.to_dict(orient="records")
        data["per_video"] = self.per_video.to_dict(orient="records")
        return json_safe(data)

    def to_json(self, path: str | Path | None = None) -> str:
        """The result as JSON text, also written to ``path`` if given."""
        text = json.dumps(self.to_dict(), indent=2)
        if path is not None:
            write_text_atomically(path, text + "\n")
        return text

    def table(self, per_video: bool = False) -> str:
        """The compact terminal table ``vpsbench eval`` prints (``per_video``: and a row per
        video)."""
        from vpsbench.report.markdown import render_console

        videos = json_safe(self.per_video.to_dict(orient="records")) if per_video else None
        return render_console(self.summary, videos)

    def to_markdown(self) -> str:
        """A Markdown report: headline scores, VPQ per k, per-class table."""
        from vpsbench.report.markdown import render_markdown

        return render_markdown(self)


def protocol_dict(protocol: Protocol) -> dict:
    """The protocol a result was computed with, as JSON (``stq_rule`` only when not deeplab2's,
    so results of the other protocols keep their keys)."""
    out = {
        "name": protocol.name,
        "vpq_window_sizes": list(protocol.vpq_window_sizes),
        "vpq_k": list(protocol.vpq_k),
        "min_tube_area": protocol.min_tube_area,
        "excluded_category_ids": list(protocol.excluded_category_ids),
        "vc_clip_lengths": list(protocol.vc_clip_lengths),
    }
    if protocol.stq_rule != STQ_RULE_DEEPLAB2:
        out["stq_rule"] = protocol.stq_rule
    return out


def named_once(metric: str):
    """Column name of a metric's per-video key: ``vc_2`` stays ``vc_2`` and ``stq`` stays
    ``stq`` (the metric's name is not repeated); others get the prefix: ``stq_aq``."""

    def rename(key: str) -> str:
        return key if key == metric or key.startswith(f"{metric}_") else f"{metric}_{key}"

    return rename


def build_result(
    metrics: dict, categories: list[Category], protocol: Protocol, inputs: dict
) -> EvalResult:
    """Collect the summaries and tables of finished metric objects into one ``EvalResult``."""
    summary: dict = {name: metric.result() for name, metric in metrics.items()}
    names = {c.id: (c.name, bool(c.isthing)) for c in categories}
    class_rows = []
    for name, metric in metrics.items():
        for row in metric.per_class():
            cat = row.get("category_id")
            label, isthing = names.get(cat, (str(cat), None))
            class_rows.append({"metric": name, "name": label, "isthing": isthing, **row})
    videos = [(name, metric.per_video()) for name, metric in metrics.items()]
    summary["protocol"] = protocol_dict(protocol)
    summary["inputs"] = inputs
    return EvalResult(summary=json_safe(summary), rows=(class_rows, videos))


def tables_of_rows(
    class_rows: list[dict], videos: list[tuple[str, list[dict]]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-class and per-video DataFrames of ``build_result``'s rows (counts as nullable
    integers; per-video columns of every metric joined on the video id)."""
    import pandas as pd

    per_video = None
    counts = []
    for name, rows in videos:
        if not rows:
            continue
        counts += [named_once(name)(key) for key in integer_keys(rows) if key != "video_id"]
        frame = pd.DataFrame(rows).set_index("video_id").rename(columns=named_once(name))
        per_video = frame if per_video is None else per_video.join(frame, how="outer")
    per_class = pd.DataFrame(class_rows)
    return (
        per_class.astype(dict.fromkeys(integer_keys(class_rows), "Int64")),
        pd.DataFrame()
        if per_video is None
        else per_video.astype(dict.fromkeys(counts, "Int64")).reset_index(),
    )


def integer_keys(rows: list[dict]) -> list[str]:
    """Keys whose values are all integers where present (counts, k, ids). Rows of several
    metrics share a table, so a count is missing in some: kept as a nullable integer column,
    it stays 300 in JSON and CSV instead of becoming 300.0."""
    keys = dict.fromkeys(key for row in rows for key in row)
    return [
        key
        for key in keys
        if any(row.get(key) is not None for row in rows)
        and all(is_integer(row[key]) for row in rows if row.get(key) is not None)
    ]


def is_integer(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
