"""Configurations as plain dataclasses: model, data and training settings, and named presets.

``synthetic-tiny`` trains on CPU in minutes; ``cityscapes-vps-stage1``, ``cityscapes-vps`` and
``viper`` are the paper's settings for GPUs (github.com/mcahny/vps,
``configs/cityscapes/{fuse,fusetrack}.py``). A config travels inside every checkpoint
(``asdict``), so inference rebuilds exactly the trained model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

VARIANTS = ("image", "fuse", "track", "fusetrack")


@dataclass
class ModelConfig:
    """Architecture and inference rules of VPSNet (defaults: the paper's R50-FPN setting)."""

    variant: str = "fusetrack"  # image | fuse | track | fusetrack
    num_stuff: int = 11  # semantic channels 0..num_stuff-1 are stuff, the rest things
    num_things: int = 8
    # Backbone + FPN.
    backbone: str = "resnet50"
    norm: str = "frozen_bn"  # frozen_bn (pretrained backbones) | gn (training from scratch)
    trainable_layers: int = 3  # 3 = the official frozen_stages=1 (stem and layer1 frozen)
    fpn_channels: int = 256
    # RPN.
    anchor_sizes: tuple[int, ...] = (32, 64, 128, 256, 512)
    rpn_batch_size: int = 256
    rpn_pre_nms_train: int = 2000
    rpn_post_nms_train: int = 2000
    rpn_pre_nms_test: int = 1000
    rpn_post_nms_test: int = 1000
    # Box, mask, semantic and track heads.
    box_batch_size: int = 512
    box_positive_fraction: float = 0.25
    box_head_dim: int = 1024
    mask_head_channels: int = 256
    semantic_channels: int = 128
    semantic_groups: int = 32
    semantic_deform_layers: int = 3  # the last N of the 3 subnet convs are deformable (else plain)
    track_dim: int = 1024
    # Fuse module (mcahny/vps ``BFPTcea``: refine_level=0, nframes=2).
    corr_displacement: int = 4  # max displacement of the correlations (at P3 and the fuse level)
    fuse_level: int = 0  # the official refine_level: gather/align/attend at P2 (1: at P3, ~4x less)
    flow_channels: int = 64
    # Inference (mcahny/vps ``tools/test_vpq.py``, ``mask_roi.py``, ``mask_removal.py``).
    det_score_thresh: float = 0.6
    det_nms_thresh: float = 0.5
    max_detections: int = 100
    mask_overlap_thresh: float = 0.3
    stuff_area_limit: int = 2048  # pixels at 1024x2048; scaled with the image area
    match_coeff: tuple[float, float, float] = (1.0, 2.0, 10.0)  # log score, box IoU, same label
    iou_link_thresh: float = 0.3  # the image/fuse variants link ids by box IoU above this
    # Track/fusetrack association: "official" matches every MaskROI detection before MaskRemoval
    # (mcahny/vps), "after_removal" only those MaskRemoval keeps, so dropped duplicates do not
    # become memory slots that later steal ids (default: it measured better, docs/MODEL.md
    # "Association"); memory slots unseen for more than N frames stop matching (0: never).
    track_order: str = "after_removal"
    memory_max_age: int = 0
    # Identity-discriminative embedding (not official, 0/False = the paper): the reference
    # objects of the batch's other videos become extra "other object" columns of the match
    # loss, and a hinge on the hardest same-class negative (track.hard_negative_loss).
    match_batch_negatives: bool = False
    loss_hard_negative_weight: float = 0.0
    hard_negative_margin: float = 2.0  # in inner-product (log-odds) units
    # Loss weights.
    loss_pano_weight: float = 0.5
    loss_match_weight: float = 0.5
    loss_flow_weight: float = 0.1  # photometric self-supervision of the light flow head

    @property
    def fuse(self) -> bool:
        return self.variant in ("fuse", "fusetrack")

    @property
    def track(self) -> bool:
        return self.variant in ("track", "fusetrack")

    @property
    def num_classes(self) -> int:
        return self.num_stuff + self.num_things


@dataclass
class DataConfig:
    """Pair sampling and augmentation (identical for the target and the reference frame)."""

    scale_range: tuple[float, float] = (0.8, 1.5)  # resize ratio relative to base_scale
    base_scale: float = 1.0  # resize of the stored frames before augmentation and at test time
    crop: tuple[int, int] = (800, 1600)  # (height, width), multiples of 32
    flip: bool = True
    # "annotated": the reference is an annotated neighbour, ``ref_offsets`` counted in annotated
    # frames (±1 = ±5 raw frames on Cityscapes-VPS; stage 2). "raw": any neighbouring frame
    # with an image, offsets in raw frames, labels used when it has them (stage 1: the official
    # Cityscapes fine images with their ±1 leftImg8bit_sequence frames, which have none).
    reference: str = "annotated"
    ref_offsets: tuple[int, ...] = (-1, 1)
    min_instance_area: int = 16  # instances smaller than this after the crop are dropped
    repeat: int = 8  # the dataset is repeated per epoch, as in the official configs


@dataclass
class TrainConfig:
    """Optimisation schedule (the paper presets: mcahny/vps ``configs/cityscapes/*.py``)."""

    steps: int = 28800  # optimizer steps (iterations); warmup and lr_steps count these too
    batch_size: int = 1  # pairs per process and forward pass
    # Pairs per optimizer step at which ``lr`` and ``steps`` are defined: the paper's 8 GPUs x 1
    # pair. Fewer pairs per pass over all processes are made up by gradient accumulation, more
    # scale the lr linearly (``train.step_rule``).
    reference_batch: int = 8
    optimizer: str = "sgd"  # sgd | adamw
    lr: float = 0.005
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_steps: int = 500
    warmup_factor: float = 1.0 / 3
    lr_steps: tuple[float, ...] = (8 / 12, 11 / 12)  # fractions of steps; lr x0.1 at each
    grad_clip: float = 35.0
    checkpoint_every: int = 2000
    log_every: int = 20
    workers: int = 2
    seed: int = 0
    amp: bool = True  # bf16 autocast, CUDA only
    # Stage-2 start (the official ``load_from``): model weights of an earlier run; parts it lacks
    # (a Fuse neck or Track head new to this variant) start from their initialisation.
    init: str | None = None
    # For the first N steps the match loss does not reach the backbone and neck (their RoI
    # features are detached), so a fresh Track head cannot pull a trained detector apart.
    match_detach_steps: int = 0
    # The config whose checkpoint this one starts from (``--init``; the paper's stage 2 starts
    # from stage 1). Training without --init is refused unless --skip-stage1 is given.
    previous_stage: str | None = None


@dataclass
class Config:
    """A complete, named configuration."""

    name: str
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Config:
        """Inverse of ``to_dict`` (lists from JSON or checkpoints become tuples again)."""

        def build(kind, values: dict):
            names = {f.name: f for f in dataclasses.fields(kind)}
            kwargs = {
                k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in names
            }
            return kind(**kwargs)

        return cls(
            name=data["name"],
            model=build(ModelConfig, data["model"]),
            data=build(DataConfig, data["data"]),
            train=build(TrainConfig, data["train"]),
        )


def parse_value(text: str, current: object) -> object:
    """``text`` as a value of the type of ``current`` (bool, int, float, str, None, tuples
    written comma-separated)."""
    if isinstance(current, bool):
        if text.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"{text!r} is not true or false")
        return text.lower() in ("true", "1")
    if isinstance(current, tuple):
        items = [x for x in text.split(",") if x]
        kind = type(current[0]) if current else float
        return tuple(kind(x) for x in items)
    if isinstance(current, int | float):
        return type(current)(text)
    if current is None and text.lower() in ("none", ""):
        return None
    return text


