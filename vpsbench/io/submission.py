"""Official Cityscapes-VPS submissions (``pred.json`` + ``pan_pred/*.png``, or a zip of them).

Frames are paired with the ground truth by image id wherever the submission names them, and
positionally (GT frames sorted by name, as the official scorer does) only when it does not.
"""

from __future__ import annotations

import contextlib
import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vpsbench.format import VPSFile
from vpsbench.format.schema import TUBE_IDENTITY_INSTANCE
from vpsbench.io.archive import (
    PrivateDirectory,
    SubmissionLimits,
    extract_archive,
    human_size,
)
from vpsbench.io.png import (
    ORDER_COCO,
    PngBombError,
    PngDecodeError,
    decode_packed,
    decode_packed_runs,
)
from vpsbench.messages import count, names_preview

PRED_JSON = "pred.json"
PNG_DIR = "pan_pred"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_ID = 2**24 - 1  # the largest R + 256 G + 65536 B of an 8-bit RGB pixel
PNG_COLOUR_TYPES = {0: "grey", 2: "RGB", 3: "palette", 4: "grey+alpha", 6: "RGBA"}
# First bytes of formats people save by mistake under a .png name.
OTHER_SIGNATURES = {
    b"BM": "BMP",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"II*\0": "TIFF",
    b"MM\0*": "TIFF",
    b"RIFF": "RIFF/WebP",
    b"\x89HDF": "HDF5",
    b"PK": "zip",
}


class SubmissionError(ValueError):
    """The submission cannot be scored as it is; the message says what to fix."""


@dataclass(frozen=True)
class SubmissionEntry:
    """One ``pred.json`` annotation: its position, the image it names (if any), its segments."""

    position: int
    image_id: str | None
    segments: list[dict]


@dataclass(frozen=True)
class PairedFrame:
    """A GT frame and the submission entry and PNG that predict it."""

    video_id: str
    frame_index: int
    stem: str
    entry: SubmissionEntry
    png: Path


def rgb_to_id(rgb: np.ndarray) -> np.ndarray:
    """COCO-panoptic colour ids: ``R + 256 G + 65536 B`` as uint32."""
    rgb = rgb.astype(np.uint32)
    return rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]


