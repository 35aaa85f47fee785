"""Rendering a synthetic scene: the panoptic label map of a frame, and an image made from it.

The image is derived from the label map, so class and identity are visible: each class has its
own colour (its Cityscapes colour, perturbed per video) and stripe texture, each instance a
colour offset; a slow lighting change, Gaussian pixel noise and JPEG coding make it less
trivial. JPEG, not PNG: the noise makes PNG ~7x larger and the encoder 20x slower.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from vpsbench.synth.scene import FENCE, LIGHT, POLE, ROAD, SIGN, SKY, Scene, Thing

DIVISOR = 1000
VOID = 255 * DIVISOR


def shape_mask(shape: str, height: int, width: int) -> np.ndarray:
    """Boolean silhouette of a thing of the given shape filling a height x width box."""
    y = (np.arange(height)[:, None] + 0.5) / height
    x = (np.arange(width)[None, :] + 0.5) / width
    if shape == "ellipse":
        return (2 * x - 1) ** 2 + (2 * y - 1) ** 2 <= 1
    if shape == "car":
        return (y >= 0.4) | ((x > 0.2) & (x < 0.8) & (y >= 0.05))
    if shape == "bike":
        wheels = ((x - 0.25) ** 2 + (y - 0.72) ** 2 <= 0.07) | (
            (x - 0.75) ** 2 + (y - 0.72) ** 2 <= 0.07
        )
        return wheels | ((y > 0.35) & (y < 0.55) & (x > 0.2) & (x < 0.8))  # fmt: skip
    if shape == "crowd":
        return crowd_mask(x, y)
    return np.ones((height, width), bool)


def crowd_mask(x: np.ndarray, y: np.ndarray, people: int = 4) -> np.ndarray:
    """Side-by-side overlapping bodies with heads: a group of persons as one region."""
    centers = (np.arange(people) + 0.5) / people
    mask = np.zeros(np.broadcast_shapes(x.shape, y.shape), bool)
    for k, cx in enumerate(centers):
        top = 0.1 * (k % 2)  # uneven heights, so it does not look like a box
        mask |= ((x - cx) / (0.7 / people)) ** 2 + ((y - 0.65) / (0.4 - top / 2)) ** 2 <= 1
        mask |= ((x - cx) / (0.35 / people)) ** 2 + ((y - 0.15 - top) / 0.12) ** 2 <= 1
    return mask


def paint_thing(pan: np.ndarray, thing: Thing, t: int, camera_x: float) -> None:
    """Draw one thing over the map (clipped to the frame)."""
    top, left, bottom, right = thing.box(t, camera_x)
    h, w = pan.shape
    y0, y1, x0, x1 = max(top, 0), min(bottom, h), max(left, 0), min(right, w)
    if y0 >= y1 or x0 >= x1:
        return
    mask = shape_mask(thing.shape, bottom - top, right - left)[
        y0 - top : y1 - top, x0 - left : x1 - left
    ]
    pan[y0:y1, x0:x1][mask] = thing.category * DIVISOR + thing.instance  # fmt: skip


def stuff_map(scene: Scene, t: int) -> np.ndarray:
    """Semantic ids of the stuff layout seen at frame t (before things and void)."""
    h, w = scene.height, scene.width
    cam = round(scene.camera_x(t))
    cols = np.minimum(np.arange(w) + cam, len(scene.skyline) - 1)
    rows = np.arange(h)[:, None]
    sem = np.where(rows < scene.skyline[cols], SKY, scene.facade[cols])
    fence_top = scene.horizon - max(h // 14, 2)
    sem = np.where((rows >= fence_top) & scene.fence[cols], FENCE, sem)
    sem = np.where(rows >= scene.horizon, scene.verge[cols], sem)
    sem = np.where(rows >= scene.road_top, ROAD, sem)
    pole_width = max(w // 150, 2)
    top = int(scene.horizon * 0.45)
    for world_x, kind in scene.poles:
        x = world_x - cam
        if -3 * pole_width <= x < w:
            sem[top : scene.road_top, max(x, 0) : max(x + pole_width, 0)] = POLE
            if kind in (SIGN, LIGHT):
                size = 3 * pole_width
                sem[max(top - size, 0) : top + size, max(x - pole_width, 0) : max(x + size, 0)] = (
                    kind
                )
    return sem.astype(np.int32)


def render_panoptic(scene: Scene, t: int) -> np.ndarray:
    """The int32 panoptic map (category * 1000 + instance, void 255000) of frame t."""
    pan = stuff_map(scene, t) * DIVISOR
    cam = scene.camera_x(t)
    for top, left, bottom, right in scene.void_specks:
        x0 = int(left - cam)
        pan[top:bottom, max(x0, 0) : max(x0 + right - left, 0)] = VOID
    if scene.crowd is not None:
        paint_thing(pan, scene.crowd, t, cam)
    for thing in scene.things:  # sorted far to near: nearer objects occlude
        if thing.first <= t <= thing.last:
            paint_thing(pan, thing, t, cam)
    pan[scene.ego_top :] = VOID
    return pan


class ImageStyle:
    """Per-video appearance: class colours, textures, instance tints, lighting phase, noise."""

    NOISE_PAD = 16

    def __init__(
        self,
        rng: np.random.Generator,
        colors: dict[int, tuple[int, int, int]],
        height: int,
        width: int,
    ) -> None:
        color = np.zeros((256, 3), np.float32)
        for cat, rgb in colors.items():
            color[cat] = np.clip(np.array(rgb) + rng.integers(-15, 16, 3), 0, 255)
        color[255] = (35, 35, 40)  # ego car / unlabeled
        tint = rng.integers(-45, 46, (DIVISOR, 3)).astype(np.float32)
        tint[0] = 0
        # Indexed by the panoptic value itself: one gather per frame gives class colour + tint.
        self.palette = (color[:, None, :] + tint[None, :, :]).reshape(-1, 3)
        self.frequency = rng.uniform(0.05, 0.6, 256).astype(np.float32)
        self.amplitude = rng.uniform(4, 18, 256).astype(np.float32)
        self.phase = float(rng.uniform(0, 2 * np.pi))
        self.diagonal = (
            np.arange(width, dtype=np.float32)[None, :]
            + np.float32(0.7) * np.arange(height, dtype=np.float32)[:, None]
        )
        # One noise field per video, sampled at a random offset per frame: fresh-looking sensor
        # noise without drawing h*w*3 random numbers every frame.
        pad = self.NOISE_PAD
        self.noise = rng.normal(0, 5, (height + pad, width + pad, 3)).astype(np.float32)

    def render(
        self, pan: np.ndarray, t: int, camera_x: float, rng: np.random.Generator
    ) -> np.ndarray:
        """RGB uint8 image of a frame whose label map is ``pan``."""
        cat = pan // DIVISOR
        h, w = pan.shape
        phase = (self.diagonal + np.float32(camera_x)) * self.frequency[cat]
        stripes = np.sin(phase, out=phase) * self.amplitude[cat]
        light = np.float32(1.0 + 0.08 * np.sin(2 * np.pi * t / 30 + self.phase))
        rgb = self.palette[pan]
        rgb += stripes[..., None]
        rgb *= light
        dy, dx = (int(v) for v in rng.integers(0, self.NOISE_PAD + 1, 2))
        rgb += self.noise[dy : dy + h, dx : dx + w]
        return np.clip(rgb, 0, 255, out=rgb).astype(np.uint8)


def jpeg_bytes(rgb: np.ndarray) -> bytes:
    """JPEG encoding of an RGB image (quality 92, like a camera; several times faster than PNG)."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=92)
    return buf.getvalue()
