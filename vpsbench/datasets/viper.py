"""VIPER as VPSNet uses it: 23 evaluated classes (13 stuff, 10 things), raw-class mapping, protocol.

The raw class list is VIPER's own ``classes.csv`` (srrichter/viper: id, name, colour,
class_eval, instance_eval). The VPS id order comes from mcahny/vps ``tools/dataset/viper.py``:
23 segmentation classes and 11 detection classes (10 things + background), so ids 0-12 are stuff
and 13-22 things; matching the colours of its palette (``Viper.get_pallete()``) to ``classes.csv``
gives the evaluated classes in trainid order, stuff first, then things; its
``PQStat.pq_average`` skips id 11 ("exclude mobilebarrier"), so mobilebarrier is excluded from
the averages.
"""

from __future__ import annotations

import json
from pathlib import Path

from vpsbench.datasets.base import Dataset
from vpsbench.format.schema import Category, Protocol

DATASET_NAME = "viper"
# mcahny/vps tools/eval_vpq.py as run on VIPER: windows of 1, 5, 10 and 15 frames, tubes under
# 1024 pixels skipped, mobilebarrier (id 11) out of the averages. VPSNet's VIPER videos have
# 60 labelled frames: room for VSPW's VC_8 and VC_16.
PROTOCOL = Protocol(
    vpq_window_sizes=(1, 5, 10, 15),
    vpq_k=(0, 5, 10, 15),
    min_tube_area=1024,
    excluded_category_ids=(11,),
    vc_clip_lengths=(8, 16),
    name="viper_official",
    description="mcahny/vps eval_vpq.py on VIPER: windows 1,5,10,15; tubes < 1024 px and "
    "mobilebarrier skipped",
)
VOID = 255

# Raw VIPER classes.csv: id -> (name, colour, class_eval, instance_eval). Van and train share a
# colour in the official file, so raw labels must be decoded by palette index, never by colour.
RAW_CLASSES: dict[int, tuple[str, tuple[int, int, int], bool, bool]] = {
    0: ("unlabeled", (0, 0, 0), False, False),
    1: ("ambiguous", (111, 74, 0), False, False),
    2: ("sky", (70, 130, 180), True, False),
    3: ("road", (128, 64, 128), True, False),
    4: ("sidewalk", (244, 35, 232), True, False),
    5: ("railtrack", (230, 150, 140), False, False),
    6: ("terrain", (152, 251, 152), True, False),
    7: ("tree", (87, 182, 35), True, False),
    8: ("vegetation", (35, 142, 35), True, False),
    9: ("building", (70, 70, 70), True, False),
    10: ("infrastructure", (153, 153, 153), True, False),
    11: ("fence", (190, 153, 153), True, False),
    12: ("billboard", (150, 20, 20), True, False),
    13: ("trafficlight", (250, 170, 30), True, True),
    14: ("trafficsign", (220, 220, 0), True, False),
    15: ("mobilebarrier", (180, 180, 100), True, False),
    16: ("firehydrant", (173, 153, 153), True, True),
    17: ("chair", (168, 153, 153), True, True),
    18: ("trash", (81, 0, 21), True, False),
    19: ("trashcan", (81, 0, 81), True, True),
    20: ("person", (220, 20, 60), True, True),
    21: ("animal", (255, 0, 0), False, False),
    22: ("bicycle", (119, 11, 32), False, False),
    23: ("motorcycle", (0, 0, 230), True, True),
    24: ("car", (0, 0, 142), True, True),
    25: ("van", (0, 80, 100), True, True),
    26: ("bus", (0, 60, 100), True, True),
    27: ("truck", (0, 0, 70), True, True),
    28: ("trailer", (0, 0, 90), False, False),
    29: ("train", (0, 80, 100), False, False),
    30: ("plane", (0, 100, 100), False, False),
    31: ("boat", (50, 0, 90), False, False),
}


def _vps_order() -> list[int]:
    """Raw ids of the evaluated classes in VPS id order: stuff first, then things."""
    evaluated = [raw for raw, (_, _, ev, _) in RAW_CLASSES.items() if ev]
    stuff = [raw for raw in evaluated if not RAW_CLASSES[raw][3]]
    things = [raw for raw in evaluated if RAW_CLASSES[raw][3]]
    return stuff + things


CATEGORIES: list[Category] = [
    Category(
        id=vps_id,
        name=RAW_CLASSES[raw][0],
        isthing=RAW_CLASSES[raw][3],
        color=RAW_CLASSES[raw][1],
        source_id=raw,
        supercategory="thing" if RAW_CLASSES[raw][3] else "stuff",
    )
    for vps_id, raw in enumerate(_vps_order())
]

RAW_TO_VPS: dict[int, int] = {c.source_id: c.id for c in CATEGORIES}


def raw_to_vps_table() -> list[int]:
    """A 256-entry lookup table: raw VIPER class id -> VPS id, 255 (void) if not evaluated."""
    return [RAW_TO_VPS.get(raw, VOID) for raw in range(256)]


def category_json() -> str:
    """The category table as JSON (id, name, isthing, color, raw VIPER id), for the file."""
    return json.dumps(
        [
            {
                "id": c.id,
                "name": c.name,
                "isthing": int(c.isthing),
                "color": list(c.color),
                "viper_id": c.source_id,
            }
            for c in CATEGORIES
        ]
    )


def detect(root: Path, split: str) -> bool:
    """A raw VIPER root: ``<split>/cls/`` holds one folder per sequence."""
    cls = root / split / "cls"
    return cls.is_dir() and any(p.is_dir() for p in cls.iterdir())


DATASET = Dataset(
    name=DATASET_NAME,
    title="VIPER",
    categories=tuple(CATEGORIES),
    protocols=(PROTOCOL,),
    label_divisor=1000,
    layouts="the raw release: <split>/img|cls|inst/SSS/SSS_FFFFF.*",
    source="Richter et al., ICCV 2017 (playing-for-benchmarks.org); github.com/mcahny/vps",
    detect=detect,
    category_json=category_json,
)
