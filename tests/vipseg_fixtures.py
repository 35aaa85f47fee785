"""Miniature VIPSeg releases in both layouts, made the way the official files are made.

``write_raw_release`` lays out the raw ``VIPSeg/`` release as its README shows it (``imgs/<video>/
<frame>.jpg``, ``panomasks/<video>/<frame>.png`` as 16-bit greyscale PNGs: 0 void, 1-based category
code for stuff, code * 100 + instance for things; ``train.txt``/``val.txt``/``test.txt`` one name a
line; ``label_num_dic_final.json`` as shipped, "others" after "window").

``prepare_720p`` then runs this module's own re-enactment of the official preparation, one
function per script of github.com/VIPSeg-Dataset/VIPSeg-Dataset, with Pillow doing the resizing
exactly as the scripts call it (``change2_720p.py``: bilinear images, nearest masks; the mask
opened as Pillow < 10.3 opens it, mode "I", or as Pillow >= 10.3 does, "I;16"),
``create_panoptic_video_labels.py`` (segments in ascending raw value order, colour ids from a
per-video panopticapi ``IdGenerator``, ``panomasksRGB`` RGB PNGs, ``panoptic_gt_VIPSeg.json``
written with ``json.dump``) and ``splitjson.py``. Nothing here is real data.

``expected_maps`` states the unified label maps by hand from the (resized) raw masks: category
``value - 1`` below 125, else ``value // 100 - 1``; stuff instance 0; a new instance id per thing
value in order of first appearance (ascending raw value within a frame); 0 is void.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from vpsbench.datasets.vipseg import category_json

# panoVIPSeg_categories.json (its bytes are pinned in tests/datasets/test_vipseg_categories.py)
CATEGORIES = json.loads(category_json())
THING_CODES = {c["id"] + 1 for c in CATEGORIES if c["isthing"]}
H, W = 96, 128  # 4:3, so resizing to heights 36 or 720 hits the Pillow rounding difference
WALL, CEILING, DOOR, WINDOW, FLOOR, SKY, CAR, PERSON = 1, 2, 3, 9, 14, 29, 49, 61
DIVISOR, VOID = 10000, 255 * 10000

# video -> frame names (need not start at 1 or be consecutive); split lists (val not sorted)
VIDEOS = {
    "12_abcDEF-_01": [f"{n:08d}" for n in range(1, 46, 5)],  # 9 frames: every window size
    "3_Zz9-x_Yq": ["00000040", "00000045", "00000050"],
    "7_trainOnly": ["00000002", "00000003"],
    "9_testOnly": ["00000001", "00000002"],
}
SPLITS = {
    "train": ["7_trainOnly"],
    "val": ["3_Zz9-x_Yq", "12_abcDEF-_01"],
    "test": ["9_testOnly"],
}


def raw_mask(video: str, t: int) -> np.ndarray:
    """The raw 16-bit mask of frame t of a video (codes as the README describes them)."""
    m = np.zeros((H, W), np.uint16)
    first_thing_video = video.startswith("3_")
    if first_thing_video and t == 0:
        # No stuff code below the door's: the door (code 3, a thing written as a stuff code) is
        # the first segment the GT JSON lists in this video.
        m[:40] = SKY
        m[40:] = FLOOR
        m[20:40, 30:50] = DOOR
        m[60:80, 10:30] = PERSON * 100 + 2
        return m
    m[:20] = SKY
    m[20:40] = WALL
    m[40:] = FLOOR
    m[44:52, :] = np.where(np.arange(W) % 2 == 0, WALL, FLOOR)  # 1-px stripes: rounding shows
    m[24:34, 40:52] = DOOR  # a thing written as a stuff code: one instance
    m[22:30, 60:70] = WINDOW * 100 + 0  # thing instance 0 in the raw code: a normal instance
    m[22:30, 80:90] = WINDOW * 100 + 1
    m[2:8, 2:10] = CEILING * 100  # the raw value 200 (VIPSeg-Dataset issue #1)
    m[2:8, 20:28] = 150  # 150 // 100 = 1: wall, merged with the wall stuff segment
    m[10:14, 100:110] = 0  # void
    x = 4 + 6 * t
    m[60:80, x : x + 14] = PERSON * 100  # person moving right
    if t >= 1:
        m[56:70, 70:76] = PERSON * 100 + 1  # appears in the second frame
    if t != 2:
        m[82:94, 90:120] = CAR * 100 + 7  # leaves at the third frame and comes back
    if first_thing_video:
        m[30:36, 110:120] = WALL * 100 + 12  # code 1, stuff: merged with the wall
    return m


def photo(video: str, t: int, shape: tuple[int, int] = (H, W)) -> np.ndarray:
    """Some RGB picture for the JPG (its content does not matter, its bytes do)."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    seed = sum(map(ord, video))
    return np.stack([(xx * 2 + 7 * t + seed) % 256, (yy * 3 + seed) % 256, (xx + yy) % 256], -1
                    ).astype(np.uint8)  # fmt: skip


