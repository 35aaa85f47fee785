"""A deliberately literal, slow VPQ written from the official Cityscapes-VPS procedure.

It does what mcahny/vps ``tools/eval_vpq.py`` does, step by step: for every window it stacks the
frames, builds the segment dictionaries with first-occurrence category, counts pairs with one
``np.unique`` on ``gt * OFFSET + pred`` keys, and runs the matching loop pair by pair in
ascending key order. It shares no code with ``vpsbench.metrics`` on purpose: the fast path is
tested against it.

Predictions are either panoptic maps (``category * divisor + instance``) or, like an official
submission, colour-id maps (0 = no segment) with one ``{id: category_id}`` table per frame: then
a tube is one colour id and its category is the one of the id's first frame in the window.
"""

from __future__ import annotations

import numpy as np

OFFSET = 1 << 24


def segments_of(stack, divisor: int, void: int, things: set[int], tables=None) -> dict:
    """{id: {category, iscrowd, area}} of a stacked window, category from the first frame.

    ``tables[t]`` is frame t's {id: category} (a submission's segments_info); without tables
    the category is ``id // divisor``.
    """
    segments: dict[int, dict] = {}
    for t, frame in enumerate(stack):
        ids, areas = np.unique(frame, return_counts=True)
        for seg_id, area in zip(ids.tolist(), areas.tolist(), strict=True):
            if seg_id == void:
                continue
            if seg_id not in segments:
                category = tables[t][seg_id] if tables is not None else seg_id // divisor
                crowd = int(category in things and seg_id % divisor == 0)
                segments[seg_id] = {"category": category, "iscrowd": crowd, "area": 0}
            segments[seg_id]["area"] += area
    return segments


def window_counts(
    gt_stack, pred_stack, categories, things, divisor, void, min_area=0, pred_tables=None
) -> dict:
    """{category: [iou_sum, tp, fp, fn]} for one window, the official way.

    With ``pred_tables`` the prediction stack holds colour ids (0 = no segment).
    """
    stats = {c: [0.0, 0, 0, 0] for c in categories}
    pred_void = 0 if pred_tables is not None else void
    gt_segs = segments_of(gt_stack, divisor, void, things)
    pred_segs = segments_of(pred_stack, divisor, pred_void, things, pred_tables)
    # Map void to the official id 0 before packing, so 0 sorts first like the official keys.
    g = np.where(gt_stack == void, 0, gt_stack.astype(np.uint64) + 1)
    p = np.where(pred_stack == pred_void, 0, pred_stack.astype(np.uint64) + 1)
    keys, counts = np.unique(g.astype(np.uint64) * OFFSET + p.astype(np.uint64), return_counts=True)
    inter = {}
    for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
        gid, pid = key // OFFSET, key % OFFSET
        inter[(gid - 1 if gid else void, pid - 1 if pid else pred_void)] = count

    gt_matched, pred_matched = set(), set()
    for (gid, pid), count in inter.items():
        if gid not in gt_segs or pid not in pred_segs:
            continue
        if gt_segs[gid]["iscrowd"] == 1:
            continue
        if gt_segs[gid]["category"] != pred_segs[pid]["category"]:
            continue
        if gt_segs[gid]["area"] < min_area:
            continue
        void_overlap = inter.get((void, pid), 0)
        union = pred_segs[pid]["area"] + gt_segs[gid]["area"] - count - void_overlap
        iou = count / union
        assert iou <= 1.0
        if iou > 0.5:
            cat = gt_segs[gid]["category"]
            stats[cat][0] += iou
            stats[cat][1] += 1
            gt_matched.add(gid)
            pred_matched.add(pid)

    crowd_by_cat = {}
    for gid, seg in gt_segs.items():
        if seg["iscrowd"] == 1:
            crowd_by_cat[seg["category"]] = gid
            continue
        if gid in gt_matched or seg["area"] < min_area:
            continue
        stats[seg["category"]][3] += 1

    for pid, seg in pred_segs.items():
        if pid in pred_matched:
            continue
        ignored = inter.get((void, pid), 0)
        if seg["category"] in crowd_by_cat:
            ignored += inter.get((crowd_by_cat[seg["category"]], pid), 0)
        if ignored / seg["area"] > 0.5:
            continue
        stats[seg["category"]][2] += 1
    return stats


def literal_vpq(videos, categories, things, window_sizes, divisor=1000, ignore=255, min_area=0):
    """{n: {category: [iou, tp, fp, fn]}} and {n: (all, things, stuff)} PQ in percent.

    A video is ``(gts, preds)`` with panoptic predictions or ``(gts, preds, tables)`` with
    colour-id predictions and one {id: category} table per frame.
    """
    void = ignore * divisor
    totals = {}
    scores = {}
    for n in window_sizes:
        total = {c: [0.0, 0, 0, 0] for c in categories}
        for gts, preds, *rest in videos:
            tables = rest[0] if rest else None
            video_total = {c: [0.0, 0, 0, 0] for c in categories}
            for start in range(len(gts) - n + 1):
                gt_stack = np.stack(gts[start : start + n])
                pred_stack = np.stack(preds[start : start + n])
                window_tables = tables[start : start + n] if tables is not None else None
                window = window_counts(
                    gt_stack, pred_stack, categories, things, divisor, void, min_area, window_tables
                )
                for c in categories:
                    for i in range(4):
                        video_total[c][i] += window[c][i]
            for c in categories:
                for i in range(4):
                    total[c][i] += video_total[c][i]
        totals[n] = total
        scores[n] = tuple(
            pq_average(total, [c for c in categories if keep(c)])
            for keep in (lambda c: True, lambda c: c in things, lambda c: c not in things)
        )
    return totals, scores


def pq_average(total: dict, categories: list[int]) -> float | None:
    """Mean PQ (percent) over the given categories that have TP+FP+FN > 0."""
    values = []
    for c in categories:
        iou, tp, fp, fn = total[c]
        if tp + fp + fn == 0:
            continue
        values.append(iou / (tp + 0.5 * fp + 0.5 * fn))
    return 100.0 * sum(values) / len(values) if values else None
