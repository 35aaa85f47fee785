"""Scene events of the ``hard`` preset: what tracking exists for in real driving video.

* **Crossings**: two objects of one class, at nearly the same depth (so nearly the same size and
  appearance), walk or drive towards each other and swap sides in mid-video; the nearer one
  hides part or all of the farther one while they pass.
* **Occlusions**: an object passes behind a large, nearer bus or truck that hides it completely
  for several consecutive frames, then comes out on the other side with its identity.

Both are built from the trajectory equations of ``Thing.box`` so that the event happens by
construction, not by chance: the occluder's box is sized to cover the hidden object's box in
every frame of the hidden span.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from vpsbench.synth.scene import (
    BUS,
    CAR,
    PERSON,
    THING_KINDS,
    TRUCK,
    Scene,
    Thing,
    body_size,
    ground_at,
    wobble,
)

CROSSING_CLASSES = (CAR, PERSON)  # the classes that cross most often in street scenes


@dataclass(frozen=True)
class Occlusion:
    """``hidden`` is fully covered by ``occluder`` in frames ``first``..``last`` (0-based)."""

    hidden: int
    occluder: int
    first: int
    last: int


def moving_thing(
    rng: np.random.Generator, instance: int, category: int, depth: float, scene: Scene,
    frames: int, screen_speed: float, center: tuple[float, float],
) -> Thing:  # fmt: skip
    """An object visible all video whose box centre is at screen x ``center[1]`` at frame
    ``center[0]`` and moves ``screen_speed`` pixels per frame across the screen."""
    height, width = body_size(rng, category, depth, scene.height)
    t0, x0 = center
    return Thing(
        category=category,
        instance=instance,
        shape=THING_KINDS[category][2],
        height=height,
        width=width,
        x=float(x0 - width / 2 - screen_speed * t0),
        ground=ground_at(depth, scene.height, scene.horizon),
        vx=float(screen_speed + scene.camera_speed),
        vy=0.0,
        depth=depth,
        first=0,
        last=frames - 1,
        wobble=wobble(rng, frames, 0.001 * scene.width),
    )


def crossing_pair(
    rng: np.random.Generator, first_instance: int, scene: Scene, frames: int
) -> tuple[Thing, Thing]:
    """Two same-class objects at nearly one depth that meet at a random frame and screen x."""
    category = int(rng.choice(CROSSING_CLASSES))
    depth = float(rng.uniform(0.45, 0.85))
    speed = float(rng.uniform(0.008, 0.02) * scene.width)
    meet = (float(rng.uniform(0.3, 0.7) * frames), float(rng.uniform(0.3, 0.7) * scene.width))
    other_depth = float(np.clip(depth + rng.choice([-1, 1]) * rng.uniform(0.02, 0.06), 0.3, 1.0))
    return (
        moving_thing(rng, first_instance, category, depth, scene, frames, speed, meet),
        moving_thing(rng, first_instance + 1, category, other_depth, scene, frames, -speed, meet),
    )


def occluded_pair(
    rng: np.random.Generator, first_instance: int, scene: Scene, frames: int
) -> tuple[Thing, Thing, Occlusion]:
    """An object and a nearer bus or truck that hides it for 3-8 consecutive frames."""
    hidden_frames = int(rng.integers(3, 9))
    first = int(
        rng.integers(frames // 4, max(frames // 4 + 1, frames - hidden_frames - frames // 4))
    )
    last = min(first + hidden_frames - 1, frames - 2)
    category = int(rng.choice([c for c in THING_KINDS if c not in (BUS, TRUCK)]))
    depth = float(rng.uniform(0.35, 0.7))
    speed = float(rng.choice([-1, 1]) * rng.uniform(0.01, 0.02) * scene.width)
    middle = ((first + last) / 2, float(rng.uniform(0.35, 0.65) * scene.width))
    hidden = moving_thing(rng, first_instance, category, depth, scene, frames, speed, middle)
    occluder_speed = float(rng.uniform(-0.003, 0.003) * scene.width)  # nearly still on screen
    occluder = cover(hidden, first, last, occluder_speed, first_instance + 1, scene, rng)
    return hidden, occluder, Occlusion(hidden.instance, occluder.instance, first, last)


def cover(
    hidden: Thing, first: int, last: int, screen_speed: float, instance: int, scene: Scene,
    rng: np.random.Generator,
) -> Thing:  # fmt: skip
    """A box-shaped bus or truck, nearer than ``hidden``, whose box contains ``hidden``'s box
    in every frame ``first``..``last`` (moving ``screen_speed`` pixels per frame on screen)."""
    margin = 2
    boxes = np.array([hidden.box(t, scene.camera_x(t)) for t in range(first, last + 1)])
    drift = screen_speed * np.arange(first, last + 1)  # the occluder's own screen motion
    left = float((boxes[:, 1] - drift).min()) - margin
    right = float((boxes[:, 3] - drift).max()) + margin
    top, bottom = float(boxes[:, 0].min()) - margin, float(boxes[:, 2].max()) + margin
    category = int(rng.choice([BUS, TRUCK]))
    natural, _ = body_size(rng, category, min(hidden.depth + 0.2, 1.0), scene.height)
    height = int(np.ceil(max(bottom - top, natural)))
    return Thing(
        category=category,
        instance=instance,
        shape="box",
        height=height,
        width=int(np.ceil(right - left)),
        x=left,
        ground=float(np.ceil(bottom)),
        vx=screen_speed + scene.camera_speed,
        vy=0.0,
        depth=min(hidden.depth + 0.2, 1.0),  # drawn after (over) the hidden object
        first=0,
        last=len(hidden.wobble) - 1,
    )


def add_hard_events(
    rng: np.random.Generator, scene: Scene, frames: int
) -> tuple[Scene, list[tuple[int, int]], list[Occlusion]]:
    """The scene with 1-2 same-class crossings and one multi-frame full occlusion added;
    also the crossing instance pairs and the occlusions (recorded in the video's metadata)."""
    things = list(scene.things)
    next_instance = max((t.instance for t in things), default=0) + 1
    crossings = []
    for _ in range(int(rng.integers(1, 3))):
        a, b = crossing_pair(rng, next_instance, scene, frames)
        things += [a, b]
        crossings.append((a.instance, b.instance))
        next_instance += 2
    occlusions = []
    if frames >= 4:  # a hidden span needs frames before and after it
        hidden, occluder, occlusion = occluded_pair(rng, next_instance, scene, frames)
        things += [hidden, occluder]
        occlusions.append(occlusion)
    scene = replace(scene, things=tuple(sorted(things, key=lambda t: t.depth)))
    return scene, crossings, occlusions
