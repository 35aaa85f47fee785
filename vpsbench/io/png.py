"""Decode 8-bit RGB id PNGs straight to packed uint32 values: libspng (pyspng), else Pillow.

Both prediction layouts store one integer per pixel in the three channels of an 8-bit RGB PNG:
COCO panoptic / Cityscapes-VPS submissions ``R + 256 G + 65536 B`` (``ORDER_COCO``), STEP
``R << 16 | G << 8 | B`` (``ORDER_STEP``). Neither needs the (H, W, 3) array: the decoder's
4-byte pixels are read as one uint32 each.

* **pyspng** (libspng) decodes a whole map to RGBA bytes (alpha is never used); read as
  little-endian uint32 they are R + 256 G + 65536 B + 2^24 A (masked to 24 bits), read as
  big-endian R << 24 | G << 16 | B << 8 | A (shifted right by 8). For the runs of a map
  (``decode_packed_runs``, what the scorer reads) it decodes to RGB, twice as fast, and only
  the runs' first pixels are packed so. On a 1024x2048 W1 id PNG it decodes in about a tenth
  of Pillow's time (benchmarks/bench_eval.py prints both).
* **Pillow**, the fallback when pyspng is not installed: its raw packers ``RGBX`` and
  ``BGRX`` give the same two layouts.

``VPSBENCH_PNG_DECODER`` = ``pyspng`` or ``pillow`` picks one (default ``auto``: pyspng when
importable). Both return identical arrays for every PNG the submission contract accepts
(tests/io/test_png_decoders.py). Callers check the header first (signature, IHDR, 8-bit RGB,
size, pixel limit); here the chunks before the image data are CRC-checked as Pillow checks
them, so a file either decoder refuses is refused by both.
"""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from vpsbench import settings
from vpsbench.format import deflate
from vpsbench.runlength import pixel_run_starts, run_starts

try:  # the fast decoder is a dependency, but the toolkit must work without it
    import pyspng
except ImportError:  # pragma: no cover - exercised by the Pillow tests through the env var
    pyspng = None

ORDER_COCO = "coco"  # R + 256 G + 65536 B (COCO panoptic colour ids)
ORDER_STEP = "step"  # R << 16 | G << 8 | B (STEP: semantic << 16 | instance)
DECODER_ENV = "VPSBENCH_PNG_DECODER"
DECODERS = ("pyspng", "pillow")
_MASK = np.uint32(0xFFFFFF)
_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PngDecodeError(ValueError):
    """The PNG does not decode (truncated, corrupt); the message says what the decoder saw."""


class PngBombError(ValueError):
    """Pillow's decompression-bomb guard fired while decoding."""


def decoder_name(requested: str | None = None) -> str:
    """The decoder to use: ``requested``, else ``$VPSBENCH_PNG_DECODER``, else ``auto`` (pyspng
    when installed, else Pillow). Asking for pyspng where it is not installed is an error."""
    missing = None if pyspng is not None else "pyspng is not installed (pip install pyspng)"
    return settings.choose(DECODER_ENV, requested, {"pyspng": missing, "pillow": None})


def _starts_with_ihdr(head: bytes, length: int) -> bool:
    return len(head) >= length and head.startswith(_SIGNATURE) and head[12:16] == b"IHDR"


def header_depth_and_colour(head: bytes) -> tuple[int, int] | None:
    """(bit depth, colour type) of a PNG's IHDR from its first 26 bytes, None if not a PNG."""
    return (head[24], head[25]) if _starts_with_ihdr(head, 26) else None


def header_size(head: bytes) -> tuple[int, int] | None:
    """(height, width) of a PNG's IHDR from its first 24 bytes, None if not a PNG."""
    if not _starts_with_ihdr(head, 24):
        return None
    width, height = struct.unpack(">II", head[16:24])
    return height, width


def decode_grey(data: bytes, height: int, width: int) -> np.ndarray | None:
    """An 8- or 16-bit greyscale PNG as a (height, width) uint8 / native uint16 array by
    libspng, or None (no libspng, another kind of PNG, or a file libspng refuses): the caller
    then decodes it with Pillow, which decides."""
    header = header_depth_and_colour(data[:26])
    if header is None or header[1] != 0 or header[0] not in (8, 16) or decoder_name() != "pyspng":
        return None
    try:
        array = pyspng.load(data)
    except (RuntimeError, ValueError, MemoryError):
        return None
    if array.ndim == 3 and array.shape[2] == 2:  # libspng gives 16-bit grey as grey + alpha
        array = np.ascontiguousarray(array[..., 0])
    if array.shape != (height, width) or array.itemsize * 8 != header[0]:
        return None
    return array


def image_data(data: bytes) -> bytes:
    """The concatenated IDAT payload, after checking the CRC of every chunk before it (as
    Pillow does when it opens a file)."""
    pos = len(_SIGNATURE)
    parts: list[bytes] = []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 8 + length
        if kind == b"IDAT":
            parts.append(data[pos + 8 : end])
        elif kind == b"IEND":
            break
        elif not parts:
            if end + 4 > len(data):
                raise PngDecodeError(f"truncated {kind.decode('latin-1')} chunk")
            if zlib.crc32(data[pos + 4 : end]) != struct.unpack(">I", data[end : end + 4])[0]:
                raise PngDecodeError(f"broken PNG file (bad checksum in {kind.decode('latin-1')})")
        pos = end + 4
    if not parts:
        raise PngDecodeError("no image data (IDAT chunk)")
    return b"".join(parts)


