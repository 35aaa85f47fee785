"""The official tube rule: a prediction tube is one colour id, its category the first one seen.

Hand cases for the first-appearance rule, the ``split`` option, instance-identity files, and
the fast path against the literal official procedure on submissions whose ids change category.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from literal_vpq import literal_vpq

from vpsbench.evaluation.predictions import (
    assign_panoptic_values,
    colour_ids_to_panoptic,
    submission_tubes,
)
from vpsbench.metrics.core import LabelSpace, VideoStats, pair_histogram
from vpsbench.metrics.tubes import InstanceTubes, TubeTable, conflicting_keys, window_histogram
from vpsbench.metrics.vpq import VPQ

CATEGORIES = [0, 1, 11, 13]
THINGS = {11, 13}
SPACE = LabelSpace(1000, 255, tuple(CATEGORIES), frozenset(THINGS))
VOID = 255_000
ROAD, PERSON, CAR = 0, 11_000, 13_000
ROAD_ID, OBJ_ID = 8405120, 4242  # colour ids of a submission


def submission_video(id_maps, tables):
    """The evaluator's own conversion of colour-id frames: panoptic maps and tube table."""
    values = assign_panoptic_values(tables, 1000)
    maps = [
        colour_ids_to_panoptic(i, t, values, VOID) for i, t in zip(id_maps, tables, strict=True)
    ]
    return maps, submission_tubes(values, VOID)


def vpq_counts(gts, preds, tubes, sizes, tube_rule="official"):
    metric = VPQ(SPACE, sizes, [(n - 1) * 5 for n in sizes], tube_rule=tube_rule)
    hists = [pair_histogram(g, p) for g, p in zip(gts, preds, strict=True)]
    metric.update(VideoStats("v", [str(i) for i in range(len(gts))], hists, {}, tubes))
    return metric


def class_row(metric, k, category):
    return next(r for r in metric.per_class() if r["k"] == k and r["category_id"] == category)


def object_frames(classes):
    """4x4 frames: road, with one 2x2 object (colour OBJ_ID) whose class per frame is given."""
    gts, ids, tables = [], [], []
    for cls in classes:
        gt = np.full((4, 4), ROAD, np.int32)
        gt[:2, :2] = CAR + 1  # the GT object is a car in every frame
        frame = np.full((4, 4), ROAD_ID, np.int64)
        frame[:2, :2] = OBJ_ID
        gts.append(gt)
        ids.append(frame)
        tables.append({ROAD_ID: 0, OBJ_ID: cls})
    return gts, ids, tables


def test_id_changing_class_in_frame_2_of_3_is_one_tube_with_first_class():
    """Official: the id is one car tube over 3 frames (area 12), matching the GT car exactly."""
    gts, ids, tables = object_frames([13, 11, 13])
    preds, tubes = submission_video(ids, tables)
    metric = vpq_counts(gts, preds, tubes, (3,))
    car, person = class_row(metric, 10, 13), class_row(metric, 10, 11)
    assert (car["tp"], car["fp"], car["fn"]) == (1, 0, 0)
    # The person-labelled frame only adds area: intersection 12 of union 12, IoU 1.
    assert car["iou_sum"] == pytest.approx(1.0)
    assert (person["tp"], person["fp"], person["fn"]) == (0, 0, 0)


def test_split_option_makes_two_tubes_out_of_that_id():
    gts, ids, tables = object_frames([13, 11, 13])
    preds, tubes = submission_video(ids, tables)
    metric = vpq_counts(gts, preds, tubes, (3,), tube_rule="split")
    car, person = class_row(metric, 10, 13), class_row(metric, 10, 11)
    # The car part covers 8 of the GT's 12 pixels: IoU 2/3 > 0.5; the person part is an FP.
    assert (car["tp"], car["fp"], car["fn"]) == (1, 0, 0)
    assert car["iou_sum"] == pytest.approx(2 / 3)
    assert (person["tp"], person["fp"], person["fn"]) == (0, 1, 0)


def test_id_absent_from_frame_1_takes_the_class_of_frame_2():
    """An id absent in frame 1, a person in frame 2 and a car in frame 3 (GT: a car).

    Window (1, 2): the id appears first in frame 2, as a person; window (2, 3): its first frame
    is frame 2 again, so it is a person tube that misses the car. Another id, a 1-pixel car in
    frame 1 only, is matched in window (1, 2).
    """
    gts, ids, tables = [], [], []
    for t, cls in enumerate([None, 11, 13]):
        gt = np.full((4, 4), ROAD, np.int32)
        frame = np.full((4, 4), ROAD_ID, np.int64)
        table = {ROAD_ID: 0}
        if cls is not None:
            gt[:2, :2] = CAR + 1
            frame[:2, :2] = OBJ_ID
            table[OBJ_ID] = cls
        if t == 0:
            frame[3, 3] = 77  # another object, so frame 1 has a thing id too
            table[77] = 13
            gt[3, 3] = CAR + 2
        gts.append(gt)
        ids.append(frame)
        tables.append(table)
    preds, tubes = submission_video(ids, tables)
    metric = vpq_counts(gts, preds, tubes, (2,))
    person, car = class_row(metric, 5, 11), class_row(metric, 5, 13)
    # Each window: GT car 1 vs the person tube -> FN car, FP person; id 77 is a TP once.
    assert (person["tp"], person["fp"]) == (0, 2)
    assert (car["tp"], car["fn"]) == (1, 2)


