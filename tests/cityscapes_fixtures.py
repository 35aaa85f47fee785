"""A miniature Cityscapes-VPS release, laid out like the real one (docs/CONVERTERS.md).

The layout, names and encodings are those of the mcahny/vps release and its preparation scripts
(``README.md``, ``docs/DATASET.md``, ``prepare_data/create_panoptic_labels.py``,
``prepare_data/create_panoptic_video_labels.py``); docs/CONVERTERS.md, 'Cityscapes-VPS'.

``write_release`` draws the ground truth itself (stuff bands, moving objects, a crowd group, an
instance whose mask covers a few road pixels, void colours) and writes it in both label states:
raw ``cls/`` (RGBA ``_gtFine_color`` for slot 4, RGB ``_final_mask`` otherwise) + 16-bit
``inst/``, and prepared ``panoptic_video/`` RGB ids + ``panoptic_gt_{split}_city_vps.json``,
plus ``img/`` and ``img_all/``. It returns the panoptic maps a converter must produce, computed
from the drawing, not by any converter code.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from vpsbench.datasets import cityscapes_vps

H, W = 32, 64
CATS = {c.id: c for c in cityscapes_vps.CATEGORIES}
LABEL_ID = {c.id: c.source_id for c in cityscapes_vps.CATEGORIES}
LABEL_ID[7] = 20  # the true labelId of traffic sign (ori_id 21 in the shipped table is a bug)
ROAD, SIDEWALK, BUILDING, SKY, PERSON, CAR = 0, 1, 2, 10, 11, 13
INST_SUFFIX = {True: "gtFine_instanceIds", False: "original_image_instance_greyscale"}
VIDEOS = {"0005": ("frankfurt", "000000", 1751), "0015": ("frankfurt", "000001", 7622)}
# More val-like videos (V = 5 mod 10) for benchmarks: lindau snippets end at frame 29.
VIDEOS.update({f"{v:04d}": ("lindau", f"{v:06d}", 19) for v in range(25, 1000, 10)})


def colour_id(rgb) -> int:
    r, g, b = rgb
    return int(r) + 256 * int(g) + 65536 * int(b)


def upscale(array: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement (benchmarks build Cityscapes-size trees from the drawing)."""
    return array if scale == 1 else np.repeat(np.repeat(array, scale, 0), scale, 1)


def save_png(path: Path, array: np.ndarray, scale: int = 1) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(upscale(array, scale)).save(path)


