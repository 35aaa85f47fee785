"""KITTI-STEP: the 19 Cityscapes classes, persons and cars tracked, KITTI tracking sequences.

Sources (google-research/deeplab2): the label map and the split of ``g3doc/setup/kitti_step.md``
(19 Cityscapes classes, ids 0-18, void 255, single-instance annotations for person and car; 21
training sequences split 12 train / 9 val, 29 test sequences), ``KITTI_STEP_INFORMATION`` in
``data/dataset.py`` (num_classes 19, ignore_label 255, class_has_instances_list (11, 13)) and the
Cityscapes colours of ``trainer/vis_utils.py`` (``create_cityscapes_label_colormap``). The
supercategories are Cityscapes' (cityscapesscripts ``labels.py``). Frames are the KITTI
tracking ``image_02`` PNGs, numbered from 000000, of different sizes between sequences
(about 1242x375).
"""

from __future__ import annotations

from pathlib import Path

from vpsbench.datasets import step
from vpsbench.datasets.base import Dataset

DATASET_NAME = "kitti_step"

# g3doc/setup/kitti_step.md, "Label Map": (id, name, Cityscapes trainId, colour, category).
KITTI_STEP_LABEL_MAP = [
    (0, "road", 0, (128, 64, 128), "flat"),
    (1, "sidewalk", 1, (244, 35, 232), "flat"),
    (2, "building", 2, (70, 70, 70), "construction"),
    (3, "wall", 3, (102, 102, 156), "construction"),
    (4, "fence", 4, (190, 153, 153), "construction"),
    (5, "pole", 5, (153, 153, 153), "object"),
    (6, "traffic light", 6, (250, 170, 30), "object"),
    (7, "traffic sign", 7, (220, 220, 0), "object"),
    (8, "vegetation", 8, (107, 142, 35), "nature"),
    (9, "terrain", 9, (152, 251, 152), "nature"),
    (10, "sky", 10, (70, 130, 180), "sky"),
    (11, "person", 11, (220, 20, 60), "human"),
    (12, "rider", 12, (255, 0, 0), "human"),
    (13, "car", 13, (0, 0, 142), "vehicle"),
    (14, "truck", 14, (0, 0, 70), "vehicle"),
    (15, "bus", 15, (0, 60, 100), "vehicle"),
    (16, "train", 16, (0, 80, 100), "vehicle"),
    (17, "motorcycle", 17, (0, 0, 230), "vehicle"),
    (18, "bicycle", 18, (119, 11, 32), "vehicle"),
]
# data/dataset.py KITTI_STEP_INFORMATION.class_has_instances_list: only these carry track ids,
# so they are the thing classes; rider, truck, ... are scored as stuff, as deeplab2 does.
KITTI_STEP_THINGS = (11, 13)

# g3doc/setup/kitti_step.md, step 3: the 9 validation sequences moved out of training/image_02;
# the other 12 of the 21 KITTI tracking training sequences are train; testing has 29.
KITTI_STEP_VAL_SEQUENCES = ("0002", "0006", "0007", "0008", "0010", "0013", "0014", "0016", "0018")
KITTI_STEP_SPLITS: dict[str, tuple[str, ...]] = {
    "train": tuple(f"{i:04d}" for i in range(21) if f"{i:04d}" not in KITTI_STEP_VAL_SEQUENCES),
    "val": KITTI_STEP_VAL_SEQUENCES,
    "test": tuple(f"{i:04d}" for i in range(29)),
}

CATEGORIES = step.step_categories(KITTI_STEP_LABEL_MAP, KITTI_STEP_THINGS)


def detect(root: Path, split: str) -> bool:
    """A KITTI-STEP root: the STEP layout with PNG frames (or, labels only, KITTI's sequences
    numbered from frame 0)."""
    return step.looks_like(root, split, KITTI_STEP_SPLITS, (".png",), first_frame=0)


DATASET = Dataset(
    name=DATASET_NAME,
    title="KITTI-STEP",
    categories=tuple(CATEGORIES),
    protocols=(step.PROTOCOL,),
    label_divisor=step.LABEL_DIVISOR,
    aliases=("kitti-step",),
    layouts="images/<split>/SSSS/FFFFFF.png + panoptic_maps/<split>/SSSS/FFFFFF.png (RGB: R = "
    "class, 256 G + B = track id)",
    source="Weber et al., NeurIPS 2021 Datasets and Benchmarks (STEP); "
    "github.com/google-research/deeplab2 g3doc/setup/kitti_step.md",
    detect=detect,
)
