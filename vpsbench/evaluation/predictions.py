"""Prediction sources: a unified HDF5 prediction file or an official submission (Cityscapes-VPS
``pan_pred/<image id>.png``, or per video ``pan_pred/<video>/<frame>.png`` as VIPSeg's scorer),
or a directory of STEP panoptic PNGs (``png_directory.py``).

Each gives, for one GT video, the predicted panoptic map (``category * divisor + instance``) of
each annotated frame. Sources are picklable so that worker processes read frames themselves.
Submissions are converted per video: each distinct (colour id, category) of a video becomes one
panoptic value, and ``video_tubes`` says which values share a colour id, so that VPQ forms the
tubes the official scorer forms (one colour id, category of its first frame in the window).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from vpsbench.format import VPSFile
from vpsbench.format.reader import StoredLabelMap
from vpsbench.format.schema import TUBE_IDENTITY_INSTANCE
from vpsbench.format.validate import validate_pair
from vpsbench.io.archive import ArchiveLimits
from vpsbench.io.step_png import looks_like_prediction_directory
from vpsbench.io.submission import (
    PairedFrame,
    SubmissionError,
    extracted_submission,
    load_submission_dir,
    pair_submission,
    read_id_png_runs,
)
from vpsbench.io.video_submission import LAYOUT as VIDEO_LAYOUT
from vpsbench.io.video_submission import is_video_submission, read_video_submission
from vpsbench.metrics.tubes import InstanceTubes, TubeTable
from vpsbench.runlength import RunMap


class EvaluationError(ValueError):
    """The inputs cannot be scored as they are; the message says what and where."""


def check_prediction_map(pred: np.ndarray, gt_shape: tuple, where: str) -> None:
    """Refuse a map of the wrong shape or dtype before it is scored (its values are checked on
    the frame's distinct values, ``check_prediction_values``: no pass over the pixels)."""
    if pred.shape != gt_shape:
        raise EvaluationError(f"{where}: prediction is {pred.shape}, the GT frame is {gt_shape}")
    if not np.issubdtype(pred.dtype, np.integer):
        raise EvaluationError(f"{where}: prediction dtype {pred.dtype} is not an integer type")


def only_video(table: dict, video_id: str) -> dict:
    """The entry of one video of a per-video table (none if it has none)."""
    return {video_id: table[video_id]} if video_id in table else {}


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

    def for_video(self, video_id: str) -> HDF5Predictions:
        """The source as a worker task for one video carries it: itself (a path and a file
        handle that pickles as its path; in one process the open file is shared)."""
        return self

    def video_maps(self, video_id: str, stems: list[str]) -> Iterator[StoredLabelMap]:
        """The predicted map of each stem of one video, in the given order, read when used
        (whole with ``np.asarray``, or in pieces by the scorer)."""
        video = self.file().video(video_id)
        for stem in stems:
            yield video.stored_map(video.frame_index(stem))

    def video_tubes(self, video_id: str, stems: list[str]) -> InstanceTubes | None:
        """The file's tube identity (docs/FORMAT.md): None when every value is its own tube."""
        info = self.file().info
        if info.tube_identity == TUBE_IDENTITY_INSTANCE:
            return InstanceTubes(info.label_divisor, info.void_label)
        return None

    def file(self) -> VPSFile:
        """The prediction file, opened on first use (in the process that reads it)."""
        if self._file is None:
            self._file = VPSFile(self.path)
        return self._file


@dataclass
class SubmissionPredictions:
    """An extracted official submission (``pred.json`` + ``pan_pred/*.png``), paired by image id."""

    source: Path
    frames: dict[str, dict[str, PairedFrame]]
    category_ids: frozenset[int]
    label_divisor: int
    void: int
    frame_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)
    layout: str = "cityscapes-vps-submission"  # or VIDEO_LAYOUT: pan_pred/<video>/<frame>.png

    def describe(self) -> dict:
        return {"pred": str(self.source), "pred_format": self.layout}

    def check_against(self, gt: VPSFile) -> None:
        """Pairing was checked when the submission was opened."""

    def for_video(self, video_id: str) -> SubmissionPredictions:
        """The submission cut to one video, as a worker task carries it: the whole table of
        segments pickled with every task cost 14 ms a task on W1 (196 KB)."""
        return replace(
            self,
            frames=only_video(self.frames, video_id),
            frame_sizes=only_video(self.frame_sizes, video_id),
        )

    def video_maps(self, video_id: str, stems: list[str]) -> Iterator[RunMap]:
        """Decode each frame's id PNG and convert it to panoptic values, ids stable per video
        (as runs: the scorer merges them with the GT's instead of expanding the map)."""
        values = self.video_values(video_id, stems)
        for stem in stems:
            yield self.frame_runs(self.frames[video_id][stem], values)

    def video_tubes(self, video_id: str, stems: list[str]) -> TubeTable:
        """The official tube identity: every value made from one colour id is one tube."""
        return submission_tubes(self.video_values(video_id, stems), self.void)

    def video_values(self, video_id: str, stems: list[str]) -> dict[tuple[int, int], int]:
        """{(colour id, category): panoptic value} of one video, from pred.json alone."""
        tables = [self.segment_categories(self.frames[video_id][stem]) for stem in stems]
        return assign_panoptic_values(tables, self.label_divisor, f"video {video_id}")

    def frame_map(self, paired: PairedFrame, values: dict[tuple[int, int], int]) -> np.ndarray:
        """One frame's id PNG as an int32 map of panoptic values (``frame_runs`` expanded)."""
        return self.frame_runs(paired, values).expand()

    def frame_runs(self, paired: PairedFrame, values: dict[tuple[int, int], int]) -> RunMap:
        """One frame's id PNG as runs of panoptic values, after checking PNG ids against
        pred.json."""
        height, width = self.frame_sizes[paired.video_id]
        try:
            starts, run_ids = read_id_png_runs(paired.png, height, width)
        except SubmissionError as err:
            if self.layout != VIDEO_LAYOUT:
                raise
            raise SubmissionError(f"video {paired.video_id}: {err}") from err
        segments = self.segment_categories(paired)
        # Id maps are piecewise constant: the ids of the runs of equal pixels (raster order)
        # give the ids present and the panoptic map, without a sort or lookup of every pixel.
        present = np.unique(run_ids)
        not_in_json = [int(i) for i in present if i != 0 and int(i) not in segments]
        where = f"video {paired.video_id}, " if self.layout == VIDEO_LAYOUT else ""
        if not_in_json:
            raise EvaluationError(
                f"{where}{paired.png.name}: PNG ids {not_in_json[:5]} are not in pred.json "
                "segments_info"
            )
        not_in_png = sorted(set(segments) - {int(i) for i in present})
        if not_in_png:
            raise EvaluationError(
                f"{self.frame_label(paired)}: pred.json ids {not_in_png[:5]} do not occur in "
                f"{paired.png.name}"
            )
        run_values = colour_ids_to_panoptic(run_ids, segments, values, self.void)
        return RunMap.from_starts((height, width), starts, run_values)

    def segment_categories(self, paired: PairedFrame) -> dict[int, int]:
        """{segment id: category} of one frame, refusing duplicates and unknown categories."""
        segments: dict[int, int] = {}
        for seg in paired.entry.segments:
            seg_id, category = int(seg["id"]), int(seg["category_id"])
            if seg_id in segments:
                raise EvaluationError(
                    f"{self.frame_label(paired)}: segment id {seg_id} listed twice"
                )
            if category not in self.category_ids:
                raise EvaluationError(
                    f"{self.frame_label(paired)}: segment {seg_id} has unknown category_id "
                    f"{category}; valid ids are {sorted(self.category_ids)}"
                )
            segments[seg_id] = category
        return segments

    def frame_label(self, paired: PairedFrame) -> str:
        """How messages name a frame: its image id, with the video where ids repeat per video."""
        if self.layout == VIDEO_LAYOUT:
            return f"video {paired.video_id}, frame {paired.stem}"
        return paired.stem


