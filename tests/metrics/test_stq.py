"""STQ: deeplab2 golden cases, each deeplab2 quirk, properties, literal port.

The golden cases and their expected values are those of google-research/deeplab2
``evaluation/numpy/segmentation_and_tracking_quality_test.py`` (basic examples, merge test,
complex 3-frame example); the quirks are the ones listed in docs/METRICS.md, 'STQ'.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpsbench.metrics.core import LabelSpace, PairHistogram, VideoStats, pair_histogram
from vpsbench.metrics.stq import STQ

DIV = 1000
VOID = 255 * DIV
# deeplab2's basic examples: class 0 = cars (thing), class 1 = sky.
BASIC = LabelSpace(DIV, 255, (0, 1), frozenset({0}))
S = 1 * DIV  # sky, instance 0


def video(video_id: str, gts, preds) -> VideoStats:
    gts = [np.asarray(g, np.int64) for g in gts]
    preds = [np.asarray(p, np.int64) for p in preds]
    hists = [pair_histogram(g, p) for g, p in zip(gts, preds, strict=True)]
    return VideoStats(video_id, [f"{video_id}_{i}" for i in range(len(gts))], hists, {})


def stq_of(gts, preds, space: LabelSpace = BASIC) -> dict:
    metric = STQ(space)
    metric.update(video("1", gts, preds))
    return metric.result()


def row(values) -> np.ndarray:
    """A 1xN frame."""
    return np.asarray([values], np.int64)


# (GT, prediction, STQ, AQ, IoU) of deeplab2's basic examples; 0 in a GT is crowd (car inst. 0).
BASIC_EXAMPLES = [
    ([1, 1, 1, 1, 1], [1, 1, 1, 1, 1], 1.0, 1.0, 1.0),
    ([1, 1, 1, 1, 1], [1, 1, 2, 2, 2], 0.72111026, 0.52, 1.0),
    ([1, 1, 1, 1, 1], [1, 2, 2, 2, 2], 0.82462113, 0.68, 1.0),
    ([1, 1, 1, 1, 1], [1, 2, 3, 4, 5], 0.447213596, 0.2, 1.0),
    ([1, 1, 1, 1, 1], [1, 2, 1, 2, 2], 0.72111026, 0.52, 1.0),
    ([1, 1, 1, 1, 1], [S, 1, 1, 1, 1], 0.50596443, 0.64, 0.4),
    ([0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], 1.0, 1.0, 1.0),
    ([0, 1, 1, 1, 1, 1], [2, 2, 2, 2, 1, 1], 0.72111026, 0.52, 1.0),
    ([0, 1, 1, 1, 1, 1], [2, 2, S, 1, 1, 1], 0.40824829, 0.4, 5 / 12),
    ([S, 1, 1, 1, 1], [1, 1, 1, 1, 1], 0.56568542, 0.8, 0.4),
    ([S, 1, 1, 1, 1], [2, 2, 2, 1, 1], 0.42426407, 0.45, 0.4),
    ([S, 1, 1, 1, 1], [2, 2, S, 1, 1], 0.3, 0.3, 0.3),
]


@pytest.mark.parametrize("case", range(len(BASIC_EXAMPLES)))
def test_golden_basic_examples(case):
    gt, pred, stq, aq, iou = BASIC_EXAMPLES[case]
    result = stq_of([row(gt)], [row(pred)])
    assert result["stq"] == pytest.approx(100 * stq, abs=1e-5)
    assert result["aq"] == pytest.approx(100 * aq, abs=1e-5)
    assert result["sq"] == pytest.approx(100 * iou, abs=1e-5)
    per_video = STQ(BASIC)
    per_video.update(video("1", [row(gt)], [row(pred)]))
    (seq,) = per_video.per_video()
    assert seq["stq"] == pytest.approx(result["stq"])
    assert seq["num_frames"] == 1


def test_golden_merge_equals_single_metric():
    gt1, pred1 = BASIC_EXAMPLES[7][:2]
    gt2, pred2 = BASIC_EXAMPLES[11][:2]
    first, second, both = STQ(BASIC), STQ(BASIC), STQ(BASIC)
    first.update(video("1", [row(gt1)], [row(pred1)]))
    second.update(video("2", [row(gt2)], [row(pred2)]))
    both.update(video("1", [row(gt1)], [row(pred1)]))
    both.update(video("2", [row(gt2)], [row(pred2)]))
    first.merge(second)
    assert first.result() == both.result()
    assert first.per_video() == both.per_video()
    assert first.per_class() == both.per_class()
    with pytest.raises(ValueError, match="both"):
        first.merge(both)
    with pytest.raises(ValueError, match="already"):
        both.update(video("2", [row(gt2)], [row(pred2)]))


COMPLEX = {
    "gt_sem": [
        "00000000 00000000 00020111 02222111 22222211 22222221 22222221 22222211",
        "00000000 00000000 02001100 22211110 22221111 22222111 22222111 22221111",
        "00000000 00000000 00000000 20111000 22111100 22211110 22211111 22211111",
    ],
    "gt_inst": [
        "00000000 00000000 00020000 02222000 22222200 22222220 22222220 22222200",
        "00000000 00000000 02000000 22200000 22220000 22222000 22222000 22220000",
        "00000000 00000000 00000000 20000000 22000000 22200000 22200000 22200000",
    ],
    "pred_sem": [
        "00000000 00000000 00000100 00022111 02222211 22222221 22222221 22222221",
        "00000000 00000000 00001100 02221111 22221111 22222111 22222211 22222111",
        "00000000 00000000 00001000 00111100 22211100 22211111 22221111 22221111",
    ],
    "pred_inst": [
        "00000000 00000000 00000000 00022000 02222100 22222110 22221110 22221110",
        "00000000 00000000 00000000 02220000 22220000 22222000 22221100 22221000",
        "00000000 00000000 00000000 00000000 22200000 22200000 22220000 22220000",
    ],
}


def parse_frame(text: str) -> np.ndarray:
    return np.asarray([[int(c) for c in line] for line in text.split()], np.int64)


def complex_example() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """deeplab2's 3-frame 8x8 example: 0 sky, 1 vegetation, 2 cars (the only thing)."""
    gts, preds = [], []
    for t in range(3):
        gts.append(parse_frame(COMPLEX["gt_sem"][t]) * DIV + parse_frame(COMPLEX["gt_inst"][t]))
        preds.append(
            parse_frame(COMPLEX["pred_sem"][t]) * DIV + parse_frame(COMPLEX["pred_inst"][t])
        )
    return gts, preds


