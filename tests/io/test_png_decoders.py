"""pyspng and Pillow decode every PNG the contracts accept to identical packed maps.

The submission contract and the STEP contract (docs/METRICS.md) accept one pixel format,
8-bit RGB (IHDR colour type 2, bit depth 8), in every form the PNG specification allows: each
of the five row filters, Adam7 interlacing, the image data split over several IDAT chunks, any
compression level, ancillary chunks (gAMA, sRGB, tRNS, a suggested PLTE, text) and any size.
Each form is written here byte by byte and decoded by both decoders, in both pixel orders
(COCO ``R + 256 G + 65536 B`` and STEP ``R << 16 | G << 8 | B``); both must equal the packing
of the written array, through ``read_id_png`` and ``read_step_png`` too. Broken files must be
refused by both.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vpsbench.io import png as png_module
from vpsbench.io.png import (
    DECODER_ENV,
    ORDER_COCO,
    ORDER_STEP,
    PngDecodeError,
    decode_packed,
    decode_packed_runs,
    decoder_name,
)
from vpsbench.io.step_png import pack_rgb, read_step_png
from vpsbench.io.submission import SubmissionError, read_id_png, read_id_png_runs, rgb_to_id

pytest.importorskip("pyspng")
DECODER_NAMES = ("pyspng", "pillow")


# --- writing PNGs byte by byte ------------------------------------------------------------


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filtered_rows(rgb: np.ndarray, filters: list[int]) -> bytes:
    """The scanlines of an (H, W, 3) uint8 image, row y filtered with ``filters[y % len]``."""
    out = bytearray()
    height, width = rgb.shape[:2]
    previous = [0] * (3 * width)
    for y in range(height):
        raw = [int(v) for v in rgb[y].reshape(-1)]
        kind = filters[y % len(filters)]
        line = []
        for x, value in enumerate(raw):
            a = raw[x - 3] if x >= 3 else 0
            b = previous[x]
            c = previous[x - 3] if x >= 3 else 0
            predictor = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
            line.append((value - predictor) % 256)
        out.append(kind)
        out.extend(line)
        previous = raw
    return bytes(out)


ADAM7 = [
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
]  # fmt: skip  (x0, y0, dx, dy) of the seven passes


def png_file(
    rgb: np.ndarray,
    filters: tuple[int, ...] = (0,),
    interlaced: bool = False,
    level: int = 6,
    idat_parts: int = 1,
    before: tuple[bytes, ...] = (),
) -> bytes:
    """An 8-bit RGB PNG of ``rgb``: row filters, Adam7, zlib level, IDAT split, extra chunks."""
    height, width = rgb.shape[:2]
    if interlaced:
        data = b""
        for x0, y0, dx, dy in ADAM7:
            sub = rgb[y0::dy, x0::dx]
            if sub.size:  # an empty pass has no scanlines at all
                data += filtered_rows(sub, list(filters))
    else:
        data = filtered_rows(rgb, list(filters))
    stream = zlib.compress(data, level)
    step = -(-len(stream) // idat_parts)
    idats = [stream[i : i + step] for i in range(0, len(stream), step)] or [b""]
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, int(interlaced))
    body = chunk(b"IHDR", header) + b"".join(before)
    body += b"".join(chunk(b"IDAT", part) for part in idats) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Random colours with some flat regions, as id maps have."""
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    rgb[: height // 2, : width // 2] = (255, 255, 255)
    rgb[height // 2 :, width // 2 :] = (0, 0, 0)
    return rgb


PALETTE = chunk(b"PLTE", bytes(range(48)))  # a suggested palette, allowed in RGB PNGs
FORMS = {
    "filter-none": {"filters": (0,)},
    "filter-sub": {"filters": (1,)},
    "filter-up": {"filters": (2,)},
    "filter-average": {"filters": (3,)},
    "filter-paeth": {"filters": (4,)},
    "filters-mixed": {"filters": (0, 1, 2, 3, 4)},
    "adam7": {"interlaced": True, "filters": (0, 4, 1)},
    "level-0": {"level": 0},
    "level-9": {"level": 9, "filters": (4,)},
    "idat-split": {"idat_parts": 5, "filters": (2,)},
    "ancillary": {
        "before": (
            chunk(b"gAMA", struct.pack(">I", 45455)),
            chunk(b"sRGB", b"\0"),
            PALETTE,
            chunk(b"tRNS", b"\0\0\0\0\0\0"),  # black transparent: must not change ids
            chunk(b"tEXt", b"Software\0test"),
            chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1)),
        )
    },
}
SIZES = [(1, 1), (7, 5), (13, 37)]


@pytest.fixture(params=DECODER_NAMES)
def decoder(request, monkeypatch) -> str:
    monkeypatch.setenv(DECODER_ENV, request.param)
    assert decoder_name() == request.param
    return request.param


def decode_both(path: Path, height: int, width: int, order: str, monkeypatch) -> list:
    """``decode_packed`` with each decoder; ``decode_packed_runs`` checked to give its runs."""
    out = []
    for name in DECODER_NAMES:
        monkeypatch.setenv(DECODER_ENV, name)
        packed = decode_packed(path, height, width, order)
        starts, values = decode_packed_runs(path, height, width, order)
        flat = packed.ravel()
        np.testing.assert_array_equal(starts, np.flatnonzero(np.diff(flat, prepend=-1)))
        np.testing.assert_array_equal(values, flat[starts])
        assert values.dtype == np.uint32
        out.append(packed)
    return out


