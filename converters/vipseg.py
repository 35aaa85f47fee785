"""VIPSeg release -> unified HDF5 (docs/CONVERTERS.md, 'VIPSeg').

Sources: github.com/VIPSeg-Dataset/VIPSeg-Dataset ``README.md`` (both layouts and the mask
encoding) and its preparation scripts: ``change2_720p.py`` (720p resize, reproduced in
``vipseg_720p``), ``create_panoptic_video_labels.py`` (raw mask values -> segments, their order
and the ``panomasksRGB`` colour ids) and ``splitjson.py`` (one GT JSON per split).

Two layouts of the release are read:

* ``prepared``, the ``VIPSeg_720P/`` folder the official numbers are computed on:
  ``panoptic_gt_VIPSeg_{split}.json`` (else ``panoptic_gt_VIPSeg.json`` filtered by
  ``{split}.txt``, as ``splitjson.py`` does) and ``panomasksRGB/<video>/<frame>.png`` (RGB colour
  ids ``R + 256 G + 65536 B``, 0 = void), images from ``images/<video>/``;
* ``raw``, the ``VIPSeg/`` release: ``imgs/<video>/<frame>.jpg``, ``panomasks/<video>/<frame>.png``
  (16-bit: 0 void, a 1-based category code for stuff, ``code * 100 + instance`` for things) and
  the split lists ``{split}.txt``. Values become segments as ``create_panoptic_video_labels.py``
  makes them; ``resize=720`` first resizes as ``change2_720p.py`` does.

Frames keep their names (stem = file stem, ``source_frame`` = its number) and the order of the
official JSON (sorted names); every listed frame is annotated. Each frame's meta records the
order in which the GT JSON lists its segments (``segments``): VIPSeg's STQ numbers tracks by it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vpsbench.datasets import vipseg
from vpsbench.format import FileInfo
from vpsbench_converters.common import (
    ConversionError,
    DecodedFrame,
    FramePlan,
    RunMap,
    SplitPlan,
    VideoPlan,
    image_size,
    read_png,
    read_rgb_id_runs,
    runs,
    start_workers,
    write_split,
)
from vpsbench_converters.vipseg_720p import (
    NEAREST_LEGACY,
    NEAREST_RULES,
    resize_image,
    resize_mask,
    target_size,
)

DATASET = vipseg.DATASET
DIVISOR = DATASET.label_divisor
VOID = 255 * DIVISOR
NUM_CATEGORIES = len(vipseg.CATEGORIES)
THINGS = frozenset(c.id for c in vipseg.CATEGORIES if c.isthing)
LAYOUTS = ("auto", "prepared", "raw")
VALUE_200 = ("ceiling", "void")  # the official reading, or VIPSeg-Dataset issue #1's
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
MASK_MODES = ("I;16", "I;16B", "I", "L")
STEM_RE = re.compile(r"^\d+$")
SHOWN = 5


@dataclass(frozen=True)
class PreparedTask:
    """One frame of the prepared layout: its colour-id PNG and its ``segments_info``."""

    image: Path | None
    png: Path
    segments: tuple[tuple[int, int, int, int | None], ...]  # (id, category, iscrowd, area)
    size: tuple[int, int]


@dataclass(frozen=True)
class RawTask:
    """One frame of the raw release: image, 16-bit mask (None: unlabelled) and the resize."""

    image: Path | None
    mask: Path | None
    source_size: tuple[int, int]
    size: tuple[int, int]
    nearest: str
    void_200: bool
    resize: bool


# --- scanning ---------------------------------------------------------------------------------


def expected_layout(split: str) -> str:
    return (
        f"expected the prepared VIPSeg_720P/ folder (panoptic_gt_VIPSeg_{split}.json, or "
        f"panoptic_gt_VIPSeg.json + {split}.txt, and panomasksRGB/<video>/<frame>.png) or the "
        f"raw VIPSeg/ release ({split}.txt, imgs/<video>/<frame>.jpg, "
        "panomasks/<video>/<frame>.png)"
    )


def choose_layout(root: Path, split: str, layout: str) -> str:
    """'prepared' or 'raw': as asked, or as found on disk (the prepared layout first)."""
    if layout not in LAYOUTS:
        raise ConversionError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    if not root.is_dir():
        raise ConversionError(f"{root}: no such directory; {expected_layout(split)}")
    found = {
        "prepared": vipseg.is_prepared(root, split) or (root / "panoptic_gt_VIPSeg.json").is_file(),
        "raw": (root / "imgs").is_dir(),
    }
    if layout != "auto":
        if not found[layout]:
            raise ConversionError(
                f"{root}: not the {layout} VIPSeg layout; {expected_layout(split)}"
            )
        return layout
    for name in ("prepared", "raw"):
        if found[name]:
            return name
    raise ConversionError(f"{root}: no VIPSeg layout found; {expected_layout(split)}")


def read_split_list(root: Path, split: str) -> list[str]:
    """Video names of ``{split}.txt``, one a line (blank lines skipped), in file order."""
    path = root / f"{split}.txt"
    if not path.is_file():
        raise ConversionError(
            f"{root}: no split list {split}.txt (one video name a line, as the release ships "
            f"train.txt, val.txt, test.txt); {expected_layout(split)}"
        )
    names = [line.strip() for line in path.read_text().splitlines()]
    names = [n for n in names if n]
    if not names:
        raise ConversionError(f"{path}: the split list names no video")
    return names


def load_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise ConversionError(f"{path.name} is not valid JSON: {err}") from err
    if not isinstance(data, dict) or not all(k in data for k in ("videos", "annotations")):
        raise ConversionError(f"{path.name}: expected an object with videos and annotations")
    return data


def prepared_gt(root: Path, split: str) -> tuple[dict, str]:
    """The split's GT JSON (filtered from the whole-set JSON like ``splitjson.py`` if needed)."""
    split_json = root / f"panoptic_gt_VIPSeg_{split}.json"
    if split_json.is_file():
        return load_json(split_json), split_json.name
    whole = root / "panoptic_gt_VIPSeg.json"
    if not whole.is_file():
        raise ConversionError(f"{root}: no {split_json.name}; {expected_layout(split)}")
    names = set(read_split_list(root, split))
    data = load_json(whole)
    kept = {
        key: value if key == "categories" else [v for v in value if v.get("video_id") in names]
        for key, value in data.items()
    }
    if not kept["videos"]:
        raise ConversionError(
            f"{whole.name} holds no video of {split}.txt (the official preparation writes no "
            f"labels for the test split: convert the raw release with --resize 720 instead)"
        )
    return kept, f"{whole.name} filtered by {split}.txt"


