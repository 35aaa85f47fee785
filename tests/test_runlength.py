"""Runs of label maps: the starts every per-run computation relies on."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vpsbench.runlength import run_starts


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
