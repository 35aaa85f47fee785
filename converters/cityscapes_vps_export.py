"""Unified HDF5 -> the official Cityscapes-VPS layouts.

A ground-truth file becomes the prepared state: ``{split}/panoptic_video/*.png`` RGB ids,
``panoptic_gt_{split}_city_vps.json``, ``{split}/img/`` and ``{split}/img_all/`` with the
original image bytes. A prediction file becomes a submission: ``pred.json`` + ``pan_pred/``
(optionally ``submission.zip``). Stuff segments use their category colour as id; each thing
keeps the colour it had in the release when that is known (track source key ``rgb:<id>``), else
gets a deterministic colour near its category colour, unique over the split.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from vpsbench.format import VPSFile
from vpsbench.io.submission import id_to_rgb, rgb_to_id, write_submission


class ColourAllocator:
    """Unique segment colour ids for a split: category colours for stuff, nearby ones for things."""

    def __init__(self, category_colours: dict[int, tuple[int, int, int]]) -> None:
        self.base = {
            c: rgb_to_id(np.array(rgb, np.uint8)).item() for c, rgb in category_colours.items()
        }
        self.used = set(self.base.values()) | {0}

    def thing(self, category: int, preferred: int | None) -> int:
        """A colour id for a new thing: the preferred one if free, else the nearest free offset."""
        if preferred is not None and preferred not in self.used:
            self.used.add(preferred)
            return preferred
        base = np.array(id_to_rgb(np.array(self.base[category])), np.int64)
        for radius in range(1, 256):
            for delta in offsets(radius):
                rgb = np.clip(base + delta, 0, 255)
                candidate = int(rgb[0] + 256 * rgb[1] + 65536 * rgb[2])
                if candidate not in self.used:
                    self.used.add(candidate)
                    return candidate
        raise ValueError(f"no free colour left near category {category}")


def offsets(radius: int) -> list[np.ndarray]:
    """Integer RGB offsets on the surface of the cube of the given radius, in a fixed order."""
    r = range(-radius, radius + 1)
    return [
        np.array(d)
        for d in ((a, b, c) for a in r for b in r for c in r)
        if max(map(abs, d)) == radius
    ]


def label_file_name(meta: dict, stem: str) -> str:
    """The panoptic_video PNG name: as converted from, else derived from the image suffix."""
    for key in ("panoptic_file", "cls_file"):
        if meta.get(key):
            return meta[key]
    original = str(meta.get("image_file") or "").endswith("_leftImg8bit.png")
    return f"{stem}_{'gtFine_color' if original else 'final_mask'}.png"


def image_file_name(meta: dict, stem: str) -> str:
    return meta.get("image_file") or f"{stem}_newImg8bit.png"


def export_groundtruth(gt: VPSFile, out_dir: Path) -> Path:
    """Write a GT file in the prepared Cityscapes-VPS layout under ``out_dir``."""
    split = gt.info.split
    divisor, void = gt.info.label_divisor, gt.info.void_label
    categories = {c.id: c for c in gt.categories}
    colours = ColourAllocator({c.id: c.color for c in gt.categories})
    images, annotations = [], []
    for video in gt:
        metas = video.frame_meta
        thing_colour = {}
        preferred = {t.instance_id: parse_rgb_key(t.source_key) for t in video.tracks()}
        for index in range(video.num_frames):
            meta, stem = metas[index], video.stems[index]
            image = video.image_bytes(index)
            if meta.get("dense"):
                write_file(out_dir / split / "img_all" / meta["image_file"], image)
                continue
            if image is not None:
                write_file(out_dir / split / "img" / image_file_name(meta, stem), image)
            if not video.annotated[index]:
                continue
            pan = video.panoptic(index)
            values, areas = np.unique(pan, return_counts=True)
            ids, segments = {}, []
            for value, area in zip(values.tolist(), areas.tolist(), strict=True):
                if value == void:
                    continue
                category, instance = divmod(value, divisor)
                if categories[category].isthing:
                    if value not in thing_colour:
                        thing_colour[value] = colours.thing(category, preferred.get(instance))
                    ids[value] = thing_colour[value]
                else:
                    ids[value] = colours.base[category]
                segments.append({"id": ids[value], "category_id": category,
                                 "iscrowd": int(categories[category].isthing and instance == 0),
                                 "area": int(area)})  # fmt: skip
            lut = np.array([ids.get(v, 0) for v in values.tolist()], np.uint32)
            id_map = lut[np.searchsorted(values, pan)]
            label_name = label_file_name(meta, stem)
            path = out_dir / split / "panoptic_video" / label_name
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(id_to_rgb(id_map)).save(path)
            images.append({"id": stem, "width": video.width, "height": video.height,
                           "file_name": image_file_name(meta, stem)})  # fmt: skip
            annotations.append(
                {"image_id": stem, "file_name": label_name, "segments_info": segments}
            )
    data = {
        "images": images,
        "annotations": annotations,
        "categories": json.loads(gt.categories_source_json or "[]"),
    }
    json_path = out_dir / f"panoptic_gt_{split}_city_vps.json"
    json_path.write_text(json.dumps(data))
    return json_path


def parse_rgb_key(key: str) -> int | None:
    """The colour id recorded for a track converted from panoptic_video, if any."""
    return int(key[4:]) if key.startswith("rgb:") and key[4:].isdigit() else None


def write_file(path: Path, data: bytes | None) -> None:
    if data is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def export_prediction(pred: VPSFile, gt: VPSFile | None, out_dir: Path, zip_it: bool) -> Path:
    """Write a prediction file as an official submission (optionally ``submission.zip``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    folder = write_submission(pred, gt or pred, out_dir / "submission" if zip_it else out_dir)
    if not zip_it:
        return folder
    archive = out_dir / "submission.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return archive


def export_cityscapes_vps(
    path: str | Path, out_dir: str | Path, gt: str | Path | None = None, zip_it: bool = False
) -> Path:
    """Export a unified GT or prediction file to the official Cityscapes-VPS layout."""
    out_dir = Path(out_dir)
    with VPSFile(path) as file:
        if not file.info.is_prediction:
            return export_groundtruth(file, out_dir)
        if gt is None:
            return export_prediction(file, None, out_dir, zip_it)
        with VPSFile(gt) as gt_file:
            return export_prediction(file, gt_file, out_dir, zip_it)