def label_num_dic() -> str:
    """``label_num_dic_final.json`` as shipped: name -> 1-based code, "others" after "window"."""
    items = [(c["name"], str(c["id"] + 1)) for c in CATEGORIES]
    items.insert(9, ("others", "0"))
    return json.dumps(dict(items)) + "\n"


def write_raw_release(root: Path) -> Path:
    """The raw ``VIPSeg/`` tree of ``VIDEOS``; test videos have images only. Returns the root."""
    masks = {
        video: {stem: None if video in SPLITS["test"] else raw_mask(video, t)
                for t, stem in enumerate(frames)}
        for video, frames in VIDEOS.items()
    }  # fmt: skip
    return write_raw(root, masks, SPLITS)


def write_raw(root: Path, masks: dict[str, dict], splits: dict[str, list[str]]) -> Path:
    """A raw tree of ``masks[video][stem]`` (uint16 arrays, None: image only) and split lists."""
    root = Path(root)
    for video, frames in masks.items():
        for t, (stem, mask) in enumerate(frames.items()):
            picture = photo(video, t, (H, W) if mask is None else mask.shape)
            save(Image.fromarray(picture), root / "imgs" / video / f"{stem}.jpg", quality=90)
            if mask is not None:
                # A uint16 array is Pillow mode "I;16": saved as a 16-bit greyscale PNG.
                save(Image.fromarray(mask), root / "panomasks" / video / f"{stem}.png")
    for split, videos in splits.items():
        (root / f"{split}.txt").write_text("".join(f"{v}\n" for v in videos))
    (root / "label_num_dic_final.json").write_text(label_num_dic())
    return root


def save(image: Image.Image, path: Path, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)


# --- the official preparation, re-enacted -------------------------------------------------------


def change2_720p(raw: Path, target: Path, height: int = 720, pillow: str = "legacy") -> None:
    """``change2_720p.py``: resize every image (bilinear) and mask (nearest) to ``height``.

    ``pillow="legacy"`` opens the mask as Pillow < 10.3 did (mode "I"), ``"10.3"`` as Pillow >=
    10.3 does (mode "I;16"); Pillow resamples the two modes with different C code. Frames
    without a mask (the test set) are skipped entirely, images included, as the script does.
    """
    for video in sorted(p.name for p in (raw / "imgs").iterdir()):
        for name in sorted(p.name for p in (raw / "imgs" / video).iterdir()):
            img = Image.open(raw / "imgs" / video / name)
            w, h = img.size
            size = (int(height * w / h), height)
            img = img.resize(size, Image.BILINEAR)
            mask_path = raw / "panomasks" / video / f"{name.split('.')[0]}.png"
            if not mask_path.is_file():
                continue
            mask = Image.open(mask_path)
            if pillow == "legacy":
                mask = mask.convert("I")  # what Image.open gave before Pillow 10.3
            mask = mask.resize(size, Image.NEAREST)
            save(img, target / "images" / video / name)
            # Pillow < 10.3 saved mode "I" as a 16-bit PNG; newer Pillow needs the 16-bit mode.
            save(mask.convert("I;16"), target / "panomasks" / video / f"{name.split('.')[0]}.png")