def test_golden_complex_example():
    space = LabelSpace(DIV, 255, (0, 1, 2), frozenset({2}))
    metric = STQ(space)
    metric.update(video("1", *complex_example()))
    result = metric.result()
    assert result["stq"] == pytest.approx(66.841773352, abs=1e-7)
    assert result["aq"] == pytest.approx(55.366581415, abs=1e-7)
    assert result["sq"] == pytest.approx(80.69529580309542, abs=1e-9)
    (seq,) = metric.per_video()
    assert (seq["stq"], seq["aq"], seq["sq"]) == pytest.approx(
        (result["stq"], result["aq"], result["sq"])
    )
    assert seq["num_frames"] == 3


# deeplab2 quirks (docs/METRICS.md, 'STQ'), one test each.


def test_quirk_void_prediction_creates_phantom_class():
    result = stq_of([row([1, 1, 1, 1, S])], [row([1, 1, 1, 1, VOID])])
    assert result["sq"] == pytest.approx(100 / 3)
    assert result["num_classes"] == 3
    metric = STQ(BASIC)
    metric.update(video("1", [row([1, 1, 1, 1, S])], [row([1, 1, 1, 1, VOID])]))
    phantom = [r for r in metric.per_class() if r["category_id"] == 255]
    assert phantom == [{"category_id": 255, "iou": 0.0, "intersection": 0, "union": 1}]


def test_quirk_predicted_things_on_gt_void_count_against_aq():
    result = stq_of([row([1, 1, 1, 1, VOID])], [row([1, 1, 1, 1, 1])])
    # Exactly 0.8: areas are int64, not float32 (deeplab2 under NumPy 2 gives 0.800000011920929).
    assert result["aq"] == 80.0
    assert result["sq"] == 100.0


