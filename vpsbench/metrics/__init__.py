"""The metric registry: every metric vpsbench computes, one module each, by name.

Each metric class (a ``VideoMetric``) declares its name, title, headline ``fields`` and the
columns of its per-class and per-video rows; the evaluator builds the selected ones with
``from_context`` and the reports, the console table, the leaderboard and the demo read the
declarations, so adding a metric means writing its module and listing it here.
"""

from __future__ import annotations

from vpsbench.metrics.consistency import IdentitySwitches, VideoConsistency
from vpsbench.metrics.core import Field, MetricContext, VideoMetric
from vpsbench.metrics.pq import ImagePQ
from vpsbench.metrics.stq import STQ
from vpsbench.metrics.vpq import VPQ

METRICS: dict[str, type[VideoMetric]] = {
    m.name: m for m in (VPQ, ImagePQ, STQ, VideoConsistency, IdentitySwitches)
}


def get_metric(name: str) -> type[VideoMetric]:
    """The metric class registered under ``name`` (KeyError naming the known ones)."""
    if name not in METRICS:
        raise KeyError(f"unknown metric {name!r}; choose from {', '.join(METRICS)}")
    return METRICS[name]


def headline(name: str, result: dict, brief: bool = False) -> list[tuple[str, str, object]]:
    """(label, unit, value) of every headline field of metric ``name`` in its ``result``
    (``brief``: only the fields compact tables show)."""
    rows = []
    for field in get_metric(name).fields:
        if brief and not field.brief:
            continue
        for key, label in field.expand(result):
            rows.append((label, field.unit, result.get(key)))
    return rows


def headline_values(name: str, result: dict) -> dict:
    """{key: value} of every headline field of metric ``name`` (what the leaderboard stores)."""
    return {
        key: result.get(key) for field in get_metric(name).fields for key, _ in field.expand(result)
    }


__all__ = [
    "METRICS",
    "Field",
    "MetricContext",
    "VideoMetric",
    "get_metric",
    "headline",
    "headline_values",
]
