"""The procedural world of one synthetic video: a street panorama and the objects moving in it.

Stuff lives in world coordinates along x; the camera pans, so stuff boundaries move on screen.
Things have a class-specific shape and size, a constant velocity with jitter, a depth (nearer
objects are drawn later and occlude farther ones) and may enter or leave the view.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Cityscapes-VPS ids (vpsbench.datasets.cityscapes_vps).
ROAD, SIDEWALK, BUILDING, WALL, FENCE, POLE, LIGHT, SIGN, VEGETATION, TERRAIN, SKY = range(11)
PERSON, RIDER, CAR, TRUCK, BUS, TRAIN, MOTORCYCLE, BICYCLE = range(11, 19)

# Thing classes the generator places, their sampling weight, size (fraction of frame height,
# aspect width/height) and shape.
THING_KINDS = {
    CAR: (0.40, (0.22, 2.0), "car"),
    PERSON: (0.30, (0.30, 0.4), "ellipse"),
    TRUCK: (0.08, (0.34, 1.8), "box"),
    BICYCLE: (0.08, (0.22, 1.1), "bike"),
    RIDER: (0.06, (0.30, 0.5), "ellipse"),
    BUS: (0.04, (0.40, 2.6), "box"),
    MOTORCYCLE: (0.04, (0.20, 1.2), "bike"),
}


@dataclass(frozen=True)
class Thing:
    """One object: identity, shape, where it is at frame 0, how it moves, when it is visible."""

    category: int
    instance: int
    shape: str
    height: int
    width: int
    x: float
    ground: float
    vx: float
    vy: float
    depth: float
    first: int
    last: int

    def box(self, t: int, camera_x: float) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) on screen at frame t (may lie outside the frame)."""
        bottom = self.ground + self.vy * t
        left = self.x + self.vx * t - camera_x
        return int(bottom - self.height), int(left), int(bottom), int(left + self.width)


@dataclass(frozen=True)
class Scene:
    """Everything needed to render every frame of one video."""

    height: int
    width: int
    camera_speed: float
    horizon: int
    road_top: int
    ego_top: int
    skyline: np.ndarray  # per world column: first row below the sky
    facade: np.ndarray  # per world column: BUILDING, WALL or VEGETATION
    verge: np.ndarray  # per world column: SIDEWALK or TERRAIN
    fence: np.ndarray  # per world column: whether a fence stands in front of the facade
    poles: tuple[tuple[int, int], ...]  # (world x, kind: POLE, SIGN or LIGHT on top)
    void_specks: tuple[tuple[int, int, int, int], ...]  # world (top, left, bottom, right)
    things: tuple[Thing, ...]
    crowd: Thing | None

    def camera_x(self, t: int) -> float:
        return self.camera_speed * t


def random_segments(rng: np.random.Generator, length: int, values, mean: int) -> np.ndarray:
    """A 1-D array of ``length`` made of runs (mean length ``mean``) of randomly chosen values."""
    out = np.empty(length, np.int64)
    pos = 0
    while pos < length:
        run = int(rng.integers(mean // 2, mean * 3 // 2 + 1))
        out[pos : pos + run] = rng.choice(values)
        pos += run
    return out


def skyline(rng: np.random.Generator, length: int, low: int, high: int) -> np.ndarray:
    """Building tops: flat roofs of random width and height between ``low`` and ``high``."""
    roofs = random_segments(rng, length, np.arange(low, high + 1), max(length // 12, 8))
    return np.clip(roofs + rng.integers(-1, 2, length), 0, high)


def make_things(
    rng: np.random.Generator, h: int, w: int, frames: int, camera_speed: float, horizon: int
) -> tuple[Thing, ...]:
    """3-10 objects; some are on screen throughout, some enter or leave partway."""
    kinds = list(THING_KINDS)
    weights = np.array([THING_KINDS[k][0] for k in kinds])
    things = []
    for instance in range(1, int(rng.integers(3, 11)) + 1):
        category = int(rng.choice(kinds, p=weights / weights.sum()))
        _, (size, aspect), shape = THING_KINDS[category]
        depth = float(rng.uniform(0.3, 1.0))  # 1 = nearest
        height = max(int(size * h * depth * rng.uniform(0.8, 1.2)), 4)
        width = max(int(height * aspect * rng.uniform(0.8, 1.2)), 3)
        ground = horizon + (h - horizon) * (0.15 + 0.6 * depth)
        vx = float(rng.uniform(-0.02, 0.02) * w + camera_speed)
        first, last = 0, frames - 1
        if rng.random() < 0.35:
            first = int(rng.integers(1, max(frames // 2, 2)))
        if rng.random() < 0.35:
            last = int(rng.integers(max(frames // 2, first + 1), frames))
        x = float(rng.uniform(-0.2, 1.0) * w)
        things.append(
            Thing(
                category,
                instance,
                shape,
                height,
                width,
                x,
                ground,
                vx,
                float(rng.uniform(-0.3, 0.3)),
                depth,
                first,
                last,
            )
        )
    return tuple(sorted(things, key=lambda t: t.depth))


def make_scene(rng: np.random.Generator, height: int, width: int, frames: int) -> Scene:
    """Draw the world of one video."""
    camera_speed = float(rng.uniform(0.003, 0.012) * width)
    world = int(width + camera_speed * frames + 2)
    horizon = int(height * rng.uniform(0.42, 0.52))
    road_top = int(horizon + (height - horizon) * rng.uniform(0.2, 0.35))
    ego_top = int(height * rng.uniform(0.9, 0.95))
    pole_xs = np.sort(rng.choice(world, int(rng.integers(2, 6)), replace=False))
    poles = tuple((int(x), int(rng.choice([POLE, SIGN, LIGHT]))) for x in pole_xs)
    specks = tuple(
        (int(y), int(x), int(y) + int(rng.integers(2, 6)), int(x) + int(rng.integers(2, 8)))
        for y, x in zip(rng.integers(horizon, ego_top, 3), rng.integers(0, world, 3), strict=True)
    )
    crowd = None
    if rng.random() < 0.5:
        crowd = Thing(PERSON, 0, "box", int(height * 0.12), int(width * 0.12),
                      float(rng.uniform(0, world - width * 0.12)), float(road_top), 0.0, 0.0,
                      0.0, 0, frames - 1)  # fmt: skip
    return Scene(
        height=height,
        width=width,
        camera_speed=camera_speed,
        horizon=horizon,
        road_top=road_top,
        ego_top=ego_top,
        skyline=skyline(rng, world, int(horizon * 0.25), int(horizon * 0.85)),
        facade=random_segments(rng, world, [BUILDING, BUILDING, WALL, VEGETATION], width // 4),
        verge=random_segments(rng, world, [SIDEWALK, SIDEWALK, TERRAIN], width // 3),
        fence=random_segments(rng, world, [False, False, True], width // 5).astype(bool),
        poles=poles,
        void_specks=specks,
        things=make_things(rng, height, width, frames, camera_speed, horizon),
        crowd=crowd,
    )
