"""Runs of label maps: the starts every per-run computation relies on."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vpsbench.runlength import RunMap, changed_bytes, pixel_run_starts, run_starts

# Every test here runs with the compiled kernels and with NumPy's (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_kernels")


def literal_starts(*arrays):
    """Position by position: a run starts where any array differs from the pixel before."""
    flat = [a.ravel().tolist() for a in arrays]
    return [i for i in range(len(flat[0])) if i == 0 or any(f[i] != f[i - 1] for f in flat)]


@given(st.integers(1, 3).flatmap(lambda k: st.lists(
    arrays(np.int32, (5, 7), elements=st.integers(0, 2)), min_size=k, max_size=k)))  # fmt: skip
def test_run_starts_is_every_change_of_any_array(maps):
    assert run_starts(*maps).tolist() == literal_starts(*maps)


def test_run_starts_of_constant_and_empty_maps():
    assert run_starts(np.zeros((3, 4), np.int64)).tolist() == [0]
    assert run_starts(np.zeros(0, np.int32)).tolist() == []
    assert run_starts(np.array([1, 1, 2, 2, 1])).tolist() == [0, 2, 4]
    assert run_starts(np.array([1, 1, 1]), np.array([0, 5, 5])).tolist() == [0, 1]


def literal_pixel_starts(pixels):
    """Pixel by pixel: a run starts where a pixel's bytes differ from the pixel before."""
    rows = [tuple(p) for p in pixels.reshape(-1, pixels.shape[-1]).tolist()]
    return [i for i in range(len(rows)) if i == 0 or rows[i] != rows[i - 1]]


@given(st.integers(1, 4).flatmap(lambda c: arrays(np.uint8, st.tuples(
    st.integers(1, 5), st.integers(1, 7), st.just(c)), elements=st.integers(0, 2))))  # fmt: skip
def test_pixel_run_starts_is_every_change_of_any_byte(pixels):
    assert pixel_run_starts(pixels).tolist() == literal_pixel_starts(pixels)


def test_pixel_run_starts_lists_a_pixel_once_whatever_bytes_change():
    rgb = np.array([[[1, 2, 3], [1, 2, 3], [9, 9, 9], [9, 8, 9], [9, 8, 9], [0, 8, 9]]], np.uint8)
    assert pixel_run_starts(rgb).tolist() == [0, 2, 3, 5]
    assert pixel_run_starts(np.zeros((0, 4, 3), np.uint8)).tolist() == []
    # A change inside a pixel's bytes (R to G of the same pixel) is not a run start.
    assert pixel_run_starts(np.array([[[5, 6, 7]] * 3], np.uint8)).tolist() == [0]


@given(st.integers(1, 4).flatmap(lambda c: st.tuples(st.just(c), st.lists(
    st.tuples(st.integers(1, 40), st.lists(st.integers(0, 255), min_size=c, max_size=c)),
    min_size=1, max_size=12))))  # fmt: skip
def test_pixel_run_starts_of_long_runs(runs):
    """Runs spanning many 8-byte words (what real maps are), changes at any byte of a word."""
    channels, pieces = runs
    pixels = np.concatenate([np.tile(np.array(v, np.uint8), (n, 1)) for n, v in pieces])
    image = pixels.reshape(1, -1, channels)
    assert pixel_run_starts(image).tolist() == literal_pixel_starts(image)


def test_changed_bytes_is_every_byte_that_differs_from_the_one_lag_before():
    flat = np.array([1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 7], np.uint8)
    assert changed_bytes(flat, 3).tolist() == [3, 6, 19]
    assert changed_bytes(flat[:2], 3).tolist() == []
    assert changed_bytes(flat, 1).tolist() == [3, 4, 19]
    assert changed_bytes(np.stack([flat, flat], axis=1)[:, 0], 3).tolist() == [3, 6, 19]
    with pytest.raises(TypeError, match="uint8"):
        changed_bytes(flat.astype(np.int32), 3)


def test_run_map_from_starts_keeps_them_and_expands_the_same():
    starts = np.array([0, 3, 4, 9])
    run_map = RunMap.from_starts((2, 5), starts, np.array([7, 8, 7, 1]))
    assert run_map.lengths.tolist() == [3, 1, 5, 1]
    assert run_map.starts.tolist() == [0, 3, 4, 9]
    assert run_map.expand().tolist() == [[7, 7, 7, 8, 7], [7, 7, 7, 7, 1]]
    again = RunMap((2, 5), run_map.lengths, run_map.values)
    assert again.starts.tolist() == run_map.starts.tolist()
