"""VC_n (both modes, off-by-one, streaming == brute force) and CLEAR-MOT identity switches."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpsbench.metrics.consistency import (
    IdentitySwitches,
    VideoConsistency,
    match_frame,
    vc_clip_counts,
)
from vpsbench.metrics.core import LabelSpace, VideoStats, pair_histogram

# Every test here runs with the compiled kernels and with NumPy's (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_kernels")

VOID = 255_000
SPACE = LabelSpace(1000, 255, (0, 1, 11, 13), frozenset({11, 13}))
ROAD, PERSON, CAR = 0, 11_000, 13_000


def frames(*rows) -> list[np.ndarray]:
    return [np.asarray([r]) for r in rows]


# VC_n clip counts.


def test_vc_hand_case_both_modes():
    gt = frames([1, 1, 2, 2], [1, 1, 2, 3], [1, 2, 2, 3])
    pred = frames([1, 1, 1, 1], [1, 2, 1, 1], [1, 2, 1, 2])
    # Clip 0: A = {0,1,2}, B = {0,2,3}; clip 1: A = {0,2,3}, B = {0,1,2}.
    assert vc_clip_counts(gt, pred, 2).tolist() == [[2, 3], [2, 3]]
    assert vc_clip_counts(gt, pred, 2, mode="vspw_official").tolist() == [[2, 3]]
    # n = 3: A = {0, 2} (pixel 3 is 2,3,3), B = {0, 2}.
    assert vc_clip_counts(gt, pred, 3).tolist() == [[2, 2]]
    assert vc_clip_counts(gt, pred, 3, mode="vspw_official").shape == (0, 2)
    # n = 1: every pixel is stable in a one-frame clip.
    assert vc_clip_counts(gt, pred, 1).tolist() == [[4, 4]] * 3


def test_vc_official_off_by_one_and_short_videos():
    gt = frames(*[[1, 2]] * 5)
    for c in range(1, 6):
        assert len(vc_clip_counts(gt[:c], gt[:c], 3)) == max(c - 3 + 1, 0)
        assert len(vc_clip_counts(gt[:c], gt[:c], 3, mode="vspw_official")) == max(c - 3, 0)


def test_vc_gt_void_in_a_only_in_official_mode():
    gt = frames([1, 255], [1, 255], [1, 255])
    pred = frames([1, 7], [1, 8], [1, 8])
    # Corrected: the stable void pixel is not in A.
    assert vc_clip_counts(gt, pred, 2).tolist() == [[1, 1], [1, 1]]
    # Official: raw labels, so the stable void pixel is in A (and unstable in B in clip 0).
    assert vc_clip_counts(gt, pred, 2, mode="vspw_official").tolist() == [[1, 2]]
    assert vc_clip_counts(gt, pred, 2, ignore_label=99).tolist() == [[1, 2], [2, 2]]


def brute_force(gt, pred, n, mode, ignore=255) -> list[list[int]]:
    gt, pred = np.stack(gt), np.stack(pred)
    starts = len(gt) - n + 1 if mode == "corrected" else len(gt) - n
    rows = []
    for i in range(max(starts, 0)):
        a = np.all(gt[i : i + n] == gt[i], axis=0)
        if mode == "corrected":
            a &= gt[i] != ignore
        b = np.all(pred[i : i + n] == pred[i], axis=0)
        rows.append([int((a & b).sum()), int(a.sum())])
    return rows


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 9), st.integers(1, 5))
def test_vc_streaming_equals_brute_force(seed, num_frames, n):
    rng = np.random.default_rng(seed)
    # Few labels, so runs of equal labels are common; 255 is GT void.
    gt = [rng.choice(np.array([1, 2, 255], np.uint16), (3, 4), p=[0.8, 0.1, 0.1])]
    pred = [rng.choice(np.array([1, 2], np.uint16), (3, 4), p=[0.85, 0.15])]
    for _ in range(num_frames - 1):
        gt.append(np.where(rng.random((3, 4)) < 0.15, rng.choice([1, 2, 255]), gt[-1]))
        pred.append(np.where(rng.random((3, 4)) < 0.15, rng.choice([1, 2]), pred[-1]))
    for mode in ("corrected", "vspw_official"):
        # Generators: the frames are consumed once, as the runner streams them.
        got = vc_clip_counts((g for g in gt), (p for p in pred), n, mode=mode)
        assert got.dtype == np.int64
        assert got.tolist() == brute_force(gt, pred, n, mode)


def test_vc_clip_counts_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown VC mode"):
        vc_clip_counts([], [], 2, mode="paper")
    with pytest.raises(ValueError, match=">= 1"):
        vc_clip_counts([], [], 0)
    with pytest.raises(ValueError, match="prediction frame"):
        vc_clip_counts(frames([1, 2]), frames([1, 2, 3]), 1)
    with pytest.raises(ValueError, match="shape changed"):
        vc_clip_counts(frames([1, 2], [1, 2, 3]), frames([1, 2], [1, 2, 3]), 1)
    with pytest.raises(ValueError):
        vc_clip_counts(frames([1, 2], [1, 2]), frames([1, 2]), 1)


# The VC metric.


def vc_video(video_id: str, rows_by_n: dict[int, list[list[int]]]) -> VideoStats:
    return VideoStats(video_id, [], [], {n: np.asarray(r, np.int64) for n, r in rows_by_n.items()})


def test_vc_pools_clips_across_videos():
    metric = VideoConsistency(SPACE, ns=(2,))
    metric.update(vc_video("a", {2: [[1, 2], [2, 2], [0, 0]]}))
    metric.update(vc_video("b", {2: [[0, 4]]}))
    result = metric.result()
    # Clip-weighted (0.5 + 1 + 0) / 3, not video-weighted (0.75 + 0) / 2; |A| = 0 is skipped.
    assert result["vc_2"] == pytest.approx(50.0)
    assert result["clips_2"] == 3
    assert result["settings"] == {"ns": [2], "mode": "corrected"}
    assert metric.per_video() == [
        {"video_id": "a", "vc_2": 75.0, "clips_2": 2, "note": None},
        {"video_id": "b", "vc_2": 0.0, "clips_2": 1, "note": None},
    ]
    assert metric.per_class() == []


def test_vc_without_clips_is_null_like_vc8_on_cityscapes_vps():
    # Cityscapes-VPS: 6 annotated frames per video, so there is no clip of 8 frames.
    gt = [np.zeros((2, 2), np.uint16)] * 6
    stats = VideoStats("v", [], [], {n: vc_clip_counts(gt, gt, n) for n in (4, 8)})
    metric = VideoConsistency(SPACE, ns=(4, 8))
    metric.update(stats)
    result = metric.result()
    assert result["vc_4"] == 100.0 and result["clips_4"] == 3
    assert result["vc_8"] is None and result["clips_8"] == 0
    assert json.loads(json.dumps(result))["vc_8"] is None


def test_vc_merge_and_errors():
    first, second, both = (VideoConsistency(SPACE, ns=(2,)) for _ in range(3))
    first.update(vc_video("a", {2: [[1, 2]]}))
    second.update(vc_video("b", {2: [[2, 2]]}))
    both.update(vc_video("a", {2: [[1, 2]]}))
    both.update(vc_video("b", {2: [[2, 2]]}))
    first.merge(second)
    assert first.result() == both.result() and first.per_video() == both.per_video()
    with pytest.raises(ValueError, match="both"):
        first.merge(both)
    with pytest.raises(ValueError, match="already"):
        first.update(vc_video("a", {2: [[1, 2]]}))
    with pytest.raises(ValueError, match="no VC clip counts"):
        first.update(vc_video("c", {8: []}))
    with pytest.raises(ValueError, match="different"):
        first.merge(VideoConsistency(SPACE, ns=(2,), mode="vspw_official"))
    with pytest.raises(ValueError, match="unknown VC mode"):
        VideoConsistency(SPACE, mode="paper")
    with pytest.raises(ValueError, match=">= 1"):
        VideoConsistency(SPACE, ns=())


# Identity switches.


def car_video(pred_ids, gt_present=None, shape=(4, 4)):
    """GT car 13001 in the top-left 2x2 block; the prediction puts ``pred_ids[t]`` there."""
    gts, preds = [], []
    for t, pid in enumerate(pred_ids):
        gt = np.full(shape, ROAD, np.int64)
        if gt_present is None or gt_present[t]:
            gt[:2, :2] = CAR + 1
        pred = np.full(shape, ROAD, np.int64)
        pred[:2, :2] = pid
        gts.append(gt)
        preds.append(pred)
    return gts, preds


def idsw_of(*videos, space=SPACE) -> IdentitySwitches:
    metric = IdentitySwitches(space)
    for i, (gts, preds) in enumerate(videos):
        hists = [pair_histogram(g, p) for g, p in zip(gts, preds, strict=True)]
        metric.update(VideoStats(f"v{i}", [str(t) for t in range(len(gts))], hists, {}))
    return metric


def counts(result: dict) -> tuple[int, ...]:
    return tuple(result[k] for k in ("tp", "fp", "fn", "idsw", "frag"))


def test_idsw_one_switch():
    result = idsw_of(car_video([CAR + 1, CAR + 1, CAR + 2])).result()
    assert counts(result) == (3, 0, 0, 1, 0)
    assert result["motsa"] == pytest.approx(100 * 2 / 3)
    assert result["smotsa"] == pytest.approx(100 * 2 / 3)
    assert result["motsp"] == 100.0
    assert result["gt_tracks"] == 1


def test_idsw_fragment_without_switch():
    result = idsw_of(car_video([CAR + 1, ROAD, CAR + 1])).result()
    assert counts(result) == (2, 0, 1, 0, 1)
    assert result["motsa"] == pytest.approx(100 * 2 / 3)


def test_idsw_switch_after_gap_counted_once():
    result = idsw_of(car_video([CAR + 1, ROAD, CAR + 2, CAR + 2, CAR + 2])).result()
    assert counts(result) == (4, 0, 1, 1, 1)


def test_idsw_switch_after_absence_is_no_fragment():
    # The GT car is absent in frame 1: a switch against its last match, but no fragmentation.
    gts, preds = car_video([CAR + 1, ROAD, CAR + 2], gt_present=[True, False, True])
    assert counts(idsw_of((gts, preds)).result()) == (2, 0, 0, 1, 0)


def test_idsw_back_and_forth_counts_every_change():
    result = idsw_of(car_video([CAR + 1, CAR + 2, CAR + 1])).result()
    assert result["idsw"] == 2


def test_false_positives_on_void_or_own_crowd_are_ignored():
    gt = np.full((4, 8), ROAD, np.int64)
    gt[0:2, 0:2] = VOID
    gt[2:4, 0:2] = CAR  # car crowd
    pred = np.full((4, 8), ROAD, np.int64)
    pred[0:2, 0:2] = CAR + 5  # all on void: ignored
    pred[2:4, 0:2] = CAR + 6  # on its own crowd: ignored
    assert counts(idsw_of(([gt], [pred])).result()) == (0, 0, 0, 0, 0)
    pred[2:4, 0:2] = PERSON + 1  # on another category's crowd: a false positive
    pred[0:2, 0:1] = CAR + 7  # 2 of 4 pixels on void: not more than half, a false positive
    pred[0:2, 1:2] = ROAD
    pred[0:2, 2:3] = CAR + 7
    result = idsw_of(([gt], [pred])).result()
    assert counts(result) == (0, 2, 0, 0, 0)
    assert result["motsa"] is None and result["motsp"] is None
    per_class = {r["category_id"]: r for r in idsw_of(([gt], [pred])).per_class()}
    assert set(per_class) == {11, 13}
    assert per_class[11]["fp"] == per_class[13]["fp"] == 1


def test_match_uses_the_void_rule_and_strict_half():
    gt = np.full((4, 4), ROAD, np.int64)
    gt[:1] = CAR + 1  # 4 pixels
    gt[1:2] = VOID
    pred = np.full((4, 4), ROAD, np.int64)
    pred[:2] = CAR + 1  # 4 on the car + 4 on void: IoU 4 / (4 + 8 - 4 - 4) = 1
    match = match_frame(pair_histogram(gt, pred), SPACE)
    assert match.gt.tolist() == [CAR + 1] and match.iou.tolist() == [1.0]
    pred = np.full((4, 4), ROAD, np.int64)
    pred[:1] = CAR + 1
    pred[2, :3] = CAR + 1  # 4 on the car + 3 on road: IoU 4/7
    assert match_frame(pair_histogram(gt, pred), SPACE).iou.tolist() == [pytest.approx(4 / 7)]
    pred[2, 3] = CAR + 1  # 4 + 4 on road: IoU exactly 0.5 is no match
    result = idsw_of(([gt], [pred])).result()
    assert counts(result) == (0, 1, 1, 0, 0)


def test_category_must_agree_and_crowd_gt_is_not_a_track():
    gts, preds = car_video([PERSON + 1])
    assert counts(idsw_of((gts, preds)).result()) == (0, 1, 1, 0, 0)
    gt = np.full((2, 2), CAR, np.int64)  # crowd only
    assert counts(idsw_of(([gt], [gt])).result()) == (0, 0, 0, 0, 0)


def test_idsw_sums_over_videos_and_merges():
    a = car_video([CAR + 1, CAR + 2])
    b = car_video([CAR + 1, ROAD, CAR + 1])
    both = idsw_of(a, b)
    assert counts(both.result()) == (4, 0, 1, 1, 1)
    assert [r["idsw"] for r in both.per_video()] == [1, 0]
    first, second = idsw_of(a), idsw_of(b)
    second.videos = {"v1": second.videos.pop("v0")}
    first.merge(second)
    assert first.result() == both.result() and first.per_video() == both.per_video()
    with pytest.raises(ValueError, match="both"):
        first.merge(both)
    with pytest.raises(ValueError, match="already"):
        both.update(VideoStats("v0", [], [], {}))
    with pytest.raises(ValueError, match="thing ids"):
        IdentitySwitches(LabelSpace(1000, 255, (0,), frozenset({13})))


def test_empty_video_has_no_counts():
    metric = IdentitySwitches(SPACE)
    metric.update(VideoStats("v", [], [], {}))
    assert counts(metric.result()) == (0, 0, 0, 0, 0)


# Properties, and a literal frame-by-frame reference (TrackEval-style state loop).


def random_video(rng: np.random.Generator, num_frames: int) -> list[np.ndarray]:
    """Blocky GT: each 2x2 block is road, void, a crowd car or one of a few car/person tracks."""
    values = np.array([ROAD, VOID, CAR, CAR + 1, CAR + 2, CAR + 3, PERSON + 1], np.int64)
    out = []
    for _ in range(num_frames):
        blocks = values[rng.integers(0, len(values), (3, 3))]
        out.append(np.kron(blocks, np.ones((2, 2), np.int64)))
    return out


def noisy(rng: np.random.Generator, gts: list[np.ndarray]) -> list[np.ndarray]:
    """A prediction: the GT with some tracks renamed per frame and some pixels changed."""
    values = np.array([ROAD, VOID, CAR + 1, CAR + 2, CAR + 9, PERSON + 1, PERSON + 4], np.int64)
    preds = []
    for gt in gts:
        pred = np.where(gt == CAR + rng.integers(1, 4), CAR + 8, gt)
        pred = np.where(pred == CAR, CAR + 5, pred)
        flip = rng.random(gt.shape) < 0.15
        preds.append(np.where(flip, values[rng.integers(0, len(values), gt.shape)], pred))
    return preds


def literal_counts(gts, preds, space=SPACE) -> tuple[int, ...]:
    """Masks and a Python state loop per frame, sharing no code with the metric."""
    tp = fp = fn = idsw = frag = 0
    last: dict[int, int] = {}
    unmatched_since: set[int] = set()
    for gt, pred in zip(gts, preds, strict=True):
        gt_ids = [
            int(g) for g in np.unique(gt) if g // 1000 in space.thing_ids and g % 1000 and g != VOID
        ]
        pred_ids = [int(p) for p in np.unique(pred) if p // 1000 in space.thing_ids]
        matched_pred = set()
        for g in gt_ids:
            match = None
            for p in pred_ids:
                if p // 1000 != g // 1000:
                    continue
                inter = np.sum((gt == g) & (pred == p))
                union = np.sum(gt == g) + np.sum(pred == p) - inter
                union -= np.sum((gt == VOID) & (pred == p))
                if inter / union > 0.5:
                    match = p
            if match is None:
                fn += 1
                if g in last:
                    unmatched_since.add(g)
                continue
            tp += 1
            matched_pred.add(match)
            if g in last and last[g] != match:
                idsw += 1
            if g in unmatched_since:
                frag += 1
                unmatched_since.discard(g)
            last[g] = match
        for p in set(pred_ids) - matched_pred:
            on_void = np.sum((pred == p) & (gt == VOID))
            on_crowd = np.sum((pred == p) & (gt == p // 1000 * 1000))
            if (on_void + on_crowd) / np.sum(pred == p) <= 0.5:
                fp += 1
    return tp, fp, fn, idsw, frag


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_idsw_equals_literal_reference(seed, num_frames):
    rng = np.random.default_rng(seed)
    gts = random_video(rng, num_frames)
    preds = noisy(rng, gts)
    assert counts(idsw_of((gts, preds)).result()) == literal_counts(gts, preds)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_relabelling_predicted_tracks_changes_nothing(seed, num_frames):
    rng = np.random.default_rng(seed)
    gts = random_video(rng, num_frames)
    preds = noisy(rng, gts)
    # A bijection on predicted car instances, the same in every frame.
    perm = {CAR + i: CAR + j for i, j in zip(range(10), rng.permutation(10) + 20, strict=True)}
    relabelled = [np.vectorize(lambda v: perm.get(int(v), int(v)))(p) for p in preds]
    assert idsw_of((gts, preds)).result() == idsw_of((gts, relabelled)).result()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6))
def test_perfect_prediction_has_no_switches(seed, num_frames):
    gts = random_video(np.random.default_rng(seed), num_frames)
    result = idsw_of((gts, gts)).result()
    assert (result["fp"], result["fn"], result["idsw"], result["frag"]) == (0, 0, 0, 0)
    if result["tp"]:
        assert result["motsa"] == result["smotsa"] == result["motsp"] == 100.0
