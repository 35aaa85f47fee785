"""``generate``: write a synthetic split as a unified ground-truth file."""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vpsbench.datasets import synth as synth_dataset
from vpsbench.format import FileInfo, Track, VPSWriter
from vpsbench.synth.degrade import degrade, draw_degradation
from vpsbench.synth.events import add_hard_events
from vpsbench.synth.render import ImageStyle, jpeg_bytes, render_panoptic
from vpsbench.synth.scene import Scene, make_scene

DATASET = synth_dataset.DATASET
# "standard": the scene generator alone; "hard" adds same-class crossings, a multi-frame full
# occlusion per video and per-frame image degradations (vpsbench.synth.events, .degrade).
PRESETS = ("standard", "hard")


@dataclass(frozen=True)
class SynthConfig:
    """Size and randomness of a synthetic split (defaults mirror Cityscapes-VPS at 1/4 size)."""

    num_videos: int = 4
    frames_per_video: int = 30
    height: int = 256
    width: int = 512
    annotation_stride: int = 5
    seed: int = 0
    with_images: bool = True
    preset: str = "standard"

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; choose from {', '.join(PRESETS)}")

    def split_name(self, split: str) -> str:
        """The split name written to the file: the hard preset's splits are ``val-hard`` etc.,
        so its results are never ranked with the standard ones."""
        return split if self.preset == "standard" else f"{split}-{self.preset}"

    def is_annotated(self, t: int) -> bool:
        """Frames 5, 10, ... (1-based) are annotated, like Cityscapes-VPS."""
        return (t + 1) % self.annotation_stride == 0


def video_rng(config: SynthConfig, split: str, video: int) -> np.random.Generator:
    """Independent, reproducible randomness per (seed, split, video)."""
    return np.random.default_rng(
        np.random.SeedSequence([config.seed, zlib.crc32(split.encode()), video])
    )


def stem(video: int, global_frame: int, t: int) -> str:
    """Cityscapes-VPS-like name ``VVVV_FFFF_synth_SSSSSS_NNNNNN``."""
    return f"{video:04d}_{global_frame:04d}_synth_{video:06d}_{100 + t:06d}"


def write_video(writer: VPSWriter, config: SynthConfig, split: str, video: int) -> None:
    """Render and append every frame of one video."""
    rng = video_rng(config, split, video)
    frames = config.frames_per_video
    scene: Scene = make_scene(rng, config.height, config.width, frames)
    meta: dict = {}
    if config.preset == "hard":
        scene, crossings, occlusions = add_hard_events(rng, scene, frames)
        meta["crossings"] = [list(pair) for pair in crossings]
        meta["occlusions"] = [[o.hidden, o.occluder, o.first, o.last] for o in occlusions]
    colors = {c.id: c.color for c in DATASET.categories}
    style = ImageStyle(rng, colors, config.height, config.width)
    meta = {"camera_speed": round(scene.camera_speed, 3), "crowd": scene.crowd is not None, **meta}
    degradation = None
    with writer.video(f"{video:04d}", config.height, config.width, meta=meta) as out:
        for t in range(frames):
            pan = render_panoptic(scene, t)
            image = None
            if config.preset == "hard":
                degradation = draw_degradation(rng, degradation)
            if config.with_images:
                rgb = style.render(pan, t, scene.camera_x(t), rng)
                image = jpeg_bytes(degrade(rgb, degradation, rng))
            global_frame = (video - 1) * frames + t + 1  # 1-based like FFFF
            out.add_frame(
                stem(video, global_frame, t),
                source_frame=100 + t,
                panoptic=pan if config.is_annotated(t) else None,
                image=image,
                meta={"degraded": degradation} if degradation else None,
            )
        out.set_tracks(Track(th.instance, th.category, f"synth:{th.shape}") for th in scene.things)


def generate(
    path: str | Path,
    config: SynthConfig,
    split: str = "val",
    progress: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write one split of the synthetic benchmark; same config, split and seed, same content."""
    info = FileInfo(
        kind="groundtruth",
        dataset=DATASET.name,
        split=config.split_name(split),
        source=f"vpsbench synthetic benchmark {asdict(config)}",
    )
    with VPSWriter(
        path,
        info,
        list(DATASET.categories),
        DATASET.protocol,
        categories_source_json=DATASET.category_json(),
        overwrite=overwrite,
    ) as writer:
        videos = range(1, config.num_videos + 1)
        for video in tqdm(videos, desc=f"synth {split}", unit="video", disable=not progress):
            write_video(writer, config, split, video)
    return Path(path)
