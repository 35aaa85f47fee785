"""Raster-order runs of label maps: the unit of most per-pixel work in vpsbench.

Label maps are piecewise constant, so lookups and counts done once per run (and expanded with
``np.repeat`` where a full map is needed) cost a fraction of the same work on every pixel.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from vpsbench import kernels


def run_starts(*arrays: np.ndarray) -> np.ndarray:
    """Flat indices where a run begins: position 0 and every position at which any of the
    (same-size, flattened) ``arrays`` differs from the position before."""
    flat = [np.asarray(a).ravel() for a in arrays]
    if flat[0].size == 0:
        return np.zeros(0, np.intp)
    compiled = kernels.compiled()
    if compiled is not None and len(flat) <= 2 and _byte_comparable(flat):
        return _compiled_run_starts(compiled, flat, flat[0].dtype.itemsize)
    change = np.empty(flat[0].size, bool)
    change[0] = True
    # Written in place (out=): temporaries and an OR pass would triple the time on 2 MP maps.
    np.not_equal(flat[0][1:], flat[0][:-1], out=change[1:])
    if len(flat) > 1:
        differs = np.empty(change.size - 1, bool)
        for f in flat[1:]:
            np.not_equal(f[1:], f[:-1], out=differs)
            np.logical_or(change[1:], differs, out=change[1:])
    return np.flatnonzero(change)


def continued_run_starts(arrays: tuple[np.ndarray, ...], before: tuple | None) -> np.ndarray:
    """``run_starts`` of pieces of flat arrays that continue earlier pieces whose last values
    were ``before`` (None: the first pieces): 0 is a start only if some value changes there."""
    starts = run_starts(*arrays)
    if (
        before is not None
        and len(starts)
        and all(a[0] == v for a, v in zip(arrays, before, strict=True))
    ):
        return starts[1:]
    return starts


def pixel_run_starts(pixels: np.ndarray) -> np.ndarray:
    """``run_starts`` of an (H, W, C) uint8 image's pixels (C bytes each, e.g. RGB), found by
    comparing bytes, so that the pixels need not be packed into words first."""
    channels = pixels.shape[-1]
    flat = np.ascontiguousarray(pixels).reshape(-1)
    if flat.dtype != np.uint8:
        raise TypeError(f"pixel_run_starts compares uint8 pixels, got {flat.dtype}")
    if flat.size == 0:
        return np.zeros(0, np.intp)
    compiled = kernels.compiled()
    if compiled is not None:
        return _compiled_run_starts(compiled, [flat], channels)
    # The pixel of each changed byte; a pixel with several changed bytes is listed once.
    changed = np.concatenate([[0], changed_bytes(flat, channels)]) // channels
    first = np.empty(len(changed), bool)
    first[0] = True
    np.not_equal(changed[1:], changed[:-1], out=first[1:])
    return changed[first]


def _byte_comparable(flat: list[np.ndarray]) -> bool:
    """Whether equal bytes mean equal values (integers) and the arrays' layouts match."""
    return (
        all(f.dtype.kind in "biu" for f in flat)
        and len({(f.size, f.dtype.itemsize) for f in flat}) == 1
    )


