"""Cityscapes-VPS release -> unified HDF5 (docs/CONVERTERS.md, 'Cityscapes-VPS').

Sources: mcahny/vps ``README.md``, ``docs/DATASET.md`` and the preparation scripts in
``prepare_data/`` (``create_panoptic_labels.py`` fuses ``cls`` and ``inst``;
``create_panoptic_video_labels.py`` writes ``panoptic_video/`` and
``panoptic_gt_val_city_vps.json``).

Two label states of a split are understood:

* ``prepared`` (after the official preparation scripts): ``panoptic_gt_{split}_city_vps.json`` +
  ``{split}/panoptic_video/*.png`` (RGB colour ids, ``R + 256 G + 65536 B``; 0 = void);
* ``raw``: ``{split}/cls/*.png`` Cityscapes colour labels + ``{split}/inst/*.png`` 16-bit
  instance ids, paired by their 10-character ``VVVV_FFFF_`` prefix and fused with the official
  rule: each instance (value >= 1000) takes the majority class of ``cls`` under its mask and is
  kept if that class is a thing; thing pixels outside kept instances (crowd, groups) are void.

Images come from ``{split}/img/`` (annotated frames) and, when present, ``{split}/img_all/``
(all 30 frames of each snippet, raw Cityscapes names), matched to videos by city, sequence and
frame number around the annotated frames; an unannotated frame is named ``city_seq_frame``, with
the video's ``VVVV_FFFF_`` prefix when its annotated frames number FFFF by source frame (files
exported from vpsbench synth). A split with images only (test) becomes a file with no annotated
frames, for inference.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vpsbench.datasets import cityscapes_vps
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
    read_rgb_ids,
    runs,
    start_workers,
    write_split,
)

DATASET = cityscapes_vps.DATASET
DIVISOR = DATASET.label_divisor
VOID = 255 * DIVISOR
# The raw instanceIds PNGs encode class * 1000 + instance for instances (cityscapesscripts
# json2instanceImg.py), whatever divisor the unified file uses.
RAW_INSTANCE_DIVISOR = 1000
NAME_RE = re.compile(r"^(\d{4})_(\d{4})_([a-z]+)_(\d{6})_(\d{6})(?:_(.+))?\.png$")
RAW_NAME_RE = re.compile(r"^([a-z]+)_(\d{6})_(\d{6})_leftImg8bit\.png$")
THINGS = frozenset(c.id for c in cityscapes_vps.CATEGORIES if c.isthing)
STATES = ("auto", "prepared", "raw")


@dataclass(frozen=True)
class FrameName:
    """The parts of a Cityscapes-VPS file name ``VVVV_FFFF_city_seq_frame_suffix.png``."""

    video: str
    index: str
    city: str
    seq: str
    frame: int
    suffix: str

    @property
    def prefix(self) -> str:
        return f"{self.video}_{self.index}_"

    @property
    def stem(self) -> str:
        """The official image id, e.g. ``0005_0025_frankfurt_000000_001736``."""
        return f"{self.video}_{self.index}_{self.city}_{self.seq}_{self.frame:06d}"


def parse_name(path: Path) -> FrameName:
    """Split a prefixed file name into its parts; a name that does not fit is an error."""
    match = NAME_RE.match(path.name)
    if not match:
        raise ConversionError(
            f"{path.parent.name}/{path.name}: not a Cityscapes-VPS name "
            "(expected VVVV_FFFF_city_SSSSSS_FFFFFF_suffix.png)"
        )
    video, index, city, seq, frame, suffix = match.groups()
    return FrameName(video, index, city, seq, int(frame), suffix or "")


@dataclass(frozen=True)
class PreparedTask:
    """Decode one frame from panoptic_video + its segments_info."""

    image: Path | None
    png: Path
    segments: tuple[tuple[int, int, int], ...]  # (id, category_id, iscrowd) in JSON order


@dataclass(frozen=True)
class RawTask:
    """Decode one frame by fusing cls colours and inst ids."""

    image: Path | None
    cls: Path
    inst: Path


@dataclass(frozen=True)
class ImageTask:
    """An unannotated frame: image bytes only."""

    image: Path | None


# --- scanning ---------------------------------------------------------------------------------


def expected_layout(root: Path, split: str) -> str:
    return (
        f"expected a Cityscapes-VPS root holding {split}/img/ and either "
        f"panoptic_gt_{split}_city_vps.json + {split}/panoptic_video/ (prepared) or "
        f"{split}/cls/ + {split}/inst/ (raw labels)"
    )


def pngs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.png")) if folder.is_dir() else []


def label_state(root: Path, split: str, state: str) -> str | None:
    """Which label state to read: 'prepared', 'raw', or None for an images-only split."""
    if state not in STATES:
        raise ConversionError(f"unknown label state {state!r}; choose from {STATES}")
    split_dir = root / split
    if not split_dir.is_dir():
        raise ConversionError(f"{root}: no {split}/ folder; {expected_layout(root, split)}")
    prepared = (root / f"panoptic_gt_{split}_city_vps.json").is_file() and bool(
        pngs(split_dir / "panoptic_video")
    )
    raw = bool(pngs(split_dir / "cls")) or bool(pngs(split_dir / "inst"))
    if state == "prepared" and not prepared:
        raise ConversionError(
            f"{root}: no prepared labels for {split}; {expected_layout(root, split)}"
        )
    if state == "raw" and not raw:
        raise ConversionError(
            f"{root}: no {split}/cls + {split}/inst; {expected_layout(root, split)}"
        )
    if state != "auto":
        return state
    if prepared:
        return "prepared"
    if raw:
        return "raw"
    if pngs(split_dir / "img"):
        return None
    raise ConversionError(
        f"{root}: {split}/ holds no labels or images; {expected_layout(root, split)}"
    )


def pair_by_prefix(cls_files: list[Path], inst_files: list[Path]) -> dict[str, tuple[Path, Path]]:
    """cls and inst files of the same frame, matched by their 10-character prefix."""
    cls_by = {p.name[:10]: p for p in cls_files}
    inst_by = {p.name[:10]: p for p in inst_files}
    unpaired = sorted(set(cls_by) ^ set(inst_by))
    if unpaired:
        lonely = [(cls_by.get(k) or inst_by[k]).name for k in unpaired[:5]]
        raise ConversionError(
            f"{len(unpaired)} cls/inst files have no partner with the same VVVV_FFFF_ prefix, "
            f"e.g. {', '.join(lonely)}"
        )
    return {k: (cls_by[k], inst_by[k]) for k in cls_by}


def prepared_tasks(root: Path, split: str, images: dict[str, Path]) -> dict[str, tuple]:
    """{prefix: (FrameName, PreparedTask)} from the panoptic_gt JSON and panoptic_video PNGs."""
    json_path = root / f"panoptic_gt_{split}_city_vps.json"
    try:
        data = json.loads(json_path.read_text())
        annotations = data["annotations"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ConversionError(f"{json_path.name} is not a panoptic GT JSON: {err}") from err
    folder = root / split / "panoptic_video"
    out = {}
    for ann in annotations:
        png = folder / ann["file_name"]
        if not png.is_file():
            raise ConversionError(
                f"{json_path.name} names {ann['file_name']}, missing from {folder}"
            )
        name = parse_name(png)
        segments = tuple(
            (int(s["id"]), int(s["category_id"]), int(s.get("iscrowd", 0)))
            for s in ann["segments_info"]
        )
        out[name.prefix] = (name, PreparedTask(images.get(name.prefix), png, segments))
    return out


def raw_tasks(root: Path, split: str, images: dict[str, Path]) -> dict[str, tuple]:
    """{prefix: (FrameName, RawTask)} from cls/ and inst/."""
    pairs = pair_by_prefix(pngs(root / split / "cls"), pngs(root / split / "inst"))
    out = {}
    for prefix, (cls, inst) in pairs.items():
        name = parse_name(cls)
        out[prefix] = (name, RawTask(images.get(prefix), cls, inst))
    return out


def source_categories_json(root: Path, split: str) -> str:
    """The category list as the release ships it (from its JSON), else the known table."""
    for name in (f"panoptic_gt_{split}_city_vps.json", f"panoptic_im_{split}_city_vps.json"):
        path = root / name
        if path.is_file():
            try:
                categories = json.loads(path.read_text()).get("categories")
            except ValueError as err:
                raise ConversionError(f"{name} is not valid JSON: {err}") from err
            if categories:
                return json.dumps(categories)
    return cityscapes_vps.category_json()


def dense_file_name(city: str, seq: str, frame: int) -> str:
    """The raw Cityscapes name an ``img_all/`` frame has in the release."""
    return f"{city}_{seq}_{frame:06d}_leftImg8bit.png"


def snippet_window(numbers: Iterable[int]) -> tuple[int, int]:
    """The frame numbers of a snippet kept around a video's annotated frames (both included).

    Positions 1..30 of a snippet are frames N-19 .. N+10; the annotated ones are positions 5, 10,
    .., 30, so the snippet runs from 4 frames before the first annotated frame to the last one.
    """
    numbers = list(numbers)
    return min(numbers) - 4, max(numbers)


def frame_numbering(names: Iterable[FrameName]) -> int | None:
    """``FFFF - frame`` when a video's annotated frames number FFFF by source frame, else None.

    The release numbers its annotated frames only (FFFF steps by 1 where the frame steps by 5),
    so its unannotated frames have no FFFF; a file that numbered every frame (vpsbench synth)
    shows it by a constant offset over two or more annotated frames.
    """
    offsets = [int(name.index) - name.frame for name in names]
    return offsets[0] if len(offsets) > 1 and len(set(offsets)) == 1 else None


def dense_stem(first: FrameName, frame: int, numbering: int | None) -> str:
    """The stem of an unannotated frame: ``city_seq_frame``, prefixed when the video numbers
    every frame (``frame_numbering``)."""
    stem = f"{first.city}_{first.seq}_{frame:06d}"
    if numbering is None or not 0 <= frame + numbering <= 9999:
        return stem
    return f"{first.video}_{frame + numbering:04d}_{stem}"


def dense_frames(root: Path, split: str) -> dict[tuple[str, str], dict[int, Path]]:
    """img_all/ files by (city, sequence) and frame number."""
    out: dict[tuple[str, str], dict[int, Path]] = {}
    for path in pngs(root / split / "img_all"):
        match = RAW_NAME_RE.match(path.name)
        if match:
            city, seq, frame = match.groups()
            out.setdefault((city, seq), {})[int(frame)] = path
    return out


def video_plans(
    frames: dict[str, tuple], dense: dict[tuple[str, str], dict[int, Path]], annotated: bool
) -> tuple[VideoPlan, ...]:
    """Group frames by video; add the snippet's unannotated img_all frames in temporal order."""
    by_video: dict[str, list[tuple]] = {}
    for prefix in sorted(frames):
        name, task = frames[prefix]
        by_video.setdefault(name.video, []).append((name, task))
    videos = []
    for video_id, items in by_video.items():
        first = items[0][0]
        numbers = {name.frame: (name, task) for name, task in items}
        numbering = frame_numbering(name for name, _ in items)
        snippet = dense.get((first.city, first.seq), {})
        lo, hi = snippet_window(numbers)
        rows = []
        for number in sorted(set(numbers) | {n for n in snippet if lo <= n <= hi}):
            if number in numbers:
                name, task = numbers[number]
                meta = {"image_file": task.image.name if task.image else None}
                meta.update(label_files(task))
                rows.append(FramePlan(name.stem, number, annotated, task, meta))
            else:
                path = snippet[number]
                meta = {"image_file": path.name, "dense": True}
                stem = dense_stem(first, number, numbering)
                rows.append(FramePlan(stem, number, False, ImageTask(path), meta))
        height, width = frame_size(items[0][1])
        meta = {"city": first.city, "sequence": first.seq, "cityscapes_frame": items[0][0].frame}
        videos.append(VideoPlan(video_id, height, width, tuple(rows), meta))
    return tuple(videos)


