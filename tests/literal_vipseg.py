"""Deliberately literal, slow VPQ and STQ written from VIPSeg's official scorers.

``literal_vpq_vspw`` does what ``ClipPanoFCN/eval_vpq_vspw.py`` (github.com/VIPSeg-Dataset/
VIPSeg-Dataset, HEAD 92e1459) does, step by step: videos in GT JSON order, a video's prediction
annotations zipped *positionally* with its GT annotations and ``images``, PNGs found by the GT
``file_name``; for each window size n every window start ``0 .. len - n`` (none when the video is
shorter), segment dictionaries per frame (GT area from the JSON, prediction area from the PNG,
the first frame's entry kept per id), one ``np.unique`` over ``gt * 2^24 + pred`` keys and the
matching loop in key order; classes averaged over the categories with TP+FP+FN > 0; the final
score the mean of the five window sizes.

``literal_stq_vspw`` does what ``ClipPanoFCN/eval_stq_vspw.py`` does: per video, GT and
prediction segment ids numbered in order of first listing in their JSON (stuff included), maps
rebuilt as ``(category << 16) + number`` starting from 255/255, fed frame by frame to a literal
port of the numpy ``STQuality`` shipped beside it (``segmentation_and_tracking_quality.py``,
deeplab2's): 124 classes, ignore 255 remapped to 124, offset 2^24.

Both share no code with ``vpsbench``. A "PNG" is given as a colour-id array ``R + 256 G +
65536 B``; ``read_layout`` loads a real directory.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

OFFSET = 256 * 256 * 256
VOID = 0
WINDOWS = (1, 2, 4, 6, 8)
Png = Callable[[str, str], np.ndarray]  # (video id, file name) -> colour ids


def png_ids(path: Path) -> np.ndarray:
    pan = np.uint32(np.array(Image.open(path)))
    return pan[:, :, 0] + pan[:, :, 1] * 256 + pan[:, :, 2] * 256 * 256


def read_layout(gt_json: Path, truth_dir: Path, submit_dir: Path) -> tuple:
    """(gt json, pred json, gt png, pred png) of files laid out as the scripts read them."""
    gt = json.loads(Path(gt_json).read_text())
    pred = json.loads((Path(submit_dir) / "pred.json").read_text())
    return (
        gt,
        pred,
        lambda video, name: png_ids(Path(truth_dir) / video / name),
        lambda video, name: png_ids(Path(submit_dir) / "pan_pred" / video / name),
    )


def video_sets(gt: dict, pred: dict, gt_png: Png, pred_png: Png) -> list[list[tuple]]:
    """Per GT video, its frames as (gt annotation, pred annotation, gt ids, pred ids)."""
    pred_j = {p["video_id"]: p["annotations"] for p in pred["annotations"]}
    gt_j = {g["video_id"]: g["annotations"] for g in gt["annotations"]}
    out = []
    for video in gt["videos"]:
        vid = video["video_id"]
        gt_js, pred_js = gt_j[vid], pred_j[vid]
        assert len(gt_js) == len(pred_js)
        names = [image["file_name"] for image in video["images"]]
        out.append(
            list(zip(gt_js, pred_js, [gt_png(vid, n) for n in names],
                     [pred_png(vid, n) for n in names], strict=False))
        )  # fmt: skip
    return out


def window_stats(categories: dict, window: list[tuple]) -> dict:
    """{category: [iou, tp, fp, fn]} of one window, as vpq_compute_single_core."""
    stat: dict[int, list] = {}

    def cat(c):
        return stat.setdefault(c, [0.0, 0, 0, 0])

    pans_gt, pans_pred, gt_list, pred_list = [], [], [], []
    for gt_json, pred_json, pan_gt, pan_pred in window:
        gt_segms = {}
        for el in gt_json["segments_info"]:
            if el["id"] in gt_segms:
                gt_segms[el["id"]]["area"] += el["area"]
            else:
                gt_segms[el["id"]] = copy.deepcopy(el)
        pred_segms = {}
        for el in pred_json["segments_info"]:
            if el["id"] in pred_segms:
                pred_segms[el["id"]]["area"] += el["area"]
            else:
                pred_segms[el["id"]] = copy.deepcopy(el)
        labels_left = {el["id"] for el in pred_json["segments_info"]}
        labels, counts = np.unique(pan_pred, return_counts=True)
        for label, count in zip(labels.tolist(), counts.tolist(), strict=True):
            if label not in pred_segms:
                if label == VOID:
                    continue
                raise KeyError(f"segment {label} in PNG, not in JSON")
            pred_segms[label]["area"] = count
            labels_left.remove(label)
            if pred_segms[label]["category_id"] not in categories:
                raise KeyError(f"unknown category {pred_segms[label]['category_id']}")
        if labels_left:
            raise KeyError(f"segments {sorted(labels_left)} in JSON, not in PNG")
        pans_gt.append(pan_gt)
        pans_pred.append(pan_pred)
        gt_list.append(gt_segms)
        pred_list.append(pred_segms)
    vid_gt, vid_pred = {}, {}
    for gt_segms, pred_segms in zip(gt_list, pred_list, strict=True):
        for k, v in gt_segms.items():
            if k not in vid_gt:
                vid_gt[k] = v
            else:
                vid_gt[k]["area"] += v["area"]
        for k, v in pred_segms.items():
            if k not in vid_pred:
                vid_pred[k] = v
            else:
                vid_pred[k]["area"] += v["area"]
    keys = np.stack(pans_gt).astype(np.uint64) * OFFSET + np.stack(pans_pred).astype(np.uint64)
    gt_pred_map = {}
    labels, counts = np.unique(keys, return_counts=True)
    for label, intersection in zip(labels.tolist(), counts.tolist(), strict=True):
        gt_pred_map[(label // OFFSET, label % OFFSET)] = intersection
    gt_matched, pred_matched = set(), set()
    for (gt_label, pred_label), intersection in gt_pred_map.items():
        if gt_label not in vid_gt or pred_label not in vid_pred:
            continue
        if vid_gt[gt_label]["iscrowd"] == 1:
            continue
        if vid_gt[gt_label]["category_id"] != vid_pred[pred_label]["category_id"]:
            continue
        union = (
            vid_pred[pred_label]["area"]
            + vid_gt[gt_label]["area"]
            - intersection
            - gt_pred_map.get((VOID, pred_label), 0)
        )
        iou = intersection / union
        assert iou <= 1.0
        if iou > 0.5:
            row = cat(vid_gt[gt_label]["category_id"])
            row[1] += 1
            row[0] += iou
            gt_matched.add(gt_label)
            pred_matched.add(pred_label)
    crowd = {}
    for gt_label, info in vid_gt.items():
        if gt_label in gt_matched:
            continue
        if info["iscrowd"] == 1:
            crowd[info["category_id"]] = gt_label
            continue
        cat(info["category_id"])[3] += 1
    for pred_label, info in vid_pred.items():
        if pred_label in pred_matched:
            continue
        inter = gt_pred_map.get((VOID, pred_label), 0)
        if info["category_id"] in crowd:
            inter += gt_pred_map.get((crowd[info["category_id"]], pred_label), 0)
        if inter / info["area"] > 0.5:
            continue
        cat(info["category_id"])[2] += 1
    return stat


def pq_average(stat: dict, categories: dict, isthing) -> float | None:
    """PQStat.pq_average's pq; None where no class counts (the script divides by 0 there)."""
    pq, n = 0.0, 0
    for label, info in categories.items():
        if isthing is not None and (info["isthing"] == 1) != isthing:
            continue
        iou, tp, fp, fn = stat.get(label, [0.0, 0, 0, 0])
        if tp + fp + fn == 0:
            continue
        n += 1
        pq += iou / (tp + 0.5 * fp + 0.5 * fn)
    return pq / n if n else None


