"""Image PQ: hand-computed frames, void rule, per-class rows."""

from __future__ import annotations

import numpy as np
import pytest
from golden_cases import CAR, ROAD, SKY, SPACE, VOID

from vpsbench.metrics.core import VideoStats, pair_histogram
from vpsbench.metrics.pq import ImagePQ, match_segments


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


def test_pq_and_vpq_share_one_matching_of_each_frame():
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
    vpq = VPQ(SPACE, window_sizes=(1, 2), k_labels=(0, 5)).summarize(video)
    shared = ImagePQ(SPACE).summarize(video)  # from the cache VPQ's windows of one frame filled
    assert len(video.cache) == 1
    for counts in (shared, vpq[0]):
        for name in ("tp", "fp", "fn", "iou"):
            np.testing.assert_array_equal(getattr(counts, name), getattr(expected, name))
    by_hand = match_segments(frames[0], SPACE)
    for hist in frames[1:]:
        by_hand += match_segments(hist, SPACE)
    np.testing.assert_array_equal(expected.tp, by_hand.tp)
