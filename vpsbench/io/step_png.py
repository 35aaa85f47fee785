"""STEP panoptic PNGs and directories of them (KITTI-STEP, MOTChallenge-STEP).

A STEP PNG is 8-bit RGB with R = semantic id and instance id = 256 G + B (google-research/
deeplab2 ``g3doc/setup/kitti_step.md``; its ``trainer/vis.py`` writes predictions the same way
as ``three_channel_png`` into ``raw_panoptic/{sequence}/{image}.png``). Here a pixel is read as
one packed int ``R << 16 | G << 8 | B`` = ``semantic * 2^16 + instance``: the panoptic value of
a unified file with label divisor 2^16 (``vpsbench.datasets.step``).

Reading is strict, from the header before any pixel is decoded: PNG signature, IHDR bit depth
8 and colour type 2 (RGB; Pillow would silently drop the low byte of a 16-bit PNG, and
palette or grey PNGs have no G and B), the declared size against a pixel limit
(decompression bombs) and against the expected frame size, then a complete decode.

A prediction directory has the layout of ``panoptic_maps/{split}/``: ``ROOT/{video}/{stem}.png``
for exactly the annotated GT frames; ``scan_prediction_directory`` checks the file set and the
size limits of docs/METRICS.md, "Submission contract", before anything is decoded.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vpsbench.io.archive import SubmissionLimits, human_size
from vpsbench.io.png import ORDER_STEP, PngBombError, PngDecodeError, decode_packed
from vpsbench.io.submission import OTHER_SIGNATURES, PNG_COLOUR_TYPES, PNG_SIGNATURE
from vpsbench.messages import count, names_preview

INSTANCE_BITS = 16
MAX_SEMANTIC = 255
MAX_INSTANCE = (1 << INSTANCE_BITS) - 1
PNG_SUFFIX = ".png"


class StepPngError(ValueError):
    """A STEP PNG (or a directory of them) breaks the encoding or the contract; one line."""


def pack_rgb(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> int32 ``R << 16 | G << 8 | B`` (semantic * 2^16 + instance)."""
    rgb = np.asarray(rgb)
    return (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]


def step_from_colour_ids(ids: np.ndarray) -> np.ndarray:
    """Colour ids ``R + 256 G + 65536 B`` -> packed STEP values ``R << 16 | G << 8 | B``
    (int64): for a few run values, cheaper than decoding every pixel in STEP order."""
    ids = np.asarray(ids, np.int64)
    return ((ids & 0xFF) << 16) | (ids & 0xFF00) | (ids >> 16)


def unpack_rgb(packed: np.ndarray) -> np.ndarray:
    """Inverse of ``pack_rgb``: an (H, W, 3) uint8 image."""
    packed = np.asarray(packed, np.int64)
    return np.stack([packed >> 16, (packed >> 8) & 0xFF, packed & 0xFF], axis=-1).astype(np.uint8)


def to_packed(panoptic: np.ndarray, label_divisor: int, where: str) -> np.ndarray:
    """Unified values ``semantic * divisor + instance`` as packed STEP values (refusing what
    an RGB PNG cannot hold: a semantic id above 255 or an instance id above 65535)."""
    panoptic = np.asarray(panoptic, np.int64)
    semantic, instance = panoptic // label_divisor, panoptic % label_divisor
    if semantic.size and (semantic.max() > MAX_SEMANTIC or instance.max() > MAX_INSTANCE):
        bad = panoptic[(semantic > MAX_SEMANTIC) | (instance > MAX_INSTANCE)][0]
        raise StepPngError(
            f"{where}: value {int(bad)} (semantic {int(bad) // label_divisor}, instance "
            f"{int(bad) % label_divisor}) does not fit a STEP PNG (R <= 255, 256 G + B <= 65535)"
        )
    return ((semantic << INSTANCE_BITS) | instance).astype(np.int32)


