"""Which predicted panoptic values form one tube: the official Cityscapes-VPS identity rule.

The official scorer (mcahny/vps ``tools/eval_vpq.py``) identifies a prediction tube by its PNG
colour id alone: within a window, all pixels carrying one id are one tube, and the tube's
category is the one the id has in the *first frame of the window in which it appears*; later
frames only add area. A unified map stores ``category * divisor + instance``, so an id whose
category changes between frames becomes two values. A ``TubeIdentity`` tells the VPQ window
step which values are one tube, and ``window_histogram`` relabels each tube with the value of
its first appearance before the frames are stacked. Without an identity, a value is a tube.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vpsbench.metrics.core import PairHistogram, sum_histograms

# The tube key of "no segment": below every real key (colour ids and values are >= 0).
NO_TUBE = -1


@dataclass(frozen=True)
class TubeTable:
    """Explicit identity: predicted value ``values[i]`` belongs to tube ``keys[i]``.

    Used for official submissions, where the key is the segment's colour id. ``values`` is
    sorted; the void value is not listed (it is never a tube).
    """

    values: np.ndarray
    keys: np.ndarray
    void: int

    @classmethod
    def from_mapping(cls, value_to_key: dict[int, int], void: int) -> TubeTable:
        """Build from {panoptic value: tube key}."""
        values = np.array(sorted(value_to_key), np.int64)
        keys = np.array([value_to_key[int(v)] for v in values], np.int64)
        return cls(values, keys, int(void))

    def keys_of(self, values: np.ndarray) -> np.ndarray:
        """The tube key of each value (``NO_TUBE`` for void); unknown values are an error."""
        values = np.asarray(values, np.int64)
        pos = np.clip(np.searchsorted(self.values, values), 0, max(len(self.values) - 1, 0))
        known = (self.values[pos] == values) if len(self.values) else np.zeros(values.shape, bool)
        is_void = values == self.void
        if not np.all(known | is_void):
            raise ValueError(f"values {values[~(known | is_void)][:5].tolist()} have no tube")
        return np.where(is_void, NO_TUBE, self.keys[pos] if len(self.keys) else NO_TUBE)


@dataclass(frozen=True)
class InstanceTubes:
    """Rule of prediction files with ``tube_identity = "instance"``: an instance id > 0 is a tube
    over all categories of its video; a value with instance 0 is a tube of its own."""

    label_divisor: int
    void: int

    def keys_of(self, values: np.ndarray) -> np.ndarray:
        """Instance id where it is > 0, else the value itself (shifted past every instance id)."""
        values = np.asarray(values, np.int64)
        instance = values % self.label_divisor
        keys = np.where(instance > 0, instance, self.label_divisor + values)
        return np.where(values == self.void, NO_TUBE, keys)


TubeIdentity = TubeTable | InstanceTubes


def conflicting_keys(values: np.ndarray, tubes: TubeIdentity) -> np.ndarray:
    """Tube keys that two different values of one frame share (a tube has one category a frame)."""
    values = np.unique(np.asarray(values, np.int64))
    keys = tubes.keys_of(values)
    keys = keys[keys != NO_TUBE]
    uniq, counts = np.unique(keys, return_counts=True)
    return uniq[counts > 1]


def changes_identity(histograms: Sequence[PairHistogram], tubes: TubeIdentity | None) -> bool:
    """Whether some tube spans several values in the video (else every value is its own tube)."""
    if tubes is None or not histograms:
        return False
    values = np.unique(np.concatenate([h.pred for h in histograms]))
    keys = tubes.keys_of(values)
    keys = keys[keys != NO_TUBE]
    return len(np.unique(keys)) < len(keys)


def window_histogram(
    histograms: Sequence[PairHistogram], tubes: TubeIdentity | None = None
) -> PairHistogram:
    """The stacked histogram of one window, each tube relabelled with its first-frame value."""
    if tubes is None:
        return sum_histograms(histograms)
    gt = np.concatenate([h.gt for h in histograms])
    pred = np.concatenate([h.pred for h in histograms])
    count = np.concatenate([h.count for h in histograms])
    frame = np.concatenate([np.full(len(h), i, np.int64) for i, h in enumerate(histograms)])
    if len(count) == 0:
        return PairHistogram(gt, pred, count)
    _, tube = np.unique(tubes.keys_of(pred), return_inverse=True)
    tube = tube.ravel()
    # Sort by (tube, frame): the first entry of each tube is in the frame where it appears first.
    order = np.lexsort((frame, tube))
    starts = np.flatnonzero(np.diff(tube[order], prepend=-1))
    first_value = pred[order[starts]]
    relabelled = first_value[tube]
    return sum_histograms([PairHistogram(gt, relabelled, count)], merge_single=True)
