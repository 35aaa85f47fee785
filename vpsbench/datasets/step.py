"""What KITTI-STEP and MOTChallenge-STEP share: release layout, PNG encoding, protocol, splits.

Sources (google-research/deeplab2): ``g3doc/setup/kitti_step.md`` and
``g3doc/setup/motchallenge_step.md`` (layout, label maps, PNG encoding, sequence moves),
``data/build_step_data.py`` (how the release is read: every ``images/{split}/*/*`` file, its
panoptic map at ``panoptic_maps/{split}/{sequence}/{image id}.png`` when present, decoded as
``R * 1000 + 256 G + B``), ``data/dataset.py`` (``KITTI_STEP_INFORMATION``,
``MOTCHALLENGE_STEP_INFORMATION``: classes, ignore label, divisor, the classes with instances)
and ``evaluation/numpy/segmentation_and_tracking_quality.py`` (STQ). STEP itself: Weber et al.,
"STEP: Segmenting and Tracking Every Pixel", NeurIPS Datasets and Benchmarks 2021.

A panoptic map is an 8-bit RGB PNG: R = semantic id (255 = void), instance id = 256 G + B, which
is non-zero only on the tracked classes; stuff, crowd and void pixels have instance 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from vpsbench.format.schema import Category, Protocol

IMAGES_DIR = "images"
PANOPTIC_DIR = "panoptic_maps"
IGNORE_LABEL = 255
# The PNG holds 16 instance bits (256 G + B). deeplab2's numpy STQuality shifts the semantic
# label by this many bits (label_bit_shift=16 in its tests); a unified STEP file uses 2^16 as
# label divisor so that every id a PNG can hold is kept as it is, where deeplab2's
# panoptic_label_divisor of 1000 would alias ids >= 1000 into the next class.
INSTANCE_BITS = 16
LABEL_DIVISOR = 1 << INSTANCE_BITS
SEQUENCE_DIGITS = 4  # images/{split}/{sequence_id:04d}/ (g3doc/setup/kitti_step.md)
FRAME_DIGITS = 6  # {frame_id:06d}.png (build_step_data.py _FRAME_ID_PATTERN)

# STQ is STEP's metric, computed by vpsbench's STQ with the file's category table (classes and
# things as deeplab2's dataset descriptor), ignore label 255 and 16 instance bits. VPQ is an
# extra, not part of the STEP benchmark: Kim et al.'s VPQ^k spans k source frames, and every
# STEP frame is annotated, so windows of 1, 6, 11 and 16 annotated frames give the k = 0, 5,
# 10, 15 that Cityscapes-VPS reports. The sequences are long (hundreds of frames): VSPW's
# VC_8 and VC_16 have clips everywhere.
PROTOCOL = Protocol(
    vpq_window_sizes=(1, 6, 11, 16),
    vpq_k=(0, 5, 10, 15),
    vc_clip_lengths=(8, 16),
    name="step_official",
    description="STEP (deeplab2): STQ over whole sequences; VPQ extra over windows of 1, 6, "
    "11, 16 frames (k = 0, 5, 10, 15)",
)


def step_categories(
    table: list[tuple[int, str, int, tuple[int, int, int], str]], things: tuple[int, ...]
) -> list[Category]:
    """Category records of a STEP label map: rows (id, name, Cityscapes trainId, colour,
    Cityscapes category); ``things`` are the classes with instance ids."""
    return [
        Category(id=i, name=name, isthing=i in things, color=colour, source_id=train_id,
                 supercategory=group)
        for i, name, train_id, colour, group in table
    ]  # fmt: skip


def is_sequence_name(name: str) -> bool:
    """A ``SSSS`` sequence folder name."""
    return len(name) == SEQUENCE_DIGITS and name.isdigit()


def sequence_folders(folder: Path) -> list[str]:
    """The sequence folders directly under ``folder`` (none if it does not exist)."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and is_sequence_name(p.name))


# In both datasets the val sequences are training sequences: kitti_step.md moves them out of
# KITTI's training/image_02, motchallenge_step.md copies them into train/. So a root without a
# val folder holds them in train/. (Test sequences are other videos under the same ids.)
SOURCE_SPLIT = {"val": "train"}


def split_sequences(root: Path, split: str, public: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The sequences a STEP root holds for ``split``: its own folders, else those of the public
    split list that its source split's folder holds (``SOURCE_SPLIT``)."""
    own = set(sequence_folders(root / IMAGES_DIR / split))
    own |= set(sequence_folders(root / PANOPTIC_DIR / split))
    if own or split not in SOURCE_SPLIT:
        return sorted(own)
    source = SOURCE_SPLIT[split]
    elsewhere = {
        seq for kind in (IMAGES_DIR, PANOPTIC_DIR) for seq in sequence_folders(root / kind / source)
    }
    return sorted(set(public.get(split, ())) & elsewhere)


def first_image_suffix(root: Path, split: str, sequences: list[str]) -> str | None:
    """The suffix (``.png``, ``.jpg``) of the first image file of the split's sequences."""
    for kind_split in (split, SOURCE_SPLIT.get(split, split)):
        for seq in sequences:
            folder = root / IMAGES_DIR / kind_split / seq
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    if path.is_file() and not path.name.startswith("."):
                        return path.suffix.lower()
    return None


def first_label_number(root: Path, split: str, sequences: list[str]) -> int | None:
    """The frame number of the first panoptic map of the split's first labelled sequence."""
    for folder_split in (split, SOURCE_SPLIT.get(split, split)):
        for seq in sequences:
            folder = root / PANOPTIC_DIR / folder_split / seq
            names = sorted(p.stem for p in folder.glob("*.png")) if folder.is_dir() else []
            if names and names[0].isdigit():
                return int(names[0])
    return None


def looks_like(
    root: Path,
    split: str,
    public: Mapping[str, tuple[str, ...]],
    image_suffixes: tuple[str, ...],
    first_frame: int,
) -> bool:
    """Whether ``root`` is a STEP release of this dataset for ``split``.

    Both datasets share the layout. Where the split has images, their format tells them apart
    (KITTI ``image_02`` frames are PNG, MOTS ``img1`` frames JPEG); a labels-only root is
    recognised by its sequence ids, which must all be in the dataset's public split lists, and
    by the number of its first frame (KITTI counts frames from 0, MOTChallenge from 1).
    """
    sequences = split_sequences(root, split, public)
    if not sequences:
        return False
    suffix = first_image_suffix(root, split, sequences)
    if suffix is not None:
        return suffix in image_suffixes
    known = {seq for seqs in public.values() for seq in seqs}
    return set(sequences) <= known and first_label_number(root, split, sequences) == first_frame
