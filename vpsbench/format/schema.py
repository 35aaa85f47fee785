"""Names, constants and plain records of the unified vpsbench HDF5 format (spec: docs/FORMAT.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import numpy as np

FORMAT_NAME = "vpsbench.vps"
FORMAT_VERSION = "1.0"

KIND_GROUNDTRUTH = "groundtruth"
KIND_PREDICTION = "prediction"
KINDS = (KIND_GROUNDTRUTH, KIND_PREDICTION)

# Values of the legacy /protocol attribute ``vpq_window_unit``. It is no longer part of
# ``Protocol``: VPQ windows always count annotated frames, which is what the evaluator always did.
# Readers ignore it; writers still store "annotated_frames" so that older readers open new files.
WINDOW_UNIT_ANNOTATED = "annotated_frames"
WINDOW_UNIT_FRAMES = "frames"
WINDOW_UNITS = (WINDOW_UNIT_ANNOTATED, WINDOW_UNIT_FRAMES)
# VSPW's VC_8 and VC_16 (Miao et al. 2021): the clip lengths of a protocol that names none.
DEFAULT_VC_CLIP_LENGTHS = (8, 16)

# What one VPQ prediction tube is (docs/FORMAT.md "Tube identity"): one panoptic value, or one
# instance id over all categories of a video (the official submission rule, colour id = tube).
TUBE_IDENTITY_PANOPTIC = "panoptic"
TUBE_IDENTITY_INSTANCE = "instance"
TUBE_IDENTITIES = (TUBE_IDENTITY_PANOPTIC, TUBE_IDENTITY_INSTANCE)

# The name of a protocol that is not one of the registered ones (vpsbench.datasets.protocols).
CUSTOM_PROTOCOL = "custom"

# How STQ numbers GT tracks (docs/METRICS.md, "STQ"): as the maps hold them (deeplab2), or as
# VIPSeg's eval_stq_vspw.py does, by first listing in the video's GT JSON, which makes a thing
# listed first in a video crowd there. /protocol stores it only when it is not the default.
STQ_RULE_DEEPLAB2 = "deeplab2"
STQ_RULE_VIPSEG = "vipseg"
STQ_RULES = (STQ_RULE_DEEPLAB2, STQ_RULE_VIPSEG)

DEFAULT_LABEL_DIVISOR = 1000
DEFAULT_IGNORE_LABEL = 255

# Group and dataset names, in one place so that writer, reader and validator agree.
CATEGORIES = "categories"
PROTOCOL = "protocol"
VIDEOS = "videos"
VIDEO_IDS = "video_ids"
FRAMES = "frames"
PANOPTIC = "panoptic"
IMAGES = "images"
TRACKS = "tracks"

CATEGORY_FIELDS = ("id", "name", "supercategory", "isthing", "color", "source_id")
FRAME_FIELDS = ("source_frame", "stem", "annotated")
TRACK_FIELDS = ("instance_id", "category_id", "source_key")


@dataclass(frozen=True)
class Category:
    """One row of the category table: our id, the source dataset's id and how to draw it."""

    id: int
    name: str
    isthing: bool
    color: tuple[int, int, int]
    source_id: int
    supercategory: str = ""


@dataclass(frozen=True)
class Protocol:
    """How ``vpsbench eval`` scores a dataset by default (VPQ windows, small tubes, exclusions, VC).

    Window sizes and VC clip lengths count *annotated* frames (the evaluated frame list), as
    the official scorers do; how far apart those are in source frames is a fact of the frame
    table (``VPSFile.label_spacing``), not of the protocol. ``name`` is the registered name
    (``vpsbench protocols``; the datasets declare theirs in ``vpsbench.datasets``); a protocol
    changed on the command line is named ``custom``.
    """

    vpq_window_sizes: tuple[int, ...]
    vpq_k: tuple[int, ...]
    min_tube_area: int = 0
    excluded_category_ids: tuple[int, ...] = ()
    vc_clip_lengths: tuple[int, ...] = DEFAULT_VC_CLIP_LENGTHS
    name: str = CUSTOM_PROTOCOL
    description: str = ""
    stq_rule: str = STQ_RULE_DEEPLAB2

    def __post_init__(self) -> None:
        if len(self.vpq_window_sizes) != len(self.vpq_k):
            raise ValueError("vpq_window_sizes and vpq_k must have the same length")
        if self.stq_rule not in STQ_RULES:
            raise ValueError(f"stq_rule must be one of {STQ_RULES}, got {self.stq_rule!r}")
        if not self.vc_clip_lengths or min(self.vc_clip_lengths) < 1:
            raise ValueError(f"vc_clip_lengths must be >= 1, got {list(self.vc_clip_lengths)}")

    def changed(self, **changes) -> Protocol:
        """A copy with ``changes`` applied, named ``custom`` unless nothing changed."""
        new = replace(self, **changes)
        if new == self:
            return self
        return replace(new, name=CUSTOM_PROTOCOL, description="")


@dataclass(frozen=True)
class GroundTruthRef:
    """What a prediction file predicts: the GT dataset, split, file name and content id."""

    dataset: str
    split: str
    file: str
    content_id: str


@dataclass
class FileInfo:
    """Root attributes of a unified file."""

    kind: str
    dataset: str
    split: str
    label_divisor: int = DEFAULT_LABEL_DIVISOR
    ignore_label: int = DEFAULT_IGNORE_LABEL
    source: str = ""
    tool_version: str = ""
    created: str = ""
    content_id: str = ""
    predicts: GroundTruthRef | None = None
    tube_identity: str = TUBE_IDENTITY_PANOPTIC
    format: str = FORMAT_NAME
    format_version: str = FORMAT_VERSION

    @classmethod
    def prediction_of(cls, gt: FileInfo, gt_file: str, source: str, **changes) -> FileInfo:
        """The root of a prediction file for the GT file ``gt_file`` whose root is ``gt``."""
        return cls(
            kind=KIND_PREDICTION,
            dataset=gt.dataset,
            split=gt.split,
            label_divisor=gt.label_divisor,
            ignore_label=gt.ignore_label,
            source=source,
            predicts=GroundTruthRef(gt.dataset, gt.split, gt_file, gt.content_id),
            **changes,
        )

    @property
    def is_prediction(self) -> bool:
        return self.kind == KIND_PREDICTION

    @property
    def void_label(self) -> int:
        """The panoptic value of void pixels."""
        return self.ignore_label * self.label_divisor


@dataclass(frozen=True)
class Track:
    """One object of a video: its instance id, category and the source dataset's key for it."""

    instance_id: int
    category_id: int
    source_key: str = ""


@dataclass
class FrameRecord:
    """One row of a video's frame table."""

    index: int
    source_frame: int
    stem: str
    annotated: bool
    meta: dict = field(default_factory=dict)


def dumps_meta(meta: dict | list | None) -> str:
    """Serialise free-form metadata the way the format stores it (compact, key order kept)."""
    return json.dumps(meta if meta is not None else {}, separators=(",", ":"), ensure_ascii=False)


def encode_panoptic(semantic: np.ndarray, instance: np.ndarray, label_divisor: int) -> np.ndarray:
    """Pack semantic and instance maps into panoptic values ``semantic * divisor + instance``."""
    return np.asarray(semantic, dtype=np.int32) * label_divisor + np.asarray(instance, np.int32)


def decode_panoptic(panoptic: np.ndarray, label_divisor: int) -> tuple[np.ndarray, np.ndarray]:
    """Split panoptic values into (semantic, instance) maps."""
    panoptic = np.asarray(panoptic)
    return panoptic // label_divisor, panoptic % label_divisor