def test_id_first_seen_in_frame_2_with_another_class_than_in_next_window():
    """The id is absent from frame 1, a person in frame 2, a car in frames 3-4: its tube is a
    person in windows (1,2) and (2,3), whose first frame with it is frame 2, and a car in (3,4)."""
    gts, ids, tables = object_frames([13, 11, 13, 13])
    ids[0][:2, :2] = ROAD_ID  # the id is absent from frame 1
    del tables[0][OBJ_ID]
    gts[0][:2, :2] = ROAD
    preds, tubes = submission_video(ids, tables)
    metric = vpq_counts(gts, preds, tubes, (2,))
    person, car = class_row(metric, 5, 11), class_row(metric, 5, 13)
    # Windows (1,2) and (2,3): person tubes -> FP person + FN car each; (3,4): car TP.
    assert (person["tp"], person["fp"], person["fn"]) == (0, 2, 0)
    assert (car["tp"], car["fp"], car["fn"]) == (1, 0, 2)
    totals, _ = literal_vpq([(gts, ids, tables)], CATEGORIES, THINGS, (2,))
    assert totals[2][11][1:] == [0, 2, 0]
    assert totals[2][13][1:] == [1, 0, 2]


def test_frames_of_one_class_are_unchanged_by_the_rule():
    gts, ids, tables = object_frames([13, 13, 13])
    preds, tubes = submission_video(ids, tables)
    official = vpq_counts(gts, preds, tubes, (1, 2, 3)).result()
    plain = vpq_counts(gts, preds, None, (1, 2, 3)).result()
    assert official == plain


def test_instance_identity_files_join_values_by_instance():
    tubes = InstanceTubes(1000, VOID)
    keys = tubes.keys_of(np.array([13_005, 11_005, 13_006, 0, 1_000, VOID, 11_000]))
    assert keys[0] == keys[1] != keys[2]
    assert len({*keys[3:5].tolist(), keys[6], keys[0], keys[2]}) == 5  # stuff, crowd: own keys
    assert keys[5] < 0
    assert conflicting_keys(np.array([13_005, 11_005]), tubes).tolist() == [keys[0]]


def test_instance_identity_window_relabels_to_first_value():
    h1 = pair_histogram(np.array([[13_001]]), np.array([[13_005]]))
    h2 = pair_histogram(np.array([[13_001]]), np.array([[11_005]]))
    window = window_histogram([h1, h2], InstanceTubes(1000, VOID))
    assert window.pred.tolist() == [13_005] and window.count.tolist() == [2]


def test_tube_table_refuses_values_it_does_not_know():
    table = TubeTable.from_mapping({13_000: 5, 11_000: 5}, VOID)
    assert table.keys_of(np.array([13_000, 11_000, VOID])).tolist() == [5, 5, -1]
    with pytest.raises(ValueError, match="no tube"):
        table.keys_of(np.array([1_000]))


# --- the fast path against the literal official procedure, on submissions -------------------


@st.composite
def submission_videos(draw):
    """1-2 videos of 1-5 frames of colour ids whose categories change between frames."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    videos = []
    for _ in range(draw(st.integers(1, 2))):
        frames = draw(st.integers(1, 5))
        gt_palette = np.array([ROAD, 1_000, CAR + 1, CAR + 2, PERSON + 3, PERSON, VOID])
        gts = [rng.choice(gt_palette, (h, w)).astype(np.int32) for _ in range(frames)]
        colour_ids = [0, 7, 9, 300, 65536, 8405120][: rng.integers(2, 7)]
        ids, tables = [], []
        for t in range(frames):
            frame = rng.choice(colour_ids, (h, w)).astype(np.int64)
            if draw(st.booleans()):  # copy the GT layout, so that TPs happen
                frame = np.where(gts[t] == VOID, frame, colour_of(gts[t]))
            present = [int(i) for i in np.unique(frame) if i != 0]
            # Each id draws its category anew every frame: ids change class often.
            tables.append({i: int(rng.choice(CATEGORIES)) for i in present})
            ids.append(frame)
        videos.append((gts, ids, tables))
    return videos


def colour_of(gt: np.ndarray) -> np.ndarray:
    """A colour id per GT segment (void never reaches here)."""
    return (gt.astype(np.int64) % 1_000_000) + 1


@settings(max_examples=150, deadline=None)
@given(submission_videos())
def test_fast_path_equals_literal_procedure_on_category_changing_ids(videos):
    sizes = (1, 2, 3, 4)
    totals, scores = literal_vpq(videos, CATEGORIES, THINGS, sizes)
    metric = VPQ(SPACE, sizes, (0, 5, 10, 15))
    for v, (gts, ids, tables) in enumerate(videos):
        preds, tubes = submission_video(ids, tables)
        hists = [pair_histogram(g, p) for g, p in zip(gts, preds, strict=True)]
        metric.update(VideoStats(f"{v}", [str(i) for i in range(len(gts))], hists, {}, tubes))
    fast = metric.totals()
    result = metric.result()
    for n, k in zip(sizes, (0, 5, 10, 15), strict=True):
        for j, c in enumerate(CATEGORIES):
            iou, tp, fp, fn = totals[n][c]
            assert (fast[k].tp[j], fast[k].fp[j], fast[k].fn[j]) == (tp, fp, fn), (n, c)
            assert abs(fast[k].iou[j] - iou) <= 1e-12
        for group, expected in zip(("all", "things", "stuff"), scores[n], strict=True):
            got = result["k"][str(k)][group]
            assert (got is None) == (expected is None)
            if expected is not None:
                assert abs(got - expected) <= 1e-12