def id_to_rgb(ids: np.ndarray) -> np.ndarray:
    """Inverse of ``rgb_to_id``: an (H, W, 3) uint8 image."""
    ids = np.asarray(ids, np.uint32)
    return np.stack([ids % 256, ids // 256 % 256, ids // 65536 % 256], axis=-1).astype(np.uint8)


def entry_image_id(annotation: dict) -> str | None:
    """The image an annotation names: ``image_id``, else the stem of ``file_name``, else None."""
    if annotation.get("image_id") not in (None, ""):
        return str(annotation["image_id"])
    if annotation.get("file_name"):
        return Path(str(annotation["file_name"])).stem
    return None


def json_int_problem(value: object) -> str | None:
    """Why a JSON value is not a JSON integer (None if it is one); bool is not an int here."""
    if type(value) is int:
        return None
    if isinstance(value, bool):
        return f"{json.dumps(value)} is a boolean"
    if isinstance(value, float):  # also 13.0: the official GT writes integers only
        return f"{json.dumps(value)} is a float"
    if isinstance(value, str):
        return f"{json.dumps(value)} is a string"
    return f"{json.dumps(value)} is not a number"


def check_segments(segments: list, where: str) -> None:
    """Strict ``segments_info``: integer ids in 1..2^24-1, integer category ids, no repeats."""
    seen: set[int] = set()
    for j, seg in enumerate(segments):
        at = f"{where} segments_info[{j}]"
        for key in ("id", "category_id"):
            problem = json_int_problem(seg[key])
            if problem:
                # The official scorer compares ids with the integers it decodes from the PNG,
                # so "13", 13.0 or true would silently never match (or match by accident).
                raise SubmissionError(
                    f"{at}: {key} {problem}; write it as a JSON integer (e.g. 13, no quotes or .0)"
                )
        seg_id = seg["id"]
        if seg_id == 0:
            raise SubmissionError(
                f"{at}: id 0 is listed, but 0 (black) means 'no segment' in {PNG_DIR} PNGs; "
                "remove it from segments_info"
            )
        if not 0 < seg_id <= MAX_ID:
            raise SubmissionError(
                f"{at}: id {seg_id} is outside 1..{MAX_ID}, the ids an RGB PNG can hold "
                "(R + 256 G + 65536 B)"
            )
        if seg_id in seen:
            raise SubmissionError(f"{at}: segment id {seg_id} listed twice; ids are per segment")
        seen.add(seg_id)


def parse_pred_json(
    path: Path, max_bytes: int = SubmissionLimits.max_json_bytes
) -> list[SubmissionEntry]:
    """Read ``pred.json`` into entries, refusing an oversized file or a malformed segment."""
    size = path.stat().st_size
    if size > max_bytes:  # checked before reading: json.loads would hold it all in memory
        raise SubmissionError(
            f"{path.name} is {human_size(size)} (limit {human_size(max_bytes)}); a Cityscapes-VPS "
            "pred.json is a few MB: remove padding or extra fields, or raise --max-json-mb"
        )
    try:
        data = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise SubmissionError(f"{path.name} is not valid JSON: {err}") from err
    annotations = data.get("annotations") if isinstance(data, dict) else None
    if not isinstance(annotations, list):
        raise SubmissionError(f'{path.name} must be an object with an "annotations" list')
    entries = []
    for i, annotation in enumerate(annotations):
        segments = annotation.get("segments_info") if isinstance(annotation, dict) else None
        if not isinstance(segments, list) or not all(
            isinstance(s, dict) and "id" in s and "category_id" in s for s in segments
        ):
            raise SubmissionError(
                f"{path.name}: annotations[{i}] needs segments_info: a list of {{id, category_id}}"
            )
        image_id = entry_image_id(annotation)
        named = f" (image {image_id})" if image_id is not None else ""
        check_segments(segments, f"{path.name}: annotations[{i}]{named}")
        entries.append(SubmissionEntry(i, image_id, segments))
    return entries


def find_png_dir(root: Path) -> Path:
    """The ``pan_pred`` folder under an extracted submission (also when zipped one level deeper)."""
    for candidate in (root / PNG_DIR / PNG_DIR, root / PNG_DIR):
        if candidate.is_dir() and any(candidate.glob("*.png")):
            return candidate
    raise SubmissionError(
        f"no {PNG_DIR}/ folder (or {PNG_DIR}.zip) with PNG files in the submission"
    )


def find_pred_json(root: Path) -> Path:
    """``pred.json`` at the top of the submission, or inside one top-level folder."""
    matches = [root / PRED_JSON, *sorted(root.glob(f"*/{PRED_JSON}"))]
    for path in matches:
        if path.is_file():
            return path
    raise SubmissionError(f"no {PRED_JSON} in the submission")


@contextlib.contextmanager
def extracted_submission(
    path: str | Path, limits: SubmissionLimits | None = None
) -> Iterator[Path]:
    """Yield the folder of a submission directory or zip; a zip is extracted privately."""
    path = Path(path)
    limits = limits or SubmissionLimits()
    if path.is_dir():
        root = path
        if not (root / PRED_JSON).is_file() and (root / "submission.zip").is_file():
            path = root / "submission.zip"
    if path.is_file():
        with PrivateDirectory() as tmp:
            extract_archive(path, tmp, limits)
            yield tmp
        return
    if not path.exists():
        raise SubmissionError(f"{path}: no such file or directory")
    yield path


@contextlib.contextmanager
def open_submission(
    path: str | Path, limits: SubmissionLimits | None = None
) -> Iterator[tuple[list[SubmissionEntry], Path]]:
    """Yield (entries, png_dir) of a submission directory or zip; a zip is extracted privately."""
    with extracted_submission(path, limits) as root:
        yield load_submission_dir(root, limits)


def load_submission_dir(
    root: Path, limits: SubmissionLimits | None = None
) -> tuple[list[SubmissionEntry], Path]:
    """Entries and PNG folder of an extracted submission."""
    pred_json = find_pred_json(root)
    png_root = pred_json.parent
    if (png_root / f"{PNG_DIR}.zip").exists():
        raise SubmissionError(f"{PNG_DIR}.zip must be extracted first (use the zip path instead)")
    max_json = (limits or SubmissionLimits()).max_json_bytes
    return parse_pred_json(pred_json, max_json), find_png_dir(png_root)


def gt_frames_in_official_order(gt: VPSFile) -> list[tuple[str, int, str]]:
    """(video id, frame index, stem) of every annotated GT frame, sorted by stem like the scorer."""
    frames = [
        (video.video_id, int(i), video.stems[i]) for video in gt for i in video.annotated_indices
    ]
    return sorted(frames, key=lambda f: f[2])


def pair_submission(
    entries: list[SubmissionEntry],
    png_dir: Path,
    gt: VPSFile,
    limits: SubmissionLimits | None = None,
) -> list[PairedFrame]:
    """Match entries and PNGs to the annotated GT frames; raise on any mismatch or bad PNG header.

    Every PNG header is checked here, before a pixel of any frame is decoded.
    """
    frames = gt_frames_in_official_order(gt)
    named = [e.image_id is not None for e in entries]
    if any(named) and not all(named):
        raise SubmissionError(
            "pred.json mixes annotations with and without image_id/file_name; give all or none"
        )
    if all(named) and entries:
        by_id = {e.image_id: e for e in entries}
        if len(by_id) != len(entries):
            raise SubmissionError("pred.json names some images more than once")
        stems = {stem for _, _, stem in frames}
        missing = [stem for _, _, stem in frames if stem not in by_id]
        extra = sorted(set(by_id) - stems)
        report_mismatch(missing, extra, "pred.json")
        paired = [(f, by_id[f[2]]) for f in frames]
    else:
        if len(entries) != len(frames):
            raise SubmissionError(
                f"pred.json has {len(entries)} annotations without image ids, the GT has "
                f"{len(frames)} annotated frames; unnamed annotations are paired by position, "
                "so the counts must match (or add image_id to each annotation)"
            )
        paired = list(zip(frames, entries, strict=True))
    pngs = {p.stem for p in png_dir.glob("*.png")}
    report_mismatch(
        [f[2] for f, _ in paired if f[2] not in pngs],
        sorted(pngs - {f[2] for f in frames}),
        PNG_DIR,
    )
    frames_out = [PairedFrame(v, i, stem, e, png_dir / f"{stem}.png") for (v, i, stem), e in paired]
    max_pixels = (limits or SubmissionLimits()).max_pixels
    sizes = {video.video_id: (video.height, video.width) for video in gt}
    for frame in frames_out:
        check_png_header(frame.png, *sizes[frame.video_id], max_pixels)
    return frames_out


def report_mismatch(missing: list[str], extra: list[str], where: str) -> None:
    """Raise one message naming the missing and the unexpected frames."""
    parts = []
    if missing:
        parts.append(
            f"{count(len(missing), 'GT frame')} missing from {where}: {names_preview(missing)}"
        )
    if extra:
        parts.append(
            f"{count(len(extra), 'frame')} in {where} not in the GT: {names_preview(extra)}"
        )
    if parts:
        raise SubmissionError("; ".join(parts))


def png_header(path: Path) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from the IHDR chunk, reading 33 bytes only."""
    where = f"{PNG_DIR}/{path.name}"
    with open(path, "rb") as f:
        head = f.read(33)  # signature (8), IHDR length (4), b"IHDR", 13 data bytes, CRC (4)
    if not head.startswith(PNG_SIGNATURE):
        kind = next((k for sig, k in OTHER_SIGNATURES.items() if head.startswith(sig)), None)
        found = f"{kind} data" if kind else f"data starting {head[:8]!r}"
        raise SubmissionError(
            f"{where} is not a PNG file ({found}); save the id map as an 8-bit RGB PNG"
        )
    length, kind = struct.unpack(">I4s", head[8:16]) if len(head) == 33 else (0, b"")
    if (
        kind != b"IHDR"
        or length != 13
        or zlib.crc32(head[12:29]) != struct.unpack(">I", head[29:])[0]
    ):
        raise SubmissionError(
            f"{where} cannot be decoded as PNG: truncated, or no valid IHDR chunk first; re-save it"
        )
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    return width, height, depth, colour


def check_png_header(path: Path, height: int, width: int, max_pixels: int) -> None:
    """Refuse anything but an 8-bit RGB PNG of the GT frame's size, from the header alone."""
    where = f"{PNG_DIR}/{path.name}"
    png_w, png_h, depth, colour = png_header(path)
    if (depth, colour) != (8, 2):
        kind = PNG_COLOUR_TYPES.get(colour, f"colour type {colour}")
        # The official scorer (mcahny/vps tools/eval_vpq.py) reads ids as R + 256 G + 65536 B
        # of an RGB image; other layouts decode to other numbers, or fail there.
        raise SubmissionError(
            f"{where} is a {depth}-bit {kind} PNG; ids are read as R + 256 G + 65536 B, "
            "so save an 8-bit RGB PNG (PIL mode 'RGB', no alpha, no palette)"
        )
    if png_w * png_h > max_pixels:
        raise SubmissionError(
            f"{where} declares {png_w}x{png_h} = {png_w * png_h:,} pixels, which exceeds limit "
            f"{max_pixels:,} (--max-pixels): refusing a possible decompression bomb"
        )
    if (png_w, png_h) != (width, height):
        raise SubmissionError(f"{where} is {png_w}x{png_h}, the GT frame is {width}x{height}")


def read_id_png(
    path: Path, height: int, width: int, max_pixels: int = SubmissionLimits.max_pixels
) -> np.ndarray:
    """Decode a prediction PNG to colour ids (uint32 R + 256 G + 65536 B), refusing a bad
    header before decoding pixels (pyspng, else Pillow: ``vpsbench.io.png``)."""
    return _read_id_png(decode_packed, path, height, width, max_pixels)


def read_id_png_runs(
    path: Path, height: int, width: int, max_pixels: int = SubmissionLimits.max_pixels
) -> tuple[np.ndarray, np.ndarray]:
    """``read_id_png``'s map as raster runs: (flat index of each run's first pixel, its
    colour id), with the same checks and errors (``vpsbench.io.png.decode_packed_runs``)."""
    return _read_id_png(decode_packed_runs, path, height, width, max_pixels)


def _read_id_png(decode, path: Path, height: int, width: int, max_pixels: int):
    check_png_header(path, height, width, max_pixels)
    where = f"{PNG_DIR}/{path.name}"
    try:
        return decode(path, height, width, ORDER_COCO)
    except PngBombError as err:
        raise SubmissionError(f"{where}: refusing a possible decompression bomb ({err})") from err
    except PngDecodeError as err:
        raise SubmissionError(f"{where} cannot be decoded as PNG: {err}; re-save it") from err


def segment_colour_ids(values: np.ndarray, categories: dict[int, tuple], divisor: int, void: int,
                       thing_ids: dict, things: set[int],
                       by_instance: bool = False) -> dict[int, int]:  # fmt: skip
    """Colour id of each panoptic value: the category colour for stuff, a new id per thing.

    ``by_instance`` (files with tube_identity "instance"): one colour id per thing instance id
    of the video, whatever its category, so the official scorer sees one tube.
    """
    ids = {}
    stuff_ids = {rgb_to_id(np.array(c, np.uint8)).item() for c in categories.values()}
    for value in (int(v) for v in values):
        if value == void:
            continue
        category = value // divisor
        if category not in things:
            ids[value] = rgb_to_id(np.array(categories[category], np.uint8)).item()
            if ids[value] == 0:
                raise ValueError(
                    f"stuff category {category} has colour (0, 0, 0), which is void (id 0) in "
                    "official id PNGs; give it another colour in the category table"
                )
            continue
        key = ("instance", value % divisor) if by_instance and value % divisor else value
        if key not in thing_ids:
            candidate = len(thing_ids) + 1 + (1 << 23)
            while candidate in stuff_ids:
                candidate += 1 << 12
            thing_ids[key] = candidate
        ids[value] = thing_ids[key]
    return ids


def write_submission(
    pred: VPSFile, gt: VPSFile, out_dir: str | Path, with_ids: bool = True
) -> Path:
    """Write a prediction file in the official layout: ``pred.json`` + ``pan_pred/<stem>.png``.

    Annotations follow the GT frames sorted by name, the order the official scorer expects;
    stuff segments use their category colour as id, thing ids are unique per video.
    """
    out = Path(out_dir)
    (out / PNG_DIR).mkdir(parents=True, exist_ok=True)
    colours = {c.id: c.color for c in gt.categories}
    things = {c.id for c in gt.categories if c.isthing}
    divisor, void = gt.info.label_divisor, gt.info.void_label
    thing_ids: dict[str, dict] = {}
    annotations = []
    for video_id, _, stem in gt_frames_in_official_order(gt):
        video = pred.video(video_id)
        pan = video.panoptic(video.frame_index(stem))
        values, areas = np.unique(pan, return_counts=True)
        ids = segment_colour_ids(
            values,
            colours,
            divisor,
            void,
            thing_ids.setdefault(video_id, {}),
            things,
            by_instance=pred.info.tube_identity == TUBE_IDENTITY_INSTANCE,
        )
        colour_of = np.array([ids.get(int(v), 0) for v in values], np.uint32)
        id_map = colour_of[np.searchsorted(values, pan)]
        Image.fromarray(id_to_rgb(id_map)).save(out / PNG_DIR / f"{stem}.png", compress_level=1)
        segments = [
            {"id": ids[int(v)], "category_id": int(v) // divisor, "iscrowd": 0, "area": int(a)}
            for v, a in zip(values, areas, strict=True)
            if int(v) in ids
        ]
        named = {"image_id": stem, "file_name": f"{stem}.png"} if with_ids else {}
        annotations.append({**named, "segments_info": segments})
    (out / PRED_JSON).write_text(json.dumps({"annotations": annotations}))
    return out
