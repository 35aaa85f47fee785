"""Miniature KITTI-STEP and MOTChallenge-STEP releases, laid out and encoded like the real ones.

The layout is google-research/deeplab2's ``g3doc/setup/kitti_step.md`` and
``g3doc/setup/motchallenge_step.md``: ``images/{split}/{seq:04d}/{frame:06d}.png`` (KITTI
``image_02``: 8-bit RGB PNG, frames numbered from 000000) or ``.jpg`` (MOTS ``img1``: JPEG,
numbered from 000001), and ``panoptic_maps/{split}/{seq:04d}/{frame:06d}.png``, an 8-bit RGB PNG
written as deeplab2's ``data/utils/create_step_panoptic_maps.py`` writes it
(``Image.fromarray(np.dstack((semantic, id // 256, id % 256)).astype(np.uint8)).convert('RGB')``
saved as PNG with Pillow's defaults). MOTChallenge-STEP follows the setup guide: sequences 0002
and 0009 in ``train/``, 0001 and 0007 (images only) in ``test/``.

Each labelled frame shows stuff bands, tracked objects with ids that persist through the
sequence (a KITTI car and a person that share the id 5, a car with id 300 so that G is used, a
person appearing later, a car that leaves and comes back), a crowd region (tracked class, id 0),
untracked thing-like classes (rider, bicycle: stuff in STEP) and void. The expected unified maps
are computed here independently of the converter: class = R, objects numbered per sequence by
first appearance, ties by ascending (R, id), value = class * 2^16 + number.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

BASE_H, BASE_W = 12, 32
DIVISOR = 1 << 16
VOID = 255

# Class ids by hand, from the label maps of the two setup guides.
KITTI = {"road": 0, "sidewalk": 1, "building": 2, "vegetation": 8, "sky": 10, "person": 11,
         "rider": 12, "car": 13, "bicycle": 18}  # fmt: skip
MOT = {"sidewalk": 0, "building": 1, "vegetation": 2, "sky": 3, "person": 4, "rider": 5,
       "bicycle": 6}  # fmt: skip

# Sequences and their frame sizes (KITTI's differ between sequences, MOTS' are all one size).
KITTI_VAL = {"0002": (12, 32), "0006": (13, 35)}
KITTI_TEST = {"0000": (12, 31), "0003": (12, 32)}
MOT_TRAIN = {"0002": (12, 32), "0009": (12, 32)}
MOT_TEST = {"0001": (12, 32), "0007": (12, 32)}


def kitti_layers(k: int) -> list[tuple]:
    """What frame ``k`` of a KITTI sequence shows, drawn in order: (rows, cols, class, id)."""
    x = 1 + 2 * k  # car 5 drives right
    out = [
        (slice(0, 3), slice(None), KITTI["sky"], 0),
        (slice(3, 5), slice(None), KITTI["building"], 0),
        (slice(3, 5), slice(24, 32), KITTI["vegetation"], 0),
        (slice(5, 11), slice(None), KITTI["road"], 0),
        (slice(5, 7), slice(0, 6), KITTI["sidewalk"], 0),
        (slice(11, 12), slice(None), VOID, 0),
        (slice(6, 9), slice(x, x + 5), KITTI["car"], 5),
        (slice(4, 9), slice(20, 22), KITTI["person"], 5),  # the same id 5: another object
        (slice(8, 11), slice(24, 30), KITTI["car"], 300),  # id 300 = 1 * 256 + 44: G is used
        (slice(9, 11), slice(0, 4), KITTI["car"], 0),  # a group of cars without id: crowd
        (slice(3, 5), slice(14, 16), KITTI["rider"], 0),  # not tracked: stuff in STEP
        (slice(9, 11), slice(14, 17), KITTI["bicycle"], 0),
    ]
    if k != 2:  # car 7 leaves at the third frame and comes back
        out.append((slice(5, 7), slice(26, 29), KITTI["car"], 7))
    if k >= 1:  # person 2 appears at the second frame
        out.append((slice(5, 9), slice(10, 12), KITTI["person"], 2))
    return out


def mot_layers(k: int) -> list[tuple]:
    """What frame ``k`` of a MOTChallenge sequence shows: persons are the tracked class."""
    x = 2 + k
    out = [
        (slice(0, 3), slice(None), MOT["sky"], 0),
        (slice(3, 6), slice(None), MOT["building"], 0),
        (slice(3, 6), slice(26, 32), MOT["vegetation"], 0),
        (slice(6, 12), slice(None), MOT["sidewalk"], 0),
        (slice(11, 12), slice(0, 8), VOID, 0),
        (slice(4, 11), slice(x, x + 2), MOT["person"], 12),
        (slice(4, 11), slice(20, 22), MOT["person"], 1030),  # 4 * 256 + 6
        (slice(8, 11), slice(12, 15), MOT["person"], 0),  # crowd
        (slice(6, 10), slice(24, 26), MOT["rider"], 0),
        (slice(9, 11), slice(27, 30), MOT["bicycle"], 0),
    ]
    if k >= 1:
        out.append((slice(5, 10), slice(16, 18), MOT["person"], 3))
    return out


def draw(layers: list[tuple], size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(class map, id map) of the layers, scaled to ``size`` by nearest neighbour."""
    semantic = np.zeros((BASE_H, BASE_W), np.int32)
    ident = np.zeros((BASE_H, BASE_W), np.int32)
    for rows, cols, cls, obj in layers:
        semantic[rows, cols] = cls
        ident[rows, cols] = obj
    ys = np.arange(size[0]) * BASE_H // size[0]
    xs = np.arange(size[1]) * BASE_W // size[1]
    return semantic[ys][:, xs], ident[ys][:, xs]