def apply_override(config: Config, assignment: str) -> None:
    """Set one field from ``SECTION.FIELD=VALUE`` (sections: model, data, train)."""
    key, sep, text = assignment.partition("=")
    section, _, name = key.strip().partition(".")
    part = getattr(config, section, None) if section in ("model", "data", "train") else None
    if not sep or part is None or name not in {f.name for f in dataclasses.fields(part)}:
        raise ValueError(
            f"--set {assignment}: expected SECTION.FIELD=VALUE with SECTION model, data or "
            "train and a field of it (see reference_model/config.py)"
        )
    try:
        setattr(part, name, parse_value(text.strip(), getattr(part, name)))
    except ValueError as error:
        raise ValueError(f"--set {assignment}: {error}") from None


def synthetic_tiny() -> Config:
    """ResNet-18, narrow heads, 128x256 crops, trained from scratch on CPU in minutes."""
    model = ModelConfig(
        backbone="resnet18",
        norm="gn",  # no pretrained weights: GroupNorm trains from scratch with batch 1-2
        trainable_layers=5,
        fpn_channels=64,
        anchor_sizes=(16, 32, 64, 128, 256),
        rpn_batch_size=128,
        rpn_pre_nms_train=600,
        rpn_post_nms_train=300,
        rpn_pre_nms_test=300,
        rpn_post_nms_test=150,
        box_batch_size=128,
        box_head_dim=256,
        mask_head_channels=64,
        semantic_channels=32,
        semantic_groups=8,
        track_dim=128,
        flow_channels=32,
        max_detections=30,
        det_score_thresh=0.5,
        stuff_area_limit=2048,
    )
    data = DataConfig(scale_range=(0.9, 1.25), crop=(128, 256), repeat=1, min_instance_area=12)
    train = TrainConfig(
        steps=1200,
        batch_size=2,
        reference_batch=2,  # tuned on one process with 2 pairs
        optimizer="adamw",  # from scratch in ~1k steps: adaptive steps converge much faster
        lr=1e-3,
        weight_decay=1e-4,
        warmup_steps=50,
        warmup_factor=0.1,
        lr_steps=(0.75, 0.92),
        grad_clip=10.0,
        checkpoint_every=200,
        log_every=10,
        workers=1,
        amp=False,
    )
    return Config("synthetic-tiny", model, data, train)


