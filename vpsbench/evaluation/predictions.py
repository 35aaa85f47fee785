"""Prediction sources: a unified HDF5 prediction file or an official Cityscapes-VPS submission.

Both give, for one GT video, the predicted panoptic map (``category * divisor + instance``) of
each annotated frame. Sources are picklable so that worker processes read frames themselves.
Submissions are converted per video: each distinct (colour id, category) of a video becomes one
panoptic value, so segments keep the identity the official scorer gives them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vpsbench.format import VPSFile
from vpsbench.format.validate import validate_pair
from vpsbench.io.archive import ArchiveLimits
from vpsbench.io.submission import (
    PairedFrame,
    SubmissionError,
    open_submission,
    pair_submission,
    read_id_png,
)


class EvaluationError(ValueError):
    """The inputs cannot be scored as they are; the message says what and where."""


def check_prediction_map(pred: np.ndarray, gt_shape: tuple, where: str) -> None:
    """Refuse a map of the wrong shape, dtype or values before it is scored."""
    if pred.shape != gt_shape:
        raise EvaluationError(f"{where}: prediction is {pred.shape}, the GT frame is {gt_shape}")
    if not np.issubdtype(pred.dtype, np.integer):
        raise EvaluationError(f"{where}: prediction dtype {pred.dtype} is not an integer type")
    if pred.size and pred.min() < 0:
        raise EvaluationError(f"{where}: prediction has negative values; ids must be >= 0")


@dataclass
class HDF5Predictions:
    """Predictions stored in a unified prediction file, paired with the GT by video id and stem."""

    path: Path
    _file: VPSFile | None = field(default=None, repr=False)

    def describe(self) -> dict:
        return {"pred": str(self.path), "pred_format": "vpsbench-hdf5"}

    def check_against(self, gt: VPSFile) -> None:
        """Raise with every structural mismatch (videos, frames, sizes, categories, encoding)."""
        with VPSFile(self.path) as pred:
            problems = [p for p in validate_pair(gt, pred) if p.check != "pair_content"]
        if problems:
            listed = "; ".join(str(p) for p in problems[:5])
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise EvaluationError(f"{self.path.name} does not fit the GT: {listed}{more}")

    def video_maps(self, video_id: str, stems: list[str]) -> Iterator[np.ndarray]:
        """The predicted map of each stem of one video, in the given order."""
        if self._file is None:
            self._file = VPSFile(self.path)
        video = self._file.video(video_id)
        for stem in stems:
            yield video.panoptic(video.frame_index(stem))


@dataclass
class SubmissionPredictions:
    """An extracted official submission (``pred.json`` + ``pan_pred/*.png``), paired by image id."""

    source: Path
    frames: dict[str, dict[str, PairedFrame]]
    category_ids: frozenset[int]
    label_divisor: int
    void: int
    frame_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)

    def describe(self) -> dict:
        return {"pred": str(self.source), "pred_format": "cityscapes-vps-submission"}

    def check_against(self, gt: VPSFile) -> None:
        """Pairing was checked when the submission was opened."""

    def video_maps(self, video_id: str, stems: list[str]) -> Iterator[np.ndarray]:
        """Decode each frame's id PNG and convert it to panoptic values, ids stable per video."""
        values: dict[tuple[int, int], int] = {}
        next_instance: dict[int, int] = {}
        for stem in stems:
            paired = self.frames[video_id][stem]
            yield self.frame_map(paired, values, next_instance)

    def frame_map(
        self, paired: PairedFrame, values: dict, next_instance: dict[int, int]
    ) -> np.ndarray:
        height, width = self.frame_sizes[paired.video_id]
        ids = read_id_png(paired.png, height, width)
        segments = self.segment_categories(paired)
        present = np.unique(ids)
        not_in_json = [int(i) for i in present if i != 0 and int(i) not in segments]
        if not_in_json:
            raise EvaluationError(
                f"{paired.png.name}: PNG ids {not_in_json[:5]} are not in pred.json segments_info"
            )
        not_in_png = sorted(set(segments) - {int(i) for i in present})
        if not_in_png:
            raise EvaluationError(
                f"{paired.stem}: pred.json ids {not_in_png[:5]} do not occur in {paired.png.name}"
            )
        lut_keys = np.array([0, *segments], np.int64)
        lut_vals = [self.void]
        for seg_id, category in segments.items():
            if (seg_id, category) not in values:
                values[(seg_id, category)] = self.new_value(category, next_instance, paired)
            lut_vals.append(values[(seg_id, category)])
        order = np.argsort(lut_keys)
        pos = np.searchsorted(lut_keys[order], ids)
        return np.asarray(lut_vals, np.int32)[order][pos]

    def segment_categories(self, paired: PairedFrame) -> dict[int, int]:
        """{segment id: category} of one frame, refusing duplicates and unknown categories."""
        segments: dict[int, int] = {}
        for seg in paired.entry.segments:
            seg_id, category = int(seg["id"]), int(seg["category_id"])
            if seg_id in segments:
                raise EvaluationError(f"{paired.stem}: segment id {seg_id} listed twice")
            if category not in self.category_ids:
                raise EvaluationError(
                    f"{paired.stem}: segment {seg_id} has unknown category_id {category}; "
                    f"valid ids are {sorted(self.category_ids)}"
                )
            segments[seg_id] = category
        return segments

    def new_value(self, category: int, next_instance: dict[int, int], paired) -> int:
        instance = next_instance.get(category, 0)
        if instance >= self.label_divisor:
            raise EvaluationError(
                f"video {paired.video_id}: more than {self.label_divisor - 1} segments of "
                f"category {category}; cannot encode them with label_divisor {self.label_divisor}"
            )
        next_instance[category] = instance + 1
        return category * self.label_divisor + instance


def is_hdf5(path: Path) -> bool:
    """Whether the path is an HDF5 file (by its signature, not its name)."""
    if not path.is_file():
        return False
    with open(path, "rb") as f:
        return f.read(8) == b"\x89HDF\r\n\x1a\n"


@contextlib.contextmanager
def open_predictions(
    path: str | Path, gt: VPSFile, limits: ArchiveLimits | None = None
) -> Iterator[HDF5Predictions | SubmissionPredictions]:
    """The prediction source at ``path``, checked against the GT; a zip is extracted privately."""
    path = Path(path)
    if not path.exists():
        raise EvaluationError(f"{path}: no such file or directory")
    if is_hdf5(path):
        source = HDF5Predictions(path)
        source.check_against(gt)
        yield source
        return
    try:
        with open_submission(path, limits) as (entries, png_dir):
            paired = pair_submission(entries, png_dir, gt, limits)
            frames: dict[str, dict[str, PairedFrame]] = {}
            for p in paired:
                frames.setdefault(p.video_id, {})[p.stem] = p
            yield SubmissionPredictions(
                source=path,
                frames=frames,
                category_ids=frozenset(c.id for c in gt.categories),
                label_divisor=gt.info.label_divisor,
                void=gt.info.void_label,
                frame_sizes={v.video_id: (v.height, v.width) for v in gt},
            )
    except SubmissionError as err:
        raise EvaluationError(f"{path.name}: {err}") from err
