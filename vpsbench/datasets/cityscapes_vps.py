"""Cityscapes-VPS: the 19-category table as shipped (``city_default.py``) and its protocol.

The table is the source's own data (mcahny/vps ``prepare_data/city_default.py``, copied verbatim
into the ``categories`` of the release JSONs such as ``panoptic_gt_val_city_vps.json``), quirks
included: "vegitation" is spelled that way, and traffic sign carries ``ori_id`` 21 (its true
Cityscapes labelId is 20, cityscapesscripts ``labels.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

from vpsbench.datasets.base import Dataset
from vpsbench.format.schema import Category, Protocol

DATASET_NAME = "cityscapes_vps"
# mcahny/vps tools/eval_vpq.py: windows of 1-4 annotated frames (k = 0, 5, 10, 15 source
# frames), tube IoU > 0.5, final VPQ the mean over k. Its videos have 6 annotated frames (every
# 5th of a 30-frame snippet), so VSPW's VC_8/VC_16 have no clip; 2, 4 and 6 are the lengths
# the videos allow.
PROTOCOL = Protocol(
    vpq_window_sizes=(1, 2, 3, 4),
    vpq_k=(0, 5, 10, 15),
    vc_clip_lengths=(2, 4, 6),
    name="cityscapes_vps_official",
    description="mcahny/vps eval_vpq.py: windows of 1-4 annotated frames (k=0,5,10,15)",
)

# (id, name, supercategory, isthing, ori_id as shipped, colour)
_TABLE = [
    (0, "road", "flat", 0, 7, (128, 64, 128)),
    (1, "sidewalk", "flat", 0, 8, (244, 35, 232)),
    (2, "building", "construction", 0, 11, (70, 70, 70)),
    (3, "wall", "construction", 0, 12, (102, 102, 156)),
    (4, "fence", "construction", 0, 13, (190, 153, 153)),
    (5, "pole", "object", 0, 17, (153, 153, 153)),
    (6, "traffic light", "object", 0, 19, (250, 170, 30)),
    (7, "traffic sign", "object", 0, 21, (220, 220, 0)),
    (8, "vegitation", "nature", 0, 21, (107, 142, 35)),
    (9, "terrain", "nature", 0, 22, (152, 251, 152)),
    (10, "sky", "sky", 0, 23, (70, 130, 180)),
    (11, "person", "human", 1, 24, (220, 20, 60)),
    (12, "rider", "human", 1, 25, (255, 0, 0)),
    (13, "car", "vehicle", 1, 26, (0, 0, 142)),
    (14, "truck", "vehicle", 1, 27, (0, 0, 70)),
    (15, "bus", "vehicle", 1, 28, (0, 60, 100)),
    (16, "train", "vehicle", 1, 31, (0, 80, 100)),
    (17, "motorcycle", "vehicle", 1, 32, (0, 0, 230)),
    (18, "bicycle", "vehicle", 1, 33, (119, 11, 32)),
]

CATEGORIES: list[Category] = [
    Category(id=i, name=name, isthing=bool(thing), color=color, source_id=ori, supercategory=sup)
    for i, name, sup, thing, ori, color in _TABLE
]


def category_json() -> str:
    """The official ``categories`` list, keys in the shipped order, default JSON separators."""
    return json.dumps(
        [
            {
                "id": i,
                "name": name,
                "supercategory": sup,
                "isthing": thing,
                "instance_eval": thing,
                "trainid": i,
                "ori_id": ori,
                "color": list(color),
            }
            for i, name, sup, thing, ori, color in _TABLE
        ]
    )


# Every colour of the Cityscapes label palette (cityscapesscripts labels.py) that is not one of
# the 19 classes: such pixels are void in Cityscapes-VPS. Polegroup shares the pole colour and
# license plate the car colour, so they merge into those classes, as the official fusion does.
VOID_PALETTE_COLOURS: dict[str, tuple[int, int, int]] = {
    "unlabeled/ego vehicle/rectification border/out of roi/static": (0, 0, 0),
    "dynamic": (111, 74, 0),
    "ground": (81, 0, 81),
    "parking": (250, 170, 160),
    "rail track": (230, 150, 140),
    "guard rail": (180, 165, 180),
    "bridge": (150, 100, 100),
    "tunnel": (150, 120, 90),
    "caravan": (0, 0, 90),
    "trailer": (0, 0, 110),
}


def colour_to_class() -> dict[int, int]:
    """Packed colour ``R + 256 G + 65536 B`` -> class id (0..18), or 255 for void colours."""
    table = {r + 256 * g + 65536 * b: 255 for r, g, b in VOID_PALETTE_COLOURS.values()}
    for c in CATEGORIES:
        r, g, b = c.color
        table[r + 256 * g + 65536 * b] = c.id
    return table


def detect(root: Path, split: str) -> bool:
    """A Cityscapes-VPS root: the prepared JSON of ``split`` or raw ``VVVV_FFFF_*`` labels."""
    return (root / f"panoptic_gt_{split}_city_vps.json").is_file() or any(
        (root / split / "cls").glob("????_????_*.png")
    )


DATASET = Dataset(
    name=DATASET_NAME,
    title="Cityscapes-VPS",
    categories=tuple(CATEGORIES),
    protocols=(PROTOCOL,),
    label_divisor=1000,
    layouts="panoptic_gt_<split>_city_vps.json + <split>/panoptic_video/ (prepared), or raw "
    "<split>/cls/ + <split>/inst/; images from <split>/img/ and <split>/img_all/",
    source="Kim et al., CVPR 2020; github.com/mcahny/vps",
    detect=detect,
    category_json=category_json,
)