def label_files(task) -> dict:
    if isinstance(task, PreparedTask):
        return {"panoptic_file": task.png.name}
    if isinstance(task, RawTask):
        return {"cls_file": task.cls.name, "inst_file": task.inst.name}
    return {}


def frame_size(task) -> tuple[int, int]:
    """(height, width) of a frame, from the header of its label or image file."""
    for attr in ("png", "cls", "image"):
        path = getattr(task, attr, None)
        if path is not None:
            return image_size(path)
    raise ConversionError("a frame has neither labels nor an image")


def plan_cityscapes_vps(
    root: str | Path, split: str, state: str = "auto", labels_only: bool = False
) -> SplitPlan:
    """Scan a Cityscapes-VPS root into a plan of one split (nothing decoded yet).

    ``labels_only`` leaves out images and unannotated frames (enough for scoring).
    """
    root = Path(root)
    which = label_state(root, split, state)
    if labels_only and which is None:
        raise ConversionError(f"{root}: {split} has no labels; {expected_layout(root, split)}")
    images = {} if labels_only else {p.name[:10]: p for p in pngs(root / split / "img")}
    if which == "prepared":
        frames = prepared_tasks(root, split, images)
    elif which == "raw":
        frames = raw_tasks(root, split, images)
    else:
        frames = {prefix: (parse_name(path), ImageTask(path)) for prefix, path in images.items()}
    if not frames:
        raise ConversionError(
            f"{root}: no frames found for {split}; {expected_layout(root, split)}"
        )
    dense = {} if labels_only else dense_frames(root, split)
    videos = video_plans(frames, dense, annotated=which is not None)
    info = FileInfo(
        kind="groundtruth",
        dataset=DATASET.name,
        split=split,
        label_divisor=DIVISOR,
        source=f"Cityscapes-VPS release at {root} ({which or 'images only'} state)",
    )
    return SplitPlan(
        info,
        list(DATASET.categories),
        DATASET.protocol,
        source_categories_json(root, split),
        videos,
    )