def assign_panoptic_values(
    tables: list[dict[int, int]], divisor: int, where: str = "video"
) -> dict[tuple[int, int], int]:
    """{(colour id, category): panoptic value} of one video's frames {id: category}, in order.

    Each distinct pair gets the next instance number of its category, so a colour id that
    changes category becomes two values; ``submission_tubes`` keeps them one tube.
    """
    values: dict[tuple[int, int], int] = {}
    next_instance: dict[int, int] = {}
    for table in tables:
        for pair in table.items():
            if pair in values:
                continue
            category = pair[1]
            instance = next_instance.get(category, 0)
            if instance >= divisor:
                raise EvaluationError(
                    f"{where}: more than {divisor} segments of category {category}; cannot "
                    f"encode them with label_divisor {divisor}"
                )
            next_instance[category] = instance + 1
            values[pair] = category * divisor + instance
    return values


def assign_instance_values(
    tables: list[dict[int, int]], divisor: int, things: set[int], where: str = "video"
) -> dict[tuple[int, int], int]:
    """Like ``assign_panoptic_values`` for files with tube_identity "instance": each thing
    colour id gets one instance id of the video whatever its category; stuff is ``category *
    divisor``. Refuses what that encoding cannot keep exact."""
    values: dict[tuple[int, int], int] = {}
    instances: dict[int, int] = {}
    stuff_id_of: dict[int, int] = {}  # stuff category -> its colour id (one each, per video)
    stuff_category_of: dict[int, int] = {}
    for t, table in enumerate(tables):
        for seg_id, category in table.items():
            if category not in things:
                known_id = stuff_id_of.setdefault(category, seg_id)
                known_category = stuff_category_of.setdefault(seg_id, category)
                if (known_id, known_category) != (seg_id, category):
                    raise EvaluationError(
                        f"{where}, frame {t}: stuff id {seg_id} (category {category}) breaks the "
                        "one-id-per-stuff-class rule of unified files (the official scorer makes "
                        "each id its own tube); score the submission itself instead"
                    )
                values[(seg_id, category)] = category * divisor
                continue
            if seg_id not in instances:
                if len(instances) + 1 >= divisor:
                    raise EvaluationError(
                        f"{where}: more than {divisor - 1} thing ids; label_divisor {divisor} "
                        "cannot give each its own instance id"
                    )
                instances[seg_id] = len(instances) + 1
            values[(seg_id, category)] = category * divisor + instances[seg_id]
    mixed = sorted(set(stuff_category_of) & set(instances))
    if mixed:
        raise EvaluationError(
            f"{where}: ids {mixed[:5]} are a thing in some frames and stuff in others; a unified "
            "file cannot keep such an id one tube (score the submission itself instead)"
        )
    return values


