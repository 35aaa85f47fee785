"""deeplab2's STQ golden cases with STEP's settings.

deeplab2 runs its golden cases (``evaluation/segmentation_and_tracking_quality_test.py`` and
``evaluation/numpy/segmentation_and_tracking_quality_test.py``) with two encodings: the TF metric
with ``max_instances_per_category = 1000`` (the ``panoptic_label_divisor`` of its KITTI_STEP and
MOTCHALLENGE_STEP descriptors) and the numpy metric with ``label_bit_shift = 16`` (the 16
instance bits of a STEP PNG, and the label divisor of vpsbench's STEP files). Here the same
cases run with both divisors, and in the registered KITTI-STEP and MOTChallenge-STEP label
spaces (19 or 7 classes, only person/car or person tracked, ignore 255 remapped past the last
class): the classes a case does not use have no pixel, drop out of the class mean, and leave the
expected values unchanged, so deeplab2's numbers must come out as printed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_stq import BASIC_EXAMPLES, LiteralSTQ, complex_example, row, video

from vpsbench.datasets import kitti_step, motchallenge_step
from vpsbench.metrics.core import LabelSpace
from vpsbench.metrics.stq import STQ

DIVISORS = {"tf_1000": 1000, "numpy_shift_16": 1 << 16}
# deeplab2's basic examples: 0 = cars (thing), 1 = sky; complex: 0 sky, 1 vegetation, 2 cars.
BASIC_CLASSES = {
    "kitti_step": {0: 13, 1: 10},  # car, sky
    "motchallenge_step": {0: 4, 1: 3},  # person, sky
}
COMPLEX_CLASSES = {
    "kitti_step": {0: 10, 1: 8, 2: 13},  # sky, vegetation, car
    "motchallenge_step": {0: 3, 1: 2, 2: 4},  # sky, vegetation, person
}
DATASETS = {"kitti_step": kitti_step.DATASET, "motchallenge_step": motchallenge_step.DATASET}


def relabel(values, classes: dict[int, int] | None, divisor: int) -> np.ndarray:
    """Values of test_stq's encoding (class * 1000 + instance) in another class table and
    divisor; ``classes=None`` keeps the classes."""
    values = np.asarray(values, np.int64)
    semantic, instance = values // 1000, values % 1000
    if classes is not None:
        semantic = np.vectorize(lambda c: classes.get(int(c), int(c)))(semantic)
    return semantic * divisor + instance


def step_space(name: str, divisor: int) -> LabelSpace:
    return LabelSpace.from_categories(DATASETS[name].categories, divisor, 255)


def result_of(space: LabelSpace, gts, preds) -> dict:
    metric = STQ(space)
    metric.update(video("1", gts, preds))
    return metric.result()


def assert_golden(result: dict, stq: float, aq: float, iou: float) -> None:
    """deeplab2's expected values, to its 7-decimal assert_almost_equal (in percent here)."""
    assert result["stq"] == pytest.approx(100 * stq, abs=1e-5)
    assert result["aq"] == pytest.approx(100 * aq, abs=1e-5)
    assert result["sq"] == pytest.approx(100 * iou, abs=1e-5)


@pytest.mark.parametrize("divisor", DIVISORS.values(), ids=DIVISORS)
@pytest.mark.parametrize("case", range(len(BASIC_EXAMPLES)))
def test_basic_examples_with_both_deeplab2_encodings(case, divisor):
    gt, pred, stq, aq, iou = BASIC_EXAMPLES[case]
    space = LabelSpace(divisor, 255, (0, 1), frozenset({0}))
    result = result_of(
        space, [relabel(row(gt), None, divisor)], [relabel(row(pred), None, divisor)]
    )
    assert_golden(result, stq, aq, iou)


@pytest.mark.parametrize("divisor", DIVISORS.values(), ids=DIVISORS)
@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("case", range(len(BASIC_EXAMPLES)))
def test_basic_examples_in_the_step_label_spaces(case, dataset, divisor):
    gt, pred, stq, aq, iou = BASIC_EXAMPLES[case]
    classes = BASIC_CLASSES[dataset]
    gts = [relabel(row(gt), classes, divisor)]
    preds = [relabel(row(pred), classes, divisor)]
    assert_golden(result_of(step_space(dataset, divisor), gts, preds), stq, aq, iou)