class IdGenerator:
    """panopticapi ``utils.IdGenerator``: stuff gets its category colour, a thing its category
    colour the first time it is free, else a random colour within 30 of it."""

    def __init__(self, categories: dict[int, dict], rng: np.random.RandomState) -> None:
        self.rng = rng
        self.categories = categories
        self.taken = {0}  # panopticapi writes set([0, 0, 0]): the int 0, not the black tuple
        for c in categories.values():
            if c["isthing"] == 0:
                self.taken.add(tuple(c["color"]))

    def get_id_and_color(self, category: int) -> tuple[int, tuple]:
        info = self.categories[category]
        if info["isthing"] == 0:
            color = tuple(info["color"])
        elif tuple(info["color"]) not in self.taken:
            color = tuple(info["color"])
            self.taken.add(color)
        else:
            while True:
                offset = self.rng.randint(low=-30, high=31, size=3)
                color = tuple(int(v) for v in np.clip(np.array(info["color"]) + offset, 0, 255))
                if color not in self.taken:
                    self.taken.add(color)
                    break
        return color[0] + 256 * color[1] + 65536 * color[2], color


def create_panoptic_video_labels(target: Path, seed: int = 0) -> None:
    """``create_panoptic_video_labels.py``: panomasks -> panomasksRGB + panoptic_gt_VIPSeg.json."""
    categories = {c["id"]: c for c in CATEGORIES}
    rng = np.random.RandomState(seed)
    v_videos, v_annotations = [], []
    for video in sorted(p.name for p in (target / "panomasks").iterdir()):
        id_generator = IdGenerator(categories, rng)
        colour_of: dict[int, tuple] = {}
        images, annotations = [], []
        for name in sorted(p.name for p in (target / "panomasks" / video).iterdir()):
            raw = np.array(Image.open(target / "panomasks" / video / name))
            image_id = name.split(".")[0]
            images.append({"id": image_id, "width": raw.shape[1], "height": raw.shape[0],
                           "file_name": name})  # fmt: skip
            pan = np.zeros((*raw.shape, 3), np.uint8)
            segments: dict[int, dict] = {}
            for value in np.unique(raw).tolist():
                if value == 0:
                    continue
                category = (value if value < 125 else value // 100) - 1
                if value not in colour_of:
                    colour_of[value] = id_generator.get_id_and_color(category)
                segment_id, colour = colour_of[value]
                pan[raw == value] = colour
                segments[segment_id] = {"id": segment_id, "category_id": category, "iscrowd": 0}
            save(Image.fromarray(pan), target / "panomasksRGB" / video / name)
            ids = pan.astype(np.uint32)
            ids = ids[..., 0] + 256 * ids[..., 1] + 65536 * ids[..., 2]
            labels, counts = np.unique(ids, return_counts=True)
            for label, count in zip(labels.tolist(), counts.tolist(), strict=True):
                if label:
                    segments[label]["area"] = count
            annotations.append({"image_id": image_id, "file_name": name,
                                "segments_info": list(segments.values())})  # fmt: skip
        v_videos.append({"video_id": video, "images": images})
        v_annotations.append({"video_id": video, "annotations": annotations})
    data = {"videos": v_videos, "annotations": v_annotations, "categories": CATEGORIES}
    with open(target / "panoptic_gt_VIPSeg.json", "w") as f:
        json.dump(data, f)


def splitjson(target: Path, splits: tuple[str, ...] = ("train", "val")) -> None:
    """``splitjson.py``: one GT JSON per split, from the split lists (``line[:-1]``)."""
    data = json.loads((target / "panoptic_gt_VIPSeg.json").read_text())
    for split in splits:
        names = [line[:-1] for line in (target / f"{split}.txt").open().readlines()]
        out = {k: v if k == "categories" else [e for e in v if e["video_id"] in names]
               for k, v in data.items()}  # fmt: skip
        with open(target / f"panoptic_gt_VIPSeg_{split}.json", "w") as f:
            json.dump(out, f)


def prepare_720p(raw: Path, target: Path, height: int = 720, pillow: str = "legacy") -> Path:
    """The prepared ``VIPSeg_720P/`` folder as the README's three commands make it."""
    target = Path(target)
    change2_720p(raw, target, height, pillow)
    # The README's layout has the split lists and the category file beside the outputs.
    for split_list in raw.glob("*.txt"):
        (target / split_list.name).write_bytes(split_list.read_bytes())
    (target / "panoVIPSeg_categories.json").write_text(json.dumps(CATEGORIES))
    create_panoptic_video_labels(target)
    splitjson(target)
    return target


# --- the expected unified maps, by hand --------------------------------------------------------


def expected_maps(masks: dict[str, list[np.ndarray]], void_200: bool = False) -> dict:
    """{video: [unified map per frame]} of raw (already resized) masks; see the module doc."""
    out = {}
    for video, frames in masks.items():
        instance_of: dict[int, int] = {}
        maps = []
        for raw in frames:
            pan = np.full(raw.shape, VOID, np.int32)
            for value in np.unique(raw).tolist():
                if value == 0 or (void_200 and value == 200):
                    continue
                code = value if value < 125 else value // 100
                if code in THING_CODES:
                    instance = instance_of.setdefault(value, len(instance_of) + 1)
                else:
                    instance = 0
                pan[raw == value] = (code - 1) * DIVISOR + instance
            maps.append(pan)
        out[video] = maps
    return out


def resized_masks(target: Path) -> dict[str, list[np.ndarray]]:
    """The 16-bit masks of a prepared folder, per video in frame order."""
    return {
        video.name: [np.array(Image.open(p)) for p in sorted(video.iterdir())]
        for video in sorted((target / "panomasks").iterdir())
    }


# --- submissions in the official per-video layout ------------------------------------------------


def write_submission(root: Path, videos: dict[str, list[tuple]], named: bool = True) -> Path:
    """``pred.json`` + ``pan_pred/<video>/<file>.png`` as eval_vpq_vspw.py reads them.

    ``videos[v]`` lists (file name, colour-id map, {id: category}) per frame, in GT order; with
    ``named`` each annotation also names its ``image_id`` and ``file_name``.
    """
    root = Path(root)
    annotations = []
    for video, frames in videos.items():
        entries = []
        for name, ids, table in frames:
            ids = np.asarray(ids, np.uint32)
            rgb = np.stack([ids % 256, ids // 256 % 256, ids // 65536], -1).astype(np.uint8)
            save(Image.fromarray(rgb), root / "pan_pred" / video / name)
            segments = [{"id": int(i), "category_id": int(c), "iscrowd": 0,
                         "area": int((ids == i).sum())} for i, c in table.items()]  # fmt: skip
            entry = {"image_id": name.split(".")[0], "file_name": name} if named else {}
            entries.append({**entry, "segments_info": segments})
        annotations.append({"video_id": video, "annotations": entries})
    (root / "pred.json").write_text(json.dumps({"annotations": annotations}))
    return root


def perturbed_submission(prepared: Path, split: str = "val", seed: int = 0) -> dict:
    """A plausible submission for a prepared split: the GT colour ids with some pixels moved,
    one person's id switched half-way and a door called a window in one frame."""
    rng = np.random.default_rng(seed)
    gt = json.loads((prepared / f"panoptic_gt_VIPSeg_{split}.json").read_text())
    out = {}
    for video, anns in zip(gt["videos"], gt["annotations"], strict=True):
        frames = []
        for t, (image, ann) in enumerate(zip(video["images"], anns["annotations"], strict=True)):
            rgb = np.array(Image.open(prepared / "panomasksRGB" / video["video_id"] /
                                      image["file_name"])).astype(np.uint32)  # fmt: skip
            ids = rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]
            table = {s["id"]: s["category_id"] for s in ann["segments_info"]}
            noise = rng.random(ids.shape) < 0.05
            ids = np.where(noise, np.roll(ids, 1, axis=1), ids)
            person = [i for i, c in table.items() if c == 60]
            if person and t >= len(video["images"]) // 2:
                ids[ids == person[0]] = 777  # the tracker switches identity
                table[777] = 60
            door = [i for i, c in table.items() if c == 2]
            if door and t == 1:
                table[door[0]] = 8  # one frame calls the door a window: same tube, new class
            present = set(np.unique(ids).tolist())
            table = {i: c for i, c in table.items() if i in present}
            frames.append((image["file_name"], ids, table))
        out[video["video_id"]] = frames
    return out
