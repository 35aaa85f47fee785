"""KITTI-STEP and MOTChallenge-STEP releases -> unified HDF5 (one converter, two datasets).

Both releases lie as google-research/deeplab2 ``g3doc/setup/kitti_step.md`` and
``motchallenge_step.md`` describe and ``data/build_step_data.py`` reads them::

    ROOT/images/{split}/{sequence:04d}/{frame:06d}.{png|jpg}
    ROOT/panoptic_maps/{split}/{sequence:04d}/{frame:06d}.png    (train, val: labels)

``build_step_data.py`` takes every image of ``images/{split}/*/*`` and its panoptic map at
``panoptic_maps/{split}/{sequence}/{image id}.png`` when it exists. So here: one video per
sequence (id ``SSSS``), one frame per frame number (stem ``FFFFFF``, ``source_frame`` its
number), annotated when it has a panoptic map; a map without image is kept without image, an
image without map as an unannotated frame, and a split without any map (test) becomes an
image-only file. Frame sizes differ between sequences (KITTI), never inside one.

A panoptic map is an 8-bit RGB PNG, R = class id (255 void), instance id = 256 G + B, non-zero
only on the tracked classes (``vpsbench.io.step_png``). The class id is the category id; each
tracked object, keyed ``"R:id"`` (the track's source key, which the exporter writes back), gets
an instance id of its video in order of first appearance (objects first seen in the same frame
by ascending (R, id)), because the two tracked classes of KITTI-STEP number their ids
independently (car 5 and person 5 are two objects). A thing pixel with id 0 is crowd.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vpsbench.datasets import kitti_step, motchallenge_step, step
from vpsbench.datasets.base import Dataset
from vpsbench.format import FileInfo
from vpsbench.io.png import ORDER_COCO
from vpsbench.io.step_png import (
    StepPngError,
    check_header,
    check_step_values,
    read_step_png,
    step_from_colour_ids,
)
from vpsbench_converters.common import (
    ConversionError,
    DecodedFrame,
    FramePlan,
    RunMap,
    SplitPlan,
    VideoPlan,
    image_size,
    runs,
    start_workers,
    write_split,
)

DATASETS: dict[str, Dataset] = {d.name: d for d in (kitti_step.DATASET, motchallenge_step.DATASET)}
PUBLIC_SPLITS = {
    kitti_step.DATASET_NAME: kitti_step.KITTI_STEP_SPLITS,
    motchallenge_step.DATASET_NAME: motchallenge_step.MOTCHALLENGE_STEP_SPLITS,
}
FRAME_RE = re.compile(rf"^\d{{{step.FRAME_DIGITS}}}$")
LABEL_SUFFIXES = (".png",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
SHOWN = 5  # how many offending names an error message lists


@dataclass(frozen=True)
class StepTask:
    """One frame to decode: its files, where the label is (for messages), the video size and
    the class table the values are checked against."""

    image: Path | None
    label: Path | None
    label_name: str
    size: tuple[int, int]
    category_ids: tuple[int, ...]
    thing_ids: tuple[int, ...]
    label_divisor: int


@dataclass(frozen=True)
class SequenceFiles:
    """One sequence: its frame files by frame number, and the folders they were read from."""

    sequence: str
    images: dict[int, Path]
    labels: dict[int, Path]
    image_folder: str
    label_folder: str

    @property
    def numbers(self) -> list[int]:
        return sorted(set(self.images) | set(self.labels))


# --- scanning ---------------------------------------------------------------------------------


def expected_layout(dataset: Dataset, split: str) -> str:
    suffix = "jpg" if dataset.name == motchallenge_step.DATASET_NAME else "png"
    return (
        f"expected a {dataset.title} root holding {step.IMAGES_DIR}/{split}/SSSS/FFFFFF.{suffix} "
        f"and, for labelled splits, {step.PANOPTIC_DIR}/{split}/SSSS/FFFFFF.png (deeplab2 "
        f"g3doc/setup/{dataset.name}.md)"
    )


def present_splits(root: Path) -> list[str]:
    """Split folders under images/ and panoptic_maps/ (for messages)."""
    return sorted(
        {p.name for kind in (step.IMAGES_DIR, step.PANOPTIC_DIR) for p in (root / kind).glob("*")
         if p.is_dir()}
    )  # fmt: skip


def split_sequences(dataset: Dataset, root: Path, split: str) -> tuple[list[str], bool]:
    """(sequences of the split, whether they lie in the split's own folders)."""
    if not (root / step.IMAGES_DIR).is_dir() and not (root / step.PANOPTIC_DIR).is_dir():
        raise ConversionError(
            f"{root}: no {step.IMAGES_DIR}/ or {step.PANOPTIC_DIR}/ folder; "
            f"{expected_layout(dataset, split)}"
        )
    public = PUBLIC_SPLITS[dataset.name]
    sequences = step.split_sequences(root, split, public)
    own = any(
        (root / kind / split / seq).is_dir()
        for kind in (step.IMAGES_DIR, step.PANOPTIC_DIR)
        for seq in sequences
    )
    if not sequences:
        found = ", ".join(present_splits(root)) or "none"
        raise ConversionError(
            f"{root}: no {split} split: neither {step.IMAGES_DIR}/{split}/ nor "
            f"{step.PANOPTIC_DIR}/{split}/ holds sequence folders SSSS (splits found: {found}); "
            f"{expected_layout(dataset, split)}"
        )
    return sequences, own


def sequence_folder(root: Path, kind: str, split: str, seq: str, own: bool) -> Path | None:
    """The folder of one modality of a sequence: in the split's own folder, else in the split
    its sequences come from (``step.SOURCE_SPLIT``: val sequences are training sequences)."""
    folder = root / kind / (split if own else step.SOURCE_SPLIT[split]) / seq
    return folder if folder.is_dir() else None


def frame_files(root: Path, folder: Path | None, suffixes: tuple[str, ...]) -> dict[int, Path]:
    """``{frame number: file}`` of one folder; a foreign name, or two files of one frame, fail."""
    if folder is None:
        return {}
    out: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith("."):
            continue  # hidden files (.DS_Store) are no frames
        rel = path.relative_to(root).as_posix()
        if (
            not path.is_file()
            or path.suffix.lower() not in suffixes
            or not FRAME_RE.match(path.stem)
        ):
            raise ConversionError(
                f"{rel}: not a frame of sequence {folder.name} (expected FFFFFF"
                f"{'|'.join(suffixes)}, six digits)"
            )
        number = int(path.stem)
        if number in out:
            raise ConversionError(
                f"{rel}: frame {path.stem} has two files ({out[number].name} and {path.name})"
            )
        out[number] = path
    return out


def scan_sequence(root: Path, split: str, seq: str, own: bool) -> SequenceFiles:
    images = sequence_folder(root, step.IMAGES_DIR, split, seq, own)
    labels = sequence_folder(root, step.PANOPTIC_DIR, split, seq, own)
    return SequenceFiles(
        seq,
        frame_files(root, images, IMAGE_SUFFIXES),
        frame_files(root, labels, LABEL_SUFFIXES),
        images.parent.name if images else "",
        labels.parent.name if labels else "",
    )


def relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def header_size(root: Path, path: Path, is_label: bool) -> tuple[int, int]:
    """(height, width) from a file header; a panoptic map must be an 8-bit RGB PNG."""
    try:
        return check_header(path, relative(root, path)) if is_label else image_size(path)
    except StepPngError as err:
        raise ConversionError(str(err)) from err


def video_size(root: Path, files: SequenceFiles) -> tuple[int, int]:
    """(height, width) of every frame of a sequence, from the headers; any other size fails."""
    size, first = None, None
    for number in files.numbers:
        for path, is_label in ((files.labels.get(number), True), (files.images.get(number), False)):
            if path is None:
                continue
            frame_size = header_size(root, path, is_label)
            if size is None:
                size, first = frame_size, path
            elif frame_size != size:
                raise ConversionError(
                    f"{relative(root, path)} is {frame_size[1]}x{frame_size[0]} but "
                    f"{relative(root, first)} is {size[1]}x{size[0]}; all frames of a sequence "
                    "(images and panoptic maps) have one size"
                )
    assert size is not None
    return size


def frame_plan(files: SequenceFiles, number: int, task_args: dict) -> FramePlan:
    image = files.images.get(number)
    label = files.labels.get(number)
    stem = f"{number:0{step.FRAME_DIGITS}d}"
    meta: dict = {"image_file": image.name if image else None}
    if label is not None:
        meta["panoptic_file"] = label.name
    label_name = f"{step.PANOPTIC_DIR}/{files.label_folder}/{files.sequence}/{stem}.png"
    task = StepTask(image, label, label_name, **task_args)
    return FramePlan(stem, number, label is not None, task, meta)


def video_plan(dataset: Dataset, root: Path, files: SequenceFiles, labels_only: bool) -> VideoPlan:
    height, width = video_size(root, files)
    task_args = {
        "size": (height, width),
        "category_ids": tuple(c.id for c in dataset.categories),
        "thing_ids": tuple(c.id for c in dataset.categories if c.isthing),
        "label_divisor": dataset.label_divisor,
    }
    if labels_only:
        files = SequenceFiles(files.sequence, {}, files.labels, files.image_folder,
                              files.label_folder)  # fmt: skip
        frames = tuple(frame_plan(files, n, task_args) for n in sorted(files.labels))
    else:
        frames = tuple(frame_plan(files, n, task_args) for n in files.numbers)
    return VideoPlan(files.sequence, height, width, frames, {"sequence": files.sequence})


def describe_source(
    dataset: Dataset, root: Path, split: str, scanned: list[SequenceFiles], own: bool
) -> str:
    public = PUBLIC_SPLITS[dataset.name].get(split)
    sequences = [f.sequence for f in scanned]
    listed = "the public list" if public and tuple(sequences) == public else "not the public list"
    where = "its own folders" if own else (f"{step.SOURCE_SPLIT[split]}/, the public {split} list")
    return (
        f"{dataset.title} release at {root} (split {split}; sequences {' '.join(sequences)}, "
        f"{listed}; read from {where})"
    )


def plan_step(dataset: Dataset, root: Path, split: str, labels_only: bool = False) -> SplitPlan:
    """Scan a STEP release into a plan of one split (headers read, nothing decoded)."""
    root = Path(root)
    if not root.is_dir():
        raise ConversionError(f"{root}: not a directory; {expected_layout(dataset, split)}")
    sequences, own = split_sequences(dataset, root, split)
    scanned = [scan_sequence(root, split, seq, own) for seq in sequences]
    scanned = [files for files in scanned if files.numbers]
    if not scanned:
        raise ConversionError(
            f"{root}: the {split} sequences hold no frames; {expected_layout(dataset, split)}"
        )
    videos = tuple(video_plan(dataset, root, files, labels_only) for files in scanned)
    info = FileInfo(
        kind="groundtruth",
        dataset=dataset.name,
        split=split,
        label_divisor=dataset.label_divisor,
        ignore_label=step.IGNORE_LABEL,
        source=describe_source(dataset, root, split, scanned, own),
    )
    categories_json = dataset.category_json() if dataset.category_json else None
    return SplitPlan(info, list(dataset.categories), dataset.protocol, categories_json, videos)


# --- decoding (runs in worker processes) ---------------------------------------------------------


def decode_labels(task: StepTask) -> tuple[RunMap, dict[int, tuple[str, int]]]:
    """The panoptic map of one frame with object codes (see ``DecodedFrame``)."""
    assert task.label is not None
    try:
        ids = read_step_png(
            task.label, task.label_name, task.size, against="its sequence", order=ORDER_COCO
        )
    except StepPngError as err:
        raise ConversionError(str(err)) from err
    # Per-pixel work on runs: only the run values are looked at (and turned into packed
    # values: the colour ids' little-endian order saves a byte-swapping pass over the pixels).
    lengths, (run_ids,) = runs(ids)
    values, inverse = np.unique(step_from_colour_ids(run_ids), return_inverse=True)
    try:
        check_step_values(values, task.category_ids, task.thing_ids, task.label_name)
    except StepPngError as err:
        raise ConversionError(str(err)) from err
    semantic = values.astype(np.int64) >> step.INSTANCE_BITS
    instance = values.astype(np.int64) & ((1 << step.INSTANCE_BITS) - 1)
    out = semantic * task.label_divisor  # stuff, crowd (thing id 0) and void: instance 0
    is_object = np.isin(semantic, task.thing_ids) & (instance > 0)
    objects: dict[int, tuple[str, int]] = {}
    # values are sorted, so codes 1, 2, ... follow ascending (R, id), the tie-break of ids
    for code, index in enumerate(np.flatnonzero(is_object).tolist(), start=1):
        out[index] = -code
        objects[code] = (f"{int(semantic[index])}:{int(instance[index])}", int(semantic[index]))
    panoptic = RunMap(ids.shape, lengths, out[inverse])
    return panoptic, objects


def decode_step_frame(task: StepTask) -> DecodedFrame:
    """Decode one frame: the original image bytes and, when annotated, the panoptic map."""
    image = task.image.read_bytes() if task.image is not None else None
    if task.label is None:
        return DecodedFrame(None, image)
    panoptic, objects = decode_labels(task)
    return DecodedFrame(panoptic, image, objects)


def convert_step(
    dataset: str,
    root: str | Path,
    split: str,
    out: str | Path,
    *,
    workers: int = 1,
    progress: bool = False,
    overwrite: bool = False,
    labels_only: bool = False,
) -> Path:
    """Convert one split of a KITTI-STEP or MOTChallenge-STEP release to a unified file.

    ``labels_only`` keeps the annotated frames without images (for ``eval --gt ROOT``).
    """
    start_workers(workers, decode_step_frame)
    plan = plan_step(DATASETS[dataset], Path(root), split, labels_only)
    return write_split(plan, out, decode_step_frame, workers, progress, overwrite)
