"""Per-frame image degradations of the ``hard`` preset (the label map is never changed).

What a neighbouring frame can make up for, as in real driving video: **motion blur** (a
horizontal box blur, the camera pans), a **noise burst** (strong Gaussian sensor noise) and a
**partial occlusion** of the lens (1-3 dark smudges, like dirt, a raindrop or a wiper). The
objects and classes under them stay in the ground truth. A degraded frame is never followed by
another degraded frame, so the previous frame of a degraded frame is always clean.
"""

from __future__ import annotations

import numpy as np

KINDS = ("blur", "noise", "smudge")
PROBABILITY = 0.35  # of a degradation in a frame whose previous frame is clean


def draw_degradation(rng: np.random.Generator, previous: str | None) -> str | None:
    """The degradation of the next frame (None: clean), given that of the previous frame."""
    if previous is not None or rng.random() >= PROBABILITY:
        return None
    return KINDS[int(rng.integers(len(KINDS)))]


def motion_blur(rgb: np.ndarray, length: int) -> np.ndarray:
    """Mean over ``length`` horizontally neighbouring pixels (edges repeat)."""
    pad = length // 2
    padded = np.pad(rgb.astype(np.float32), ((0, 0), (pad, length - 1 - pad), (0, 0)), "edge")
    sums = np.cumsum(padded, axis=1)
    sums = np.concatenate([np.zeros_like(sums[:, :1]), sums], axis=1)
    return (sums[:, length:] - sums[:, :-length]) / length


def smudges(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """1-3 dark elliptical blotches, each 10-25% of the frame height across."""
    h, w, _ = rgb.shape
    out = rgb.astype(np.float32)
    rows, cols = np.ogrid[:h, :w]
    for _ in range(int(rng.integers(1, 4))):
        ry, rx = rng.uniform(0.05, 0.125) * h, rng.uniform(0.05, 0.2) * w
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        inside = ((rows - cy) / ry) ** 2 + ((cols - cx) / rx) ** 2 <= 1
        out[inside] = rng.uniform(20, 70) + rng.normal(0, 4, (int(inside.sum()), 3))
    return out


def degrade(rgb: np.ndarray, kind: str | None, rng: np.random.Generator) -> np.ndarray:
    """The uint8 RGB frame with degradation ``kind`` applied (unchanged for None)."""
    if kind is None:
        return rgb
    if kind == "blur":
        out = motion_blur(rgb, int(rng.integers(7, 16)))
    elif kind == "noise":
        out = rgb + rng.normal(0, rng.uniform(25, 45), rgb.shape).astype(np.float32)
    elif kind == "smudge":
        out = smudges(rgb, rng)
    else:
        raise ValueError(f"unknown degradation {kind!r}; choose from {', '.join(KINDS)}")
    return np.clip(out, 0, 255).astype(np.uint8)
