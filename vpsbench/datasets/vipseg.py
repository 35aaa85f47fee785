"""VIPSeg (Miao et al., CVPR 2022): 124 categories, raw mask encoding, layouts and protocol.

Sources: github.com/VIPSeg-Dataset/VIPSeg-Dataset: ``README.md`` (release layout and mask
encoding), ``panoVIPSeg_categories.json`` (the category table below, verbatim: ids 0-123, keys
id/name/isthing/color), ``label_num_dic_final.json`` (name -> 1-based mask code, "others": 0),
the preparation scripts ``change2_720p.py``, ``create_panoptic_video_labels.py`` and
``splitjson.py``, and the scorers ``ClipPanoFCN/eval_vpq_vspw.py`` and ``eval_stq_vspw.py``.

Raw ``panomasks`` hold 0 for void, the 1-based category code for stuff and ``code * 100 +
instance`` for things; ``create_panoptic_video_labels.py`` reads any value below 125 as a
category code and any other as ``value // 100``, then subtracts 1 for the JSON's 0-based id.
"""

from __future__ import annotations

import json
from pathlib import Path

from vpsbench.datasets.base import Dataset
from vpsbench.format.schema import STQ_RULE_VIPSEG, Category, Protocol

DATASET_NAME = "vipseg"
# eval_vpq_vspw.py: windows of 1, 2, 4, 6 and 8 frames per video (every frame is labelled), a
# video shorter than a window gives no window of that size, final VPQ = mean of the five; it
# names its per-size files vpq-{(n-1)*5}.txt, hence the k labels. eval_stq_vspw.py numbers GT
# tracks by first listing in the GT JSON (stq_rule "vipseg"). VIPSeg comes from VSPW (Miao et
# al. 2021), whose VC_8 and VC_16 are the clip lengths.
PROTOCOL = Protocol(
    vpq_window_sizes=(1, 2, 4, 6, 8),
    vpq_k=(0, 5, 15, 25, 35),
    vc_clip_lengths=(8, 16),
    name="vipseg_official",
    description="VIPSeg eval_vpq_vspw.py: windows 1,2,4,6,8 per video (shorter videos give no "
    "window); eval_stq_vspw.py track numbering",
    stq_rule=STQ_RULE_VIPSEG,
)
# Raw thing values are code * 100 + instance (README), so one video may hold up to 100 objects
# of each of the 58 thing classes: more than a divisor of 1000 leaves room for.
LABEL_DIVISOR = 10000
RAW_THING_FACTOR = 100
# create_panoptic_video_labels.py: values below this are category codes, others code * 100 + i.
RAW_STUFF_LIMIT = 125
# VIPSeg-Dataset issue #1: the raw value 200 is an annotation bug and should be 0 (void); the
# preparation script reads it as code 2 (ceiling), which is what the official GT holds.
RAW_BUG_VALUE = 200