def test_quirk_crowd_ignored_for_aq_but_counts_in_iou():
    result = stq_of([row([0, 1, 1, 1, 1, 1])], [row([2, 2, S, 1, 1, 1])])
    assert result["sq"] == pytest.approx(100 * 5 / 12)
    assert result["num_gt_tracks"] == 1
    # The crowd pixel is class 0 in the IoU: predicting it as sky lowers the car IoU.
    crowd_as_car = stq_of([row([0, 1])], [row([7, 1])])
    crowd_as_sky = stq_of([row([0, 1])], [row([S, 1])])
    assert crowd_as_car["aq"] == crowd_as_sky["aq"] == 100.0
    assert crowd_as_car["sq"] == 100.0
    assert crowd_as_sky["sq"] == pytest.approx(25.0)


def test_quirk_predicted_instance_zero_is_a_normal_track():
    assert stq_of([row([1, 1, 1, 1, 1])], [row([0, 0, 0, 0, 0])])["aq"] == 100.0
    assert stq_of([row([1, 1, 1, 1, 1])], [row([0, 0, 1, 1, 1])])["aq"] == pytest.approx(52.0)


def test_quirk_class_absent_from_gt_but_predicted_enters_mean():
    space = LabelSpace(DIV, 255, (0, 1, 2), frozenset({0}))
    result = stq_of([row([1, 1, 1, 1, S])], [row([1, 1, 1, 1, 2 * DIV])], space)
    assert result["sq"] == pytest.approx(100 / 3)  # car 1, sky 0, road 0
    road = class_row(space, [row([1, 1, 1, 1, S])], [row([1, 1, 1, 1, 2 * DIV])], 2)
    assert road["union"] == 1 and road["iou"] == 0.0


def class_row(space: LabelSpace, gts, preds, category_id: int) -> dict:
    metric = STQ(space)
    metric.update(video("1", gts, preds))
    return next(r for r in metric.per_class() if r["category_id"] == category_id)


def test_quirk_int64_counts_stay_exact_above_float32_range():
    big = 1 << 25
    # One GT track of 2^25 + 1 pixels predicted as two tracks (2^25 and 1 pixels), as counts.
    hist = PairHistogram(
        np.array([1, 1], np.int64), np.array([1, 2], np.int64), np.array([big, 1], np.int64)
    )
    metric = STQ(BASIC)
    metric.update(VideoStats("v", ["f"], [hist], {}))
    n = big + 1
    expected = (big * big / n + 1 * 1 / n) / n
    assert metric.result()["aq"] == pytest.approx(100 * expected, rel=1e-15)
    assert float(np.float32(big + 1)) != big + 1  # float32 areas would not be exact here


def test_quirk_track_identity_is_full_panoptic_value():
    space = LabelSpace(DIV, 255, (0, 1, 2), frozenset({0, 2}))
    gts = [row([1, 1]), row([1, 1])]
    preds = [row([1, 1]), row([2001, 2001])]  # same instance, class flips car -> truck
    assert stq_of(gts, preds, space)["aq"] == pytest.approx(50.0)


def test_no_gt_track_gives_aq_zero_like_deeplab2():
    result = stq_of([row([S, S])], [row([S, S])])
    assert result["aq"] == 0.0 and result["stq"] == 0.0 and result["sq"] == 100.0
    assert result["num_gt_tracks"] == 0


def test_empty_metric_and_empty_video():
    metric = STQ(BASIC)
    assert metric.result()["sq"] is None and metric.result()["stq"] is None
    metric.update(VideoStats("v", [], [], {}))
    assert metric.per_video()[0]["num_frames"] == 0
    assert metric.per_video()[0]["sq"] is None


def test_invalid_label_space_and_values():
    with pytest.raises(ValueError, match="non-negative"):
        STQ(LabelSpace(DIV, 255, (), frozenset()))
    with pytest.raises(ValueError, match="also a category"):
        STQ(LabelSpace(DIV, 1, (0, 1), frozenset()))
    with pytest.raises(ValueError, match="neither"):
        stq_of([row([1, 1])], [row([1, 7 * DIV])])
    with pytest.raises(ValueError, match="different settings"):
        STQ(BASIC).merge(STQ(LabelSpace(DIV, 255, (0, 1, 2), frozenset({0}))))


