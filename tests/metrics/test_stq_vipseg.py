"""STQ with ``stq_rule="vipseg"``: eval_stq_vspw.py's numbering makes the GT segment listed
first in a video crowd when it is a thing. Hand-computed case; literal port under hypothesis."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from literal_vipseg import literal_stq_vspw
from vipseg_cases import SPACE, as_official, fast_path_video, random_video

from vpsbench.datasets import vipseg
from vpsbench.metrics.core import MetricContext, VideoStats, pair_histogram
from vpsbench.metrics.stq import STQ

D = vipseg.LABEL_DIVISOR
WALL, DOOR, PERSON = 0, 20001, 60 * D + 2


def stq(videos, rule: str, first_listed=None) -> STQ:
    metric = STQ(SPACE, rule)
    for i, (gts, preds, *_) in enumerate(videos):
        hists = [pair_histogram(g, p) for g, p in zip(gts, preds, strict=True)]
        first = first_listed[i] if first_listed else None
        stems = [str(t) for t in range(len(gts))]
        metric.update(VideoStats(f"v{i}", stems, hists, {}, None, first))
    return metric


def hand_video():
    """GT: a door and a person, then wall, door, person; the door (20001) is listed first.
    Prediction: the door right; the person as id b, then b and a new id c."""
    gts = [np.array([[DOOR, DOOR, PERSON, PERSON]]), np.array([[WALL, DOOR, PERSON, PERSON]])]
    b, c = 60 * D + 7, 60 * D + 8
    preds = [np.array([[DOOR, DOOR, b, b]]), np.array([[WALL, DOOR, b, c]])]
    return gts, preds


def test_hand_computed_first_listed_thing_is_crowd():
    """deeplab2: door 3/3 -> 1; person: b 3 * 3/4 + c 1 * 1/4 over |g| = 4 -> 0.625; AQ 0.8125.
    VIPSeg: the door is crowd (instance number 0), only the person counts: AQ 0.625. SQ 1."""
    video = hand_video()
    deeplab2 = stq([video], "deeplab2").result()
    assert deeplab2["aq"] == pytest.approx(81.25) and deeplab2["num_gt_tracks"] == 2
    assert deeplab2["stq"] == pytest.approx(100 * math.sqrt(0.8125))
    listed = stq([video], "vipseg").result()  # no recorded order: smallest value of frame 0
    assert listed["aq"] == pytest.approx(62.5) and listed["num_gt_tracks"] == 1
    assert listed["sq"] == pytest.approx(100.0) and listed["stq"] == pytest.approx(
        100 * math.sqrt(0.625)
    )
    # A recorded order decides: the person listed first is crowd instead.
    person_first = stq([video], "vipseg", first_listed=[PERSON]).result()
    assert person_first["aq"] == pytest.approx(100.0) and person_first["num_gt_tracks"] == 1
    # Stuff listed first changes nothing.
    assert stq([video], "vipseg", first_listed=[WALL]).result() == deeplab2
    literal = literal_stq_vspw(*as_official([video]))
    assert 100 * literal["AQ"] == pytest.approx(listed["aq"])


def test_rule_comes_from_the_protocol_and_must_match_to_merge():
    context = MetricContext(SPACE, vipseg.PROTOCOL)
    assert STQ.from_context(context).rule == "vipseg"
    with pytest.raises(ValueError, match="cannot merge"):
        STQ(SPACE, "vipseg").merge(STQ(SPACE, "deeplab2"))
    with pytest.raises(ValueError, match="STQ rule must be one of"):
        STQ(SPACE, "first")


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), lengths=st.lists(st.integers(1, 6), min_size=1, max_size=3))
def test_fast_path_equals_literal_eval_stq_vspw(seed, lengths):
    """The literal data lists each frame's GT segments by ascending value, the fallback order."""
    rng = np.random.default_rng(seed)
    raw = [random_video(rng, n) for n in lengths]
    videos = [fast_path_video(*video) for video in raw]
    pred_ids = [
        (ids, [{"segments_info": [{"id": i, "category_id": c} for i, c in t.items()]}
               for t in tables])
        for _, ids, tables in raw
    ]  # fmt: skip
    literal = literal_stq_vspw(*as_official(videos, pred_ids))
    result = stq(videos, "vipseg").result()
    assert result["aq"] == pytest.approx(100 * literal["AQ"], abs=1e-9)
    assert result["sq"] == pytest.approx(100 * literal["IoU"], abs=1e-9)
    assert result["stq"] == pytest.approx(100 * literal["STQ"], abs=1e-9)