# --- decoding (runs in worker processes) ---------------------------------------------------------


def read_bytes(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


def decode_prepared(task: PreparedTask) -> DecodedFrame:
    """Colour ids + segments_info -> panoptic values; things keyed by their colour id."""
    shape, lengths, run_ids = read_rgb_id_runs(task.png)
    keys = np.array([0] + [s[0] for s in task.segments], np.int64)
    values = np.full(len(keys), VOID, np.int64)
    objects = {}
    for row, (seg_id, category, iscrowd) in enumerate(task.segments, start=1):
        if category not in THINGS or iscrowd:
            values[row] = category * DIVISOR
        else:
            values[row] = -row
            objects[row] = (f"rgb:{seg_id}", category)
    order = np.argsort(keys, kind="stable")
    pos = np.clip(np.searchsorted(keys[order], run_ids), 0, len(keys) - 1)
    known = keys[order][pos] == run_ids
    if not known.all():
        missing = np.unique(run_ids[~known])[:5].tolist()
        raise ConversionError(f"{task.png.name}: PNG ids {missing} are not in its segments_info")
    pan = RunMap(shape, lengths, values[order][pos])
    return DecodedFrame(pan, read_bytes(task.image), objects)


def classes_from_colours(colour_ids: np.ndarray, name: str) -> np.ndarray:
    """Cityscapes colour ids -> class ids 0..18 (255 for void colours); unknown colours fail."""
    table = cityscapes_vps.colour_to_class()
    colours = np.array(sorted(table), np.int64)
    classes = np.array([table[c] for c in colours], np.uint8)
    pos = np.clip(np.searchsorted(colours, colour_ids), 0, len(colours) - 1)
    bad = colours[pos] != colour_ids
    if bad.any():
        value = int(colour_ids[bad][0])
        rgb = (value % 256, value // 256 % 256, value // 65536)
        raise ConversionError(f"{name}: colour {rgb} is not in the Cityscapes palette")
    return classes[pos]


def decode_raw(task: RawTask) -> DecodedFrame:
    """Fuse cls + inst the official way (majority class per instance; crowd becomes void)."""
    colour = read_rgb_ids(task.cls)
    inst = read_png(task.inst, ("I;16", "I;16B", "I", "L"), size=colour.shape)
    lengths, (run_colour, run_inst) = runs(colour, inst)
    run_class = classes_from_colours(run_colour.astype(np.int64), task.cls.name)
    run_inst = run_inst.astype(np.int64)
    pan = np.where(run_class == 255, VOID, run_class.astype(np.int64) * DIVISOR)
    pan[np.isin(run_class, list(THINGS))] = VOID
    values = np.unique(run_inst[run_inst >= RAW_INSTANCE_DIVISOR])
    objects: dict[int, tuple[str, int]] = {}
    if len(values):
        index = np.searchsorted(values, run_inst)
        index[run_inst < RAW_INSTANCE_DIVISOR] = len(values)
        votes = np.bincount(
            index * 256 + run_class, weights=lengths, minlength=(len(values) + 1) * 256
        )
        majority = votes.reshape(-1, 256)[: len(values)].argmax(axis=1)
        keys = {
            value: cls * DIVISOR + value % RAW_INSTANCE_DIVISOR
            for value, cls in zip(values.tolist(), majority.tolist(), strict=True)
            if cls in THINGS
        }
        codes = {key: code for code, key in enumerate(sorted(set(keys.values())), start=1)}
        code_of_index = np.zeros(len(values) + 1, np.int64)
        for i, value in enumerate(values.tolist()):
            if value in keys:
                code_of_index[i] = codes[keys[value]]
        coded = code_of_index[index]
        pan = np.where(coded > 0, -coded, pan)
        objects = {code: (f"inst:{key}", key // DIVISOR) for key, code in codes.items()}
    pan = RunMap(colour.shape, lengths, pan)
    return DecodedFrame(pan, read_bytes(task.image), objects)


def decode_frame(task) -> DecodedFrame:
    """Decode one planned frame (picklable entry point for worker processes)."""
    if isinstance(task, PreparedTask):
        return decode_prepared(task)
    if isinstance(task, RawTask):
        return decode_raw(task)
    return DecodedFrame(None, read_bytes(task.image))


def convert_cityscapes_vps(
    root: str | Path,
    split: str,
    out: str | Path,
    state: str = "auto",
    workers: int = 1,
    progress: bool = False,
    overwrite: bool = False,
    labels_only: bool = False,
) -> Path:
    """Convert one split of a Cityscapes-VPS root to a unified file."""
    start_workers(workers, decode_frame)
    plan = plan_cityscapes_vps(root, split, state, labels_only)
    return write_split(plan, out, decode_frame, workers, progress, overwrite)