def test_noncontiguous_ids_and_ignore_label_inside_range():
    # Ids 0, 10, 11, 13 index a 14(+1)-slot matrix; empty classes drop out of the mean.
    space = LabelSpace(DIV, 255, (0, 10, 11, 13), frozenset({11, 13}))
    gts = [row([13001, 13001, 10000, 0, VOID])]
    preds = [row([13001, 13002, 10000, VOID, 11000])]
    result = stq_of(gts, preds, space)
    # car 1, sky 1, road 0 (predicted void), phantom void 0; person only on GT void: dropped.
    assert result["sq"] == pytest.approx(50.0)
    assert result["num_classes"] == 4
    # An ignore label below the largest id is its own slot, as in deeplab2 (no remap).
    low = LabelSpace(DIV, 5, (0, 10), frozenset({10}))
    low_result = stq_of([row([10001, 0, 5000])], [row([10001, 5000, 10001])], low)
    assert low_result["sq"] == pytest.approx(100 / 3)
    assert low_result["aq"] == pytest.approx(50.0)


# Properties.


def random_video(rng: np.random.Generator, frames: int, shape=(4, 5)) -> list[np.ndarray]:
    """GT-like maps over BASIC3: car instances 0..3 (0 = crowd), sky, road, void."""
    choices = np.array([0, 1, 2, 3, 1000, 2000, VOID], np.int64)
    return [choices[rng.integers(0, len(choices), shape)] for _ in range(frames)]


BASIC3 = LabelSpace(DIV, 255, (0, 1, 2), frozenset({0}))


def assert_same(a: dict, b: dict) -> None:
    """Equal results up to float summation order."""
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], abs=1e-9), key


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3))
def test_perfect_prediction_scores_100(seed, frames):
    gts = random_video(np.random.default_rng(seed), frames)
    result = stq_of(gts, gts, BASIC3)
    assert result["sq"] == pytest.approx(100.0)
    if result["num_gt_tracks"]:
        assert result["aq"] == pytest.approx(100.0)
        assert result["stq"] == pytest.approx(100.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3))
def test_permuting_predicted_instance_ids_changes_nothing(seed, frames):
    rng = np.random.default_rng(seed)
    gts, preds = random_video(rng, frames), random_video(rng, frames)
    # A bijection on car values 0..3 (instance 0 included: it is a normal predicted track).
    perm = rng.permutation(4)
    relabelled = [np.where(p < 4, perm[np.minimum(p, 3)], p) for p in preds]
    assert_same(stq_of(gts, preds, BASIC3), stq_of(gts, relabelled, BASIC3))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_stuff_prediction_inside_gt_void_changes_nothing(seed):
    rng = np.random.default_rng(seed)
    gts, preds = random_video(rng, 2), random_video(rng, 2)
    as_void = [np.where(g == VOID, VOID, p) for g, p in zip(gts, preds, strict=True)]
    as_sky = [np.where(g == VOID, 1000, p) for g, p in zip(gts, preds, strict=True)]
    assert_same(stq_of(gts, as_void, BASIC3), stq_of(gts, as_sky, BASIC3))


def test_thing_prediction_inside_gt_void_changes_aq():
    gts = [row([1, 1, 1, VOID])]
    assert stq_of(gts, [row([1, 1, 1, VOID])])["aq"] == 100.0
    assert stq_of(gts, [row([1, 1, 1, 1])])["aq"] == pytest.approx(75.0)
    assert stq_of(gts, [row([1, 1, 1, 2])])["aq"] == 100.0  # a separate track: no FPA on g


# A literal port of deeplab2's numpy STQuality (per-frame dicts, O(G*P) loop) as the oracle.