def draw(video_index: int, slot: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(classes uint8 with 255 void, inst uint16 as Cityscapes writes it, truth keys).

    Truth keys: per pixel the official panoptic_inst value (class*1000 + object) for kept
    instances, -1 elsewhere.
    """
    classes = np.full((H, W), ROAD, np.uint8)
    classes[:6] = SKY
    classes[6:11] = BUILDING
    classes[11:13] = SIDEWALK
    classes[22:] = 255  # ego car: (0, 0, 0) in cls
    classes[13, 30:34] = 255  # a "parking" patch: void colour that is not black
    inst = np.zeros((H, W), np.uint16)
    keys = np.full((H, W), -1, np.int64)
    x = 2 + 3 * slot + video_index
    objects = [(CAR, 0, (14, 20, x, x + 8))]  # object index 0 exists in Cityscapes
    if slot >= 2:
        objects.append((PERSON, 3, (12, 21, 24, 27)))
    if slot != 4:
        objects.append((CAR, 5, (15, 19, 30, 38)))  # leaves at slot 4, comes back
    for cls, obj, (y0, y1, x0, x1) in objects:
        classes[y0:y1, x0:x1] = cls
        inst[y0:y1, x0:x1] = LABEL_ID[cls] * 1000 + obj
        keys[y0:y1, x0:x1] = cls * 1000 + obj
    # A few road pixels inside the first car's instance mask: the majority vote keeps them car.
    classes[19, x : x + 2] = ROAD
    # A group of persons with no instance id (crowd): void in the panoptic labels.
    classes[13:16, 0:2] = PERSON
    inst[13:16, 0:2] = LABEL_ID[PERSON]
    stuff = (inst == 0) & (classes != 255)
    inst[stuff] = np.vectorize(lambda c: LABEL_ID[c])(classes[stuff])
    return classes, inst, keys


def colour_image(classes: np.ndarray) -> np.ndarray:
    rgb = np.zeros((H, W, 3), np.uint8)
    for cid, cat in CATS.items():
        rgb[classes == cid] = cat.color
    rgb[13, 30:34] = (250, 170, 160)  # parking colour: void
    return rgb


def expected_panoptic(classes: np.ndarray, keys: np.ndarray, ids: dict[int, int]) -> np.ndarray:
    """Official fusion result in unified values; ``ids`` maps a key to its instance id."""
    pan = np.where(classes == 255, 255_000, classes.astype(np.int64) * 1000)
    pan[np.isin(classes, [c for c in CATS if CATS[c].isthing])] = 255_000
    for key, instance in ids.items():
        pan[keys == key] = (key // 1000) * 1000 + instance
    return pan.astype(np.int32)


def names(video: str, slot: int, global_index: int) -> dict[str, str]:
    city, seq, n20 = VIDEOS[video]
    frame = n20 - 15 + 5 * (slot - 1)
    stem = f"{video}_{global_index:04d}_{city}_{seq}_{frame:06d}"
    original = slot == 4
    return {
        "stem": stem,
        "frame": frame,
        "img": f"{stem}_{'leftImg8bit' if original else 'newImg8bit'}.png",
        "cls": f"{stem}_{'gtFine_color' if original else 'final_mask'}.png",
        "inst": f"{stem}_{INST_SUFFIX[original]}.png",
    }


def write_release(
    root: Path,
    split: str = "val",
    raw: bool = True,
    prepared: bool = True,
    dense: bool = True,
    scale: int = 1,
    videos: int = 2,
) -> dict[str, dict[str, np.ndarray]]:
    """Write the miniature release; return {video: {stem: expected panoptic map}}.

    ``scale`` enlarges every file (e.g. 32 gives 768x1280 frames) for speed measurements.
    """
    expected: dict[str, dict[str, np.ndarray]] = {}
    images, annotations = [], []
    used_colours = {colour_id(c.color) for c in CATS.values()}
    rng = np.random.default_rng(0)
    for v, video in enumerate(sorted(VIDEOS)[:videos]):
        ids: dict[int, int] = {}
        colours: dict[int, int] = {}
        expected[video] = {}
        v_number = int(video)
        for slot in range(1, 7):
            n = names(video, slot, 6 * (v_number - 1) + slot)
            classes, inst, keys = draw(v, slot)
            for key in sorted(set(np.unique(keys).tolist()) - {-1}):
                ids.setdefault(key, len(ids) + 1)
                if key not in colours:
                    colour = colour_id(CATS[key // 1000].color) + 7 * len(colours) + 1
                    while colour in used_colours:
                        colour += 1
                    used_colours.add(colour)
                    colours[key] = colour
            pan = expected_panoptic(classes, keys, ids)
            expected[video][n["stem"]] = upscale(pan, scale)
            image = rng.integers(0, 255, (H, W, 3), np.uint8)
            save_png(root / split / "img" / n["img"], image, scale)
            if raw:
                rgb = colour_image(classes)
                rgba = np.dstack([rgb, np.full((H, W), 255, np.uint8)])
                save_png(root / split / "cls" / n["cls"], rgba if slot == 4 else rgb, scale)
                save_png(root / split / "inst" / n["inst"], inst, scale)  # uint16: 16-bit PNG
            segments, id_map = [], np.zeros((H, W), np.int64)
            for value in sorted(set(np.unique(pan).tolist()) - {255_000}):
                cat, obj_key = value // 1000, None
                if CATS[cat].isthing:
                    obj_key = next(k for k, i in ids.items() if i == value % 1000)
                seg_id = colours[obj_key] if obj_key is not None else colour_id(CATS[cat].color)
                mask = pan == value
                id_map[mask] = seg_id
                segments.append(
                    {
                        "id": seg_id,
                        "category_id": cat,
                        "iscrowd": 0,
                        "area": int(mask.sum()) * scale**2,
                        "_order": obj_key if obj_key is not None else cat,
                    }
                )
            segments.sort(key=lambda s: s.pop("_order"))  # ascending panoptic_inst value
            if prepared:
                rgb = np.stack([id_map % 256, id_map // 256 % 256, id_map // 65536], -1)
                save_png(root / split / "panoptic_video" / n["cls"], rgb.astype(np.uint8), scale)
            images.append(
                {"id": n["stem"], "width": W * scale, "height": H * scale, "file_name": n["img"]}
            )
            annotations.append(
                {"image_id": n["stem"], "file_name": n["cls"], "segments_info": segments}
            )
        if dense:
            write_snippet(root / split / "img_all", video, rng, scale)
    categories = json.loads(cityscapes_vps.category_json())
    if prepared:
        gt = {"images": images, "annotations": annotations, "categories": categories}
        (root / f"panoptic_gt_{split}_city_vps.json").write_text(json.dumps(gt))
    image_list = {"images": images, "categories": categories}
    (root / f"panoptic_im_{split}_city_vps.json").write_text(json.dumps(image_list))
    return expected


def write_snippet(folder: Path, video: str, rng, scale: int = 1) -> None:
    """All 30 frames N-19 .. N+10 of a video's snippet, raw Cityscapes names (once)."""
    city, seq, n20 = VIDEOS[video]
    for frame in range(n20 - 19, n20 + 11):
        path = folder / f"{city}_{seq}_{frame:06d}_leftImg8bit.png"
        if not path.exists():
            save_png(path, rng.integers(0, 255, (H, W, 3), np.uint8), scale)
