"""The compiled kernels: built where a compiler is, chosen by $VPSBENCH_KERNELS, and equal to
NumPy's on the inputs real maps give (long runs, changes at any byte of a 64-byte block)."""

from __future__ import annotations

import shutil
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vpsbench import kernels
from vpsbench.metrics.consistency import ClipCounter
from vpsbench.metrics.core import PairRuns
from vpsbench.runlength import merge_sorted, pixel_run_starts, run_starts

needs_compiled = pytest.mark.skipif(kernels._kernels is None, reason="vpsbench._kernels not built")


def test_the_kernels_are_built_where_a_compiler_and_headers_are():
    """pip install builds them (setup.py, optional): a silent build failure would leave every
    user on the slower NumPy kernels, so where they could be built, they must be."""
    headers = Path(sysconfig.get_paths()["include"], "Python.h").exists()
    if shutil.which("cc") is None or not headers:
        pytest.skip("no C compiler or Python headers: the NumPy kernels are used")
    assert kernels._kernels is not None, "reinstall (pip install -e .) to build vpsbench._kernels"


def test_kernels_are_chosen_by_the_environment(monkeypatch):
    monkeypatch.setenv(kernels.KERNELS_ENV, "numpy")
    assert kernels.kernels_name() == "numpy" and kernels.compiled() is None
    monkeypatch.setenv(kernels.KERNELS_ENV, "fortran")
    with pytest.raises(ValueError, match="'fortran': choose auto, compiled or numpy"):
        kernels.kernels_name()
    monkeypatch.setattr(kernels, "_kernels", None)
    monkeypatch.setenv(kernels.KERNELS_ENV, "compiled")
    with pytest.raises(ValueError, match="was not built: reinstall"):
        kernels.kernels_name()
    monkeypatch.setenv(kernels.KERNELS_ENV, "auto")
    assert kernels.kernels_name() == "numpy" and kernels.compiled() is None


