"""Per-video submissions: ``pred.json`` + ``pan_pred/<video>/<frame>.png`` (or a zip of them).

This is the layout VIPSeg's official scorer reads (``ClipPanoFCN/eval_vpq_vspw.py`` and
``eval_stq_vspw.py`` of github.com/VIPSeg-Dataset/VIPSeg-Dataset): ``pred.json`` holds
``{"annotations": [{"video_id": V, "annotations": [{"segments_info": [...]}, ...]}, ...]}``, one
entry per frame of each video, and the PNG of a frame is ``pan_pred/V/<file_name>`` with the
``file_name`` of the GT frame. The scorer pairs a video's entries with its GT frames by
position; here they are paired by ``image_id`` (or the stem of ``file_name``) wherever every
entry of the video names one, and by position only otherwise, after checking the counts. Every
rule of the Cityscapes-VPS contract (``vpsbench.io.submission``: integer ids, 8-bit RGB PNGs of
the GT size, size limits) applies unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from vpsbench.format import VPSFile
from vpsbench.format.schema import TUBE_IDENTITY_INSTANCE
from vpsbench.io.archive import SubmissionLimits, human_size
from vpsbench.io.submission import (
    PNG_DIR,
    PRED_JSON,
    PairedFrame,
    SubmissionEntry,
    SubmissionError,
    check_png_header,
    check_segments,
    entry_image_id,
    find_pred_json,
    id_to_rgb,
    report_mismatch,
    segment_colour_ids,
)
from vpsbench.messages import count, names_preview

LAYOUT = "video-submission"


def video_png_root(root: Path) -> Path | None:
    """``pan_pred/`` of a per-video submission: it holds folders, not PNGs (None otherwise)."""
    try:
        base = find_pred_json(root).parent
    except SubmissionError:
        return None
    for candidate in (base / PNG_DIR / PNG_DIR, base / PNG_DIR):
        if not candidate.is_dir() or any(candidate.glob("*.png")):
            continue
        if any(p.is_dir() and any(p.glob("*.png")) for p in candidate.iterdir()):
            return candidate
    return None


def is_video_submission(root: Path) -> bool:
    """Whether an extracted submission is laid out per video (``pan_pred/<video>/*.png``)."""
    return video_png_root(root) is not None


def load_pred_json(path: Path, max_bytes: int) -> dict:
    """The parsed ``pred.json``, refusing an oversized or malformed file."""
    size = path.stat().st_size
    if size > max_bytes:  # checked before reading: json.loads would hold it all in memory
        raise SubmissionError(
            f"{path.name} is {human_size(size)} (limit {human_size(max_bytes)}); remove padding "
            "or extra fields, or raise --max-json-mb"
        )
    try:
        data = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise SubmissionError(f"{path.name} is not valid JSON: {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise SubmissionError(f'{path.name} must be an object with an "annotations" list')
    return data


def parse_video_entries(data: dict, name: str) -> dict[str, list[SubmissionEntry]]:
    """{video id: its entries in order} of a per-video ``pred.json``, every segment checked."""
    videos: dict[str, list[SubmissionEntry]] = {}
    for i, video in enumerate(data["annotations"]):
        where = f"{name}: annotations[{i}]"
        if not isinstance(video, dict) or not isinstance(video.get("annotations"), list):
            raise SubmissionError(
                f'{where} must be {{"video_id": ..., "annotations": [...]}}, one per video'
            )
        video_id = video.get("video_id")
        if type(video_id) is not str:
            # The scorer looks videos up by the GT's string ids: 7 never matches "7".
            raise SubmissionError(f"{where}: video_id {json.dumps(video_id)} is not a string")
        if video_id in videos:
            raise SubmissionError(f"{where}: video {video_id} is listed twice")
        entries = []
        for j, annotation in enumerate(video["annotations"]):
            at = f"{where} (video {video_id}) annotations[{j}]"
            segments = annotation.get("segments_info") if isinstance(annotation, dict) else None
            if not isinstance(segments, list) or not all(
                isinstance(s, dict) and "id" in s and "category_id" in s for s in segments
            ):
                raise SubmissionError(f"{at} needs segments_info: a list of {{id, category_id}}")
            image_id = entry_image_id(annotation)
            check_segments(segments, at + (f" (image {image_id})" if image_id else ""))
            entries.append(SubmissionEntry(j, image_id, segments))
        videos[video_id] = entries
    return videos


def gt_file_name(meta: dict, stem: str) -> str:
    """The PNG name of a GT frame: as the release names it, else ``<stem>.png``."""
    return meta.get("panoptic_file") or meta.get("mask_file") or f"{stem}.png"


def pair_video(
    video_id: str, entries: list[SubmissionEntry], gt_frames: list[tuple[int, str, str]]
) -> list[tuple[tuple[int, str, str], SubmissionEntry]]:
    """(GT frame, entry) pairs of one video: by image name where all entries give one."""
    named = [e.image_id is not None for e in entries]
    where = f"pred.json video {video_id}"
    if any(named) and not all(named):
        raise SubmissionError(
            f"{where} mixes annotations with and without image_id/file_name; give all or none"
        )
    if entries and all(named):
        by_id = {e.image_id: e for e in entries}
        if len(by_id) != len(entries):
            raise SubmissionError(f"{where} names some images more than once")
        stems = [stem for _, stem, _ in gt_frames]
        report_mismatch(
            [s for s in stems if s not in by_id], sorted(set(by_id) - set(stems)), where
        )
        return [(frame, by_id[frame[1]]) for frame in gt_frames]
    if len(entries) != len(gt_frames):
        raise SubmissionError(
            f"{where} has {len(entries)} annotations without image ids, the GT video has "
            f"{len(gt_frames)} annotated frames; they are paired by position, so the counts "
            "must match (or add image_id to each annotation)"
        )
    return list(zip(gt_frames, entries, strict=True))


def pair_video_submission(
    videos: dict[str, list[SubmissionEntry]],
    png_root: Path,
    gt: VPSFile,
    limits: SubmissionLimits | None = None,
) -> list[PairedFrame]:
    """Match a per-video submission to the annotated GT frames; check every PNG header."""
    gt_videos = {v.video_id: v for v in gt if v.num_annotated > 0}
    missing = [v for v in gt_videos if v not in videos]
    extra = sorted(set(videos) - set(gt_videos))
    parts = []
    if missing:
        parts.append(
            f"{count(len(missing), 'GT video')} missing from {PRED_JSON}: {names_preview(missing)}"
        )
    if extra:
        parts.append(
            f"{count(len(extra), 'video')} in {PRED_JSON} not in the GT: {names_preview(extra)}"
        )
    if parts:
        raise SubmissionError("; ".join(parts))
    max_pixels = (limits or SubmissionLimits()).max_pixels
    folders = {p.name for p in png_root.iterdir() if p.is_dir()}
    extra = sorted(folders - set(gt_videos))
    if extra:
        raise SubmissionError(
            f"{PNG_DIR}/ has folders of videos not in the GT: {names_preview(extra)}"
        )
    paired = []
    for video_id, video in gt_videos.items():
        metas = video.frame_meta
        frames = [
            (int(i), video.stems[i], gt_file_name(metas[i], video.stems[i]))
            for i in video.annotated_indices
        ]
        folder = png_root / video_id
        pngs = {p.name for p in folder.glob("*.png")} if folder.is_dir() else set()
        report_mismatch(
            [f"{video_id}/{name}" for _, _, name in frames if name not in pngs],
            [f"{video_id}/{n}" for n in sorted(pngs - {name for _, _, name in frames})],
            PNG_DIR,
        )
        for (index, stem, name), entry in pair_video(video_id, videos[video_id], frames):
            png = folder / name
            try:
                check_png_header(png, video.height, video.width, max_pixels)
            except SubmissionError as err:  # the file name alone does not say which video
                raise SubmissionError(f"video {video_id}: {err}") from err
            paired.append(PairedFrame(video_id, index, stem, entry, png))
    return paired


def read_video_submission(
    root: Path, gt: VPSFile, limits: SubmissionLimits | None = None
) -> list[PairedFrame]:
    """The frames of an extracted per-video submission, paired with the GT and checked."""
    png_root = video_png_root(root)
    if png_root is None:
        raise SubmissionError(f"no {PNG_DIR}/<video>/ folders with PNG files in the submission")
    max_json = (limits or SubmissionLimits()).max_json_bytes
    path = find_pred_json(root)
    videos = parse_video_entries(load_pred_json(path, max_json), path.name)
    return pair_video_submission(videos, png_root, gt, limits)


def write_video_submission(pred: VPSFile, gt: VPSFile, out_dir: str | Path) -> Path:
    """Write a prediction file as ``pred.json`` + ``pan_pred/<video>/<frame>.png``.

    Videos and frames follow the GT (its annotated frames, GT PNG names); each annotation names
    its ``image_id`` and ``file_name``. Stuff segments use their category colour as id, thing
    ids are unique per video (per instance id for files with tube_identity "instance").
    """
    out = Path(out_dir)
    colours = {c.id: c.color for c in gt.categories}
    things = {c.id for c in gt.categories if c.isthing}
    divisor, void = gt.info.label_divisor, gt.info.void_label
    by_instance = pred.info.tube_identity == TUBE_IDENTITY_INSTANCE
    annotations = []
    for video in gt:
        if video.num_annotated == 0:
            continue
        predicted, metas, thing_ids = pred.video(video.video_id), video.frame_meta, {}
        frames = []
        for i in video.annotated_indices:
            stem = video.stems[i]
            name = gt_file_name(metas[i], stem)
            pan = predicted.panoptic(predicted.frame_index(stem))
            values, areas = np.unique(pan, return_counts=True)
            ids = segment_colour_ids(values, colours, divisor, void, thing_ids, things, by_instance)
            colour_of = np.array([ids.get(int(v), 0) for v in values], np.uint32)
            path = out / PNG_DIR / video.video_id / name
            path.parent.mkdir(parents=True, exist_ok=True)
            rgb = id_to_rgb(colour_of[np.searchsorted(values, pan)])
            Image.fromarray(rgb).save(path, compress_level=1)
            segments = [
                {"id": ids[int(v)], "category_id": int(v) // divisor, "iscrowd": 0, "area": int(a)}
                for v, a in zip(values, areas, strict=True)
                if int(v) in ids
            ]
            frames.append({"image_id": stem, "file_name": name, "segments_info": segments})
        annotations.append({"video_id": video.video_id, "annotations": frames})
    (out / PRED_JSON).write_text(json.dumps({"annotations": annotations}))
    return out
