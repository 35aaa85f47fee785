"""Unified HDF5 -> the KITTI-STEP / MOTChallenge-STEP layout (GT) or a prediction directory.

A ground-truth file becomes ``images/{split}/SSSS/FFFFFF.{png|jpg}`` (the stored image bytes,
untouched) and ``panoptic_maps/{split}/SSSS/FFFFFF.png`` (8-bit RGB, R = class, 256 G + B =
the object's id in the release, read back from the track's source key ``"R:id"``; an object
without one keeps its unified instance id). A prediction file becomes ``OUT/SSSS/FFFFFF.png``
for each annotated GT frame (the layout of ``panoptic_maps/{split}/`` and of deeplab2's
``raw_panoptic/`` ``three_channel_png`` output), each value written as it is (R = value //
divisor, 256 G + B = value % divisor). Both are what ``vpsbench convert`` and ``vpsbench eval
--pred DIR`` read, so convert -> export -> convert is bit-identical.

What the layout cannot carry is refused before anything is written, in one line: a video id
that is not four digits, a stem that is not its six-digit frame number, a value that does not
fit an RGB PNG. The output directory is written beside its target and renamed into place only
when complete, so a failed export leaves nothing.
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from pathlib import Path

import numpy as np

from vpsbench.datasets import step
from vpsbench.format import VPSFile
from vpsbench.format.reader import Video
from vpsbench.format.schema import TUBE_IDENTITY_INSTANCE
from vpsbench.io.step_png import StepPngError, to_packed, write_step_png
from vpsbench_converters.common import ConversionError, staged_directory

SEQUENCE_RE = re.compile(rf"^\d{{{step.SEQUENCE_DIGITS}}}$")
FRAME_RE = re.compile(rf"^\d{{{step.FRAME_DIGITS}}}$")
SIGNATURES = {b"\x89PNG\r\n\x1a\n": ".png", b"\xff\xd8\xff": ".jpg"}


def check_names(video: Video) -> None:
    """The video's id and stems are what the converter names a STEP sequence and its frames."""
    if not SEQUENCE_RE.match(video.video_id):
        raise ConversionError(
            f"video {video.video_id}: the STEP layout names sequences SSSS (four digits)"
        )
    for stem, number in zip(video.stems, video.source_frames.tolist(), strict=True):
        if not FRAME_RE.match(stem) or int(stem) != number:
            raise ConversionError(
                f"video {video.video_id}, frame {stem!r} (source frame {number}): the STEP layout "
                f"names a frame by its six-digit number, so it would come back as {number:06d}"
            )


def image_name(data: bytes, meta: dict, stem: str, where: str) -> str:
    """The image's file name: the release's own when recorded, else the stem + format suffix."""
    suffix = next((s for sig, s in SIGNATURES.items() if data.startswith(sig)), None)
    if suffix is None:
        raise ConversionError(f"{where}: the stored image is neither PNG nor JPEG")
    own = meta.get("image_file")
    if own and Path(own).stem == stem and Path(own).suffix.lower() in (suffix, ".jpeg"):
        return own
    return f"{stem}{suffix}"


def release_ids(video: Video) -> dict[int, int]:
    """{unified instance id: the release's id} from the track source keys ``"R:id"``."""
    ids = {}
    for track in video.tracks():
        semantic, _, ident = track.source_key.partition(":")
        if semantic == str(track.category_id) and ident.isdigit():
            ids[track.instance_id] = int(ident)
    return ids


def release_values(
    values: np.ndarray, divisor: int, things: set[int], ids: dict[int, int], seen: dict, where: str
) -> np.ndarray:
    """Packed STEP values (R << 16 | id) of a frame's distinct unified values."""
    out = np.empty(len(values), np.int64)
    for i, value in enumerate(values.tolist()):
        semantic, instance = divmod(value, divisor)
        if semantic in things and instance:
            instance = ids.get(instance, instance)
            owner = seen.setdefault((semantic, instance), value)
            if owner != value:  # two objects would become one in the PNG
                raise ConversionError(
                    f"{where}: values {owner} and {value} would both be written as class "
                    f"{semantic}, id {instance}"
                )
        out[i] = (semantic << step.INSTANCE_BITS) | instance
    return out


