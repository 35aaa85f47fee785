"""MOTChallenge-STEP: 7 classes, persons tracked, four MOTS sequences.

Sources (google-research/deeplab2): the label map of ``g3doc/setup/motchallenge_step.md``
(sidewalk, building, vegetation, sky, person, rider, bicycle as ids 0-6, void 255, single
instances for persons), ``MOTCHALLENGE_STEP_INFORMATION`` in ``data/dataset.py``
(num_classes 7, ignore_label 255, class_has_instances_list (4,), and the splits by size: train
525 frames = sequence 9, val 600 frames = sequence 2), the colours of ``trainer/vis_utils.py``
(``create_motchallenge_label_colormap``) and the Cityscapes trainIds each class was made from
(``data/utils/create_step_panoptic_maps.py``: road merged into sidewalk, terrain into
vegetation, the other Cityscapes classes removed, then 1, 2, 8, 10, 11, 12, 18 renumbered
0-6). The frames are MOTS ``img1`` JPEGs (1920x1080), numbered from 000001.

Where the setup guide and the descriptor disagree, both are kept: the guide copies MOTS20-02 and
MOTS20-09 into ``images/train/`` (the benchmark's two training sequences, motchallenge.net
STEP-ICCV21) and has no val folder, while ``data/dataset.py`` names sequence 2 the val split.
So ``train`` is the train folder as it lies on disk, and ``val`` is sequence 0002, read from its
own folder when the root has one and from ``train/`` otherwise.
"""

from __future__ import annotations

from pathlib import Path

from vpsbench.datasets import step
from vpsbench.datasets.base import Dataset

DATASET_NAME = "motchallenge_step"

# g3doc/setup/motchallenge_step.md, "Label Map": (id, name, Cityscapes trainId it was made from,
# colour, Cityscapes category).
MOTCHALLENGE_STEP_LABEL_MAP = [
    (0, "sidewalk", 1, (244, 35, 232), "flat"),
    (1, "building", 2, (70, 70, 70), "construction"),
    (2, "vegetation", 8, (107, 142, 35), "nature"),
    (3, "sky", 10, (70, 130, 180), "sky"),
    (4, "person", 11, (220, 20, 60), "human"),
    (5, "rider", 12, (255, 0, 0), "human"),
    (6, "bicycle", 18, (119, 11, 32), "vehicle"),
]
# data/dataset.py MOTCHALLENGE_STEP_INFORMATION.class_has_instances_list.
MOTCHALLENGE_STEP_THINGS = (4,)

# g3doc/setup/motchallenge_step.md step 3 (train 0002 + 0009, test 0001 + 0007) and
# data/dataset.py splits_to_sizes (train = sequence 9, val = sequence 2).
MOTCHALLENGE_STEP_SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("0002", "0009"),
    "val": ("0002",),
    "test": ("0001", "0007"),
}

CATEGORIES = step.step_categories(MOTCHALLENGE_STEP_LABEL_MAP, MOTCHALLENGE_STEP_THINGS)


def detect(root: Path, split: str) -> bool:
    """A MOTChallenge-STEP root: the STEP layout with JPEG frames (or, labels only, its four
    sequences numbered from frame 1)."""
    return step.looks_like(root, split, MOTCHALLENGE_STEP_SPLITS, (".jpg", ".jpeg"), first_frame=1)


DATASET = Dataset(
    name=DATASET_NAME,
    title="MOTChallenge-STEP",
    categories=tuple(CATEGORIES),
    protocols=(step.PROTOCOL,),
    label_divisor=step.LABEL_DIVISOR,
    aliases=("motchallenge-step",),
    layouts="images/<split>/SSSS/FFFFFF.jpg + panoptic_maps/<split>/SSSS/FFFFFF.png (val: "
    "sequence 0002, from train/ when there is no val/)",
    source="Weber et al., NeurIPS 2021 Datasets and Benchmarks (STEP); "
    "github.com/google-research/deeplab2 g3doc/setup/motchallenge_step.md",
    detect=detect,
)
