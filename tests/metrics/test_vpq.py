"""VPQ: the golden case, fast path == literal official procedure, properties.

The golden case is the 8x8, 6-frame video of ``golden_cases.py``; its expected scores are those
of the official mcahny/vps ``tools/eval_vpq.py`` (after fix 72d59ab) on it, as listed in
docs/METRICS.md, 'VPQ' ("Golden case").
"""

from __future__ import annotations

import numpy as np
import pytest
from golden_cases import CAR, PERSON, ROAD, SKY, SPACE, VOID, tamper_demo_video
from hypothesis import given, settings
from hypothesis import strategies as st
from literal_vpq import literal_vpq

from vpsbench.metrics.core import LabelSpace, VideoStats, pair_histogram
from vpsbench.metrics.vpq import VPQ


def video_stats(video_id: str, gts, preds) -> VideoStats:
    hists = [pair_histogram(g, p) for g, p in zip(gts, preds, strict=True)]
    return VideoStats(video_id, [f"{video_id}_{i}" for i in range(len(gts))], hists, {})


def score(videos, space=SPACE, sizes=(1, 2, 3, 4), **kw) -> dict:
    metric = VPQ(space, sizes, [(n - 1) * 5 for n in sizes], **kw)
    for i, (gts, preds) in enumerate(videos):
        metric.update(video_stats(f"{i:04d}", gts, preds))
    return metric.result()


def test_golden_tamper_demo_fixed_evaluator():
    result = score([tamper_demo_video()])
    expected = {
        "0": (100.0, 100.0, 100.0),
        "5": (93.1818, 86.3636, 100.0),
        "10": (91.6667, 83.3333, 100.0),
        "15": (83.3333, 66.6667, 100.0),
    }
    for k, (a, t, s) in expected.items():
        got = result["k"][k]
        assert got["all"] == pytest.approx(a, abs=1e-4)
        assert got["things"] == pytest.approx(t, abs=1e-4)
        assert got["stuff"] == pytest.approx(s, abs=1e-4)
    assert result["all"] == pytest.approx(92.0454, abs=1e-4)
    assert result["things"] == pytest.approx(84.0909, abs=1e-4)
    assert result["stuff"] == pytest.approx(100.0)


def test_golden_person_counts_per_k():
    metric = VPQ(SPACE)
    metric.update(video_stats("v", *tamper_demo_video()))
    person = {r["k"]: r for r in metric.per_class() if r["category_id"] == 11}
    assert (person[5]["tp"], person[5]["fp"], person[5]["fn"]) == (4, 2, 1)
    assert (person[10]["tp"], person[10]["fp"], person[10]["fn"]) == (4, 2, 0)
    assert person[10]["iou_sum"] == pytest.approx(10 / 3)
    assert (person[15]["tp"], person[15]["fp"], person[15]["fn"]) == (2, 4, 1)
    assert person[15]["iou_sum"] == pytest.approx(1.5)


def test_id_switch_in_three_frame_window_is_tp_plus_fp():
    """An id switch after frame 2 of 3 gives one TP with IoU 2/3 and one FP, as in eval_vpq.py.

    The official scorer has no explicit id-switch penalty: an object split across two ids is
    still a TP when one id covers more than half of the union; the other id is an FP.
    """
    gts, preds = [], []
    for t in range(3):
        gt = np.full((4, 4), ROAD, np.int32)
        gt[:2, :2] = CAR + 1
        pred = gt.copy()
        pred[:2, :2] = CAR + (1 if t < 2 else 2)
        gts.append(gt)
        preds.append(pred)
    metric = VPQ(SPACE, (3,), (10,))
    metric.update(video_stats("v", gts, preds))
    car = next(r for r in metric.per_class() if r["category_id"] == 13)
    assert (car["tp"], car["fp"], car["fn"]) == (1, 1, 0)
    assert car["iou_sum"] == pytest.approx(2 / 3)


def test_id_switch_lowers_vpq_only_for_k_above_zero():
    gts, preds = tamper_demo_video()
    perfect = score([(gts, gts)])
    switched = score([(gts, preds)])
    assert switched["k"]["0"] == perfect["k"]["0"]
    for k in ("5", "10", "15"):
        assert switched["k"][k]["things"] < perfect["k"][k]["things"]


def test_perfect_prediction_scores_100():
    gts, _ = tamper_demo_video()
    result = score([(gts, gts)])
    assert (result["all"], result["things"], result["stuff"]) == (100.0, 100.0, 100.0)


def test_void_prediction_pixels_change_nothing():
    gts, preds = tamper_demo_video()
    base = score([(gts, preds)])
    filled = []
    for gt, pred in zip(gts, preds, strict=True):
        pred = pred.copy()
        pred[gt == VOID] = SKY  # anything, only inside GT void
        filled.append(pred)
    assert score([(gts, filled)]) == base


def test_permuting_prediction_ids_changes_nothing():
    gts, preds = tamper_demo_video()
    mapping = {CAR + 1: CAR + 7, CAR + 2: CAR + 3, CAR + 9: CAR + 1, PERSON + 1: PERSON + 5}
    relabelled = [np.vectorize(lambda v: mapping.get(v, v))(p).astype(np.int32) for p in preds]
    assert score([(gts, relabelled)]) == score([(gts, preds)])


