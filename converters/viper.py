"""VIPER raw release -> unified HDF5, in VPSNet's 23-class video panoptic version.

Sources: the raw release as the official VIPER toolkit documents it (srrichter/viper
``README.md``, ``EVALUATION.md``, ``classes.csv``); VPSNet's classes and protocol from mcahny/vps
``tools/dataset/viper.py`` (VPSNet's own conversion code was never published).

The release lies as ``{split}/{img,cls,inst}/SSS/SSS_FFFFF.{jpg,png}``: ``cls`` is a palette PNG
whose index is the raw class id, ``inst`` an RGB PNG with R = raw class id and instance id
``256 G + B`` on thing pixels (R = G = B = 0 elsewhere). Frames holding both ``cls`` and ``inst``
are annotated; frames with an image only (the ``_1`` image archive: frame numbers that are not
multiples of 10) are kept as unannotated frames. A split with no labels at all (test) becomes an
image-only file, for inference.

Decisions (docs/CONVERTERS.md, VIPER section):

* ``stride`` counts *annotated* frames: the public labels are 10 raw frames apart, so a stride
  counted in raw frames would keep the same labelled frames (stride 2, 5) or none (stride 20+
  on odd offsets); counting annotated frames samples the labels predictably. With ``stride > 1``
  image-only frames are dropped (the kept frames are no longer consecutive anyway). In an
  image-only sequence the stride counts its frames.
* ``frames_per_video`` counts *labelled* frames, as the VPQ windows and VC clips do (they run
  over the evaluated frame list): ``60`` gives videos of 60 evaluated frames like VPSNet's,
  whether or not the image-only frames are there. A video holds the image-only frames that
  precede its labelled ones (and, the last one, those after the sequence's last label); the
  last, shorter remainder of a sequence is kept as its own video. In an image-only sequence
  it counts its frames.
* Labels are decoded by palette index, never by colour (van and train share a colour).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vpsbench.datasets import viper
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
    read_rgb_ids,
    runs,
    start_workers,
    write_split,
)

DATASET = viper.DATASET
DIVISOR = DATASET.label_divisor
SEQUENCE_RE = re.compile(r"^\d{3}$")
NAME_RE = re.compile(r"^(\d{3})_(\d{5})$")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")  # preference order: the release's JPGs come first
LABEL_SUFFIXES = (".png",)
MODALITIES = ("img", "cls", "inst")
THING_RAW = tuple(c.source_id for c in viper.CATEGORIES if c.isthing)
SHOWN = 5  # how many offending names an error message lists


@dataclass(frozen=True)
class ViperTask:
    """One frame to decode: its files (no ``cls``/``inst`` if unannotated) and the video size."""

    image: Path | None
    cls: Path | None
    inst: Path | None
    size: tuple[int, int]


@dataclass(frozen=True)
class SequenceFiles:
    """The files of one sequence by frame number, per modality."""

    sequence: str
    images: dict[int, Path]
    cls: dict[int, Path]
    inst: dict[int, Path]

    @property
    def annotated(self) -> list[int]:
        return sorted(set(self.cls) & set(self.inst))

    @property
    def numbers(self) -> list[int]:
        return sorted(set(self.images) | set(self.annotated))


# --- scanning ---------------------------------------------------------------------------------


def expected_layout(split: str) -> str:
    return (
        f"expected a VIPER root holding {split}/img/SSS/SSS_FFFFF.jpg and, for labelled splits, "
        f"{split}/cls/SSS/SSS_FFFFF.png + {split}/inst/SSS/SSS_FFFFF.png"
    )


def sequence_dirs(folder: Path) -> list[str]:
    """The ``SSS`` sub-folders of a modality folder (none if the folder is missing)."""
    if not folder.is_dir():
        return []
    return sorted(d.name for d in folder.iterdir() if d.is_dir() and SEQUENCE_RE.match(d.name))


def available_sequences(root: Path, split: str) -> list[str]:
    """Sequence ids present in any modality of the split; a root without ``{split}/img`` fails."""
    if not (root / split / "img").is_dir():
        raise ConversionError(f"{root}: no {split}/img/ folder; {expected_layout(split)}")
    found = sorted({s for m in MODALITIES for s in sequence_dirs(root / split / m)})
    if not found:
        raise ConversionError(
            f"{root}: no sequence folders (SSS) under {split}/img/; {expected_layout(split)}"
        )
    return found


def read_sequence_list(path: Path) -> list[str]:
    """Sequence ids from a text file: one per line, ``#`` starts a comment, blank lines skipped."""
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise ConversionError(f"cannot read the sequence list {path}: {err}") from err
    ids = [tok for line in text.splitlines() for tok in line.split("#", 1)[0].split()]
    if not ids:
        raise ConversionError(f"the sequence list {path} names no sequence")
    return ids


