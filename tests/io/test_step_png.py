"""STEP PNG decoding: packed values equal the documented R << 16 | G << 8 | B."""

import numpy as np
import pytest
from PIL import Image

from vpsbench.io.png import ORDER_COCO
from vpsbench.io.step_png import (
    StepPngError,
    pack_rgb,
    read_step_png,
    step_from_colour_ids,
    unpack_rgb,
)


def test_read_step_png_packs_like_pack_rgb(tmp_path):
    rng = np.random.default_rng(3)
    rgb = rng.integers(0, 256, (23, 41, 3), dtype=np.uint8)
    path = tmp_path / "000000.png"
    Image.fromarray(rgb, "RGB").save(path)
    packed = read_step_png(path, "000000.png", size=(23, 41))
    assert packed.dtype == np.int32
    np.testing.assert_array_equal(packed, pack_rgb(rgb))
    np.testing.assert_array_equal(unpack_rgb(packed), rgb)


def test_read_step_png_refuses_rgba_and_wrong_size(tmp_path):
    path = tmp_path / "a.png"
    Image.fromarray(np.zeros((4, 5, 4), np.uint8), "RGBA").save(path)
    with pytest.raises(StepPngError, match="8-bit RGBA PNG"):
        read_step_png(path, "a.png")
    Image.fromarray(np.zeros((4, 5, 3), np.uint8), "RGB").save(path)
    with pytest.raises(StepPngError, match="is 5x4, the GT frame is 6x4"):
        read_step_png(path, "a.png", size=(4, 6))


def test_colour_ids_become_the_packed_values_of_the_same_pixels(tmp_path):
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    rgb[0, :3] = [[255, 255, 255], [0, 0, 0], [1, 0, 255]]
    path = tmp_path / "000000.png"
    Image.fromarray(rgb, "RGB").save(path)
    ids = read_step_png(path, "0000/000000.png", order=ORDER_COCO)
    colour = rgb.astype(np.int64)
    np.testing.assert_array_equal(
        ids, colour[..., 0] + 256 * colour[..., 1] + 65536 * colour[..., 2]
    )
    np.testing.assert_array_equal(step_from_colour_ids(ids), pack_rgb(rgb))
    np.testing.assert_array_equal(read_step_png(path, "0000/000000.png"), pack_rgb(rgb))