def literal_vpq_vspw(gt: dict, pred: dict, gt_png: Png, pred_png: Png, windows=WINDOWS) -> dict:
    """{"counts": {n: {category: [iou, tp, fp, fn]}}, "k": {n: (all, things, stuff)}, "final":
    (all, things, stuff)}, scores in percent."""
    categories = {el["id"]: el for el in gt["categories"]}
    sets = video_sets(gt, pred, gt_png, pred_png)
    counts, scores = {}, {}
    for n in windows:
        total: dict[int, list] = {}
        for video in sets:
            for idx in range(0, len(video) - n + 1):
                for c, row in window_stats(categories, video[idx : idx + n]).items():
                    acc = total.setdefault(c, [0.0, 0, 0, 0])
                    for i in range(4):
                        acc[i] += row[i]
        counts[n] = total
        averages = [pq_average(total, categories, g) for g in (None, True, False)]
        scores[n] = tuple(None if a is None else 100 * a for a in averages)
    final = tuple(
        None
        if any(scores[n][g] is None for n in windows)
        else sum(scores[n][g] for n in windows) / len(windows)
        for g in range(3)
    )
    return {"counts": counts, "k": scores, "final": final}


class LiteralSTQuality:
    """The numpy ``STQuality`` beside eval_stq_vspw.py, written out again, loops and all."""

    def __init__(self, num_classes, things, ignore_label, bit_shift, offset) -> None:
        self.n, self.things, self.ignore = num_classes, list(things), ignore_label
        self.shift, self.mask, self.offset = bit_shift, (1 << bit_shift) - 1, offset
        self.size = num_classes + 1 if ignore_label >= num_classes else num_classes
        self.include = (
            list(range(num_classes))
            if ignore_label >= num_classes
            else [i for i in range(num_classes) if i != ignore_label]
        )
        self.confusion, self.preds, self.gts, self.inters = {}, {}, {}, {}

    def update_state(self, y_true, y_pred, seq) -> None:
        y_true, y_pred = y_true.astype(np.int64), y_pred.astype(np.int64)
        sem_t, sem_p = y_true >> self.shift, y_pred >> self.shift
        if self.ignore > self.n:
            sem_t = np.where(sem_t != self.ignore, sem_t, self.n)
            sem_p = np.where(sem_p != self.ignore, sem_p, self.n)
        if seq not in self.confusion:
            self.confusion[seq] = np.zeros((self.size, self.size), np.int64)
            self.preds[seq], self.gts[seq], self.inters[seq] = {}, {}, {}
        np.add.at(self.confusion[seq], (sem_t.ravel(), sem_p.ravel()), 1)
        instance = y_true & self.mask
        label_mask = np.isin(sem_t, self.things)
        pred_mask = np.isin(sem_p, self.things)
        crowd = (instance == 0) & label_mask
        label_mask &= ~crowd
        pred_mask &= ~crowd
        for store, ids in (
            (self.preds[seq], y_pred[pred_mask]),
            (self.gts[seq], y_true[label_mask]),
            (self.inters[seq], y_true[label_mask & pred_mask] * self.offset
             + y_pred[label_mask & pred_mask]),
        ):  # fmt: skip
            for key, count in zip(*np.unique(ids, return_counts=True), strict=True):
                store[int(key)] = store.get(int(key), 0) + int(count)

    def result(self) -> dict:
        aq_sum, tubes, per_seq = 0.0, 0, {}
        total = np.zeros((self.size, self.size), np.int64)
        for seq in self.gts:
            outer = 0.0
            for gt_id, gt_size in self.gts[seq].items():
                inner = 0.0
                for pr_id, pr_size in self.preds[seq].items():
                    tpa = self.inters[seq].get(self.offset * gt_id + pr_id)
                    if tpa:
                        inner += tpa * (tpa / (pr_size + gt_size - tpa))
                outer += inner / gt_size
            aq_sum += outer
            tubes += len(self.gts[seq])
            confusion = self.confusion[seq].copy()
            keep = np.zeros_like(confusion)
            keep[self.include, :] = 1
            confusion *= keep
            total += confusion
            per_seq[seq] = (outer / max(len(self.gts[seq]), 1e-15), mean_iou(confusion))
        aq = aq_sum / max(tubes, 1e-15)
        iou = mean_iou(total)
        return {"STQ": float(np.sqrt(aq * iou)), "AQ": aq, "IoU": iou, "per_seq": per_seq}