def cityscapes_vps_stage1() -> Config:
    """The paper's stage 1: ``fuse`` on annotated frames with their ±1 raw neighbours as
    (unlabelled) references; 24 epochs of 2975 images x 8 repeats at 8 pairs per step, lr x0.1
    after epochs 16 and 22 (mcahny/vps ``configs/cityscapes/fuse.py``)."""
    config = Config("cityscapes-vps-stage1")
    config.model.variant = "fuse"
    config.data.reference = "raw"
    config.data.ref_offsets = (-1, 1)
    config.train.steps = 24 * 2975 * 8 // 8
    config.train.lr_steps = (16 / 24, 22 / 24)
    return config


def cityscapes_vps() -> Config:
    """The paper's stage 2 on Cityscapes-VPS (fusetrack, R50-FPN, 800x1600 crops, 12 epochs of
    2400 frames x 8 at 8 pairs per step, lr x0.1 after epochs 8 and 11), from stage 1."""
    config = Config("cityscapes-vps")
    config.train.previous_stage = "cityscapes-vps-stage1"
    return config


def viper() -> Config:
    """VIPER: the Cityscapes-VPS stage-2 recipe with VIPER's 13 stuff and 10 thing classes.

    The schedule is ours, not the authors': their VIPER model (the init of their Cityscapes
    stage 1) was trained with a config they did not release. We run the Cityscapes-VPS recipe
    for twice the iterations (VIPER's train split is larger); no stage 1 before it.
    """
    config = Config("viper")
    config.model.num_stuff, config.model.num_things = 13, 10
    config.data.base_scale = 1024 / 1080  # 1080x1920 frames to Cityscapes' 1024-pixel height
    config.train.steps = 2 * 28800
    return config


CONFIGS = {
    "synthetic-tiny": synthetic_tiny,
    "cityscapes-vps-stage1": cityscapes_vps_stage1,
    "cityscapes-vps": cityscapes_vps,
    "viper": viper,
}


def get_config(name: str, variant: str | None = None) -> Config:
    """A fresh copy of the named preset, optionally with another variant."""
    if name not in CONFIGS:
        raise KeyError(f"unknown config {name!r}; choose from {', '.join(CONFIGS)}")
    config = CONFIGS[name]()
    if variant is not None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
        config.model.variant = variant
    return config