def scanline_bytes(height: int, width: int, interlaced: bool) -> int:
    """Bytes of filtered 8-bit RGB scanlines (a filter byte + 3 per pixel each), Adam7 too."""
    if not interlaced:
        return height * (1 + 3 * width)
    total = 0
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
                           (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):  # fmt: skip
        w, h = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if w > 0 and h > 0:
            total += h * (1 + 3 * w)
    return total


def decode_packed(
    path: Path, height: int, width: int, order: str = ORDER_COCO, data: bytes | None = None
) -> np.ndarray:
    """(height, width) uint32 packed pixels of an 8-bit RGB PNG whose header was checked
    (``data``: the file's bytes, if the caller has read them).

    Raises ``PngDecodeError`` when it does not decode completely to that size (Pillow alone
    would fill missing rows with 0), ``PngBombError`` when Pillow's decompression-bomb guard
    fires. A file libspng refuses but Pillow reads (e.g. chunks out of the specification's
    order) is decoded by Pillow, so both decoders accept the same files.
    """
    rgba, packed = decode_pixels(path, height, width, order, data)
    # In place, in the buffer pyspng allocated for this frame: no second 4-byte array.
    return packed if rgba is None else _packed_words(rgba, order)


def decode_packed_runs(
    path: Path, height: int, width: int, order: str = ORDER_COCO, data: bytes | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``decode_packed``'s map as raster runs: (flat index of each run's first pixel, its
    packed value); the same files accepted and refused.

    With libspng the image is decoded to RGB (in half the time of RGBA: 1.15 against 2.3 ms
    a W1 frame), the runs are found by comparing its bytes, and only the runs' first pixels
    are packed: W1 frames 2.4 against 2.9 ms, decoding included.
    """
    rgb, packed = decode_pixels(path, height, width, order, data, alpha=False)
    if rgb is None:
        flat = packed.reshape(-1)
        starts = run_starts(flat)
        return starts, flat[starts]
    starts = pixel_run_starts(rgb)
    firsts = np.zeros((len(starts), 4), np.uint8)
    firsts[:, :3] = rgb.reshape(-1, 3)[starts]
    return starts, _packed_words(firsts, order)


def _packed_words(rgba: np.ndarray, order: str) -> np.ndarray:
    """The uint32 ids of (..., 4) uint8 pixels, the fourth byte ignored (RGBA read as words:
    little-endian R + 256 G + 65536 B + 2^24 A, big-endian R << 24 | G << 16 | B << 8 | A);
    COCO ids are masked in place."""
    if order == ORDER_STEP:
        return rgba.view(">u4")[..., 0] >> np.uint32(8)
    packed = rgba.view("<u4")[..., 0]
    np.bitwise_and(packed, _MASK, out=packed)
    return packed


def decode_pixels(
    path: Path,
    height: int,
    width: int,
    order: str = ORDER_COCO,
    data: bytes | None = None,
    alpha: bool = True,
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The decoding step of ``decode_packed``, nothing more: (RGBA array from libspng, or RGB
    with ``alpha=False``, None) or (None, packed map from Pillow, which packs as it decodes)."""
    if order not in (ORDER_COCO, ORDER_STEP):
        raise ValueError(f"unknown pixel order {order!r}")
    if data is None:
        data = Path(path).read_bytes()
    idat = image_data(data)
    if decoder_name() == "pyspng":
        try:
            return _decode_pyspng(data, height, width, "RGBA" if alpha else "RGB"), None
        except PngDecodeError:
            pass  # refused by libspng: Pillow, with the completeness check, decides
    _check_complete(idat, height, width, interlaced=data[28] == 1)
    return None, _decode_pillow(path, height, width, order)


def _check_complete(idat: bytes, height: int, width: int, interlaced: bool) -> None:
    """The image data inflates to at least every scanline (checked by libspng itself)."""
    try:
        raw = deflate.CODEC.decompressobj()
        size = len(raw.decompress(idat, scanline_bytes(height, width, interlaced)))
    except (zlib.error, deflate.CODEC.error, ValueError) as err:
        raise PngDecodeError(f"corrupt image data ({err})") from err
    if size < scanline_bytes(height, width, interlaced):
        raise PngDecodeError(
            f"the image data ends after {size} of {scanline_bytes(height, width, interlaced)} "
            "bytes (truncated)"
        )


def _decode_pyspng(data: bytes, height: int, width: int, mode: str) -> np.ndarray:
    """The (height, width, len(mode)) uint8 pixels (``mode`` RGB or RGBA), or
    ``PngDecodeError``."""
    try:
        pixels = pyspng.load(data, mode)
    except (RuntimeError, ValueError, MemoryError) as err:
        raise PngDecodeError(str(err)) from err
    if pixels.shape != (height, width, len(mode)) or pixels.dtype != np.uint8:
        raise PngDecodeError(
            f"decodes to {pixels.dtype} {pixels.shape}, expected ({height}, {width})"
        )
    return pixels


def _decode_pillow(path: Path, height: int, width: int, order: str) -> np.ndarray:
    try:
        # Pillow's bomb warning would print above the caller's one-line error: an exception.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=["PNG"]) as img:
                if img.mode != "RGB" or img.size != (width, height):  # the header said so
                    raise PngDecodeError(f"decodes as {img.mode} {img.size}")
                # X is the pad byte of Pillow's 4-byte RGB pixels: masked off below.
                raw = img.tobytes("raw", "RGBX" if order == ORDER_COCO else "BGRX")
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
        raise PngBombError(str(err)) from err
    except PngDecodeError:
        raise
    except (OSError, SyntaxError, ValueError, zlib.error) as err:
        raise PngDecodeError(str(err)) from err
    return np.frombuffer(raw, "<u4").reshape(height, width) & _MASK
