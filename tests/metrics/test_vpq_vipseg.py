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

from vpsbench.datasets import vipseg
from vpsbench.evaluation.predictions import (
    assign_panoptic_values,
    colour_ids_to_panoptic,
    submission_tubes,
)
from vpsbench.metrics.core import LabelSpace, VideoStats, pair_histogram
from vpsbench.metrics.vpq import VPQ

D = vipseg.LABEL_DIVISOR
VOID = 255 * D
SPACE = LabelSpace.from_categories(vipseg.CATEGORIES, D, 255)
WALL, DOOR, FLOOR, PERSON = 0, 2, 13, 60
COLOUR_ID = {c.id: c.color[0] + 256 * c.color[1] + 65536 * c.color[2] for c in vipseg.CATEGORIES}
CATEGORIES_JSON = [
    {"id": c.id, "name": c.name, "isthing": int(c.isthing), "color": list(c.color)}
    for c in vipseg.CATEGORIES
]


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


# --- official-layout data for the literal port -------------------------------------------------


def official_gt(maps: list[np.ndarray]) -> tuple[list[np.ndarray], list[dict]]:
    """Unified GT maps -> colour-id maps + per-frame segments_info, as the official GT holds
    them: stuff by its category colour, one id per thing."""
    ids, annotations = [], []
    for pan in maps:
        out = np.zeros(pan.shape, np.uint32)
        segments = []
        for value in np.unique(pan).tolist():
            if value == VOID:
                continue
            category, instance = divmod(value, D)
            seg_id = COLOUR_ID[category] if instance == 0 else (1 << 20) + value
            out[pan == value] = seg_id
            area = int((pan == value).sum())
            segments.append({"id": seg_id, "category_id": category, "iscrowd": 0, "area": area})
        ids.append(out)
        annotations.append({"segments_info": segments})
    return ids, annotations


def official_pred(maps: list[np.ndarray]) -> tuple[list[np.ndarray], list[dict]]:
    """Panoptic predictions -> colour-id maps (id = value + 1) + segments_info."""
    ids, annotations = [], []
    for pan in maps:
        out = np.where(pan == VOID, 0, pan + 1).astype(np.uint32)
        segments = [{"id": int(v) + 1, "category_id": int(v) // D}
                    for v in np.unique(pan).tolist() if v != VOID]  # fmt: skip
        ids.append(out)
        annotations.append({"segments_info": segments})
    return ids, annotations


def as_official(videos, pred_ids=None) -> tuple:
    """(gt json, pred json, gt png reader, pred png reader) of in-memory videos."""
    gt_json = {"videos": [], "annotations": [], "categories": CATEGORIES_JSON}
    pred_json = {"annotations": []}
    pngs: dict[tuple, np.ndarray] = {}
    for i, (gts, preds, *_) in enumerate(videos):
        vid = f"v{i}"
        gt_ids, gt_ann = official_gt(gts)
        if pred_ids is not None:
            p_ids, p_ann = pred_ids[i]
        else:
            p_ids, p_ann = official_pred(preds)
        names = [f"{t:08d}.png" for t in range(len(gts))]
        gt_json["videos"].append({"video_id": vid, "images": [{"file_name": n} for n in names]})
        gt_json["annotations"].append({"video_id": vid, "annotations": gt_ann})
        pred_json["annotations"].append({"video_id": vid, "annotations": p_ann})
        for n, g, p in zip(names, gt_ids, p_ids, strict=True):
            pngs[("gt", vid, n)], pngs[("pred", vid, n)] = g, p
    return (gt_json, pred_json, lambda v, n: pngs[("gt", v, n)],
            lambda v, n: pngs[("pred", v, n)])  # fmt: skip


# --- hypothesis: fast path == literal official procedure -----------------------------------------

GT_CHOICES = [VOID, WALL * D, FLOOR * D, PERSON * D + 1, PERSON * D + 2, DOOR * D + 3]
PRED_CATEGORIES = [WALL, FLOOR, PERSON, DOOR]


def random_video(rng: np.random.Generator, frames: int, shape=(3, 4)) -> tuple:
    """GT maps, and a submission-like prediction: colour ids whose category may change.

    The prediction mostly follows the GT through a per-video id for each GT value (so tubes
    match over many frames), with a few pixels and categories changed at random.
    """
    id_of = {v: int(i) for v, i in zip(GT_CHOICES, rng.permutation([0, 11, 12, 13, 14, 15]),
                                       strict=True)}  # fmt: skip
    gts, ids, annotations = [], [], []
    for _ in range(frames):
        gt = rng.choice(GT_CHOICES, size=shape).astype(np.int32)
        if gts and rng.random() < 0.7:  # GT that persists: long tubes
            gt = np.where(rng.random(shape) < 0.85, gts[-1], gt).astype(np.int32)
        frame_ids = np.vectorize(id_of.get)(gt).astype(np.uint32)
        noise = rng.random(shape) < 0.2
        frame_ids[noise] = rng.choice([0, 11, 12, 13, 14, 15, 16], size=int(noise.sum()))
        table = {}
        for i in np.unique(frame_ids).tolist():
            if i == 0:
                continue
            follows = [v for v, j in id_of.items() if j == i and v != VOID]
            category = follows[0] // D if follows else int(rng.choice(PRED_CATEGORIES))
            if rng.random() < 0.15:  # a category change: the id stays one tube
                category = int(rng.choice(PRED_CATEGORIES))
            table[i] = category
        gts.append(gt)
        ids.append(frame_ids)
        annotations.append(table)
    return gts, ids, annotations


def fast_path_video(gts, ids, tables) -> tuple:
    """vpsbench's reading of a submission video: one value per (id, category), one tube per id."""
    values = assign_panoptic_values(tables, D)
    preds = [colour_ids_to_panoptic(i, t, values, VOID) for i, t in zip(ids, tables, strict=True)]
    return gts, preds, submission_tubes(values, VOID)


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
