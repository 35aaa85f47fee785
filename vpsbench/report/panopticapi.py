"""Image PQ in panopticapi's shape: the dict ``pq_compute`` returns and the table it prints.

panopticapi (cocodataset/panopticapi, ``panopticapi/evaluation.py``) averages per-class PQ, SQ
and RQ as fractions (0-1) over the categories of the GT JSON, in their order, for All, Things
(``isthing == 1``) and Stuff, and returns
``{"All": {"pq", "sq", "rq", "n"}, "per_class": {category_id: {"pq", "sq", "rq"}},
"Things": {...}, "Stuff": {...}}``. Its conventions, kept here: a class with no TP, FP or FN
is left out of the averages (``n`` counts the others) and is ``{"pq": 0.0, "sq": 0.0, "rq":
0.0}`` in ``per_class``; a class with FP or FN but no TP has SQ 0. A group with no class at all
is where panopticapi divides by zero; here its pq, sq and rq are None (JSON null).

``to_panopticapi`` converts the image PQ of a vpsbench evaluation (``EvalResult``, metric
``pq``); ``vpsbench.io.coco_panoptic.pq_compute`` scores COCO-panoptic files directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

GROUPS = (("All", None), ("Things", True), ("Stuff", False))


@dataclass(frozen=True)
class CategoryStat:
    """The PQ accumulators of one category (panopticapi's ``PQStatCat``) and whether it is a
    thing."""

    category_id: int
    isthing: bool
    iou: float
    tp: int
    fp: int
    fn: int


def pq_results(classes: Iterable[CategoryStat]) -> dict:
    """panopticapi's ``pq_compute`` result from the per-class counts, in category order."""
    classes = list(classes)
    results: dict = {}
    for name, isthing in GROUPS:
        totals = {"pq": 0.0, "sq": 0.0, "rq": 0.0}
        n = 0
        per_class: dict = {}
        for c in classes:
            if isthing is not None and c.isthing != isthing:
                continue
            if c.tp + c.fp + c.fn == 0:
                per_class[c.category_id] = {"pq": 0.0, "sq": 0.0, "rq": 0.0}
                continue
            n += 1
            denominator = c.tp + 0.5 * c.fp + 0.5 * c.fn
            scores = {
                "pq": c.iou / denominator,
                "sq": c.iou / c.tp if c.tp != 0 else 0.0,
                "rq": c.tp / denominator,
            }
            per_class[c.category_id] = scores
            for key, value in scores.items():  # summed in category order, as panopticapi
                totals[key] += value
        group: dict = {key: value / n if n else None for key, value in totals.items()}
        group["n"] = n
        results[name] = group
        if name == "All":  # panopticapi's key order: All, per_class, Things, Stuff
            results["per_class"] = per_class
    return results


def to_panopticapi(result) -> dict:
    """The image PQ of a vpsbench evaluation as panopticapi's ``pq_compute`` returns it.

    ``result`` is an ``EvalResult`` or its JSON form (``EvalResult.to_dict()``, a
    ``scores.json``) with the ``pq`` metric. Its per-class rows give each category's IoU sum
    and TP/FP/FN; the categories are the GT file's, in its order, less the protocol's excluded
    ones (panopticapi knows no exclusion: an excluded class is one not listed among its
    categories), so ``All`` equals vpsbench's ``pq.all`` / 100.
    """
    data = result if isinstance(result, dict) else result.to_dict()
    rows = [row for row in data.get("per_class") or [] if row.get("metric") == "pq"]
    if not rows:
        raise ValueError(
            "the result has no image PQ: score it with the pq metric (vpsbench eval --metrics "
            "including pq)"
        )
    excluded = set((data.get("protocol") or {}).get("excluded_category_ids") or ())
    return pq_results(
        CategoryStat(
            category_id=int(row["category_id"]),
            isthing=bool(row["isthing"]),
            iou=float(row["iou_sum"]),
            tp=int(row["tp"]),
            fp=int(row["fp"]),
            fn=int(row["fn"]),
        )
        for row in rows
        if int(row["category_id"]) not in excluded
    )


def format_table(results: dict) -> str:
    """The table panopticapi's ``pq_compute`` prints (percent, one decimal); a group with no
    class shows ``-``."""
    lines = [
        "{:10s}| {:>5s}  {:>5s}  {:>5s} {:>5s}".format("", "PQ", "SQ", "RQ", "N"),
        "-" * (10 + 7 * 4),
    ]
    for name, _ in GROUPS:
        group = results[name]
        cells = [
            "{:>5s}".format("-") if group[key] is None else f"{100 * group[key]:5.1f}"
            for key in ("pq", "sq", "rq")
        ]
        lines.append("{:10s}| {}  {}  {} {:5d}".format(name, *cells, group["n"]))
    return "\n".join(lines)


def json_text(results: dict) -> str:
    """The results as JSON text (category ids become strings, as ``json.dump`` makes them)."""
    return json.dumps(results, indent=2)