def test_unmatched_prediction_on_crowd_is_ignored_and_crowd_is_never_fn():
    gt = np.full((4, 4), ROAD, np.int32)
    gt[:2, :] = CAR  # crowd: thing, instance 0
    pred = gt.copy()
    pred[:2, :] = ROAD
    pred[0, :3] = CAR + 4  # mostly on crowd: ignored
    metric = VPQ(SPACE, (1,), (0,))
    metric.update(video_stats("v", [gt], [pred]))
    car = next(r for r in metric.per_class() if r["category_id"] == 13)
    assert (car["tp"], car["fp"], car["fn"]) == (0, 0, 0)


def test_prediction_of_absent_class_counts_fp_and_enters_mean():
    gt = np.full((4, 4), ROAD, np.int32)
    pred = gt.copy()
    pred[0, 0] = SKY
    result = score([([gt], [pred])], sizes=(1,))
    # road: TP with IoU 15/16; sky: one FP, PQ 0 -> stuff mean of the two present classes.
    assert result["k"]["0"]["stuff"] == pytest.approx(100 * (15 / 16) / 2)


def test_min_tube_area_skips_small_gt_but_not_small_predictions():
    gt = np.full((8, 8), ROAD, np.int32)
    gt[0, 0] = CAR + 1  # 1 px, below the minimum: never matched, never FN
    pred = gt.copy()
    pred[7, 7] = CAR + 2  # a small prediction elsewhere is still an FP
    metric = VPQ(SPACE, (1,), (0,), min_tube_area=4)
    metric.update(video_stats("v", [gt], [pred]))
    car = next(r for r in metric.per_class() if r["category_id"] == 13)
    assert (car["tp"], car["fp"], car["fn"]) == (0, 2, 0)


def test_excluded_category_leaves_the_averages():
    gts, preds = tamper_demo_video()
    result = score([(gts, preds)], excluded_category_ids=(11,))
    assert result["things"] == 100.0


def test_video_added_twice_is_refused():
    metric = VPQ(SPACE)
    stats = video_stats("v", *tamper_demo_video())
    metric.update(stats)
    with pytest.raises(ValueError, match="already added"):
        metric.update(stats)


def test_merge_equals_one_pass():
    a = video_stats("a", *tamper_demo_video())
    gts, preds = tamper_demo_video()
    b = video_stats("b", preds, gts)
    one = VPQ(SPACE)
    one.update(a)
    one.update(b)
    left, right = VPQ(SPACE), VPQ(SPACE)
    left.update(a)
    right.update(b)
    left.merge(right)
    assert left.result() == one.result()


# --- randomized comparison with the literal official procedure -------------------------------

CATEGORIES = [0, 1, 2, 11, 12, 13]
THINGS = {11, 12, 13}
RANDOM_SPACE = LabelSpace(1000, 255, tuple(CATEGORIES), frozenset(THINGS))


@st.composite
def random_videos(draw):
    """1-2 videos of 1-6 frames; few ids so that they repeat, collide and overlap a lot."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    videos = []
    for _ in range(draw(st.integers(1, 2))):
        frames = draw(st.integers(1, 6))
        palette_gt = random_palette(rng, crowd=True)
        palette_pred = random_palette(rng, crowd=False)
        gts = [rng.choice(palette_gt, (h, w)).astype(np.int32) for _ in range(frames)]
        if draw(st.booleans()):  # predictions that are GT with noise, so TPs happen
            preds = [noisy_copy(rng, g, palette_pred) for g in gts]
        else:
            preds = [rng.choice(palette_pred, (h, w)).astype(np.int32) for _ in range(frames)]
        if draw(st.booleans()):  # sometimes an empty prediction
            preds[0] = np.full((h, w), VOID, np.int32)
        videos.append((gts, preds))
    return videos


def random_palette(rng, crowd: bool) -> np.ndarray:
    stuff = [c * 1000 for c in rng.choice([0, 1, 2], rng.integers(1, 3), replace=False)]
    things = [c * 1000 + i for c in rng.choice(sorted(THINGS), 2) for i in rng.integers(1, 4, 2)]
    extra = [VOID, 11_000] if crowd else [VOID]
    return np.array(stuff + things + extra[: rng.integers(0, len(extra) + 1)], np.int64)


def noisy_copy(rng, gt: np.ndarray, palette: np.ndarray) -> np.ndarray:
    pred = gt.copy()
    flip = rng.random(gt.shape) < 0.3
    pred[flip] = rng.choice(palette, int(flip.sum()))
    pred[pred == 11_000] = 11_001  # GT crowd value is not a prediction segment id
    return pred


@settings(max_examples=150, deadline=None)
@given(random_videos(), st.sampled_from([0, 2]))
def test_fast_path_equals_literal_official_procedure(videos, min_area):
    sizes = (1, 2, 3, 4)
    totals, scores = literal_vpq(videos, CATEGORIES, THINGS, sizes, min_area=min_area)
    metric = VPQ(RANDOM_SPACE, sizes, (0, 5, 10, 15), min_tube_area=min_area)
    for i, (gts, preds) in enumerate(videos):
        metric.update(video_stats(f"{i}", gts, preds))
    fast = metric.totals()
    result = metric.result()
    for n, k in zip(sizes, (0, 5, 10, 15), strict=True):
        for j, c in enumerate(CATEGORIES):
            iou, tp, fp, fn = totals[n][c]
            assert (fast[k].tp[j], fast[k].fp[j], fast[k].fn[j]) == (tp, fp, fn)
            assert abs(fast[k].iou[j] - iou) <= 1e-12
        for group, expected in zip(("all", "things", "stuff"), scores[n], strict=True):
            got = result["k"][str(k)][group]
            assert (got is None) == (expected is None)
            if expected is not None:
                assert abs(got - expected) <= 1e-12