def submission_tubes(values: dict[tuple[int, int], int], void: int) -> TubeTable:
    """The official identity of a submission's values: one tube per colour id."""
    return TubeTable.from_mapping({v: colour for (colour, _), v in values.items()}, void)


def colour_ids_to_panoptic(
    ids: np.ndarray, table: dict[int, int], values: dict[tuple[int, int], int], void: int
) -> np.ndarray:
    """A colour-id map with its frame's {id: category} as int32 panoptic values (0 -> void)."""
    lut_keys = np.array([0, *table], np.int64)
    lut_vals = np.array([void, *(values[pair] for pair in table.items())], np.int32)
    order = np.argsort(lut_keys)
    pos = np.searchsorted(lut_keys[order], ids)
    return lut_vals[order][pos]


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
    if looks_like_prediction_directory(path, gt.video_ids):  # STEP PNGs, VIDEO/STEM.png
        # imported here: png_directory imports this module (EvaluationError)
        from vpsbench.evaluation.png_directory import open_png_directory

        yield open_png_directory(path, gt, limits)
        return
    try:
        with extracted_submission(path, limits) as root:
            layout = "cityscapes-vps-submission"
            if is_video_submission(root):
                layout, paired = VIDEO_LAYOUT, read_video_submission(root, gt, limits)
            else:
                entries, png_dir = load_submission_dir(root, limits)
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
                layout=layout,
            )
    except SubmissionError as err:
        raise EvaluationError(f"{path.name}: {err}") from err