def from_packed(packed: np.ndarray, label_divisor: int, where: str) -> np.ndarray:
    """Packed STEP values as unified values ``semantic * divisor + instance`` (int32)."""
    packed = np.asarray(packed, np.int64)
    instance = packed & MAX_INSTANCE
    if label_divisor == 1 << INSTANCE_BITS:
        return packed.astype(np.int32)
    if instance.size and instance.max() >= label_divisor:
        raise StepPngError(
            f"{where}: instance id {int(instance.max())} does not fit the GT's label divisor "
            f"{label_divisor}"
        )
    return ((packed >> INSTANCE_BITS) * label_divisor + instance).astype(np.int32)


def png_header(path: Path, where: str) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from the IHDR chunk, reading 33 bytes only."""
    with open(path, "rb") as f:
        head = f.read(33)  # signature (8), IHDR length (4), b"IHDR", 13 data bytes, CRC (4)
    if not head.startswith(PNG_SIGNATURE):
        kind = next((k for sig, k in OTHER_SIGNATURES.items() if head.startswith(sig)), None)
        found = f"{kind} data" if kind else f"data starting {head[:8]!r}"
        raise StepPngError(f"{where} is not a PNG file ({found}); save it as an 8-bit RGB PNG")
    length, kind = struct.unpack(">I4s", head[8:16]) if len(head) == 33 else (0, b"")
    crc_ok = len(head) == 33 and zlib.crc32(head[12:29]) == struct.unpack(">I", head[29:])[0]
    if kind != b"IHDR" or length != 13 or not crc_ok:
        raise StepPngError(
            f"{where} cannot be decoded as PNG: truncated, or no valid IHDR chunk first; re-save it"
        )
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    return width, height, depth, colour


def check_header(
    path: Path,
    where: str,
    size: tuple[int, int] | None = None,
    max_pixels: int = SubmissionLimits.max_pixels,
    against: str = "the GT frame",
) -> tuple[int, int]:
    """(height, width) of an 8-bit RGB PNG of ``size`` (when given), from its header alone."""
    width, height, depth, colour = png_header(path, where)
    if (depth, colour) != (8, 2):
        kind = PNG_COLOUR_TYPES.get(colour, f"colour type {colour}")
        raise StepPngError(
            f"{where} is a {depth}-bit {kind} PNG; a STEP panoptic map is an 8-bit RGB PNG "
            "(R = class, 256 G + B = instance id; PIL mode 'RGB', no alpha, no palette)"
        )
    if width * height > max_pixels:
        raise StepPngError(
            f"{where} declares {width}x{height} = {width * height:,} pixels, which exceeds limit "
            f"{max_pixels:,} (--max-pixels): refusing a possible decompression bomb"
        )
    if size is not None and (height, width) != tuple(size):
        raise StepPngError(f"{where} is {width}x{height}, {against} is {size[1]}x{size[0]}")
    return height, width


def read_step_png(
    path: Path,
    where: str,
    size: tuple[int, int] | None = None,
    max_pixels: int = SubmissionLimits.max_pixels,
    against: str = "the GT frame",
    order: str = ORDER_STEP,
) -> np.ndarray:
    """Decode a STEP PNG to packed values (int32), refusing a bad header before decoding.

    ``order=ORDER_COCO`` gives colour ids instead (``step_from_colour_ids`` turns them into
    packed values), for callers that work on runs.
    """
    height, width = check_header(path, where, size, max_pixels, against)
    try:
        # Decoded straight to R << 16 | G << 8 | B (``pack_rgb``) without a pass over the
        # (H, W, 3) array: pyspng, else Pillow's BGRX raw packer (``vpsbench.io.png``).
        packed = decode_packed(path, height, width, order)
    except PngBombError as err:
        raise StepPngError(f"{where}: refusing a possible decompression bomb ({err})") from err
    except PngDecodeError as err:
        raise StepPngError(f"{where} cannot be decoded as PNG (truncated?): {err}") from err
    return packed.view(np.int32)


def write_step_png(path: Path, packed: np.ndarray) -> None:
    """Write packed values as an 8-bit RGB PNG with Pillow's defaults, as deeplab2's
    ``data/utils/create_step_panoptic_maps.py`` writes the release's maps."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(unpack_rgb(packed), "RGB").save(path, format="PNG")


# --- prediction directories ----------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedFrame:
    """One annotated GT frame a prediction directory must hold, with the GT frame size."""

    video_id: str
    stem: str
    size: tuple[int, int]

    @property
    def relative(self) -> str:
        return f"{self.video_id}/{self.stem}{PNG_SUFFIX}"