def check_categories_json(categories: object, name: str) -> None:
    """The GT JSON's categories must be VIPSeg's 124 (panoVIPSeg_categories.json)."""
    if categories is None:
        return
    expected = json.loads(vipseg.category_json())
    if categories != expected:
        differ = next(
            (f"entry {i}: {got} (expected {want})" for i, (got, want) in
             enumerate(zip(categories, expected, strict=False)) if got != want),
            f"{len(categories)} entries (expected {len(expected)})",
        )  # fmt: skip
        raise ConversionError(f"{name}: categories are not VIPSeg's; {differ}")


def frame_number(stem: str, where: str) -> int:
    if not STEM_RE.match(stem):
        raise ConversionError(f"{where}: frame name {stem!r} is not a frame number")
    return int(stem)


def check_order(numbers: list[int], stems: list[str], video: str) -> None:
    """Frames are in temporal order: their numbers increase in the official (name) order."""
    for a, b, name in zip(numbers, numbers[1:], stems[1:], strict=False):
        if b <= a:
            raise ConversionError(f"video {video}: frame {name} does not follow frame {a}")


def find_image(folder: Path, stem: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        path = folder / f"{stem}{suffix}"
        if path.is_file():
            return path
    return None


def segment_rows(annotation: dict, where: str) -> tuple[tuple[int, int, int, int | None], ...]:
    """``segments_info`` as (id, category, iscrowd, area) rows, checked."""
    rows = []
    for seg in annotation.get("segments_info", []):
        try:
            seg_id, category = int(seg["id"]), int(seg["category_id"])
        except (KeyError, TypeError, ValueError) as err:
            raise ConversionError(f"{where}: a segment without integer id/category_id") from err
        if not 0 <= category < NUM_CATEGORIES:
            raise ConversionError(f"{where}: segment {seg_id} has unknown category_id {category}")
        area = seg.get("area")
        rows.append(
            (seg_id, category, int(seg.get("iscrowd", 0)), None if area is None else int(area))
        )
    ids = [r[0] for r in rows]
    if len(set(ids)) != len(ids):
        raise ConversionError(f"{where}: a segment id is listed twice in segments_info")
    return tuple(rows)


def check_stuff_ids(video: str, frames: list[tuple]) -> None:
    """One colour id per stuff class in a video: the unified format has one segment per class."""
    stuff: dict[int, int] = {}
    for segments in frames:
        for seg_id, category, iscrowd, _ in segments:
            if category in THINGS and not iscrowd:
                continue
            known = stuff.setdefault(category, seg_id)
            if known != seg_id:
                raise ConversionError(
                    f"video {video}: stuff category {category} has ids {known} and {seg_id}; a "
                    "unified file holds one segment per stuff class (the official GT colours "
                    "stuff by category)"
                )


def prepared_video(root: Path, video: dict, annotations: list, labels_only: bool) -> VideoPlan:
    """One video of the prepared layout, frames in the JSON's order."""
    video_id = str(video.get("video_id"))
    images = video.get("images") or []
    if len(images) != len(annotations):
        raise ConversionError(
            f"video {video_id}: {len(images)} images but {len(annotations)} annotations"
        )
    frames, stems, numbers, sizes, segments_of = [], [], [], set(), []
    for image, ann in zip(images, annotations, strict=True):
        stem = str(image.get("id"))
        where = f"video {video_id}, frame {stem}"
        if str(ann.get("image_id")) != stem:
            raise ConversionError(f"{where}: its annotation names image {ann.get('image_id')}")
        png = root / "panomasksRGB" / video_id / str(image.get("file_name"))
        if not png.is_file():
            raise ConversionError(f"{where}: {png.relative_to(root)} is missing")
        size = (int(image["height"]), int(image["width"]))
        sizes.add(size)
        picture = None if labels_only else find_image(root / "images" / video_id, stem)
        segments = segment_rows(ann, where)
        segments_of.append(segments)
        meta = {"image_file": picture.name if picture else None, "panoptic_file": png.name}
        numbers.append(frame_number(stem, where))
        stems.append(stem)
        frames.append(
            FramePlan(stem, numbers[-1], True, PreparedTask(picture, png, segments, size), meta)
        )
    if not frames:
        raise ConversionError(f"video {video_id}: no frames")
    if len(sizes) > 1:
        raise ConversionError(f"video {video_id}: frames of different sizes {sorted(sizes)}")
    check_order(numbers, stems, video_id)
    check_stuff_ids(video_id, segments_of)
    height, width = sizes.pop()
    return VideoPlan(video_id, height, width, tuple(frames))


def plan_prepared(root: Path, split: str, labels_only: bool) -> tuple[list[VideoPlan], str, str]:
    data, origin = prepared_gt(root, split)
    check_categories_json(data.get("categories"), origin)
    by_video: dict[str, list] = {}
    for entry in data["annotations"]:
        video_id = str(entry.get("video_id"))
        if video_id in by_video:
            raise ConversionError(f"{origin}: video {video_id} has two annotation entries")
        by_video[video_id] = entry.get("annotations") or []
    videos = []
    for video in data["videos"]:
        video_id = str(video.get("video_id"))
        if video_id not in by_video:
            raise ConversionError(f"{origin}: video {video_id} has no annotations entry")
        videos.append(prepared_video(root, video, by_video[video_id], labels_only))
    if not videos:
        raise ConversionError(f"{origin}: no videos; {expected_layout(split)}")
    categories = data.get("categories")
    source_json = json.dumps(categories) if categories else vipseg.category_json()
    return videos, f"prepared VIPSeg_720P at {root} ({origin})", source_json


def raw_video(
    root: Path, video_id: str, resize: int | None, nearest: str, void_200: bool, labels_only: bool
) -> VideoPlan:
    """One video of the raw release: its images in name order, annotated where a mask exists."""
    folder, masks = root / "imgs" / video_id, root / "panomasks" / video_id
    if not folder.is_dir():
        raise ConversionError(f"{root}: video {video_id} of the split list is not in imgs/")
    # change2_720p.py: sorted(os.listdir(...)), hidden files skipped, mask = stem + ".png".
    names = sorted(p.name for p in folder.iterdir() if not p.name.startswith(".") and p.is_file())
    stems = [name.split(".")[0] for name in names]
    mask_names = {p.name for p in masks.iterdir()} if masks.is_dir() else set()
    lonely = sorted(mask_names - {f"{s}.png" for s in stems})
    if lonely:
        raise ConversionError(
            f"video {video_id}: {len(lonely)} masks have no image in imgs/, e.g. "
            f"{', '.join(lonely[:SHOWN])}"
        )
    frames, numbers, sizes = [], [], set()
    for name, stem in zip(names, stems, strict=True):
        where = f"video {video_id}, frame {stem}"
        image = folder / name
        source = image_size(image)
        size = target_size(*source, resize) if resize else source
        sizes.add(size)
        mask = masks / f"{stem}.png" if f"{stem}.png" in mask_names else None
        task = RawTask(
            None if labels_only else image, mask, source, size, nearest, void_200, bool(resize)
        )
        meta = {"image_file": name}
        if mask is not None:
            meta["mask_file"] = mask.name
        numbers.append(frame_number(stem, where))
        frames.append(FramePlan(stem, numbers[-1], mask is not None, task, meta))
    if not frames:
        raise ConversionError(f"video {video_id}: imgs/{video_id}/ holds no frame")
    if len(sizes) > 1:
        raise ConversionError(f"video {video_id}: frames of different sizes {sorted(sizes)}")
    check_order(numbers, stems, video_id)
    if labels_only:
        frames = [f for f in frames if f.annotated]
        if not frames:
            raise ConversionError(f"video {video_id}: no masks in panomasks/{video_id}/")
    height, width = sizes.pop()
    return VideoPlan(video_id, height, width, tuple(frames))


def plan_raw(
    root: Path,
    split: str,
    resize: int | None,
    nearest: str,
    value_200: str,
    labels_only: bool,
) -> tuple[list[VideoPlan], str, str]:
    names = sorted(set(read_split_list(root, split)))  # the official JSON lists videos sorted
    void_200 = value_200 == "void"
    videos = [raw_video(root, n, resize, nearest, void_200, labels_only) for n in names]
    how = (
        f"resized to height {resize} as change2_720p.py (masks: {nearest} nearest rule)"
        if resize
        else "at the release's resolution"
    )
    source = f"raw VIPSeg release at {root} ({split}.txt; {how}; raw value 200 = {value_200})"
    return videos, source, vipseg.category_json()


def plan_vipseg(
    root: str | Path,
    split: str,
    layout: str = "auto",
    resize: int | None = None,
    mask_nearest: str = NEAREST_LEGACY,
    value_200: str = "ceiling",
    labels_only: bool = False,
) -> SplitPlan:
    """Scan a VIPSeg root into a plan of one split (headers and JSON read, nothing decoded)."""
    root = Path(root)
    if mask_nearest not in NEAREST_RULES:
        raise ConversionError(f"unknown nearest rule {mask_nearest!r}; choose from {NEAREST_RULES}")
    if value_200 not in VALUE_200:
        raise ConversionError(f"raw value 200 is read as one of {VALUE_200}, not {value_200!r}")
    if resize is not None and resize < 1:
        raise ConversionError(f"--resize needs a positive height, got {resize}")
    which = choose_layout(root, split, layout)
    if which == "prepared":
        if resize is not None:
            raise ConversionError(
                f"{root} is the prepared layout (already 720p); --resize applies to the raw release"
            )
        videos, source, source_json = plan_prepared(root, split, labels_only)
    else:
        videos, source, source_json = plan_raw(
            root, split, resize, mask_nearest, value_200, labels_only
        )
    info = FileInfo(
        kind="groundtruth", dataset=DATASET.name, split=split, label_divisor=DIVISOR, source=source
    )
    return SplitPlan(info, list(DATASET.categories), DATASET.protocol, source_json, tuple(videos))


# --- decoding (runs in worker processes) ---------------------------------------------------------


def read_bytes(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


def decode_prepared(task: PreparedTask) -> DecodedFrame:
    """Colour ids + segments_info -> panoptic values; things keyed by their colour id."""
    shape, lengths, run_ids = read_rgb_id_runs(task.png)
    if shape != task.size:
        raise ConversionError(
            f"{task.png.parent.name}/{task.png.name} is {shape[1]}x{shape[0]}, the JSON "
            f"says {task.size[1]}x{task.size[0]}"
        )
    keys = np.array([0] + [s[0] for s in task.segments], np.int64)
    values = np.full(len(keys), VOID, np.int64)
    objects = {}
    for row, (seg_id, category, iscrowd, _) in enumerate(task.segments, start=1):
        if category in THINGS and not iscrowd:
            values[row] = -row
            objects[row] = (f"rgb:{seg_id}", category)
        else:
            values[row] = category * DIVISOR
    order = np.argsort(keys, kind="stable")
    pos = np.clip(np.searchsorted(keys[order], run_ids), 0, len(keys) - 1)
    known = keys[order][pos] == run_ids
    where = f"{task.png.parent.name}/{task.png.name}"
    if not known.all():
        missing = np.unique(run_ids[~known])[:SHOWN].tolist()
        raise ConversionError(f"{where}: PNG ids {missing} are not in its segments_info")
    area = np.bincount(order[pos], weights=lengths, minlength=len(keys)).astype(np.int64)
    for row, (seg_id, _, _, json_area) in enumerate(task.segments, start=1):
        # The official scorer takes GT areas from the JSON: they must be the PNG's.
        if area[row] == 0 or (json_area is not None and json_area != area[row]):
            raise ConversionError(
                f"{where}: segment {seg_id} has area {json_area} in the JSON and {area[row]} "
                "pixels in the PNG"
            )
    pan = RunMap(shape, lengths, values[order][pos])
    listing = tuple(dict.fromkeys(int(v) for v in values[1:]))
    return DecodedFrame(pan, read_bytes(task.image), objects, listing)


def raw_values(mask: np.ndarray, void_200: bool, where: str) -> tuple:
    """Distinct raw values of ``mask`` (or of its runs' values: the same set, far fewer) ->
    (panoptic value or -object code, objects), as the official script.

    Values are taken in ascending order, the order ``create_panoptic_video_labels.py`` lists
    their segments in; stuff values of one class become one segment (the script gives every
    stuff segment its category's colour id, so they share one entry).
    """
    raw = np.unique(mask).astype(np.int64)
    values = np.full(len(raw), VOID, np.int64)
    objects: dict[int, tuple[str, int]] = {}
    for i, value in enumerate(raw.tolist()):
        if value == 0 or (void_200 and value == vipseg.RAW_BUG_VALUE):
            continue
        code = value if value < vipseg.RAW_STUFF_LIMIT else value // vipseg.RAW_THING_FACTOR
        category = code - 1
        if not 0 <= category < NUM_CATEGORIES:
            raise ConversionError(
                f"{where}: mask value {value} is no VIPSeg label (0 void, 1-124 a category code, "
                f"code * 100 + instance for things, code <= {NUM_CATEGORIES})"
            )
        if category in THINGS:
            objects[len(objects) + 1] = (f"raw:{value}", category)
            values[i] = -len(objects)
        else:
            values[i] = category * DIVISOR
    return raw, values, objects


def decode_raw(task: RawTask) -> DecodedFrame:
    """Raw 16-bit mask -> panoptic values (resized as change2_720p.py when asked)."""
    image = read_bytes(task.image)
    if task.resize and image is not None:
        image = resize_image(image, task.size, task.image.name)
    if task.mask is None:
        return DecodedFrame(None, image)
    where = f"{task.mask.parent.name}/{task.mask.name}"
    mask = read_png(task.mask, MASK_MODES)
    if mask.shape != task.source_size:
        raise ConversionError(
            f"{where} is {mask.shape[1]}x{mask.shape[0]}, its image is "
            f"{task.source_size[1]}x{task.source_size[0]}"
        )
    if task.resize:
        mode = "L" if mask.dtype == np.uint8 else "I;16"
        mask = resize_mask(mask, task.size, task.nearest, mode)
    lengths, (run_raw,) = runs(mask)
    raw, values, objects = raw_values(run_raw, task.void_200, where)
    run_values = values[np.searchsorted(raw, run_raw.astype(np.int64))]
    pan = RunMap(mask.shape, lengths, run_values)
    listing = tuple(dict.fromkeys(int(v) for v in values if v != VOID))
    return DecodedFrame(pan, image, objects, listing)


def decode_frame(task) -> DecodedFrame:
    """Decode one planned frame (picklable entry point for worker processes)."""
    if isinstance(task, PreparedTask):
        return decode_prepared(task)
    return decode_raw(task)


def convert_vipseg(
    root: str | Path,
    split: str,
    out: str | Path,
    layout: str = "auto",
    resize: int | None = None,
    mask_nearest: str = NEAREST_LEGACY,
    value_200: str = "ceiling",
    workers: int = 1,
    progress: bool = False,
    overwrite: bool = False,
    labels_only: bool = False,
) -> Path:
    """Convert one split of a VIPSeg root (prepared or raw layout) to a unified file."""
    start_workers(workers, decode_frame)
    plan = plan_vipseg(root, split, layout, resize, mask_nearest, value_200, labels_only)
    return write_split(plan, out, decode_frame, workers, progress, overwrite)