class LiteralSTQ:
    """deeplab2 ``STQuality`` step by step, with float64 dicts (NumPy 1.x behaviour)."""

    def __init__(self, num_classes, things, ignore_label, divisor, offset=1 << 40):
        self.num_classes, self.things = num_classes, things
        self.ignore, self.div, self.offset = ignore_label, divisor, offset
        size = num_classes + 1 if ignore_label >= num_classes else num_classes
        self.size = size
        self.include = [i for i in range(size) if i != min(ignore_label, num_classes)]
        self.confusion, self.preds, self.gts, self.inter = {}, {}, {}, {}

    @staticmethod
    def _count(stats: dict, ids: np.ndarray) -> None:
        for key, count in zip(*np.unique(ids, return_counts=True), strict=True):
            stats[int(key)] = stats.get(int(key), 0.0) + float(count)

    def update(self, y_true, y_pred, seq):
        y_true, y_pred = y_true.astype(np.int64), y_pred.astype(np.int64)
        sem_t, sem_p = y_true // self.div, y_pred // self.div
        if self.ignore > self.num_classes:
            sem_t = np.where(sem_t != self.ignore, sem_t, self.num_classes)
            sem_p = np.where(sem_p != self.ignore, sem_p, self.num_classes)
        if seq not in self.confusion:
            self.confusion[seq] = np.zeros((self.size, self.size))
            self.preds[seq], self.gts[seq], self.inter[seq] = {}, {}, {}
        np.add.at(self.confusion[seq], (sem_t.ravel(), sem_p.ravel()), 1)
        label_mask = np.isin(sem_t, self.things)
        pred_mask = np.isin(sem_p, self.things)
        crowd = label_mask & (y_true % self.div == 0)
        label_mask &= ~crowd
        pred_mask &= ~crowd
        self._count(self.preds[seq], y_pred[pred_mask])
        self._count(self.gts[seq], y_true[label_mask])
        both = label_mask & pred_mask
        self._count(self.inter[seq], y_true[both] * self.offset + y_pred[both])

    def result(self) -> dict:
        aq_per_seq, tubes = [], []
        for seq in self.gts:
            outer = 0.0
            for gt_id, gt_size in self.gts[seq].items():
                inner = 0.0
                for pr_id, pr_size in self.preds[seq].items():
                    key = self.offset * gt_id + pr_id
                    if key in self.inter[seq]:
                        tpa = self.inter[seq][key]
                        inner += tpa * (tpa / (tpa + (pr_size - tpa) + (gt_size - tpa)))
                outer += 1.0 / gt_size * inner
            aq_per_seq.append(outer)
            tubes.append(len(self.gts[seq]))
        aq = np.sum(aq_per_seq) / np.maximum(np.sum(tubes), 1e-15)
        total = np.zeros((self.size, self.size))
        for confusion in self.confusion.values():
            removal = np.zeros_like(confusion)
            removal[self.include, :] = 1.0
            total += confusion * removal
        inter = total.diagonal()
        unions = inter + (total.sum(axis=0) - inter) + (total.sum(axis=1) - inter)
        iou = np.sum(inter / np.maximum(unions, 1e-15)) / np.count_nonzero(unions)
        return {"stq": math.sqrt(aq * iou), "aq": aq, "iou": iou}


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.integers(1, 3))
def test_equals_literal_deeplab2_port(seed, num_videos, frames):
    rng = np.random.default_rng(seed)
    # Non-contiguous ids with gaps; things 11 and 13; instance 0 of a thing is crowd in GT.
    space = LabelSpace(DIV, 255, (0, 10, 11, 13), frozenset({11, 13}))
    values = np.array([0, 10000, 11000, 11001, 11002, 13000, 13001, 13002, VOID], np.int64)
    literal = LiteralSTQ(14, [11, 13], 255, DIV)
    metric = STQ(space)
    for v in range(num_videos):
        gts = [values[rng.integers(0, len(values), (3, 4))] for _ in range(frames)]
        preds = [values[rng.integers(0, len(values), (3, 4))] for _ in range(frames)]
        for g, p in zip(gts, preds, strict=True):
            literal.update(g, p, v)
        metric.update(video(str(v), gts, preds))
    expected = literal.result()
    got = metric.result()
    assert got["aq"] == pytest.approx(100 * expected["aq"], abs=1e-9)
    assert got["sq"] == pytest.approx(100 * expected["iou"], abs=1e-9)
    assert got["stq"] == pytest.approx(100 * expected["stq"], abs=1e-9)


def test_literal_port_reproduces_complex_golden():
    literal = LiteralSTQ(3, [2], 255, DIV)
    for g, p in zip(*complex_example(), strict=True):
        literal.update(g, p, 1)
    assert literal.result()["stq"] == pytest.approx(0.66841773352, abs=1e-9)