def both(function, *args):
    """``function(*args)`` with the NumPy kernels, then with the compiled ones."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(kernels.KERNELS_ENV, "numpy")
        slow = function(*args)
        patch.setenv(kernels.KERNELS_ENV, "compiled")
        fast = function(*args)
    return slow, fast


def runs_array(runs: list[tuple[int, int]], dtype) -> np.ndarray:
    return np.concatenate([np.full(n, v, dtype) for n, v in runs])


run_lists = st.lists(st.tuples(st.integers(1, 150), st.integers(0, 3)), min_size=1, max_size=20)


@needs_compiled
@given(run_lists, st.sampled_from([np.uint8, np.int16, np.int32, np.int64, np.uint32]))
def test_run_starts_of_one_array(runs, dtype):
    a = runs_array(runs, dtype)
    slow, fast = both(run_starts, a)
    assert fast.tolist() == slow.tolist() and fast.dtype == np.intp


@needs_compiled
@given(run_lists, run_lists)
def test_run_starts_of_two_arrays(runs, other_runs):
    """Two maps whose runs change at different places (the second cut to the first's size)."""
    a = runs_array(runs, np.int32)
    b = np.resize(runs_array(other_runs, np.int32), a.size)
    slow, fast = both(run_starts, a, b)
    assert fast.tolist() == slow.tolist()


@needs_compiled
@given(
    st.integers(1, 4).flatmap(
        lambda c: st.tuples(
            st.just(c),
            st.lists(
                st.tuples(
                    st.integers(1, 90), st.lists(st.integers(0, 255), min_size=c, max_size=c)
                ),
                min_size=1,
                max_size=15,
            ),
        )
    )
)
def test_pixel_run_starts(case):
    channels, runs = case
    pixels = np.concatenate([np.tile(np.array(v, np.uint8), (n, 1)) for n, v in runs])
    slow, fast = both(pixel_run_starts, pixels.reshape(1, -1, channels))
    assert fast.tolist() == slow.tolist()


@needs_compiled
def test_run_starts_of_values_the_kernel_must_not_compare_as_bytes():
    """Floats (-0.0 == 0.0 with other bytes) and mixed item sizes go to NumPy."""
    floats = np.array([0.0, -0.0, 1.0])
    assert [r.tolist() for r in both(run_starts, floats)] == [[0, 2]] * 2
    mixed = (np.array([1, 1, 2], np.int32), np.array([0, 5, 5], np.int64))
    assert [r.tolist() for r in both(run_starts, *mixed)] == [[0, 1, 2]] * 2


@needs_compiled
@given(st.lists(st.integers(0, 300), unique=True), st.lists(st.integers(0, 300), unique=True))
def test_merge_sorted(a, b):
    a, b = np.array(sorted(a), np.int64), np.array(sorted(b), np.int64)
    slow, fast = both(merge_sorted, a, b)
    for x, y in zip(slow, fast, strict=True):
        assert x.tolist() == y.tolist()


def clip_rows(frames, mode: str) -> dict:
    counter = ClipCounter((1, 2, 3), mode=mode, ignore_label=255)
    for starts, gt, pred in frames:
        counter.add_runs(starts, gt, pred, 40)
    return {n: rows.tolist() for n, rows in counter.counts().items()}


@needs_compiled
@given(
    st.lists(
        st.lists(st.tuples(st.integers(1, 8), st.sampled_from([0, 1, 255]), st.integers(0, 2))),
        min_size=1,
        max_size=5,
    ),
    st.sampled_from(["corrected", "vspw_official"]),
)
def test_clip_counter_steps(frame_runs, mode):
    frames = []
    for runs in frame_runs:
        lengths = [n for n, _, _ in runs] + [40]
        starts = np.cumsum([0, *lengths])[:-1]
        keep = starts < 40
        gt = np.array([g for _, g, _ in runs] + [1], np.int64)[keep]
        pred = np.array([p for _, _, p in runs] + [0], np.int64)[keep]
        frames.append((starts[keep], gt, pred))
    slow, fast = both(clip_rows, frames, mode)
    assert fast == slow


@needs_compiled
def test_kernels_refuse_buffers_that_do_not_match():
    compiled = kernels._kernels
    out = np.empty(2, np.int64)
    with pytest.raises(ValueError, match="buffer sizes do not match"):
        compiled.run_starts(np.zeros(24, np.uint8), None, 4, out)  # 6 elements, room for 2
    with pytest.raises(ValueError, match="buffer sizes do not match"):
        compiled.run_starts(np.zeros(8, np.uint8), np.zeros(4, np.uint8), 4, out)
    with pytest.raises(ValueError, match="buffer sizes do not match"):
        compiled.merge_sorted(np.zeros(2, np.int64), np.zeros(2, np.int64), out, out, out)
    one = np.ones(1, np.int64)
    segments = [np.empty(2, np.int64) for _ in range(5)]
    counts = [np.zeros(3, np.int64) for _ in range(2)]
    with pytest.raises(ValueError, match="runs must start at pixel 0"):
        compiled.clip_advance(*[np.zeros(0, np.int64)] * 5, one, one, one, 4, 2, True, 255,
                              *segments, *counts)  # fmt: skip


def histogram_of(runs) -> tuple[list, list, list]:
    h = runs.histogram()
    return h.gt.tolist(), h.pred.tolist(), h.count.tolist()


@needs_compiled
@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.sampled_from([-1, 0, 7, 2**33]), st.integers(0, 2)),
        min_size=1,
        max_size=40,
    )
)
def test_pair_histogram_of_runs(runs):
    """Repeated pairs anywhere in the frame, negative and beyond-32-bit values."""
    starts = np.cumsum([0] + [n for n, _, _ in runs])
    pair_runs = PairRuns(
        starts[:-1],
        np.array([g for _, g, _ in runs], np.int64),
        np.array([p for _, _, p in runs], np.int64),
        int(starts[-1]),
    )
    slow, fast = both(histogram_of, pair_runs)
    assert fast == slow


def test_pixel_run_starts_takes_uint8_pixels_only(each_kernels):
    with pytest.raises(TypeError, match="compares uint8 pixels, got uint16"):
        pixel_run_starts(np.zeros((2, 3, 3), np.uint16))