@pytest.mark.parametrize("size", SIZES, ids=[f"{h}x{w}" for h, w in SIZES])
@pytest.mark.parametrize("form", sorted(FORMS))
def test_both_decoders_give_the_packed_pixels(tmp_path, monkeypatch, form, size):
    height, width = size
    rgb = image(height, width, seed=height * width)
    path = tmp_path / "frame.png"
    path.write_bytes(png_file(rgb, **FORMS[form]))
    with Image.open(path) as img:  # the crafted file is a valid PNG of that image
        np.testing.assert_array_equal(np.asarray(img.convert("RGB")), rgb)
    expected = {ORDER_COCO: rgb_to_id(rgb), ORDER_STEP: pack_rgb(rgb).astype(np.uint32)}
    for order, want in expected.items():
        spng, pillow = decode_both(path, height, width, order, monkeypatch)
        for got in (spng, pillow):
            assert got.dtype == np.uint32 and got.shape == (height, width)
            np.testing.assert_array_equal(got, want)


def test_pillow_written_frames_decode_the_same(tmp_path, monkeypatch):
    """Files as Pillow (and so the exporters and most users) write them, at a real size."""
    rgb = image(256, 512, seed=5)
    for level in (0, 1, 6, 9):
        path = tmp_path / f"l{level}.png"
        Image.fromarray(rgb).save(path, compress_level=level)
        spng, pillow = decode_both(path, 256, 512, ORDER_COCO, monkeypatch)
        np.testing.assert_array_equal(spng, rgb_to_id(rgb))
        np.testing.assert_array_equal(pillow, rgb_to_id(rgb))


def test_readers_give_the_same_maps_with_either_decoder(tmp_path, decoder):
    rgb = image(13, 37, seed=1)
    path = tmp_path / "0001_0002.png"
    path.write_bytes(png_file(rgb, filters=(0, 1, 2, 3, 4), interlaced=True))
    ids = read_id_png(path, 13, 37)
    np.testing.assert_array_equal(ids, rgb_to_id(rgb))
    packed = read_step_png(path, "a.png", size=(13, 37))
    assert packed.dtype == np.int32
    np.testing.assert_array_equal(packed, pack_rgb(rgb))


def broken_files() -> dict[str, bytes]:
    rgb = image(7, 5)
    good = png_file(rgb, filters=(4,), level=0)
    idat = good.index(b"IDAT") - 4
    gamma = chunk(b"gAMA", struct.pack(">I", 45455))
    bad_gamma = gamma[:-4] + bytes(4)
    return {
        "truncated-in-idat": good[: idat + 30],
        "no-idat": good[:idat] + chunk(b"IEND", b""),
        "short-image-data": png_file(rgb[:3]).replace(
            struct.pack(">II", 5, 3), struct.pack(">II", 5, 7)
        ),
        "bad-crc-before-idat": png_file(rgb, before=(bad_gamma,)),
        "short-adam7-data": png_file(rgb[:3], interlaced=True).replace(
            struct.pack(">II", 5, 3), struct.pack(">II", 5, 7)
        ),
        "corrupt-deflate": good[: idat + 8] + bytes(40) + good[idat + 48 :],
    }


def fix_ihdr_crc(data: bytes) -> bytes:
    """Recompute the IHDR CRC (the header check runs before decoding and would refuse first)."""
    body = data[12:29]
    return data[:29] + struct.pack(">I", zlib.crc32(body)) + data[33:]


@pytest.mark.parametrize("kind", sorted(broken_files()))
def test_broken_files_are_refused_by_both(tmp_path, decoder, kind):
    path = tmp_path / "0001_0002.png"
    path.write_bytes(fix_ihdr_crc(broken_files()[kind]))
    with pytest.raises(PngDecodeError):
        decode_packed(path, 7, 5)
    with pytest.raises(PngDecodeError):
        decode_packed_runs(path, 7, 5)
    for read in (read_id_png, read_id_png_runs):
        with pytest.raises(SubmissionError, match="cannot be decoded as PNG"):
            read(path, 7, 5)


def test_files_libspng_refuses_but_pillow_reads_decode_the_same(tmp_path, monkeypatch):
    """Chunks out of the specification's order: Pillow decides (the same maps either way)."""
    rgb = image(7, 5, seed=2)
    tail = chunk(b"tRNS", b"\0\0\0\0\0\0") + PALETTE  # tRNS must follow PLTE
    path = tmp_path / "0001_0002.png"
    path.write_bytes(png_file(rgb, before=(tail,)))
    with pytest.raises(RuntimeError):
        __import__("pyspng").load(path.read_bytes(), "RGBA")
    for got in decode_both(path, 7, 5, ORDER_COCO, monkeypatch):
        np.testing.assert_array_equal(got, rgb_to_id(rgb))


def test_image_data_beyond_the_last_row_is_ignored_by_both(tmp_path, monkeypatch):
    rgb = image(7, 5, seed=4)
    longer = png_file(np.concatenate([rgb, rgb]))  # 14 rows of data, 7 declared
    path = tmp_path / "0001_0002.png"
    path.write_bytes(
        fix_ihdr_crc(longer.replace(struct.pack(">II", 5, 14), struct.pack(">II", 5, 7)))
    )
    for got in decode_both(path, 7, 5, ORDER_COCO, monkeypatch):
        np.testing.assert_array_equal(got, rgb_to_id(rgb))


def test_decoder_choice(monkeypatch):
    monkeypatch.setenv(DECODER_ENV, "auto")
    assert decoder_name() == "pyspng"
    assert decoder_name("pillow") == "pillow"
    with pytest.raises(ValueError, match="choose auto, pyspng or pillow"):
        decoder_name("libpng")
    monkeypatch.setattr(png_module, "pyspng", None)
    assert decoder_name("auto") == "pillow"  # the fallback without pyspng
    with pytest.raises(ValueError, match="pyspng is not installed"):
        decoder_name("pyspng")