# panoVIPSeg_categories.json: (id, name, isthing, colour), in the file's order.
_TABLE = [
    (0, "wall", 0, (120, 120, 120)),
    (1, "ceiling", 0, (180, 120, 120)),
    (2, "door", 1, (6, 230, 230)),
    (3, "stair", 0, (80, 50, 50)),
    (4, "ladder", 1, (4, 200, 3)),
    (5, "escalator", 0, (120, 120, 80)),
    (6, "Playground_slide", 0, (140, 140, 140)),
    (7, "handrail_or_fence", 0, (204, 5, 255)),
    (8, "window", 1, (230, 230, 230)),
    (9, "rail", 0, (4, 250, 7)),
    (10, "goal", 1, (224, 5, 255)),
    (11, "pillar", 0, (235, 255, 7)),
    (12, "pole", 0, (150, 5, 61)),
    (13, "floor", 0, (120, 120, 70)),
    (14, "ground", 0, (8, 255, 51)),
    (15, "grass", 0, (255, 6, 82)),
    (16, "sand", 0, (143, 255, 140)),
    (17, "athletic_field", 0, (204, 255, 4)),
    (18, "road", 0, (255, 51, 7)),
    (19, "path", 0, (204, 70, 3)),
    (20, "crosswalk", 0, (0, 102, 200)),
    (21, "building", 0, (61, 230, 250)),
    (22, "house", 0, (255, 6, 51)),
    (23, "bridge", 0, (11, 102, 255)),
    (24, "tower", 0, (255, 7, 71)),
    (25, "windmill", 0, (255, 9, 224)),
    (26, "well_or_well_lid", 0, (9, 7, 230)),
    (27, "other_construction", 0, (220, 220, 220)),
    (28, "sky", 0, (255, 9, 92)),
    (29, "mountain", 0, (112, 9, 255)),
    (30, "stone", 0, (8, 255, 214)),
    (31, "wood", 0, (7, 255, 224)),
    (32, "ice", 0, (255, 184, 6)),
    (33, "snowfield", 0, (10, 255, 71)),
    (34, "grandstand", 0, (255, 41, 10)),
    (35, "sea", 0, (7, 255, 255)),
    (36, "river", 0, (224, 255, 8)),
    (37, "lake", 0, (102, 8, 255)),
    (38, "waterfall", 0, (255, 61, 6)),
    (39, "water", 0, (255, 194, 7)),
    (40, "billboard_or_Bulletin_Board", 0, (255, 122, 8)),
    (41, "sculpture", 1, (0, 255, 20)),
    (42, "pipeline", 0, (255, 8, 41)),
    (43, "flag", 1, (255, 5, 153)),
    (44, "parasol_or_umbrella", 1, (6, 51, 255)),
    (45, "cushion_or_carpet", 0, (235, 12, 255)),
    (46, "tent", 1, (160, 150, 20)),
    (47, "roadblock", 1, (0, 163, 255)),
    (48, "car", 1, (140, 140, 140)),
    (49, "bus", 1, (250, 10, 15)),
    (50, "truck", 1, (20, 255, 0)),
    (51, "bicycle", 1, (31, 255, 0)),
    (52, "motorcycle", 1, (255, 31, 0)),
    (53, "wheeled_machine", 0, (255, 224, 0)),
    (54, "ship_or_boat", 1, (153, 255, 0)),
    (55, "raft", 1, (0, 0, 255)),
    (56, "airplane", 1, (255, 71, 0)),
    (57, "tyre", 0, (0, 235, 255)),
    (58, "traffic_light", 0, (0, 173, 255)),
    (59, "lamp", 0, (31, 0, 255)),
    (60, "person", 1, (11, 200, 200)),
    (61, "cat", 1, (255, 82, 0)),
    (62, "dog", 1, (0, 255, 245)),
    (63, "horse", 1, (0, 61, 255)),
    (64, "cattle", 1, (0, 255, 112)),
    (65, "other_animal", 1, (0, 255, 133)),
    (66, "tree", 0, (255, 0, 0)),
    (67, "flower", 0, (255, 163, 0)),
    (68, "other_plant", 0, (255, 102, 0)),
    (69, "toy", 0, (194, 255, 0)),
    (70, "ball_net", 0, (0, 143, 255)),
    (71, "backboard", 0, (51, 255, 0)),
    (72, "skateboard", 1, (0, 82, 255)),
    (73, "bat", 0, (0, 255, 41)),
    (74, "ball", 1, (0, 255, 173)),
    (75, "cupboard_or_showcase_or_storage_rack", 0, (10, 0, 255)),
    (76, "box", 1, (173, 255, 0)),
    (77, "traveling_case_or_trolley_case", 1, (0, 255, 153)),
    (78, "basket", 1, (255, 92, 0)),
    (79, "bag_or_package", 1, (255, 0, 255)),
    (80, "trash_can", 0, (255, 0, 245)),
    (81, "cage", 0, (255, 0, 102)),
    (82, "plate", 1, (255, 173, 0)),
    (83, "tub_or_bowl_or_pot", 1, (255, 0, 20)),
    (84, "bottle_or_cup", 1, (255, 184, 184)),
    (85, "barrel", 1, (0, 31, 255)),
    (86, "fishbowl", 1, (0, 255, 61)),
    (87, "bed", 1, (0, 71, 255)),
    (88, "pillow", 1, (255, 0, 204)),
    (89, "table_or_desk", 1, (0, 255, 194)),
    (90, "chair_or_seat", 1, (0, 255, 82)),
    (91, "bench", 1, (0, 10, 255)),
    (92, "sofa", 1, (0, 112, 255)),
    (93, "shelf", 0, (51, 0, 255)),
    (94, "bathtub", 0, (0, 194, 255)),
    (95, "gun", 1, (0, 122, 255)),
    (96, "commode", 1, (0, 255, 163)),
    (97, "roaster", 1, (255, 153, 0)),
    (98, "other_machine", 0, (0, 255, 10)),
    (99, "refrigerator", 1, (255, 112, 0)),
    (100, "washing_machine", 1, (143, 255, 0)),
    (101, "Microwave_oven", 1, (82, 0, 255)),
    (102, "fan", 1, (163, 255, 0)),
    (103, "curtain", 0, (255, 235, 0)),
    (104, "textiles", 0, (8, 184, 170)),
    (105, "clothes", 0, (133, 0, 255)),
    (106, "painting_or_poster", 1, (0, 255, 92)),
    (107, "mirror", 1, (184, 0, 255)),
    (108, "flower_pot_or_vase", 1, (255, 0, 31)),
    (109, "clock", 1, (0, 184, 255)),
    (110, "book", 0, (0, 214, 255)),
    (111, "tool", 0, (255, 0, 112)),
    (112, "blackboard", 0, (92, 255, 0)),
    (113, "tissue", 0, (0, 224, 255)),
    (114, "screen_or_television", 1, (112, 224, 255)),
    (115, "computer", 1, (70, 184, 160)),
    (116, "printer", 1, (163, 0, 255)),
    (117, "Mobile_phone", 1, (153, 0, 255)),
    (118, "keyboard", 1, (71, 255, 0)),
    (119, "other_electronic_product", 0, (255, 0, 163)),
    (120, "fruit", 0, (255, 204, 0)),
    (121, "food", 0, (255, 0, 143)),
    (122, "instrument", 1, (0, 255, 235)),
    (123, "train", 1, (133, 255, 0)),
]