def mean_iou(confusion: np.ndarray) -> float:
    inter = confusion.diagonal()
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - inter
    return float(np.sum(inter / np.maximum(union, 1e-15)) / np.count_nonzero(union))


def first_listing_numbers(annotations: list[dict]) -> dict[int, int]:
    """{segment id: its index in order of first listing over the video's annotations}."""
    order: list[int] = []
    for annotation in annotations:
        for info in annotation["segments_info"]:
            if info["id"] not in order:
                order.append(info["id"])
    return {seg_id: i for i, seg_id in enumerate(order)}


def literal_stq_vspw(gt: dict, pred: dict, gt_png: Png, pred_png: Png) -> dict:
    """STQ, AQ and IoU (fractions) as eval_stq_vspw.py prints them."""
    things = [c["id"] for c in gt["categories"] if c["isthing"]]
    metric = LiteralSTQuality(124, things, 255, 16, 2**24)
    pred_j = {p["video_id"]: p["annotations"] for p in pred["annotations"]}
    gt_j = {g["video_id"]: g["annotations"] for g in gt["annotations"]}
    for seq_id, video in enumerate(gt["videos"]):
        vid = video["video_id"]
        gt_js, pred_js = gt_j[vid], pred_j[vid]
        assert len(gt_js) == len(pred_js)
        gt_num, pred_num = first_listing_numbers(gt_js), first_listing_numbers(pred_js)
        for image, gt_json, pred_json in zip(video["images"], gt_js, pred_js, strict=False):
            pan_gt, pan_pred = gt_png(vid, image["file_name"]), pred_png(vid, image["file_name"])
            maps = []
            for pan, info, numbers in ((pan_gt, gt_json, gt_num), (pan_pred, pred_json, pred_num)):
                semantic = np.ones_like(pan) * 255
                instance = np.ones_like(pan) * 255
                for el in info["segments_info"]:
                    semantic[pan == el["id"]] = el["category_id"]
                    instance[pan == el["id"]] = numbers[el["id"]]
                maps.append(((semantic << 16) + instance).astype(np.int32))
            metric.update_state(maps[0], maps[1], seq_id)
    return metric.result()
