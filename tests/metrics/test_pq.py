"""Image PQ: hand-computed frames, void rule, per-class rows."""

from __future__ import annotations

import numpy as np
import pytest
from golden_cases import CAR, ROAD, SKY, SPACE, VOID
from hypothesis import given, settings
from hypothesis import strategies as st

from vpsbench.metrics.core import LabelSpace, VideoStats, pair_histogram, sum_histograms
from vpsbench.metrics.pq import ClassCounts, ImagePQ, match_segments, match_windows


def frame_pair() -> tuple[np.ndarray, np.ndarray]:
    """Road on the left half, car 1 on the right; the prediction eats 2 car pixels into road."""
    gt = np.full((4, 4), ROAD, np.int32)
    gt[:, 2:] = CAR + 1
    pred = gt.copy()
    pred[0, 2:] = ROAD
    return gt, pred


def test_hand_computed_frame():
    gt, pred = frame_pair()
    counts = match_segments(pair_histogram(gt, pred), SPACE)
    # road IoU 8/10, car IoU 6/8; both TP.
    assert counts.tp.tolist() == [1, 0, 0, 1]
    assert counts.iou.tolist() == pytest.approx([0.8, 0, 0, 0.75])
    metric = ImagePQ(SPACE)
    metric.update(VideoStats("v", ["a"], [pair_histogram(gt, pred)], {}))
    result = metric.result()
    assert result["stuff"] == pytest.approx(80.0)
    assert result["things"] == pytest.approx(75.0)
    assert result["all"] == pytest.approx(77.5)
    assert result["groups"]["all"]["n"] == 2


def test_void_overlap_is_removed_from_union():
    gt = np.full((4, 4), ROAD, np.int32)
    gt[:, 2:] = CAR + 1
    gt[:, 3] = VOID
    pred = gt.copy()
    pred[:, 2:] = CAR + 5  # half on the car, half on void: IoU 4/(8-4) = 1
    counts = match_segments(pair_histogram(gt, pred), SPACE)
    assert counts.tp[3] == 1
    assert counts.iou[3] == pytest.approx(1.0)


def test_below_half_iou_gives_fp_and_fn():
    gt = np.full((4, 4), SKY, np.int32)
    gt[:2, :2] = CAR + 1
    pred = gt.copy()
    pred[:2, :2] = SKY
    pred[0, 0:2] = CAR + 1  # IoU 2/4 = 0.5: not > 0.5
    counts = match_segments(pair_histogram(gt, pred), SPACE)
    assert (counts.tp[3], counts.fp[3], counts.fn[3]) == (0, 1, 1)


def test_unknown_predicted_category_is_an_error():
    gt, pred = frame_pair()
    pred[0, 0] = 7_000
    with pytest.raises(ValueError, match="not in the category table"):
        match_segments(pair_histogram(gt, pred), SPACE)


def test_frames_of_all_videos_accumulate_and_per_video_rows():
    gt, pred = frame_pair()
    metric = ImagePQ(SPACE)
    metric.update(VideoStats("a", ["a0"], [pair_histogram(gt, pred)], {}))
    metric.update(VideoStats("b", ["b0"], [pair_histogram(gt, gt)], {}))
    rows = {r["category_id"]: r for r in metric.per_class()}
    assert rows[13]["tp"] == 2
    assert rows[13]["pq"] == pytest.approx(100 * 1.75 / 2)
    assert rows[11]["pq"] is None
    per_video = {r["video_id"]: r for r in metric.per_video()}
    assert per_video["b"]["all"] == 100.0
    assert per_video["a"]["all"] == pytest.approx(77.5)


def test_pq_and_vpq_share_one_matching_of_each_frame():  # size 1 of one batched pass
    from vpsbench.metrics.vpq import VPQ

    rng = np.random.default_rng(3)
    frames = []
    for _ in range(4):
        gt = np.full((6, 8), ROAD, np.int64)
        gt[rng.integers(0, 6) :, rng.integers(0, 8) :] = CAR
        pred = gt.copy()
        pred[rng.integers(0, 6), :] = SKY
        frames.append(pair_histogram(gt, pred))
    video = VideoStats("v", [str(i) for i in range(4)], frames, {})
    separate = VideoStats("v", [str(i) for i in range(4)], frames, {})
    expected = ImagePQ(SPACE).summarize(separate)
    vpq = VPQ(SPACE, window_sizes=(1, 2), k_labels=(0, 5)).summarize(video).counts
    shared = ImagePQ(SPACE).summarize(video)  # from the cache VPQ's windows of one frame filled
    assert len(video.cache) == 1
    for counts in (shared, vpq[0]):
        for name in ("tp", "fp", "fn", "iou"):
            np.testing.assert_array_equal(getattr(counts, name), getattr(expected, name))
    by_hand = match_segments(frames[0], SPACE)
    for hist in frames[1:]:
        by_hand += match_segments(hist, SPACE)
    np.testing.assert_array_equal(expected.tp, by_hand.tp)


# --- the batched window matching == match_segments window by window --------------------------

BATCH_SPACE = LabelSpace(1000, 255, (0, 1, 2, 11, 12), frozenset({11, 12}))


@st.composite
def batch_videos(draw):
    """A video of 0-6 frames of small maps with stuff, things, crowd (11000) and void."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    palette = np.array([0, 1000, 2000, 11_000, 11_001, 11_002, 12_001, 255_000], np.int64)
    frames = []
    for _ in range(draw(st.integers(0, 6))):
        gt = rng.choice(palette, (h, w))
        pred = np.where(
            rng.random((h, w)) < 0.3, rng.choice(palette[palette != 11_000], (h, w)), gt
        )
        pred[pred == 11_000] = 11_003
        frames.append(pair_histogram(gt, pred))
    return frames


@settings(max_examples=200, deadline=None)
@given(batch_videos(), st.sampled_from([0, 2, 5]))
def test_batched_windows_equal_match_segments_window_by_window(frames, min_area):
    sizes = (1, 2, 3, 4, 7)  # 7: longer than every video, no window
    batched = match_windows(frames, BATCH_SPACE, sizes, min_area)
    for n in sizes:
        expected = ClassCounts.zeros(len(BATCH_SPACE.category_ids))
        for start in range(len(frames) - n + 1):
            window = sum_histograms(frames[start : start + n])
            expected += match_segments(window, BATCH_SPACE, min_area)
        for name in ("tp", "fp", "fn", "iou"):  # iou bit for bit: the same summation order
            np.testing.assert_array_equal(getattr(batched[n], name), getattr(expected, name))


def test_batched_windows_leave_unknown_gt_categories_to_match_segments():
    gt = np.array([[0, 7000]], np.int64)  # category 7 is not in the table
    assert match_windows([pair_histogram(gt, gt)], BATCH_SPACE, (1,)) is None


def test_batched_windows_refuse_unknown_predicted_categories():
    gt = np.zeros((1, 2), np.int64)
    with pytest.raises(ValueError, match="not in the category table"):
        match_windows([pair_histogram(gt, np.array([[0, 7000]]))], BATCH_SPACE, (1,))