def category_json() -> str:
    """``panoVIPSeg_categories.json`` as shipped (default JSON separators, keys in its order)."""
    return json.dumps(
        [
            {"id": i, "name": name, "isthing": thing, "color": list(colour)}
            for i, name, thing, colour in _TABLE
        ]
    )


CATEGORIES: list[Category] = [
    # source_id: the 1-based code of the raw panomasks (label_num_dic_final.json).
    Category(id=i, name=name, isthing=bool(thing), color=colour, source_id=i + 1)
    for i, name, thing, colour in _TABLE
]


def detect(root: Path, split: str) -> bool:
    """A VIPSeg root: the prepared ``VIPSeg_720P`` folder or the raw release."""
    return is_prepared(root, split) or is_raw(root)


def is_prepared(root: Path, split: str) -> bool:
    """The prepared layout: ``panomasksRGB/`` or the split's panoptic GT JSON."""
    return (root / "panomasksRGB").is_dir() or (root / f"panoptic_gt_VIPSeg_{split}.json").is_file()


def is_raw(root: Path) -> bool:
    """The raw release: ``imgs/`` beside ``panomasks/`` (or images only, the test split)."""
    return (root / "imgs").is_dir() and (
        (root / "panomasks").is_dir() or (root / "label_num_dic_final.json").is_file()
    )


DATASET = Dataset(
    name=DATASET_NAME,
    title="VIPSeg",
    categories=tuple(CATEGORIES),
    protocols=(PROTOCOL,),
    label_divisor=LABEL_DIVISOR,
    aliases=("VIPSeg", "VIPSeg_720P"),
    layouts="the prepared VIPSeg_720P/ (panomasksRGB/<video>/*.png + "
    "panoptic_gt_VIPSeg_<split>.json, images/), or the raw VIPSeg/ (imgs/, panomasks/, "
    "<split>.txt)",
    source="Miao et al., CVPR 2022; github.com/VIPSeg-Dataset/VIPSeg-Dataset",
    detect=detect,
    category_json=category_json,
)
