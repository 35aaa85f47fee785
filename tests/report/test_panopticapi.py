"""panopticapi's result shape and conventions: ``pq_results``, ``to_panopticapi``, the table."""

from __future__ import annotations

import pytest

from vpsbench.report import EvalResult
from vpsbench.report.panopticapi import CategoryStat, format_table, pq_results, to_panopticapi


def test_conventions_of_pq_average():
    results = pq_results(
        [
            CategoryStat(7, False, iou=1.6, tp=2, fp=0, fn=1),
            CategoryStat(24, True, iou=0.0, tp=0, fp=0, fn=0),  # no count: 0.0, not in n
            CategoryStat(26, True, iou=0.0, tp=0, fp=2, fn=0),  # no TP: SQ 0
        ]
    )
    assert list(results) == ["All", "per_class", "Things", "Stuff"]
    per_class = results["per_class"]
    assert list(per_class) == [7, 24, 26]
    assert per_class[7] == pytest.approx({"pq": 0.64, "sq": 0.8, "rq": 0.8})
    assert per_class[24] == per_class[26] == {"pq": 0.0, "sq": 0.0, "rq": 0.0}
    assert results["All"] == pytest.approx({"pq": 0.32, "sq": 0.4, "rq": 0.4, "n": 2})
    assert results["Things"] == {"pq": 0.0, "sq": 0.0, "rq": 0.0, "n": 1}
    assert results["Stuff"]["n"] == 1


def test_a_group_without_classes_is_none_and_printed_as_a_dash():
    results = pq_results([CategoryStat(7, False, iou=0.5, tp=1, fp=0, fn=1)])
    assert results["Things"] == {"pq": None, "sq": None, "rq": None, "n": 0}
    assert format_table(results).splitlines() == [
        "          |    PQ     SQ     RQ     N",
        "--------------------------------------",
        "All       |  33.3   50.0   66.7     1",
        "Things    |     -      -      -     0",
        "Stuff     |  33.3   50.0   66.7     1",
    ]


def rows(metric="pq"):
    common = {"metric": metric, "name": "x"}
    return [
        {**common, "category_id": 0, "isthing": False, "iou_sum": 0.9, "tp": 1, "fp": 0, "fn": 0},
        {**common, "category_id": 11, "isthing": True, "iou_sum": 0.6, "tp": 1, "fp": 1, "fn": 1},
        {**common, "category_id": 12, "isthing": True, "iou_sum": 0.0, "tp": 0, "fp": 1, "fn": 0},
    ]


def test_to_panopticapi_reads_the_pq_rows_and_leaves_excluded_classes_out():
    data = {"protocol": {"excluded_category_ids": [12]}, "per_class": rows() + rows("vpq")}
    results = to_panopticapi(data)
    assert sorted(results["per_class"]) == [0, 11]
    assert results["All"]["pq"] == pytest.approx((0.9 + 0.6 / 2) / 2)
    assert results["Things"]["n"] == 1
    data["protocol"]["excluded_category_ids"] = []
    assert to_panopticapi(data)["Things"]["n"] == 2


def test_to_panopticapi_takes_an_eval_result_and_needs_the_pq_metric():
    import pandas as pd

    result = EvalResult({"protocol": {"excluded_category_ids": []}}, pd.DataFrame(rows()))
    assert to_panopticapi(result) == to_panopticapi(result.to_dict())
    with pytest.raises(ValueError, match="no image PQ: score it with the pq metric"):
        to_panopticapi(EvalResult({}, pd.DataFrame(rows("vpq"))))