def _compiled_run_starts(compiled, flat: list[np.ndarray], itemsize: int) -> np.ndarray:
    """``run_starts`` of one or two flat arrays by the compiled kernel, their elements
    compared as ``itemsize`` bytes (a pixel of an RGB image: 3)."""
    data = [np.ascontiguousarray(f).view(np.uint8) for f in flat]
    out = np.empty(data[0].size // itemsize, np.int64)
    count = compiled.run_starts(data[0], data[1] if len(data) > 1 else None, itemsize, out)
    return out[:count].astype(np.intp)


def changed_bytes(flat: np.ndarray, lag: int) -> np.ndarray:
    """The sorted positions k >= ``lag`` of a flat uint8 array where ``flat[k]`` differs from
    ``flat[k - lag]``.

    Compared 8 bytes at a time, and only the few differing words byte by byte: listing the
    changes of a 6 MB RGB frame byte by byte took 1.6 ms, most of it ``flatnonzero`` over
    6 million flags; the words leave 750,000 (1.35 ms with the comparison, W1 frames).
    """
    if flat.dtype != np.uint8:
        raise TypeError(f"changed_bytes compares uint8 bytes, got {flat.dtype}")
    flat = np.ascontiguousarray(flat).reshape(-1)
    compared = max(flat.size - lag, 0)
    words = compared // 8
    now, before = flat[lag : lag + 8 * words], flat[: 8 * words]
    differ = np.flatnonzero(np.not_equal(now.view(np.uint64), before.view(np.uint64)))
    row, col = np.nonzero(now.reshape(words, 8)[differ] != before.reshape(words, 8)[differ])
    tail = np.flatnonzero(flat[lag + 8 * words :] != flat[8 * words : flat.size - lag])
    return np.concatenate([differ[row] * 8 + col, tail + 8 * words]) + lag


def merge_sorted(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sorted union of two sorted int arrays and, for each of its values v, the index of
    the last element <= v in ``a`` and in ``b`` (``searchsorted(x, v, "right") - 1``).

    Linear time: timsort merges the two runs, and the indices are counts of each array's
    elements so far (two binary searches per value took most of VC's time).
    """
    a, b = np.asarray(a), np.asarray(b)
    compiled = kernels.compiled()
    if compiled is not None and all(np.can_cast(x.dtype, np.int64) for x in (a, b)):
        a, b = np.ascontiguousarray(a, np.int64), np.ascontiguousarray(b, np.int64)
        merged, in_a, in_b = (np.empty(len(a) + len(b), np.int64) for _ in range(3))
        count = compiled.merge_sorted(a, b, merged, in_a, in_b)
        return merged[:count].copy(), in_a[:count].copy(), in_b[:count].copy()
    both = np.concatenate([a, b])
    order = np.argsort(both, kind="stable")
    merged = both[order]
    # The last element of each group of equal values stands for the group.
    last = np.empty(len(merged), bool)
    last[-1:] = True
    np.not_equal(merged[1:], merged[:-1], out=last[:-1])
    from_a = np.cumsum(order < len(a))
    positions = np.flatnonzero(last)
    in_a = from_a[positions]
    return merged[positions], in_a - 1, positions - in_a


@dataclass(frozen=True)
class RunMap:
    """A label map as its raster-order runs: the length and the value of each run.

    What the converters' decoders and the submission reader build: relabelling and checking
    the few run values is much cheaper than touching every pixel, and the scorer finds the
    runs of (GT, prediction) pairs by merging run starts instead of comparing pixels again.
    ``expand`` (or ``np.asarray``) makes the full map.
    """

    shape: tuple[int, int]
    lengths: np.ndarray
    values: np.ndarray

    @classmethod
    def from_starts(cls, shape: tuple[int, int], starts: np.ndarray, values: np.ndarray) -> RunMap:
        """The map whose runs begin at ``starts`` (sorted flat indices, from 0) with ``values``;
        the starts are kept, not recomputed from the lengths."""
        size = int(np.prod(shape))
        run_map = cls(tuple(shape), np.diff(starts, append=size), values)
        run_map.__dict__["starts"] = np.asarray(starts, np.intp)  # the cached property's slot
        return run_map

    @functools.cached_property
    def starts(self) -> np.ndarray:
        """The flat index of each run's first pixel."""
        return np.concatenate([[0], np.cumsum(self.lengths[:-1])]).astype(np.intp)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the expanded map."""
        return np.dtype(np.int32)

    def expand(self) -> np.ndarray:
        """The full int32 map."""
        return np.repeat(np.asarray(self.values, np.int32), self.lengths).reshape(self.shape)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        full = self.expand()
        return full if dtype is None else full.astype(dtype, copy=False)
