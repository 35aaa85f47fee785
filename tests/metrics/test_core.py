"""Pair histograms: every code path equals a brute-force count; sums equal stacking."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vpsbench.metrics.core import LabelSpace, PairHistogram, pair_histogram, sum_histograms

# Every test here runs with the compiled kernels and with NumPy's (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_kernels")


def brute_force(gt: np.ndarray, pred: np.ndarray) -> dict:
    pairs, counts = np.unique(
        np.stack([gt.ravel(), pred.ravel()], axis=1), axis=0, return_counts=True
    )
    return {(int(g), int(p)): int(c) for (g, p), c in zip(pairs, counts, strict=True)}


def as_dict(hist: PairHistogram) -> dict:
    return {
        (int(g), int(p)): int(c) for g, p, c in zip(hist.gt, hist.pred, hist.count, strict=True)
    }


def piecewise(rng, shape) -> np.ndarray:
    """Blocky label map (the run-length path)."""
    out = np.zeros(shape, np.int32)
    for _ in range(6):
        y, x = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        out[y : y + 20, x : x + 30] = rng.integers(0, 19) * 1000 + rng.integers(0, 4)
    return out


@pytest.mark.parametrize("seed", range(5))
def test_run_length_path_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    gt, pred = piecewise(rng, (64, 96)), piecewise(rng, (64, 96))
    hist = pair_histogram(gt, pred)
    assert as_dict(hist) == brute_force(gt, pred)
    assert np.all(np.diff(hist.gt) >= 0)  # sorted by gt, then pred


@pytest.mark.parametrize("values", [(0, 5), (0, 300_000), (-3, 4), (0, 1 << 40)])
def test_fragmented_maps_take_the_pixel_paths(values):
    rng = np.random.default_rng(1)
    gt = rng.integers(*values, size=(16, 16), dtype=np.int64)
    pred = rng.integers(*values, size=(16, 16), dtype=np.int64)
    assert as_dict(pair_histogram(gt, pred)) == brute_force(gt, pred)


def test_empty_and_shape_mismatch():
    assert len(pair_histogram(np.zeros((0, 3)), np.zeros((0, 3)))) == 0
    with pytest.raises(ValueError, match="prediction map"):
        pair_histogram(np.zeros((2, 3)), np.zeros((3, 2)))


def test_sum_of_frames_equals_histogram_of_stack():
    rng = np.random.default_rng(2)
    frames = [(piecewise(rng, (32, 32)), piecewise(rng, (32, 32))) for _ in range(3)]
    summed = sum_histograms([pair_histogram(g, p) for g, p in frames])
    stacked = brute_force(np.stack([g for g, _ in frames]), np.stack([p for _, p in frames]))
    assert as_dict(summed) == stacked


@given(
    st.lists(st.integers(0, 300), min_size=1, max_size=12, unique=True),
    st.data(),
    st.sampled_from([256, 1000, 10000]),
)
def test_label_space_lookups_are_membership_and_position(category_ids, data, divisor):
    things = frozenset(data.draw(st.lists(st.sampled_from(category_ids), max_size=5)))
    space = LabelSpace(divisor, 255, tuple(category_ids), things)
    values = np.array(data.draw(st.lists(st.integers(-3 * divisor, 400 * divisor), max_size=30)),
                      np.int64)  # fmt: skip
    cats = np.floor_divide(values, divisor)
    expected_thing = [int(c) in things for c in cats]
    expected_index = [category_ids.index(int(c)) if int(c) in category_ids else -1 for c in cats]
    assert space.is_thing(values).tolist() == expected_thing
    assert space.category_index(values).tolist() == expected_index
    assert space.is_crowd(values).tolist() == [
        t and v % divisor == 0 for t, v in zip(expected_thing, values.tolist(), strict=True)
    ]
