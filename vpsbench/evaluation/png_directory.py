"""Prediction source: a directory of STEP panoptic PNGs (KITTI-STEP, MOTChallenge-STEP).

``ROOT/VIDEO/STEM.png`` for exactly the annotated GT frames, the layout of the release's
``panoptic_maps/{split}/`` and of deeplab2's ``three_channel_png`` predictions
(``raw_panoptic/{sequence}/{image}.png``): R = class, 256 G + B = instance id. The contract
(docs/METRICS.md, "STEP prediction directories") is checked when the directory is opened (file
set, size limits, every PNG header) and when each frame is decoded (complete PNG, values).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from vpsbench.evaluation.predictions import EvaluationError, only_video
from vpsbench.format import VPSFile
from vpsbench.io.archive import SubmissionLimits
from vpsbench.io.step_png import (
    ExpectedFrame,
    StepPngError,
    check_step_values,
    from_packed,
    read_step_png,
    scan_prediction_directory,
)


@dataclass
class PngDirectoryPredictions:
    """A directory of STEP panoptic PNGs, ``ROOT/VIDEO/STEM.png`` for exactly the annotated GT
    frames (the layout of ``panoptic_maps/{split}/``; R = class, 256 G + B = instance), checked
    when opened (docs/METRICS.md, "STEP prediction directories"); each PNG is decoded and its
    values checked when its video is scored."""

    root: Path
    files: dict[str, dict[str, Path]]
    frame_sizes: dict[str, tuple[int, int]]
    category_ids: tuple[int, ...]
    thing_ids: tuple[int, ...]
    label_divisor: int
    ignore_label: int
    max_pixels: int

    def describe(self) -> dict:
        return {"pred": str(self.root), "pred_format": "step-png-directory"}

    def check_against(self, gt: VPSFile) -> None:
        """The file set and headers were checked when the directory was opened."""

    def for_video(self, video_id: str) -> PngDirectoryPredictions:
        """The directory's listing cut to one video, as a worker task carries it."""
        return replace(
            self,
            files=only_video(self.files, video_id),
            frame_sizes=only_video(self.frame_sizes, video_id),
        )

    def video_maps(self, video_id: str, stems: list[str]) -> Iterator[np.ndarray]:
        """Each frame's PNG as panoptic values of the GT's encoding."""
        for stem in stems:
            where = f"{self.root.name}/{video_id}/{stem}.png"
            try:
                packed = read_step_png(
                    self.files[video_id][stem], where, self.frame_sizes[video_id], self.max_pixels
                )
                check_step_values(
                    np.unique(packed), self.category_ids, self.thing_ids, where, self.ignore_label
                )
                values = from_packed(packed, self.label_divisor, where)
            except StepPngError as err:
                raise EvaluationError(str(err)) from err
            yield values

    def video_tubes(self, video_id: str, stems: list[str]) -> None:
        """Every panoptic value is its own tube: a track is one (class, id) pair."""
        return None


def open_png_directory(
    path: Path, gt: VPSFile, limits: SubmissionLimits | None
) -> PngDirectoryPredictions:
    """A STEP prediction directory, with its file set, size limits and PNG headers checked."""
    limits = limits or SubmissionLimits()
    sizes = {video.video_id: (video.height, video.width) for video in gt}
    expected = [
        ExpectedFrame(video.video_id, video.stems[i], sizes[video.video_id])
        for video in gt
        for i in video.annotated_indices
    ]
    try:
        files = scan_prediction_directory(path, expected, limits)
    except StepPngError as err:
        raise EvaluationError(str(err)) from err
    return PngDirectoryPredictions(
        root=path,
        files=files,
        frame_sizes=sizes,
        category_ids=tuple(c.id for c in gt.categories),
        thing_ids=tuple(c.id for c in gt.categories if c.isthing),
        label_divisor=gt.info.label_divisor,
        ignore_label=gt.info.ignore_label,
        max_pixels=limits.max_pixels,
    )
