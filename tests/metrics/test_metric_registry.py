"""Every metric declares what it computes, and its results hold exactly that."""

from __future__ import annotations

import inspect

import pytest

from vpsbench.evaluation import evaluate
from vpsbench.metrics import METRICS, VideoMetric, get_metric, headline, headline_values
from vpsbench.synth import SynthConfig, generate, synth_predict


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    gt = generate(root / "gt.h5", SynthConfig(3, 10, 64, 128, seed=2, with_images=False))
    pred = synth_predict(gt, root / "pred.h5", noise=0.4, seed=1)
    return evaluate(gt, pred)


def matches(declared: tuple[str, ...], key: str) -> bool:
    return any(key == d or (d.endswith("*") and key.startswith(d[:-1])) for d in declared)


def test_registry_lists_complete_metric_classes():
    assert list(METRICS) == ["vpq", "pq", "stq", "vc", "idsw"]
    for name, cls in METRICS.items():
        assert issubclass(cls, VideoMetric) and not inspect.isabstract(cls)
        assert cls.name == name and cls.title and cls.fields
    with pytest.raises(TypeError):
        VideoMetric()  # abstract: a metric must implement the interface
    with pytest.raises(KeyError, match="unknown metric 'miou'; choose from vpq, pq"):
        get_metric("miou")


def test_declared_fields_and_columns_are_what_the_metrics_return(result):
    summary, per_class, per_video = result.summary, result.per_class, result.per_video
    for name, cls in METRICS.items():
        values = headline_values(name, summary[name])
        assert values and all(key in summary[name] for key in values), name
        rows = per_class[per_class["metric"] == name].dropna(axis=1, how="all")
        extra = set(rows.columns) - {"metric", "name", "isthing", "category_id"}
        assert extra == set(cls.per_class_columns), name
    columns = set(per_video.columns) - {"video_id"}
    declared = {
        key if key == name or key.startswith(f"{name}_") else f"{name}_{key}"
        for name, cls in METRICS.items()
        for key in cls.per_video_columns
    }
    assert all(matches(tuple(declared), c) for c in columns), sorted(columns)
    assert "vc_2" in columns and "stq" in columns and "vc_vc_2" not in columns


def test_headline_rows(result):
    labels = [label for label, _, _ in headline("idsw", result.summary["idsw"])]
    assert labels == ["MOTSA", "sMOTSA", "MOTSP", "IDSW", "Frag"]
    assert [label for label, _, _ in headline("vc", result.summary["vc"])] == [
        "VC_2",
        "VC_4",
        "VC_6",
    ]
    brief = headline("vpq", result.summary["vpq"], brief=True)
    assert [label for label, _, _ in brief] == ["VPQ", "Th", "St"]
    assert brief[0][2] == result.summary["vpq"]["all"]