@pytest.mark.parametrize("divisor", DIVISORS.values(), ids=DIVISORS)
@pytest.mark.parametrize("dataset", [None, *DATASETS])
def test_complex_example_with_step_settings(dataset, divisor):
    gts, preds = complex_example()
    classes = COMPLEX_CLASSES.get(dataset)
    space = (
        step_space(dataset, divisor)
        if dataset
        else LabelSpace(divisor, 255, (0, 1, 2), frozenset({2}))
    )
    metric = STQ(space)
    metric.update(
        video("1", [relabel(g, classes, divisor) for g in gts],
              [relabel(p, classes, divisor) for p in preds])
    )  # fmt: skip
    result = metric.result()
    assert result["stq"] == pytest.approx(66.841773352, abs=1e-7)
    assert result["aq"] == pytest.approx(55.366581415, abs=1e-7)
    assert result["sq"] == pytest.approx(80.69529580309542, abs=1e-9)
    (seq,) = metric.per_video()
    assert seq["num_frames"] == 3 and seq["stq"] == pytest.approx(result["stq"])


def test_merge_test_with_step_settings():
    """deeplab2's merge test (example 7 as sequence 1, example 11 as sequence 2), KITTI-STEP."""
    space = step_space("kitti_step", 1 << 16)
    classes = BASIC_CLASSES["kitti_step"]
    cases = [(str(i + 1), BASIC_EXAMPLES[k][:2]) for i, k in enumerate((7, 11))]
    both = STQ(space)
    parts = []
    for seq, (gt, pred) in cases:
        one = STQ(space)
        for metric in (one, both):
            metric.update(video(seq, [relabel(row(gt), classes, 1 << 16)],
                                [relabel(row(pred), classes, 1 << 16)]))  # fmt: skip
        parts.append(one)
    parts[0].merge(parts[1])
    assert parts[0].result() == both.result() and parts[0].per_video() == both.per_video()


def test_ignore_slot_is_past_the_last_step_class():
    """deeplab2 remaps ignore 255 to num_classes: 19 for KITTI-STEP, 7 for MOTChallenge-STEP;
    a void prediction on a valid pixel makes that slot a phantom class (reported as 255)."""
    for name, size in (("kitti_step", 19), ("motchallenge_step", 7)):
        metric = STQ(step_space(name, 1 << 16))
        assert metric.ignore_slot == size
        sky = BASIC_CLASSES[name][1] << 16
        car = (BASIC_CLASSES[name][0] << 16) + 1
        metric.update(video("1", [row([car, car, car, car, sky])], [row([car] * 4 + [255 << 16])]))
        assert metric.result()["sq"] == pytest.approx(100 / 3)
        phantom = [r for r in metric.per_class() if r["category_id"] == 255]
        assert phantom == [{"category_id": 255, "iou": 0.0, "intersection": 0, "union": 1}]


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.integers(1, 3))
def test_equals_literal_deeplab2_port_with_kitti_step_settings(seed, num_videos, frames):
    """deeplab2's algorithm step by step (num_classes 19, things (11, 13), ignore 255, 16
    instance bits), against vpsbench's STQ in the registered KITTI-STEP label space."""
    rng = np.random.default_rng(seed)
    divisor = 1 << 16
    values = np.array([0, 10 << 16, 12 << 16, (11 << 16) + 5, (13 << 16) + 5, (13 << 16) + 300,
                       11 << 16, 13 << 16, 255 << 16], np.int64)  # fmt: skip
    literal = LiteralSTQ(19, [11, 13], 255, divisor)
    metric = STQ(step_space("kitti_step", divisor))
    for v in range(num_videos):
        gts = [values[rng.integers(0, len(values), (3, 4))] for _ in range(frames)]
        preds = [values[rng.integers(0, len(values), (3, 4))] for _ in range(frames)]
        for g, p in zip(gts, preds, strict=True):
            literal.update(g, p, v)
        metric.update(video(str(v), gts, preds))
    expected, got = literal.result(), metric.result()
    assert got["aq"] == pytest.approx(100 * expected["aq"], abs=1e-9)
    assert got["sq"] == pytest.approx(100 * expected["iou"], abs=1e-9)
    assert got["stq"] == pytest.approx(100 * expected["stq"], abs=1e-9)
