"""VIPSeg-like test data for the metric tests: official-layout frames (colour ids +
segments_info) for the literal ports in ``tests/literal_vipseg.py``, and random videos."""

from __future__ import annotations

import numpy as np

from vpsbench.datasets import vipseg
from vpsbench.evaluation.predictions import (
    assign_panoptic_values,
    colour_ids_to_panoptic,
    submission_tubes,
)
from vpsbench.metrics.core import LabelSpace

D = vipseg.LABEL_DIVISOR
VOID = 255 * D
SPACE = LabelSpace.from_categories(vipseg.CATEGORIES, D, 255)
WALL, DOOR, FLOOR, PERSON = 0, 2, 13, 60
COLOUR_ID = {c.id: c.color[0] + 256 * c.color[1] + 65536 * c.color[2] for c in vipseg.CATEGORIES}
CATEGORIES_JSON = [
    {"id": c.id, "name": c.name, "isthing": int(c.isthing), "color": list(c.color)}
    for c in vipseg.CATEGORIES
]


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