def normalise_sequence(token: str) -> str:
    """``"1"`` or ``"001"`` -> ``"001"``; anything else is kept so the error can show it."""
    return f"{int(token):03d}" if token.isdigit() and len(token) <= 3 else token


def select_sequences(
    available: list[str], sequences: list[str] | None, list_file: Path | None
) -> list[str]:
    """The sequences to convert, in ascending id order; unknown ids are an error."""
    if sequences is not None and list_file is not None:
        raise ConversionError("give either sequences or a sequence list file, not both")
    wanted = read_sequence_list(list_file) if list_file is not None else sequences
    if wanted is None:
        return available
    chosen = sorted({normalise_sequence(str(s)) for s in wanted})
    unknown = [s for s in chosen if s not in available]
    if unknown:
        raise ConversionError(
            f"unknown sequence id(s) {', '.join(unknown[:SHOWN])}; the split has "
            f"{len(available)} sequences: {', '.join(available[:8])}"
            f"{' ...' if len(available) > 8 else ''}"
        )
    if not chosen:
        raise ConversionError("the sequence selection is empty")
    return chosen


def frame_files(folder: Path, sequence: str, suffixes: tuple[str, ...]) -> dict[int, Path]:
    """``{frame number: file}`` of one modality of a sequence; a foreign file name fails."""
    if not folder.is_dir():
        return {}
    out: dict[int, Path] = {}
    for suffix in reversed(suffixes):  # later (preferred) suffixes overwrite earlier ones
        for path in sorted(folder.glob(f"*{suffix}")):
            match = NAME_RE.match(path.stem)
            if not match or match.group(1) != sequence:
                raise ConversionError(
                    f"{folder.parent.name}/{sequence}/{path.name}: not a frame of sequence "
                    f"{sequence} (expected {sequence}_FFFFF{suffix})"
                )
            out[int(match.group(2))] = path
    return out


def scan_sequence(root: Path, split: str, sequence: str) -> SequenceFiles:
    base = root / split
    return SequenceFiles(
        sequence,
        frame_files(base / "img" / sequence, sequence, IMAGE_SUFFIXES),
        frame_files(base / "cls" / sequence, sequence, LABEL_SUFFIXES),
        frame_files(base / "inst" / sequence, sequence, LABEL_SUFFIXES),
    )


def check_pairs(split: str, scanned: list[SequenceFiles]) -> None:
    """Each ``cls`` file needs its ``inst`` file and the reverse; name the first few lonely ones."""
    lonely = []
    for files in scanned:
        for number in sorted(set(files.cls) ^ set(files.inst)):
            kind, path = ("cls", files.cls[number]) if number in files.cls else (
                "inst", files.inst[number])  # fmt: skip
            lonely.append(f"{split}/{kind}/{files.sequence}/{path.name}")
    if lonely:
        raise ConversionError(
            f"{len(lonely)} cls/inst files have no partner of the same frame, e.g. "
            f"{', '.join(lonely[:SHOWN])}"
        )


def keep_frames(files: SequenceFiles, stride: int) -> list[int]:
    """Frame numbers kept: all (stride 1), or every stride-th annotated frame (see module doc)."""
    annotated = files.annotated
    if not annotated:
        return files.numbers[::stride]
    if stride == 1:
        return files.numbers
    return annotated[::stride]


