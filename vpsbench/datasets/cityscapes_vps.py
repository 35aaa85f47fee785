"""Cityscapes-VPS: the 19-category table as shipped (``city_default.py``) and its protocol.

The table is the source's own data (mcahny/vps ``prepare_data/city_default.py``, copied verbatim
into the ``categories`` of the release JSONs such as ``panoptic_gt_val_city_vps.json``), quirks
included: "vegitation" is spelled that way, and traffic sign carries ``ori_id`` 21 (its true
Cityscapes labelId is 20, cityscapesscripts ``labels.py``).
"""

from __future__ import annotations

import json

from vpsbench.format.schema import CITYSCAPES_VPS_PROTOCOL, Category

DATASET_NAME = "cityscapes_vps"
PROTOCOL = CITYSCAPES_VPS_PROTOCOL

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
