"""VPQ under the vipseg_official protocol: hand-computed case, literal eval_vpq_vspw.py port.

VIPSeg's scorer windows each video over 1, 2, 4, 6 and 8 frames; a video shorter than a window
gives no window of that size (``range(0, len - n + 1)`` is empty), which is what
``vpsbench.metrics.vpq.windows`` does too. The literal port (``tests/literal_vipseg.py``) reads
official-layout data: colour-id maps with per-frame ``segments_info``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from literal_vipseg import literal_vpq_vspw
from vipseg_cases import (
    PERSON,
    SPACE,
    WALL,
    D,
    as_official,
    fast_path_video,
    random_video,
)

from vpsbench.datasets import vipseg
from vpsbench.metrics.core import VideoStats, pair_histogram
from vpsbench.metrics.vpq import VPQ


def score(videos) -> VPQ:
    """vpsbench's VPQ of unified GT maps and panoptic predictions, vipseg_official protocol."""
    metric = VPQ.from_protocol(SPACE, vipseg.PROTOCOL)
    for i, (gts, preds, *tubes) in enumerate(videos):
        hists = [pair_histogram(g, p) for g, p in zip(gts, preds, strict=True)]
        stems = [f"{t:08d}" for t in range(len(gts))]
        metric.update(VideoStats(f"v{i}", stems, hists, {}, tubes[0] if tubes else None))
    return metric


def test_hand_computed_short_videos_give_no_window():
    """Three videos of 1, 3 and 8 frames: wall everywhere, one person each, predicted
    perfectly except that the 3-frame video's person changes id in its last frame.

    n=1: every frame matches: 100. n=2: the 1-frame video has no window; the 3-frame one has
    two, the second ([1, 2]) holds the switch: the GT person (2 px over 2 frames) against two
    one-frame ids gives IoU 1/2 twice, not > 1/2: one FN, two FP; the 8-frame video adds 7 TP.
    Person PQ = 8 / (8 + 1/2 + 1) = 16/19, wall 1: All 35/38. n=4, 6, 8: only the 8-frame
    video has windows: 100. Final All (4 + 35/38) / 5 = 187/190, Things (4 + 16/19) / 5 = 92/95.
    """
    wall, person = WALL * D, PERSON * D + 1
    frame = np.array([[wall, wall], [wall, person]], np.int32)
    switched = frame.copy()
    switched[1, 1] = PERSON * D + 2
    videos = [
        ([frame], [frame]),
        ([frame] * 3, [frame, frame, switched]),
        ([frame] * 8, [frame] * 8),
    ]
    result = score(videos).result()
    assert list(result["k"]) == ["0", "5", "15", "25", "35"]
    assert result["k"]["5"]["all"] == pytest.approx(100 * 35 / 38)
    assert result["k"]["5"]["things"] == pytest.approx(100 * 16 / 19)
    for k in ("0", "15", "25", "35"):
        assert result["k"][k]["all"] == pytest.approx(100.0)
    assert result["all"] == pytest.approx(100 * 187 / 190)  # 98.4210...
    assert result["things"] == pytest.approx(100 * 92 / 95)
    assert result["stuff"] == pytest.approx(100.0)
    person_rows = {r["k"]: r for r in score(videos).per_class() if r["category_id"] == PERSON}
    assert (person_rows[5]["tp"], person_rows[5]["fp"], person_rows[5]["fn"]) == (8, 2, 1)
    assert person_rows[15]["tp"] == 5  # windows of 4 in the 8-frame video only
    # The literal official procedure on the same data, laid out as the files are.
    literal = literal_vpq_vspw(*as_official(videos))
    assert literal["final"] == pytest.approx((result["all"], result["things"], result["stuff"]))


def test_every_video_shorter_than_a_window_makes_that_size_undefined():
    frame = np.full((2, 2), WALL * D, np.int32)
    result = score([([frame] * 7, [frame] * 7)]).result()
    assert result["k"]["35"]["all"] is None and result["all"] is None  # the script crashes
    assert result["k"]["25"]["all"] == pytest.approx(100.0)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    lengths=st.lists(st.integers(1, 9), min_size=1, max_size=3),
)
def test_fast_path_equals_literal_eval_vpq_vspw(seed, lengths):
    rng = np.random.default_rng(seed)
    raw = [random_video(rng, n) for n in lengths]
    videos = [fast_path_video(*video) for video in raw]
    pred_ids = [
        (ids, [{"segments_info": [{"id": i, "category_id": c} for i, c in t.items()]}
               for t in tables])
        for _, ids, tables in raw
    ]  # fmt: skip
    metric = score(videos)
    literal = literal_vpq_vspw(*as_official(videos, pred_ids))  # None where the script crashes
    by_k = dict(zip(vipseg.PROTOCOL.vpq_window_sizes, vipseg.PROTOCOL.vpq_k, strict=True))
    rows = {(r["k"], r["category_id"]): r for r in metric.per_class()}
    for n, counts in literal["counts"].items():
        for category, (iou, tp, fp, fn) in counts.items():
            row = rows[(by_k[n], category)]
            assert (row["tp"], row["fp"], row["fn"]) == (tp, fp, fn), (n, category)
            assert row["iou_sum"] == pytest.approx(iou, abs=1e-12)
        for category in {c for k, c in rows if k == by_k[n]} - set(counts):
            row = rows[(by_k[n], category)]
            assert row["tp"] + row["fp"] + row["fn"] == 0
    result = metric.result()
    for n, k in by_k.items():
        got = result["k"][str(k)]
        assert_scores((got["all"], got["things"], got["stuff"]), literal["k"][n])
    assert_scores((result["all"], result["things"], result["stuff"]), literal["final"])


def assert_scores(got: tuple, expected: tuple) -> None:
    for a, b in zip(got, expected, strict=True):
        assert (a is None) == (b is None) and (a is None or a == pytest.approx(b, abs=1e-9))