def write_groundtruth_video(gt: VPSFile, video: Video, stage: Path) -> None:
    """Write one video's images and panoptic maps in the release layout."""
    split, divisor = gt.info.split, gt.info.label_divisor
    things = {c.id for c in gt.categories if c.isthing}
    ids, seen = release_ids(video), {}
    metas = video.frame_meta
    labelled = set(video.annotated_indices.tolist())
    for index, stem in enumerate(video.stems):
        where = f"video {video.video_id}, frame {stem}"
        data = video.image_bytes(index)
        if data:
            name = image_name(data, metas[index], stem, where)
            path = stage / step.IMAGES_DIR / split / video.video_id / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if index not in labelled:
            continue
        pan = video.panoptic(index)
        values, inverse = np.unique(pan, return_inverse=True)
        try:
            to_packed(values, divisor, where)  # refuses what an RGB PNG cannot hold
        except StepPngError as err:
            raise ConversionError(str(err)) from err
        packed = release_values(values, divisor, things, ids, seen, where)[inverse]
        path = stage / step.PANOPTIC_DIR / split / video.video_id / f"{stem}.png"
        write_step_png(path, packed.reshape(pan.shape))


def export_groundtruth(gt: VPSFile, out_dir: Path, overwrite: bool = False) -> Path:
    """Write a GT file in the STEP release layout under ``out_dir`` (the new root)."""
    for video in gt:
        check_names(video)
    with staged_directory(out_dir, overwrite) as stage:
        for video in gt:
            write_groundtruth_video(gt, video, stage)
    return out_dir


def prediction_frames(pred: VPSFile, gt: VPSFile | None) -> list[tuple[str, str]]:
    """(video id, stem) of the frames to write: the GT's annotated ones (all present in the
    prediction), else the prediction's annotated ones."""
    source = gt or pred
    frames = [(v.video_id, v.stems[i]) for v in source for i in v.annotated_indices]
    if gt is None:
        return frames
    for video_id, stem in frames:
        video = pred.video(video_id) if video_id in pred.video_ids else None
        if video is None or stem not in video.stems or not video.annotated[video.stems.index(stem)]:
            raise ConversionError(f"{pred.path.name} has no map for GT frame {video_id}/{stem}")
    return frames


def export_prediction(
    pred: VPSFile, gt: VPSFile | None, out_dir: Path, overwrite: bool = False
) -> Path:
    """Write a prediction file as ``out_dir/SSSS/FFFFFF.png``, values as they are."""
    if pred.info.tube_identity == TUBE_IDENTITY_INSTANCE:
        raise ConversionError(
            f'{pred.path.name} has tube_identity "instance" (one tube per instance id across '
            "classes), which STEP PNGs cannot express; export it in its own layout"
        )
    frames = prediction_frames(pred, gt)
    divisor = pred.info.label_divisor
    with staged_directory(out_dir, overwrite) as stage:
        for video_id, stem in frames:
            video = pred.video(video_id)
            where = f"video {video_id}, frame {stem}"
            try:
                packed = to_packed(video.panoptic(video.frame_index(stem)), divisor, where)
            except StepPngError as err:
                raise ConversionError(str(err)) from err
            write_step_png(stage / video_id / f"{stem}.png", packed)
    return out_dir


def export_step(
    dataset: str,
    path: str | Path,
    out_dir: str | Path,
    gt: str | Path | None = None,
    overwrite: bool = False,
) -> Path:
    """Export a unified GT or prediction file of a STEP dataset to its layout, into a new or
    empty ``out_dir`` (``overwrite``: replaced whole), written completely or not at all."""
    out_dir = Path(out_dir)
    with VPSFile(path) as file:
        if file.info.dataset != dataset:
            raise ConversionError(
                f"{Path(path).name} is a {file.info.dataset} file, not {dataset}; export it "
                f"with 'vpsbench export {file.info.dataset}'"
            )
        if not file.info.is_prediction:
            return export_groundtruth(file, out_dir, overwrite)
        with VPSFile(gt) if gt is not None else nullcontext() as gt_file:
            return export_prediction(file, gt_file, out_dir, overwrite)