def list_directory(root: Path, limits: SubmissionLimits) -> list[str]:
    """Every file under ``root`` (relative POSIX paths), refusing links and oversized trees."""
    files: list[str] = []
    total = 0
    for folder, dirs, names in os.walk(root, followlinks=False):
        base = Path(folder)
        for name in sorted(dirs) + sorted(names):
            path = base / name
            rel = path.relative_to(root).as_posix()
            if path.is_symlink():
                raise StepPngError(f"{rel} is a symbolic link; a prediction holds plain files")
            if name in names:
                files.append(rel)
                total += path.stat().st_size
                if len(files) > limits.max_files:
                    raise StepPngError(
                        f"{root.name}/ holds more than {limits.max_files} files (--max-files)"
                    )
                if total > limits.max_total_bytes:
                    raise StepPngError(
                        f"{root.name}/ holds more than {human_size(limits.max_total_bytes)} "
                        "(--max-size-mb)"
                    )
    return files


def scan_prediction_directory(
    root: Path, expected: list[ExpectedFrame], limits: SubmissionLimits | None = None
) -> dict[str, dict[str, Path]]:
    """{video: {stem: PNG path}} of a prediction directory whose file set is exactly the GT's;
    every PNG header is checked here, before a pixel of any frame is decoded."""
    limits = limits or SubmissionLimits()
    found = set(list_directory(root, limits))
    wanted = {frame.relative for frame in expected}
    missing = sorted(wanted - found)
    extra = sorted(found - wanted)
    if missing or extra:
        parts = []
        if missing:
            parts.append(
                f"{count(len(missing), 'GT frame')} without a PNG: {names_preview(missing)}"
            )
        if extra:
            parts.append(
                f"{count(len(extra), 'file')} not among the GT frames: {names_preview(extra)}"
            )
        raise StepPngError(
            f"{root.name}/ must hold VIDEO/STEM.png for exactly the annotated GT frames; "
            + "; ".join(parts)
        )
    out: dict[str, dict[str, Path]] = {}
    for frame in expected:
        path = root / frame.relative
        check_header(path, frame.relative, frame.size, limits.max_pixels)
        out.setdefault(frame.video_id, {})[frame.stem] = path
    return out


def looks_like_prediction_directory(root: Path, video_ids: list[str]) -> bool:
    """A directory of per-video folders named like the GT's videos (and no submission file)."""
    if not root.is_dir() or any(
        (root / name).exists() for name in ("pred.json", "submission.zip", "pan_pred")
    ):
        return False
    return any((root / video_id).is_dir() for video_id in video_ids)


def check_step_values(
    values: np.ndarray,
    category_ids: tuple[int, ...],
    thing_ids: tuple[int, ...],
    where: str,
    ignore_label: int = MAX_SEMANTIC,
) -> None:
    """The distinct packed values of a frame are STEP values: R a class or void, and a non-zero
    instance id only on a tracked (thing) class."""
    values = np.asarray(values, np.int64)
    semantic, instance = values >> INSTANCE_BITS, values & MAX_INSTANCE
    unknown = ~np.isin(semantic, category_ids) & (semantic != ignore_label)
    if unknown.any():
        raise StepPngError(
            f"{where}: R = {int(semantic[unknown][0])} is neither a class ({min(category_ids)}-"
            f"{max(category_ids)}) nor void ({ignore_label})"
        )
    void_id = (semantic == ignore_label) & (instance != 0)
    if void_id.any():
        raise StepPngError(
            f"{where}: void pixels (R = {ignore_label}) carry instance id "
            f"{int(instance[void_id][0])}; void has instance 0 (G = B = 0)"
        )
    stuff_id = ~np.isin(semantic, thing_ids) & (semantic != ignore_label) & (instance != 0)
    if stuff_id.any():
        raise StepPngError(
            f"{where}: class {int(semantic[stuff_id][0])} carries instance id "
            f"{int(instance[stuff_id][0])}, but only the tracked classes {list(thing_ids)} have "
            "instance ids (G = B = 0 elsewhere)"
        )
