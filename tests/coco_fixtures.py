"""COCO-panoptic fixtures written by test code: PNG + JSON writers, random cases, and the export
of unified files to the COCO-panoptic layout.

The layout is COCO's (cocodataset.org/#format-data, "Panoptic Segmentation"): an 8-bit RGB PNG
per image with ids ``R + 256 G + 256² B`` (0 = void) and a JSON whose annotations are
``{"segments_info": [{"id", "category_id", "iscrowd", "bbox", "area"}], "file_name",
"image_id"}`` and whose categories are ``{"supercategory", "isthing", "id", "name", "color"}``,
keys in the order of COCO's ``panoptic_val2017.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from vpsbench.format import VPSFile


def id_to_rgb(ids: np.ndarray) -> np.ndarray:
    ids = np.asarray(ids, np.int64)
    return np.stack([ids % 256, ids // 256 % 256, ids // 65536 % 256], axis=-1).astype(np.uint8)


def write_png(path: Path, ids: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(id_to_rgb(ids), mode="RGB").save(path)


def bbox(ids: np.ndarray, seg_id: int) -> list[int]:
    rows, cols = np.nonzero(ids == seg_id)
    if len(rows) == 0:
        return [0, 0, 0, 0]
    x, y = int(cols.min()), int(rows.min())
    return [x, y, int(cols.max()) - x + 1, int(rows.max()) - y + 1]


@dataclass
class CocoImage:
    """One image: its id, PNG name, id map and segments (``area`` None: the map's count)."""

    image_id: int | str
    file_name: str
    ids: np.ndarray
    segments: list[dict] = field(default_factory=list)


def category(cat_id: int, isthing: bool, name: str | None = None) -> dict:
    return {
        "supercategory": "thing" if isthing else "stuff",
        "isthing": int(isthing),
        "id": cat_id,
        "name": name or f"class{cat_id}",
        "color": [cat_id % 256, 7 * cat_id % 256, 13 * cat_id % 256],
    }


def write_coco(
    json_path: Path, folder: Path, images: list[CocoImage], categories: list[dict] | None = None
) -> None:
    """Write the PNGs into ``folder`` and the JSON (with ``categories`` when given: a GT)."""
    annotations = []
    for image in images:
        write_png(folder / image.file_name, image.ids)
        infos = []
        for seg in image.segments:
            area = seg.get("area")
            infos.append(
                {
                    "id": seg["id"],
                    "category_id": seg["category_id"],
                    "iscrowd": seg.get("iscrowd", 0),
                    "bbox": bbox(image.ids, seg["id"]),
                    "area": int((image.ids == seg["id"]).sum()) if area is None else area,
                }
            )
        annotations.append(
            {"segments_info": infos, "file_name": image.file_name, "image_id": image.image_id}
        )
    data: dict = {
        "info": {"description": "vpsbench test fixture"},
        "licenses": [],
        "images": [
            {
                "file_name": Path(image.file_name).with_suffix(".jpg").name,
                "height": int(image.ids.shape[0]),
                "width": int(image.ids.shape[1]),
                "id": image.image_id,
            }
            for image in images
        ],
        "annotations": annotations,
    }
    if categories is not None:
        data["categories"] = categories
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data))


@dataclass
class CocoCase:
    categories: list[dict]
    gt: list[CocoImage]
    pred: list[CocoImage]

    def write(self, root: Path) -> tuple[Path, Path, Path, Path]:
        """(gt json, gt folder, pred json, pred folder) under ``root``."""
        paths = (root / "gt.json", root / "gt", root / "pred.json", root / "pred")
        write_coco(paths[0], paths[1], self.gt, self.categories)
        write_coco(paths[2], paths[3], self.pred)
        return paths


def random_ids(rng: np.random.Generator, n: int) -> list[int]:
    """``n`` distinct segment ids over the whole 24-bit range (so all three channels vary)."""
    return [int(v) for v in rng.choice(np.arange(1, 1 << 24), size=n, replace=False)]


def paint_rectangles(rng, shape, labels: np.ndarray, values: list[int], count: int) -> None:
    h, w = shape
    for _ in range(count):
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        y1, x1 = int(rng.integers(y0 + 1, h + 1)), int(rng.integers(x0 + 1, w + 1))
        labels[y0:y1, x0:x1] = values[int(rng.integers(0, len(values)))]


