"""VC clip counts from raster runs (``ClipCounter.add_runs``) equal the per-pixel counts, and
the pair histogram from ``PairRuns`` equals the one counted from pixels."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpsbench.metrics.consistency import VC_MODES, ClipCounter
from vpsbench.metrics.core import _histogram_of_pixels, histogram_and_runs, pair_runs
from vpsbench.runlength import RunMap, merge_sorted

# Every test here runs with the compiled kernels and with NumPy's (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_kernels")


def blocky(rng: np.random.Generator, height: int, width: int, labels: int) -> np.ndarray:
    """A piecewise-constant map: a few rectangles of random labels (void 255 among them)."""
    out = np.full((height, width), rng.integers(0, labels), np.int32)
    for _ in range(rng.integers(0, 6)):
        y, x = rng.integers(0, height), rng.integers(0, width)
        h, w = rng.integers(1, height + 1), rng.integers(1, width + 1)
        out[y : y + h, x : x + w] = rng.choice([*range(labels), 255])
    return out


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    frames=st.integers(1, 9),
    mode=st.sampled_from(VC_MODES),
    mix=st.sampled_from(["runs", "pixels", "mixed"]),
)
def test_runs_give_the_pixel_counts(seed, frames, mode, mix):
    rng = np.random.default_rng(seed)
    height, width = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    ns = (1, 2, 3, 5)
    pixels = ClipCounter(ns, mode)
    runs = ClipCounter(ns, mode)
    gt = pred = blocky(rng, height, width, 4)
    for _ in range(frames):
        # Labels often persist (long runs, clips with stable pixels), sometimes change.
        if rng.random() < 0.5:
            gt = blocky(rng, height, width, 4)
        if rng.random() < 0.5:
            pred = gt.copy() if rng.random() < 0.5 else blocky(rng, height, width, 4)
        pixels.add(gt, pred)
        if mix == "pixels" or (mix == "mixed" and rng.random() < 0.4):
            runs.add(gt, pred)
            continue
        change = np.ones(gt.size, bool)
        change[1:] = (gt.ravel()[1:] != gt.ravel()[:-1]) | (pred.ravel()[1:] != pred.ravel()[:-1])
        if mix == "mixed" and rng.random() < 0.5:  # a finer partition than needed: same counts
            change |= rng.random(gt.size) < 0.3
        starts = np.flatnonzero(change)
        runs.add_runs(starts, gt.ravel()[starts], pred.ravel()[starts], gt.size)
    for n in ns:
        np.testing.assert_array_equal(runs.rows(n), pixels.rows(n))


def test_add_panoptic_uses_the_pair_runs():
    rng = np.random.default_rng(0)
    gts = [blocky(rng, 20, 30, 3) * 1000 + 1 for _ in range(5)]
    preds = [np.roll(g, t, axis=1) for t, g in enumerate(gts)]
    by_runs, by_maps = ClipCounter((2, 4)), ClipCounter((2, 4))
    for gt, pred in zip(gts, preds, strict=True):
        runs = pair_runs(gt, pred)
        assert runs is not None
        by_runs.add_panoptic(gt, pred, 1000, runs)
        by_maps.add_panoptic(gt, pred, 1000)
    for n in (2, 4):
        np.testing.assert_array_equal(by_runs.rows(n), by_maps.rows(n))


def test_histogram_of_runs_equals_histogram_of_pixels():
    rng = np.random.default_rng(1)
    gt = blocky(rng, 40, 50, 5) * 1000 + rng.integers(0, 3)
    pred = np.roll(gt, 3, axis=0)
    hist, runs = histogram_and_runs(gt, pred)
    assert runs is not None and len(runs) < gt.size
    want = _histogram_of_pixels(gt.ravel(), pred.ravel())
    for key in ("gt", "pred", "count"):
        np.testing.assert_array_equal(getattr(hist, key), getattr(want, key))
    noise = rng.integers(0, 1000, (30, 30)).astype(np.int32)
    assert histogram_and_runs(noise, noise)[1] is None  # too fragmented: counted per pixel


@settings(max_examples=200, deadline=None)
@given(
    a=st.sets(st.integers(0, 60), min_size=1, max_size=25),
    b=st.sets(st.integers(0, 60), min_size=1, max_size=25),
)
def test_merge_sorted_is_the_union_and_the_binary_searches(a, b):
    a, b = np.array(sorted(a), np.int64), np.array(sorted(b), np.int64)
    merged, in_a, in_b = merge_sorted(a, b)
    np.testing.assert_array_equal(merged, np.union1d(a, b))
    np.testing.assert_array_equal(in_a, np.searchsorted(a, merged, "right") - 1)
    np.testing.assert_array_equal(in_b, np.searchsorted(b, merged, "right") - 1)


def as_run_map(label_map: np.ndarray) -> RunMap:
    """A map as its raster-order runs, as the submission reader gives a prediction."""
    flat = label_map.ravel()
    starts = np.flatnonzero(np.diff(flat, prepend=flat[0] - 1))
    return RunMap(label_map.shape, np.diff(starts, append=flat.size), flat[starts])


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), fragmented=st.booleans())
def test_a_prediction_given_as_runs_gives_the_same_pair_runs_and_histogram(seed, fragmented):
    rng = np.random.default_rng(seed)
    height, width = int(rng.integers(1, 12)), int(rng.integers(1, 12))
    gt = blocky(rng, height, width, 4)
    pred = rng.integers(0, 3, (height, width)) if fragmented else blocky(rng, height, width, 4)
    run_map = as_run_map(pred.astype(np.int32))
    np.testing.assert_array_equal(np.asarray(run_map), pred)
    expected, expected_runs = histogram_and_runs(gt, pred)
    got, got_runs = histogram_and_runs(gt, run_map)
    for name in ("gt", "pred", "count"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))
    assert (got_runs is None) == (expected_runs is None)
    if got_runs is not None:
        for name in ("starts", "gt", "pred"):
            np.testing.assert_array_equal(getattr(got_runs, name), getattr(expected_runs, name))