def photo(k: int, s: int, size: tuple[int, int]) -> np.ndarray:
    """Some RGB picture for the frame (its content does not matter, its bytes do)."""
    yy, xx = np.mgrid[: size[0], : size[1]]
    return np.stack([(xx * 7 + k) % 256, (yy * 11 + 30 * s) % 256, (xx + yy + 5 * k) % 256],
                    -1).astype(np.uint8)  # fmt: skip


def save_panoptic_map(path: Path, semantic: np.ndarray, ident: np.ndarray) -> None:
    """Encode and save a map as create_step_panoptic_maps.py does (R, id // 256, id % 256)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rgb = np.dstack((semantic, ident // 256, ident % 256)).astype(np.uint8)
    Image.fromarray(rgb).convert("RGB").save(path, format="PNG")


def save_image(path: Path, rgb: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".jpg":
        Image.fromarray(rgb).save(path, quality=90)
    else:
        Image.fromarray(rgb).save(path)


def expected_maps(drawn: dict[str, tuple[np.ndarray, np.ndarray]], things: set[int]) -> dict:
    """Unified maps of one sequence (stems in order): class * 2^16 + per-sequence object number,
    numbered by first appearance, objects first seen together by ascending (class, id)."""
    numbers: dict[tuple[int, int], int] = {}
    maps = {}
    for stem, (semantic, ident) in drawn.items():
        is_object = np.isin(semantic, list(things)) & (ident > 0)
        for key in sorted(
            set(zip(semantic[is_object].tolist(), ident[is_object].tolist(), strict=True))
        ):
            numbers.setdefault(key, len(numbers) + 1)
        instance = np.zeros_like(semantic)
        for (cls, obj), number in numbers.items():
            instance[(semantic == cls) & (ident == obj)] = number
        maps[stem] = (semantic.astype(np.int64) * DIVISOR + instance).astype(np.int32)
    tracks = [(f"{cls}:{obj}", cls) for (cls, obj) in numbers]
    return {"maps": maps, "tracks": tracks}


def write_sequence(
    root: Path,
    split: str,
    seq: str,
    size: tuple[int, int],
    frames: range,
    layers,
    image_suffix: str,
    labelled: bool,
    things: set[int],
    s: int,
) -> dict:
    """Write one sequence's images (and panoptic maps); return its truth."""
    drawn = {}
    for k, number in enumerate(frames):
        stem = f"{number:06d}"
        save_image(root / "images" / split / seq / f"{stem}{image_suffix}", photo(k, s, size))
        if labelled:
            semantic, ident = draw(layers(k), size)
            save_panoptic_map(root / "panoptic_maps" / split / seq / f"{stem}.png", semantic, ident)
            drawn[stem] = (semantic, ident)
    truth = expected_maps(drawn, things) if labelled else {"maps": {}, "tracks": []}
    truth.update(size=size, stems=[f"{n:06d}" for n in frames])
    return truth


def write_kitti_step(root: Path, frames: int = 4) -> dict:
    """A KITTI-STEP root with a labelled val split and an image-only test split.

    Returns ``{split: {sequence: {"maps", "tracks", "size", "stems"}}}``.
    """
    things = {KITTI["person"], KITTI["car"]}
    out: dict = {"val": {}, "test": {}}
    for split, sequences, labelled in (("val", KITTI_VAL, True), ("test", KITTI_TEST, False)):
        for s, (seq, size) in enumerate(sequences.items()):
            out[split][seq] = write_sequence(
                root, split, seq, size, range(frames), kitti_layers, ".png", labelled, things, s
            )
    return out


def write_motchallenge_step(root: Path, frames: int = 3) -> dict:
    """A MOTChallenge-STEP root laid out as its setup guide (0002 and 0009 in train/, the test
    sequences images only). Returns ``{split: {sequence: truth}}`` for train and test."""
    things = {MOT["person"]}
    out: dict = {"train": {}, "test": {}}
    for split, sequences, labelled in (("train", MOT_TRAIN, True), ("test", MOT_TEST, False)):
        for s, (seq, size) in enumerate(sequences.items()):
            out[split][seq] = write_sequence(
                root, split, seq, size, range(1, frames + 1), mot_layers, ".jpg", labelled,
                things, s,
            )  # fmt: skip
    return out


def write_rgb16(path, rgb: np.ndarray) -> None:
    """A 16-bit RGB PNG, written chunk by chunk as the PNG spec lays it out (Pillow cannot
    write one): what a converter or scorer must refuse, since Pillow decodes it to 8 bits."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    h, w, _ = rgb.shape
    raw = b"".join(b"\0" + rgb[y].astype(">u2").tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
    path.write_bytes(png + chunk(b"IEND", b""))