def random_case(seed: int, quirks: bool = False, images: int | None = None) -> CocoCase:
    """Random small GT and prediction: stuff and things, crowd (sometimes two crowd segments
    of one category), void, predictions derived from the GT with moved, recoloured, missing and
    extra segments and void. ``quirks`` adds GT inconsistencies panopticapi still scores: a
    wrong JSON area, a listed segment with no pixel, a PNG id the JSON does not list, a
    segment of a category not in ``categories``."""
    rng = np.random.default_rng(seed)
    num_cats = int(rng.integers(1, 6))
    cat_ids = [int(v) for v in rng.choice(np.arange(1, 250), size=num_cats, replace=False)]
    things = {c for c in cat_ids if rng.random() < 0.5}
    categories = [category(c, c in things) for c in cat_ids]
    unknown = max(cat_ids) + int(rng.integers(1, 5))
    gt_images, pred_images = [], []
    for i in range(images if images is not None else int(rng.integers(1, 4))):
        shape = (int(rng.integers(2, 9)), int(rng.integers(2, 9)))
        # GT: segments 0..n-1 painted as rectangles over a background; -1 is void.
        n = int(rng.integers(1, 7))
        cats = [cat_ids[int(rng.integers(0, num_cats))] for _ in range(n)]
        crowd = [rng.random() < (0.25 if c in things else 0.05) for c in cats]
        labels = np.full(shape, 0 if rng.random() < 0.7 else -1, np.int64)
        paint_rectangles(rng, shape, labels, list(range(n)), int(rng.integers(0, 2 * n + 1)))
        if rng.random() < 0.4:
            paint_rectangles(rng, shape, labels, [-1], 1)
        # Prediction: the GT layout, partly repainted with GT labels, new labels and void.
        pred_labels = labels.copy()
        extra = int(rng.integers(0, 3))
        pred_cats = [
            cats[k] if rng.random() < 0.85 else cat_ids[int(rng.integers(0, num_cats))]
            for k in range(n)
        ] + [cat_ids[int(rng.integers(0, num_cats))] for _ in range(extra)]
        paint_rectangles(rng, shape, pred_labels, [*range(n + extra), -1], int(rng.integers(0, 4)))

        gt_ids = random_ids(rng, n + 2)
        gt_map = np.where(labels >= 0, np.take(gt_ids, np.maximum(labels, 0)), 0)
        gt_segments = [
            {"id": gt_ids[k], "category_id": cats[k], "iscrowd": int(crowd[k])}
            for k in range(n)
            if (labels == k).any()
        ]
        if quirks:
            quirk = int(rng.integers(0, 5))
            if quirk == 0 and gt_segments:
                gt_segments[0]["area"] = max(0, int((gt_map == gt_segments[0]["id"]).sum()) + 2)
            elif quirk == 1:  # listed, no pixel
                gt_segments.append({"id": gt_ids[n], "category_id": cat_ids[0], "iscrowd": 0})
            elif quirk == 2 and gt_segments:  # pixels, not listed
                gt_segments.pop(int(rng.integers(0, len(gt_segments))))
            elif quirk == 3 and gt_segments:
                gt_segments[-1]["category_id"] = unknown
        pred_ids = random_ids(rng, n + extra)
        pred_map = np.where(pred_labels >= 0, np.take(pred_ids, np.maximum(pred_labels, 0)), 0)
        pred_segments = [
            {"id": pred_ids[k], "category_id": pred_cats[k]}
            for k in range(n + extra)
            if (pred_labels == k).any()
        ]
        image_id = i + 1 if rng.random() < 0.5 else f"img_{i}"
        gt_images.append(CocoImage(image_id, f"{i:04d}.png", gt_map, gt_segments))
        pred_images.append(CocoImage(image_id, f"p{i:04d}.png", pred_map, pred_segments))
    order = rng.permutation(len(pred_images))  # predictions in another order than the GT
    return CocoCase(categories, gt_images, [pred_images[k] for k in order])


def export_unified(path: Path, json_path: Path, folder: Path, with_categories: bool) -> None:
    """A unified file's annotated frames in the COCO-panoptic layout, one image per frame
    (image id = stem): void (GT) / no segment (prediction) is id 0, every other panoptic value
    one segment, a GT thing of instance 0 crowd."""
    images = []
    with VPSFile(path) as f:
        divisor, void = f.info.label_divisor, f.info.ignore_label * f.info.label_divisor
        things = {c.id for c in f.categories if c.isthing}
        categories = [category(c.id, c.isthing, c.name) for c in f.categories]
        for video in f:
            for index in video.annotated_indices:
                pan = video.panoptic(int(index))
                values = [int(v) for v in np.unique(pan) if v != void]
                ids = {v: 1000 + 7919 * k for k, v in enumerate(values)}
                id_map = np.zeros(pan.shape, np.int64)
                segments = []
                for v in values:
                    id_map[pan == v] = ids[v]
                    cat = v // divisor
                    crowd = int(with_categories and cat in things and v % divisor == 0)
                    segments.append({"id": ids[v], "category_id": cat, "iscrowd": crowd})
                stem = video.stems[int(index)]
                images.append(CocoImage(stem, f"{stem}.png", id_map, segments))
    write_coco(json_path, folder, images, categories if with_categories else None)