def cut(numbers: list[int], labelled: set[int], frames_per_video: int | None) -> list[list[int]]:
    """Consecutive parts holding ``frames_per_video`` labelled frames each (see module doc)."""
    if frames_per_video is None:
        return [numbers]
    if not labelled:  # image-only sequence: count its frames
        return [numbers[i : i + frames_per_video] for i in range(0, len(numbers), frames_per_video)]
    parts: list[list[int]] = []
    current: list[int] = []
    count = 0
    for number in numbers:
        current.append(number)
        count += number in labelled
        if count == frames_per_video:  # a part ends on its last labelled frame
            parts.append(current)
            current, count = [], 0
    if current:
        if count == 0 and parts:  # image-only frames after the last label: no video of their own
            parts[-1].extend(current)
        else:
            parts.append(current)
    return parts


def video_size(files: SequenceFiles, numbers: list[int], video_id: str) -> tuple[int, int]:
    """(height, width) shared by all frames of a video, from file headers; any other size fails."""
    size, first = None, None
    for number in numbers:
        path = files.images.get(number) or files.cls[number]
        frame_size = image_size(path)
        if size is None:
            size, first = frame_size, path
        elif frame_size != size:
            raise ConversionError(
                f"video {video_id}: {path.name} is {frame_size[1]}x{frame_size[0]} but "
                f"{first.name} is {size[1]}x{size[0]}; all frames of a video must have one size"
            )
    assert size is not None
    return size


def frame_plan(files: SequenceFiles, number: int, size: tuple[int, int]) -> FramePlan:
    annotated = number in files.cls and number in files.inst
    image = files.images.get(number)
    cls = files.cls[number] if annotated else None
    inst = files.inst[number] if annotated else None
    meta = {"image_file": image.name if image else None}
    if annotated:
        meta.update(cls_file=cls.name, inst_file=inst.name)
    stem = f"{files.sequence}_{number:05d}"
    return FramePlan(stem, number, annotated, ViperTask(image, cls, inst, size), meta)


def video_plans(files: SequenceFiles, stride: int, frames_per_video: int | None) -> list[VideoPlan]:
    """The videos of one sequence: the whole sequence, or its consecutive parts."""
    numbers = keep_frames(files, stride)
    parts = cut(numbers, set(files.annotated), frames_per_video)
    videos = []
    for part_index, part in enumerate(parts, start=1):
        if not part:
            continue
        meta: dict = {"sequence": files.sequence}
        video_id = files.sequence
        if frames_per_video is not None:
            video_id = f"{files.sequence}_{part_index:04d}"
            meta["part"] = part_index
        height, width = video_size(files, part, video_id)
        frames = tuple(frame_plan(files, n, (height, width)) for n in part)
        videos.append(VideoPlan(video_id, height, width, frames, meta))
    return videos


def describe_source(
    root: Path,
    split: str,
    chosen: list[str],
    available: list[str],
    list_file: Path | None,
    stride: int,
    frames_per_video: int | None,
) -> str:
    which = "all" if chosen == available else " ".join(chosen)
    if list_file is not None:
        which += f" (from {list_file})"
    per_video = (
        f"{frames_per_video} labelled frames per video"
        if frames_per_video
        else "one video per sequence"
    )
    return (
        f"VIPER raw release at {root} (split {split}; sequences {which}; stride {stride} "
        f"annotated frames; {per_video})"
    )


def plan_viper(
    root: Path,
    split: str,
    sequences: list[str] | None = None,
    frames_per_video: int | None = None,
    stride: int = 1,
    list_file: Path | None = None,
) -> SplitPlan:
    """Scan a VIPER raw release into a plan of one split (headers read, nothing decoded)."""
    root = Path(root)
    if stride < 1:
        raise ConversionError(f"stride must be at least 1, got {stride}")
    if frames_per_video is not None and frames_per_video < 1:
        raise ConversionError(f"frames per video must be at least 1, got {frames_per_video}")
    available = available_sequences(root, split)
    chosen = select_sequences(available, sequences, list_file)
    scanned = [scan_sequence(root, split, s) for s in chosen]
    check_pairs(split, scanned)
    videos = [v for files in scanned for v in video_plans(files, stride, frames_per_video)]
    if not videos:
        raise ConversionError(
            f"{root}: no frames in the selected sequences of {split}; {expected_layout(split)}"
        )
    info = FileInfo(
        kind="groundtruth",
        dataset=DATASET.name,
        split=split,
        label_divisor=DIVISOR,
        source=describe_source(root, split, chosen, available, list_file, stride, frames_per_video),
    )
    return SplitPlan(
        info, list(DATASET.categories), DATASET.protocol, DATASET.category_json(), tuple(videos)
    )


