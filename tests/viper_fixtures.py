"""A miniature VIPER raw release, laid out and encoded like the real one.

The names and encodings are those of the official VIPER toolkit (srrichter/viper ``README.md``,
``EVALUATION.md``, ``classes.csv``), as docs/CONVERTERS.md, 'VIPER' describes them.

``write_viper_tree`` writes ``{split}/img/SSS/SSS_FFFFF.jpg`` for every frame and, on labelled
frames (multiples of ``labelled_every``), ``cls`` as a palette PNG (index = raw class id, the
VIPER palette) and ``inst`` as an RGB PNG (R = raw class id, instance id = 256 G + B on thing
pixels, 0 elsewhere). Each labelled frame shows stuff bands, moving cars with persistent ids, a
van (id 300, so G is used) and a train (same colour as the van, another index: void), a
person appearing later, a car that leaves and comes back, a bicycle and unlabeled pixels
(void), a mobilebarrier region, a crowd of persons without instance id, a trashcan whose inst
R names it with id 0 (crowd) and car pixels that cls calls road (inst wins).

The expected labels are written down here independently of the converter: the VPS category of
each drawn region is typed in by hand (VPSNet's order, mcahny/vps ``tools/dataset/viper.py``:
the 13 evaluated stuff classes, then the 10 things, each in ``classes.csv`` trainid order), not
looked up in the dataset module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from vpsbench.datasets.viper import RAW_CLASSES

BASE_H, BASE_W = 24, 40
VOID = 255
# raw VIPER id -> VPS id for the classes drawn here, by hand (stuff 0-12 then things 13-22)
SKY, ROAD, SIDEWALK, BUILDING, BARRIER = (2, 0), (3, 1), (4, 2), (9, 6), (15, 11)
FIREHYDRANT, TRASHCAN, PERSON, CAR, VAN = (16, 14), (19, 16), (20, 17), (24, 19), (25, 20)
UNLABELED, BICYCLE, TRAIN = (0, VOID), (22, VOID), (29, VOID)


def palette() -> list[int]:
    """The VIPER palette (classes.csv colours), index = raw class id, padded to 256 entries."""
    flat = [0] * 768
    for raw, (_, colour, _, _) in RAW_CLASSES.items():
        flat[3 * raw : 3 * raw + 3] = colour
    return flat


def layers(k: int, s: int) -> list[tuple]:
    """What labelled frame number ``k`` (0, 1, ...) of sequence index ``s`` shows, drawn in order.

    Each layer: (rows, cols, (raw cls id, VPS id), inst (R, id) or None, expected VPS category
    or None to take the cls one, object key (R, id) or None).
    """
    x = 2 + 2 * k + s  # car 5 drives right
    out = [
        (slice(0, 6), slice(None), SKY, None, None, None),
        (slice(6, 10), slice(None), BUILDING, None, None, None),
        (slice(10, 24), slice(None), ROAD, None, None, None),
        (slice(10, 12), slice(0, 8), SIDEWALK, None, None, None),
        (slice(10, 13), slice(30, 40), BARRIER, None, None, None),
        (slice(21, 24), slice(None), UNLABELED, None, None, None),
        # inst names bicycle and train objects; they are not evaluated: void, never things.
        (slice(16, 19), slice(34, 38), BICYCLE, (22, 4), None, None),
        (slice(3, 7), slice(30, 38), TRAIN, (29, 1), None, None),
        (slice(13, 19), slice(20, 26), VAN, (25, 300), None, (25, 300)),
        (slice(12, 18), slice(x, x + 7), CAR, (24, 5), None, (24, 5)),
        # car pixels that cls calls road: inst names the car, and inst wins for things.
        (slice(17, 18), slice(x, x + 7), ROAD, (24, 5), CAR[1], (24, 5)),
        (slice(19, 21), slice(10, 12), FIREHYDRANT, (16, 1), None, (16, 1)),
        # persons with no instance id: crowd.
        (slice(6, 9), slice(0, 3), PERSON, None, None, None),
        # inst names a trashcan but with id 0: crowd of trashcan.
        (slice(18, 21), slice(0, 3), TRASHCAN, (19, 0), None, None),
    ]
    if k != 2:  # car 9 leaves at the third labelled frame and comes back
        out.append((slice(14, 17), slice(27, 31), CAR, (24, 9), None, (24, 9)))
    if k >= 1:  # person 2 appears at the second labelled frame
        out.append((slice(7, 13), slice(12, 14), PERSON, (20, 2), None, (20, 2)))
    return out


def draw(k: int, s: int, size: tuple[int, int]) -> tuple:
    """(cls uint8, inst RGB uint8, expected category map, expected object key map) at ``size``."""
    cls = np.zeros((BASE_H, BASE_W), np.uint8)
    inst = np.zeros((BASE_H, BASE_W, 3), np.uint8)
    category = np.full((BASE_H, BASE_W), VOID, np.int32)
    key = np.zeros((BASE_H, BASE_W), np.int64)  # R * 65536 + id, 0 = no object
    for rows, cols, (raw, vps), obj, expected, obj_key in layers(k, s):
        cls[rows, cols] = raw
        inst[rows, cols] = (obj[0], obj[1] // 256, obj[1] % 256) if obj else (0, 0, 0)
        category[rows, cols] = vps if expected is None else expected
        key[rows, cols] = obj_key[0] * 65536 + obj_key[1] if obj_key else 0
    ys = np.arange(size[0]) * BASE_H // size[0]
    xs = np.arange(size[1]) * BASE_W // size[1]
    return tuple(a[ys][:, xs] for a in (cls, inst, category, key))


def photo(number: int, s: int, size: tuple[int, int]) -> np.ndarray:
    """Some RGB picture for the JPG (its content does not matter, its bytes do)."""
    yy, xx = np.mgrid[: size[0], : size[1]]
    return np.stack([(xx * 6 + number) % 256, (yy * 9 + 40 * s) % 256, (xx + yy + 3 * number)
                     % 256], -1).astype(np.uint8)  # fmt: skip


def save(image: Image.Image, path: Path, **kwargs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)


def write_labels(base: Path, seq: str, stem: str, cls: np.ndarray, inst: np.ndarray) -> None:
    img = Image.frombytes("P", (cls.shape[1], cls.shape[0]), cls.tobytes())
    img.putpalette(palette())
    save(img, base / "cls" / seq / f"{stem}.png")
    save(Image.fromarray(inst), base / "inst" / seq / f"{stem}.png")


def write_viper_tree(
    root: Path,
    split: str = "val",
    sequences: tuple[str, ...] = ("001", "002"),
    frames: range = range(8, 53),
    size: tuple[int, int] = (BASE_H, BASE_W),
    labelled_every: int = 10,
    with_unlabelled: bool = True,
) -> dict:
    """Write the miniature release; return the truth a converter must reproduce.

    Returns ``{"frames": {seq: [frame numbers written]}, "labelled": {seq: [stems]},
    "truth": {seq: {stem: (category map, object key map)}}, "panoptic": {seq: {stem: map}}}``
    where ``panoptic`` is the expected label map with one video per sequence.
    """
    base = Path(root) / split
    out: dict = {"frames": {}, "labelled": {}, "truth": {}, "panoptic": {}}
    for s, seq in enumerate(sequences):
        written, labelled, truth = [], [], {}
        for number in frames:
            stem = f"{seq}_{number:05d}"
            is_labelled = number % labelled_every == 0
            if not (is_labelled or with_unlabelled):
                continue
            save(Image.fromarray(photo(number, s, size)), base / "img" / seq / f"{stem}.jpg",
                 quality=90)  # fmt: skip
            written.append(number)
            if is_labelled:
                cls, inst, category, key = draw(number // labelled_every - 1, s, size)
                write_labels(base, seq, stem, cls, inst)
                labelled.append(stem)
                truth[stem] = (category, key)
        out["frames"][seq], out["labelled"][seq], out["truth"][seq] = written, labelled, truth
        out["panoptic"][seq] = expected_panoptic(truth, labelled)
    return out


def expected_panoptic(truth: dict, stems: list[str]) -> dict[str, np.ndarray]:
    """Expected maps of one video holding ``stems`` (in order): category * 1000 + instance id.

    Instance ids 1, 2, ... go to objects in order of first appearance in the video; objects
    first seen in the same frame are numbered in ascending (raw class, instance id) order.
    """
    ids: dict[int, int] = {}
    maps = {}
    for stem in stems:
        category, key = truth[stem]
        for obj in sorted(set(np.unique(key).tolist()) - {0}):
            ids.setdefault(obj, len(ids) + 1)
        instance = np.zeros_like(category)
        for obj, ident in ids.items():
            instance[key == obj] = ident
        maps[stem] = (category * 1000 + instance).astype(np.int32)
    return maps
