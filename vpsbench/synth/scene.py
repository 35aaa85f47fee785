"""The procedural world of one synthetic video: a street panorama and the objects moving in it.

Stuff lives in world coordinates along x; the camera pans, so stuff boundaries move on screen.
Things have a class-specific shape and size, a constant velocity plus a smooth random wobble, a
depth (nearer objects are drawn later and occlude farther ones) and may enter or leave the view.
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
    wobble: tuple[tuple[float, float], ...] = ()  # per frame (dx, dy) added to the straight path

    def box(self, t: int, camera_x: float) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) on screen at frame t (may lie outside the frame)."""
        dx, dy = self.wobble[t] if t < len(self.wobble) else (0.0, 0.0)
        bottom = self.ground + self.vy * t + dy
        left = self.x + self.vx * t + dx - camera_x
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
        """World x of the left frame edge at frame t (the camera pans right)."""
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


def wobble(rng: np.random.Generator, frames: int, scale: float) -> tuple[tuple[float, float], ...]:
    """A smooth random walk: trajectories are not perfectly straight, yet stay trackable."""
    steps = rng.normal(0.0, scale, (frames, 2))
    steps[:, 1] *= 0.3  # objects stay on the ground: less vertical wander
    walk = np.cumsum(steps, axis=0)
    return tuple((float(dx), float(dy)) for dx, dy in walk)


def visible_span(rng: np.random.Generator, frames: int) -> tuple[int, int]:
    """First and last frame of an object; about a third enter late or leave early."""
    first, last = 0, frames - 1
    if rng.random() < 0.35:
        first = int(rng.integers(1, max(frames // 2, 2)))
    if rng.random() < 0.35:
        last = int(rng.integers(max(frames // 2, first + 1), frames))
    return first, min(max(last, first), frames - 1)


def draw_category(rng: np.random.Generator) -> int:
    """A thing class, drawn with the weights of ``THING_KINDS``."""
    kinds = list(THING_KINDS)
    weights = np.array([THING_KINDS[k][0] for k in kinds])
    return int(rng.choice(kinds, p=weights / weights.sum()))


def body_size(rng: np.random.Generator, category: int, depth: float, h: int) -> tuple[int, int]:
    """(height, width) of an object of ``category`` at ``depth`` in a frame ``h`` pixels high."""
    _, (rel_size, aspect), _ = THING_KINDS[category]
    height = max(int(rel_size * h * depth * rng.uniform(0.8, 1.2)), 4)
    return height, max(int(height * aspect * rng.uniform(0.8, 1.2)), 3)


def ground_at(depth: float, h: int, horizon: int) -> float:
    """Screen row of an object's bottom at ``depth`` (nearer objects stand lower)."""
    return horizon + (h - horizon) * (0.15 + 0.6 * depth)


def make_thing(
    rng: np.random.Generator, instance: int, size: tuple[int, int, int], camera_speed: float,
    horizon: int,
) -> Thing:  # fmt: skip
    """One object of a randomly drawn class; ``size`` is (height, width, frames) of the video."""
    h, w, frames = size
    category = draw_category(rng)
    shape = THING_KINDS[category][2]
    depth = float(rng.uniform(0.3, 1.0))  # 1 = nearest: larger and lower on screen
    height, width = body_size(rng, category, depth, h)
    first, last = visible_span(rng, frames)
    return Thing(
        category=category,
        instance=instance,
        shape=shape,
        height=height,
        width=width,
        x=float(rng.uniform(-0.2, 1.0) * w),
        ground=ground_at(depth, h, horizon),
        vx=float(rng.uniform(-0.02, 0.02) * w + camera_speed),
        vy=float(rng.uniform(-0.3, 0.3)),
        depth=depth,
        first=first,
        last=last,
        wobble=wobble(rng, frames, 0.002 * w),
    )


def make_things(
    rng: np.random.Generator, h: int, w: int, frames: int, camera_speed: float, horizon: int
) -> tuple[Thing, ...]:
    """3-10 objects, sorted far to near (the drawing order that makes nearer ones occlude)."""
    count = int(rng.integers(3, 11))
    things = [
        make_thing(rng, instance, (h, w, frames), camera_speed, horizon)
        for instance in range(1, count + 1)
    ]
    return tuple(sorted(things, key=lambda t: t.depth))


def make_crowd(
    rng: np.random.Generator, h: int, w: int, world: int, frames: int, road_top: int
) -> Thing:
    """A group of persons labelled as one crowd region (instance 0), standing at the kerb."""
    width = int(w * rng.uniform(0.08, 0.16))
    return Thing(
        category=PERSON, instance=0, shape="crowd", height=max(int(h * 0.13), 4), width=width,
        x=float(rng.uniform(0, world - width)), ground=float(road_top), vx=0.0, vy=0.0,
        depth=0.0, first=0, last=frames - 1,
    )  # fmt: skip


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
    crowd = make_crowd(rng, height, width, world, frames, road_top) if rng.random() < 0.5 else None
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