# --- decoding (runs in worker processes) ---------------------------------------------------------


def _lookup_tables() -> tuple[np.ndarray, np.ndarray]:
    """(raw id -> VPS panoptic value of the class, raw id -> is an evaluated thing)."""
    semantic = np.array(viper.raw_to_vps_table(), np.int64) * DIVISOR
    thing = np.zeros(256, bool)
    thing[list(THING_RAW)] = True
    return semantic, thing


CLASS_VALUE, IS_THING = _lookup_tables()


def read_label(path: Path, modes: tuple[str, ...], size: tuple[int, int]) -> np.ndarray:
    """``read_png`` (RGB: ``read_rgb_ids``) with the modality and sequence folder in the message
    (cls and inst share file names)."""
    try:
        if "RGB" in modes:
            return read_rgb_ids(path, size)
        return read_png(path, modes, size)
    except ConversionError as err:
        raise ConversionError(f"{path.parent.parent.name}/{path.parent.name}/{err}") from err


def decode_labels(
    cls_path: Path, inst_path: Path, size: tuple[int, int]
) -> tuple[RunMap, dict[int, tuple[str, int]]]:
    """Fuse ``cls`` and ``inst`` into a panoptic map with object codes (see decode_viper_frame)."""
    cls = read_label(cls_path, ("P", "L"), size)  # palette index = raw class id
    colour = read_label(inst_path, ("RGB", "RGBA"), size)  # R + 256 G + 65536 B
    lengths, (run_cls, run_colour) = runs(cls, colour)
    run_colour = run_colour.astype(np.int64)
    run_r = run_colour & 0xFF
    run_id = (run_colour >> 8 & 0xFF) * 256 + (run_colour >> 16)
    # inst is trusted where it names an evaluated thing class; cls decides everywhere else.
    thing = IS_THING[run_r]
    values = np.where(thing, CLASS_VALUE[run_r], CLASS_VALUE[run_cls])
    objects: dict[int, tuple[str, int]] = {}
    instance = thing & (run_id > 0)
    if instance.any():
        keys = run_r.astype(np.int64) * 65536 + run_id
        distinct = np.unique(keys[instance])  # codes 1.. in ascending (R, instance id) order
        values[instance] = -(np.searchsorted(distinct, keys[instance]) + 1)
        for code, key in enumerate(distinct.tolist(), start=1):
            raw, ident = divmod(key, 65536)
            objects[code] = (f"{raw}:{ident}", viper.RAW_TO_VPS[raw])
    panoptic = RunMap(cls.shape, lengths, values)
    return panoptic, objects


def decode_viper_frame(task: ViperTask) -> DecodedFrame:
    """Decode one frame: original image bytes, and for annotated frames the panoptic map.

    Semantic = raw ``cls`` palette index -> VPS id (unevaluated classes -> void 255). Where
    ``inst`` R is one of the 10 thing classes it wins over ``cls``: instance id > 0 makes an
    object keyed ``"R:id"``, id 0 makes crowd of that class. Thing-class pixels of ``cls``
    without an instance (R = 0) become crowd (``category * 1000 + 0``).
    """
    image = task.image.read_bytes() if task.image is not None else None
    if task.cls is None or task.inst is None:
        return DecodedFrame(None, image)
    panoptic, objects = decode_labels(task.cls, task.inst, task.size)
    return DecodedFrame(panoptic, image, objects)


def convert_viper(
    root: str | Path,
    split: str,
    out: str | Path,
    *,
    sequences: list[str] | None = None,
    list_file: Path | None = None,
    frames_per_video: int | None = None,
    stride: int = 1,
    workers: int = 1,
    progress: bool = False,
    overwrite: bool = False,
) -> Path:
    """Convert one split of a VIPER raw release to a unified file (``plan_viper`` + write)."""
    start_workers(workers, decode_viper_frame)
    plan = plan_viper(Path(root), split, sequences, frames_per_video, stride, list_file)
    return write_split(plan, out, decode_viper_frame, workers, progress, overwrite)
