"""A deliberately literal, slow image PQ written from panopticapi's procedure.

It follows cocodataset/panopticapi ``panopticapi/evaluation.py`` step by step, in plain Python
and one ``np.unique`` per image: ``pq_compute`` pairs every GT annotation with the prediction of
its ``image_id``; per image (``pq_compute_single_core``) it decodes both PNGs to ids
``R + 256 G + 256² B``, takes GT segments and areas from the GT JSON and prediction areas from
the PNG (raising on a PNG id missing from the JSON, an unknown category and a JSON id missing
from the PNG), counts (gt, pred) pairs on ``gt * 2^24 + pred`` keys, matches same-category
non-crowd pairs with IoU > 0.5 (the prediction's overlap with void 0 removed from the union),
counts unmatched non-crowd GT as FN and unmatched predictions as FP unless more than half of
them lies on void plus the last-listed crowd segment of their category; ``pq_average`` then
averages over the categories with TP + FP + FN > 0. It shares no code with vpsbench on purpose:
the fast path (``vpsbench.io.coco_panoptic``) is tested against it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

OFFSET = 256 * 256 * 256
VOID = 0


def decode(path: Path) -> np.ndarray:
    rgb = np.array(Image.open(path), dtype=np.uint32)
    return rgb[:, :, 0] + 256 * rgb[:, :, 1] + 256 * 256 * rgb[:, :, 2]


def image_stats(gt_ann: dict, pred_ann: dict, gt_folder: Path, pred_folder: Path, categories):
    """{category_id: [iou, tp, fp, fn]} of one image."""
    stats: dict = {}

    def stat(cat):
        return stats.setdefault(cat, [0.0, 0, 0, 0])

    gt_ids = decode(Path(gt_folder) / gt_ann["file_name"])
    pred_ids = decode(Path(pred_folder) / pred_ann["file_name"])
    gt_segs = {s["id"]: dict(s) for s in gt_ann["segments_info"]}
    pred_segs = {s["id"]: dict(s) for s in pred_ann["segments_info"]}

    not_seen = {s["id"] for s in pred_ann["segments_info"]}
    ids, counts = np.unique(pred_ids, return_counts=True)
    for seg_id, count in zip(ids.tolist(), counts.tolist(), strict=True):
        if seg_id not in pred_segs:
            if seg_id == VOID:
                continue
            raise KeyError(f"image {gt_ann['image_id']}: PNG id {seg_id} not in JSON")
        pred_segs[seg_id]["area"] = count
        not_seen.discard(seg_id)
        if pred_segs[seg_id]["category_id"] not in categories:
            raise KeyError(f"image {gt_ann['image_id']}: unknown category of {seg_id}")
    if not_seen:
        raise KeyError(f"image {gt_ann['image_id']}: JSON ids {sorted(not_seen)} not in PNG")

    keys, counts = np.unique(
        gt_ids.astype(np.uint64) * OFFSET + pred_ids.astype(np.uint64), return_counts=True
    )
    pairs = {}
    for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
        pairs[(key // OFFSET, key % OFFSET)] = count

    gt_matched, pred_matched = set(), set()
    for (g, p), inter in pairs.items():
        if g not in gt_segs or p not in pred_segs:
            continue
        if gt_segs[g].get("iscrowd", 0) == 1:
            continue
        if gt_segs[g]["category_id"] != pred_segs[p]["category_id"]:
            continue
        union = pred_segs[p]["area"] + gt_segs[g]["area"] - inter - pairs.get((VOID, p), 0)
        iou = inter / union
        if iou > 0.5:
            s = stat(gt_segs[g]["category_id"])
            s[1] += 1
            s[0] += iou
            gt_matched.add(g)
            pred_matched.add(p)

    crowd_of = {}
    for g, info in gt_segs.items():
        if g in gt_matched:
            continue
        if info.get("iscrowd", 0) == 1:
            crowd_of[info["category_id"]] = g  # the last one listed wins
            continue
        stat(info["category_id"])[3] += 1

    for p, info in pred_segs.items():
        if p in pred_matched:
            continue
        on_void = pairs.get((VOID, p), 0)
        if info["category_id"] in crowd_of:
            on_void += pairs.get((crowd_of[info["category_id"]], p), 0)
        if on_void / info["area"] > 0.5:
            continue
        stat(info["category_id"])[2] += 1
    return stats


def average(stats: dict, categories: dict, isthing):
    pq = sq = rq = 0.0
    n = 0
    per_class = {}
    for cat_id, info in categories.items():
        if isthing is not None and (info["isthing"] == 1) != isthing:
            continue
        iou, tp, fp, fn = stats.get(cat_id, [0.0, 0, 0, 0])
        if tp + fp + fn == 0:
            per_class[cat_id] = {"pq": 0.0, "sq": 0.0, "rq": 0.0}
            continue
        n += 1
        pq_c = iou / (tp + 0.5 * fp + 0.5 * fn)
        sq_c = iou / tp if tp != 0 else 0
        rq_c = tp / (tp + 0.5 * fp + 0.5 * fn)
        per_class[cat_id] = {"pq": pq_c, "sq": sq_c, "rq": rq_c}
        pq, sq, rq = pq + pq_c, sq + sq_c, rq + rq_c
    if n == 0:  # panopticapi divides by zero here
        return {"pq": None, "sq": None, "rq": None, "n": 0}, per_class
    return {"pq": pq / n, "sq": sq / n, "rq": rq / n, "n": n}, per_class


def pq_compute(gt_json: Path, pred_json: Path, gt_folder: Path, pred_folder: Path) -> dict:
    gt = json.loads(Path(gt_json).read_text())
    pred = json.loads(Path(pred_json).read_text())
    categories = {c["id"]: c for c in gt["categories"]}
    by_image = {a["image_id"]: a for a in pred["annotations"]}
    total: dict = {}
    for gt_ann in gt["annotations"]:
        if gt_ann["image_id"] not in by_image:
            raise KeyError(f"no prediction for image {gt_ann['image_id']}")
        per_image = image_stats(
            gt_ann, by_image[gt_ann["image_id"]], gt_folder, pred_folder, categories
        )
        for cat, values in per_image.items():
            acc = total.setdefault(cat, [0.0, 0, 0, 0])
            for i in range(4):
                acc[i] += values[i]
    results: dict = {}
    for name, isthing in (("All", None), ("Things", True), ("Stuff", False)):
        results[name], per_class = average(total, categories, isthing)
        if name == "All":
            results["per_class"] = per_class
    return results
