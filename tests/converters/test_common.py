"""The converters' shared PNG readers and the exporters' staged output directory."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vpsbench.io import png
from vpsbench_converters.common import (
    ConversionError,
    decode_grey_fast,
    read_png,
    read_rgb_id_runs,
    read_rgb_ids,
    runs,
    staged_directory,
)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_read_rgb_ids_is_r_plus_256g_plus_65536b(tmp_path, mode):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (37, 53, len(mode)), dtype=np.uint8)
    path = tmp_path / "ids.png"
    Image.fromarray(pixels, mode).save(path)
    rgb = pixels[..., :3].astype(np.uint32)
    expected = rgb[..., 0] + 256 * rgb[..., 1] + 65536 * rgb[..., 2]
    ids = read_rgb_ids(path)
    assert ids.dtype == np.uint32 and ids.shape == (37, 53)
    np.testing.assert_array_equal(ids, expected)


@pytest.mark.parametrize("decoder", png.DECODERS)
@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_read_rgb_id_runs_are_the_runs_of_read_rgb_ids(tmp_path, monkeypatch, mode, decoder):
    monkeypatch.setenv(png.DECODER_ENV, decoder)
    rng = np.random.default_rng(1)
    pixels = np.repeat(rng.integers(0, 256, (20, 9, len(mode)), dtype=np.uint8), 5, axis=1)
    pixels[3:7] = pixels[2]  # long runs across rows, and runs differing in one channel
    pixels[8, 10:20, 1] ^= 1
    path = tmp_path / "ids.png"
    Image.fromarray(pixels, mode).save(path)
    shape, lengths, ids = read_rgb_id_runs(path, (20, 45))
    want_lengths, (want_ids,) = runs(read_rgb_ids(path))
    assert shape == (20, 45)
    np.testing.assert_array_equal(lengths, want_lengths)
    np.testing.assert_array_equal(ids, want_ids)
    assert ids.dtype == np.uint32
    with pytest.raises(ConversionError, match="other frames of this video are 46x20"):
        read_rgb_id_runs(path, (20, 46))


def test_read_rgb_ids_refuses_other_modes_and_truncated_files(tmp_path):
    grey = tmp_path / "grey.png"
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(grey)
    with pytest.raises(ConversionError, match="mode L; expected RGB"):
        read_rgb_ids(grey)
    whole = tmp_path / "whole.png"
    Image.fromarray(np.arange(300 * 3, dtype=np.uint8).reshape(10, 30, 3) * 7).save(whole)
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole.read_bytes()[:-40])
    with pytest.raises(ConversionError, match="cannot be decoded"):
        read_rgb_ids(cut)
    with pytest.raises(ConversionError, match="cannot be decoded"):
        read_rgb_id_runs(cut)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_read_rgb_ids_refuses_another_size_on_either_path(tmp_path, mode):
    # 8-bit RGB takes the one-read libspng path (size from the IHDR), RGBA Pillow's.
    path = tmp_path / "ids.png"
    Image.fromarray(np.zeros((6, 9, len(mode)), np.uint8), mode).save(path)
    assert read_rgb_ids(path, (6, 9)).shape == (6, 9)
    with pytest.raises(ConversionError, match="is 9x6, other frames of this video are 8x6"):
        read_rgb_ids(path, (6, 8))


def test_png_header_size_reads_the_ihdr(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(np.zeros((7, 300, 3), np.uint8)).save(path)
    assert png.header_size(path.read_bytes()[:24]) == (7, 300)
    assert png.header_size(b"GIF89a" + bytes(18)) is None


def write_grey(path, pixels, transparency=None):
    """A greyscale PNG of ``pixels`` (uint8 -> 8-bit, uint16 -> 16-bit), optionally with tRNS."""
    image = Image.fromarray(pixels)
    if pixels.dtype == np.uint16:
        image = Image.frombytes("I;16", pixels.shape[::-1], pixels.astype("<u2").tobytes())
    extra = {} if transparency is None else {"transparency": transparency}
    image.save(path, **extra)
    return path


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("transparency", [None, 3])
def test_read_png_gives_pillows_array_with_either_decoder(tmp_path, monkeypatch, dtype,
                                                          transparency):  # fmt: skip
    rng = np.random.default_rng(1)
    high = 256 if dtype == np.uint8 else 65536
    pixels = rng.integers(0, high, (29, 41)).astype(dtype)
    path = write_grey(tmp_path / "grey.png", pixels, transparency)
    with Image.open(path) as img:
        expected = np.asarray(img)
    modes = ("L", "I;16", "I;16B", "I")
    for decoder in ("pyspng", "pillow"):
        monkeypatch.setenv("VPSBENCH_PNG_DECODER", decoder)
        got = read_png(path, modes)
        assert got.dtype == expected.dtype, decoder
        if decoder == "pyspng":  # the fast path itself, not a fallback to Pillow
            assert decode_grey_fast(path, Image.open(path).mode, pixels.shape) is not None
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("decoder", ["pyspng", "pillow"])
def test_readers_refuse_truncated_files_with_either_decoder(tmp_path, monkeypatch, decoder):
    monkeypatch.setenv("VPSBENCH_PNG_DECODER", decoder)
    rng = np.random.default_rng(2)
    grey = write_grey(tmp_path / "grey.png", rng.integers(0, 65536, (40, 50)).astype(np.uint16))
    rgb = tmp_path / "rgb.png"
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(rgb)
    for path, read in ((grey, lambda p: read_png(p, ("I;16",))), (rgb, read_rgb_ids)):
        cut = tmp_path / f"cut-{path.name}"
        cut.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
        with pytest.raises(ConversionError, match="cannot be decoded"):
            read(cut)


def test_read_rgb_ids_is_the_same_with_either_decoder(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    path = tmp_path / "ids.png"
    Image.fromarray(rng.integers(0, 256, (23, 31, 3), dtype=np.uint8)).save(path)
    results = []
    for decoder in ("pyspng", "pillow"):
        monkeypatch.setenv("VPSBENCH_PNG_DECODER", decoder)
        results.append(read_rgb_ids(path))
    assert results[0].dtype == results[1].dtype == np.uint32
    np.testing.assert_array_equal(*results)


def hidden_leftovers(parent):
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_staged_directory_refuses_a_non_empty_output_and_leaves_it(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(ConversionError, match=r"out exists and is not an empty directory.*--force"):
        with staged_directory(out):
            pass
    assert (out / "mine.txt").read_text() == "keep" and hidden_leftovers(tmp_path) == []


def test_staged_directory_fills_a_new_or_empty_output(tmp_path):
    for out in (tmp_path / "new" / "out", tmp_path / "empty"):
        if out.name == "empty":
            out.mkdir()
        with staged_directory(out) as stage:
            assert stage != out and not (out / "a.txt").exists()  # not visible until done
            (stage / "a.txt").write_text("a")
        assert [p.name for p in out.iterdir()] == ["a.txt"]
        assert hidden_leftovers(out.parent) == []


def test_staged_directory_with_overwrite_replaces_the_output_whole(tmp_path):
    out = tmp_path / "out"
    (out / "pan_pred").mkdir(parents=True)
    (out / "pan_pred" / "stale.png").write_bytes(b"old")
    with staged_directory(out, overwrite=True) as stage:
        (stage / "pred.json").write_text("{}")
    assert sorted(p.name for p in out.iterdir()) == ["pred.json"]  # no stale file kept
    assert hidden_leftovers(tmp_path) == []


@pytest.mark.parametrize("overwrite", [False, True])
def test_a_failed_export_leaves_the_previous_output_and_no_partial_files(tmp_path, overwrite):
    out = tmp_path / "out"
    if overwrite:
        out.mkdir()
        (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError, match="disk full"):
        with staged_directory(out, overwrite=overwrite) as stage:
            (stage / "half.png").write_bytes(b"half")
            raise RuntimeError("disk full")
    assert hidden_leftovers(tmp_path) == []
    if overwrite:
        assert [p.name for p in out.iterdir()] == ["old.txt"]
    else:
        assert not out.exists()


def test_staged_directory_into_the_working_directory_keeps_it(tmp_path, monkeypatch):
    """`export ... .` from an empty folder: the folder itself stays (the shell is in it)."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    for overwrite in (False, True):
        with staged_directory(Path("."), overwrite=overwrite) as stage:
            (stage / f"new{int(overwrite)}.txt").write_text("x")
        assert Path.cwd().samefile(here)
        assert [p.name for p in Path(".").iterdir()] == [f"new{int(overwrite)}.txt"]
    assert hidden_leftovers(tmp_path) == []
