"""Unified HDF5 -> the official VIPSeg layouts.

A ground-truth file becomes the prepared ``VIPSeg_720P/`` state the official scorers read:
``panomasksRGB/<video>/<frame>.png`` (RGB colour ids), ``panoptic_gt_VIPSeg_{split}.json`` (the
structure and key order ``create_panoptic_video_labels.py`` and ``splitjson.py`` write, default
``json.dump`` separators), ``{split}.txt``, ``panoVIPSeg_categories.json`` and ``images/<video>/``
with the stored image bytes. Segments are listed in the order the frame meta ``segments``
records (the release's), else by panoptic value; stuff uses its category colour as id, and a
thing keeps the colour it had in the release (track source key ``rgb:<id>``) or gets the one the
official ``IdGenerator`` would try first: its category colour when free in the video, else the
nearest free colour. A file converted from the prepared layout comes back byte for byte.

A prediction file becomes ``pred.json`` + ``pan_pred/<video>/<frame>.png`` (optionally
``submission.zip``), what ``eval_vpq_vspw.py`` and ``eval_stq_vspw.py`` read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from vpsbench.format import VPSFile
from vpsbench.io.submission import id_to_rgb
from vpsbench.io.video_submission import gt_file_name, write_video_submission
from vpsbench_converters.common import export_file

IMAGE_SUFFIX = {b"\xff\xd8\xff": ".jpg", b"\x89PNG": ".png"}


def colour_id(rgb) -> int:
    return int(rgb[0]) + 256 * int(rgb[1]) + 65536 * int(rgb[2])


class VideoColours:
    """Colour ids of one video: stuff by category colour, one free colour per thing."""

    def __init__(self, categories: dict) -> None:
        self.categories = categories
        # As panopticapi's IdGenerator: stuff colours are taken from the start, and black.
        self.used = {0} | {colour_id(c.color) for c in categories.values() if not c.isthing}
        self.thing: dict[int, int] = {}

    def of(self, value: int, category: int, preferred: int | None) -> int:
        info = self.categories[category]
        if not info.isthing:
            return colour_id(info.color)
        if value not in self.thing:
            self.thing[value] = self.free(info.color, preferred)
        return self.thing[value]

    def free(self, base: tuple[int, int, int], preferred: int | None) -> int:
        """The preferred colour if free, else the category colour, else the nearest free one."""
        for candidate in (preferred, colour_id(base)):
            if candidate is not None and candidate not in self.used:
                self.used.add(candidate)
                return candidate
        centre = np.array(base, np.int64)
        for radius in range(1, 256):
            r = range(-radius, radius + 1)
            for delta in ((a, b, c) for a in r for b in r for c in r):
                if max(map(abs, delta)) != radius:
                    continue
                candidate = colour_id(np.clip(centre + delta, 0, 255))
                if candidate not in self.used:
                    self.used.add(candidate)
                    return candidate
        raise ValueError(f"no free colour left near {base}")


def listing_order(values: list[int], recorded: list | None) -> list[int]:
    """The frame's segment values in the recorded order when it lists exactly them."""
    if recorded is not None and sorted(recorded) == sorted(values):
        return [int(v) for v in recorded]
    return sorted(values)


def image_name(meta: dict, stem: str, data: bytes) -> str:
    if meta.get("image_file"):
        return meta["image_file"]
    suffix = next((s for sig, s in IMAGE_SUFFIX.items() if data.startswith(sig)), ".jpg")
    return f"{stem}{suffix}"


def parse_rgb_key(key: str) -> int | None:
    """The colour id a track had in panomasksRGB, if it was converted from there."""
    return int(key[4:]) if key.startswith("rgb:") and key[4:].isdigit() else None


def export_video(gt: VPSFile, video, out_dir: Path) -> tuple[dict, dict]:
    """Write one video's PNGs and images; return its ``videos`` and ``annotations`` entries."""
    divisor, void = gt.info.label_divisor, gt.info.void_label
    categories = {c.id: c for c in gt.categories}
    colours = VideoColours(categories)
    preferred = {t.instance_id: parse_rgb_key(t.source_key) for t in video.tracks()}
    metas = video.frame_meta
    images, annotations = [], []
    for index in range(video.num_frames):
        meta, stem = metas[index], video.stems[index]
        data = video.image_bytes(index)
        if data:
            path = out_dir / "images" / video.video_id / image_name(meta, stem, data)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if not video.annotated[index]:
            continue
        pan = video.panoptic(index)
        values, areas = np.unique(pan, return_counts=True)
        area_of = dict(zip(values.tolist(), areas.tolist(), strict=True))
        present = [v for v in values.tolist() if v != void]
        ids, segments = {}, []
        for value in listing_order(present, meta.get("segments")):
            category, instance = divmod(value, divisor)
            ids[value] = colours.of(value, category, preferred.get(instance))
            crowd = int(categories[category].isthing and instance == 0)
            segments.append({"id": ids[value], "category_id": category, "iscrowd": crowd,
                             "area": area_of[value]})  # fmt: skip
        lut = np.array([ids.get(v, 0) for v in values.tolist()], np.uint32)
        name = gt_file_name(meta, stem)
        path = out_dir / "panomasksRGB" / video.video_id / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(id_to_rgb(lut[np.searchsorted(values, pan)])).save(path)
        images.append({"id": stem, "width": video.width, "height": video.height,
                       "file_name": name})  # fmt: skip
        annotations.append({"image_id": stem, "file_name": name, "segments_info": segments})
    return (
        {"video_id": video.video_id, "images": images},
        {"video_id": video.video_id, "annotations": annotations},
    )


def export_groundtruth(gt: VPSFile, out_dir: Path) -> Path:
    """Write a GT file as the prepared ``VIPSeg_720P/`` layout of its split under ``out_dir``."""
    split = gt.info.split
    videos, annotations = [], []
    for video in gt:
        entry, annotation = export_video(gt, video, out_dir)
        if entry["images"]:
            videos.append(entry)
            annotations.append(annotation)
    categories = json.loads(gt.categories_source_json or "[]")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{split}.txt").write_text("".join(f"{v}\n" for v in gt.video_ids))
    (out_dir / "panoVIPSeg_categories.json").write_text(json.dumps(categories))
    data = {"videos": videos, "annotations": annotations, "categories": categories}
    path = out_dir / f"panoptic_gt_VIPSeg_{split}.json"
    path.write_text(json.dumps(data))
    return path


def export_vipseg(
    path: str | Path,
    out_dir: str | Path,
    gt: str | Path | None = None,
    zip_it: bool = False,
    overwrite: bool = False,
) -> Path:
    """Export a unified GT or prediction file to the official VIPSeg layouts, into a new or
    empty ``out_dir`` (``overwrite``: replaced whole), written completely or not at all."""
    return export_file(
        path, out_dir, gt, zip_it, overwrite, export_groundtruth, write_video_submission
    )
