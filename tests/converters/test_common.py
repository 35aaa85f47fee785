"""The converters' shared PNG readers."""

import numpy as np
import pytest
from PIL import Image

from vpsbench_converters.common import ConversionError, read_rgb_ids


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
