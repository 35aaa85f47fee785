"""What every converter shares: the plan of a split, parallel frame decoding, checked PNG reads.

A converter only has to (1) scan the release into a ``SplitPlan`` (videos, frames in temporal
order, and for each frame a picklable task naming its files) and (2) provide a ``decode``
function turning one task into a ``DecodedFrame``. ``write_split`` then decodes frames in
``workers`` processes, in order, and streams them video by video into an atomic unified file.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from vpsbench.format import Category, FileInfo, Protocol, Track, VPSWriter


class ConversionError(ValueError):
    """The release on disk is not what the converter expects; the message says what and where."""


@dataclass(frozen=True)
class FramePlan:
    """One frame of a video: its names, whether it is annotated, and what to decode."""

    stem: str
    source_frame: int
    annotated: bool
    task: object
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class VideoPlan:
    """One video of the split, frames in temporal order."""

    video_id: str
    height: int
    width: int
    frames: tuple[FramePlan, ...]
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DecodedFrame:
    """A decoded frame: its label map (annotated frames) and the original image bytes.

    In ``panoptic``, stuff, crowd and void pixels hold their final values; the pixels of each
    thing object hold a negative code ``-c`` with ``objects[c] = (source key, category)``. The
    source key names the object in the release (stable through the video); ``write_split``
    turns it into an instance id, because only the whole video shows which objects exist.
    """

    panoptic: np.ndarray | None
    image: bytes | None
    objects: dict[int, tuple[str, int]] = field(default_factory=dict)


class InstanceRegistry:
    """Per-video instance ids 1..divisor-1, one per source object key, in order of appearance."""

    def __init__(self, label_divisor: int, video_id: str) -> None:
        self.divisor = label_divisor
        self.video_id = video_id
        self.ids: dict[str, Track] = {}

    def instance(self, key: str, category: int) -> int:
        """The instance id of an object, assigned on first sight."""
        track = self.ids.get(key)
        if track is None:
            if len(self.ids) + 1 >= self.divisor:
                raise ConversionError(
                    f"video {self.video_id} has more than {self.divisor - 1} objects; they do not "
                    f"fit label_divisor {self.divisor}"
                )
            track = self.ids[key] = Track(len(self.ids) + 1, category, key)
        elif track.category_id != category:
            raise ConversionError(
                f"video {self.video_id}: object {key} is category {track.category_id} in one "
                f"frame and {category} in another"
            )
        return track.instance_id

    def finalize(self, frame: DecodedFrame) -> np.ndarray:
        """The frame's panoptic map with object codes replaced by ``category * divisor + id``."""
        panoptic = np.asarray(frame.panoptic, np.int32)
        if not frame.objects:
            return panoptic
        codes = np.array(sorted(frame.objects), np.int64)
        values = np.array(
            [cat * self.divisor + self.instance(key, cat) for key, cat in
             (frame.objects[c] for c in codes)], np.int32
        )  # fmt: skip
        lut = np.zeros(int(codes.max()) + 1, np.int32)
        lut[codes] = values
        negative = panoptic < 0
        panoptic[negative] = lut[-panoptic[negative]]
        return panoptic

    def tracks(self) -> list[Track]:
        return list(self.ids.values())


@dataclass(frozen=True)
class SplitPlan:
    """Everything needed to write one split."""

    info: FileInfo
    categories: Sequence[Category]
    protocol: Protocol | None
    categories_source_json: str | None
    videos: tuple[VideoPlan, ...]

    @property
    def num_frames(self) -> int:
        return sum(len(v.frames) for v in self.videos)


def read_png(path: Path, modes: Sequence[str], size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode a PNG, refusing unexpected modes, another size, or a truncated file."""
    try:
        with Image.open(path) as img:
            if size is not None and img.size != (size[1], size[0]):
                raise ConversionError(
                    f"{path.name} is {img.size[0]}x{img.size[1]}, other frames of this video are "
                    f"{size[1]}x{size[0]}"
                )
            if img.mode not in modes:
                raise ConversionError(f"{path.name} has PNG mode {img.mode}; expected {modes}")
            return np.asarray(img)
    except ConversionError:
        raise
    except (OSError, SyntaxError, ValueError) as err:
        raise ConversionError(
            f"{path.name} cannot be decoded (truncated or not a PNG): {err}"
        ) from err


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) of an image file, from its header only."""
    try:
        with Image.open(path) as img:
            return img.size[1], img.size[0]
    except (OSError, SyntaxError) as err:
        raise ConversionError(f"{path.name} cannot be read as an image: {err}") from err


def decoded_frames(
    plan: SplitPlan, decode: Callable[[object], DecodedFrame], workers: int
) -> Iterator[DecodedFrame]:
    """Decode every frame of the plan, in order, in ``workers`` processes."""
    tasks = [frame.task for video in plan.videos for frame in video.frames]
    if workers <= 1:
        yield from map(decode, tasks)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        # Bounded look-ahead: at most a few frames per worker are in flight (bounded memory).
        window = 4 * workers
        pending = [pool.submit(decode, task) for task in tasks[:window]]
        for index in range(len(tasks)):
            yield pending[index].result()
            pending[index] = None
            if index + window < len(tasks):
                pending.append(pool.submit(decode, tasks[index + window]))


def write_split(
    plan: SplitPlan,
    out: str | Path,
    decode: Callable[[object], DecodedFrame],
    workers: int = 1,
    progress: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write the plan's videos to a unified file; nothing is left behind if anything fails."""
    frames = decoded_frames(plan, decode, workers)
    bar = tqdm(total=plan.num_frames, desc="converting", unit="frame", disable=not progress)
    with (
        bar,
        VPSWriter(
            out,
            plan.info,
            plan.categories,
            plan.protocol,
            categories_source_json=plan.categories_source_json,
            overwrite=overwrite,
        ) as writer,
    ):
        for video in plan.videos:
            registry = InstanceRegistry(plan.info.label_divisor, video.video_id)
            with writer.video(video.video_id, video.height, video.width, video.meta) as vw:
                for frame in video.frames:
                    decoded = next(frames)
                    panoptic = None
                    if frame.annotated and decoded.panoptic is not None:
                        panoptic = registry.finalize(decoded)
                    vw.add_frame(
                        frame.stem, frame.source_frame, panoptic, decoded.image, frame.meta
                    )
                    bar.update()
                vw.set_tracks(registry.tracks())
    return Path(out)
