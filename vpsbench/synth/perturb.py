"""``synth_predict``: a perturbed copy of a GT file, as a prediction of a chosen quality.

Each perturbation's probability or strength grows with ``noise`` (0 gives the GT itself):
boundary jitter (segments shifted by a few pixels), identity switches partway through tracks,
class confusions between similar classes, missed objects, spurious blobs and small stuff swaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vpsbench.format import FileInfo, GroundTruthRef, VPSFile, VPSWriter
from vpsbench.synth.scene import (
    BICYCLE,
    BUS,
    CAR,
    MOTORCYCLE,
    PERSON,
    RIDER,
    ROAD,
    SIDEWALK,
    TERRAIN,
    TRUCK,
    VEGETATION,
)

THING_CONFUSIONS = {CAR: TRUCK, TRUCK: CAR, BUS: TRUCK, PERSON: RIDER, RIDER: PERSON,
                    BICYCLE: MOTORCYCLE, MOTORCYCLE: BICYCLE}  # fmt: skip
STUFF_CONFUSIONS = {ROAD: SIDEWALK, SIDEWALK: ROAD, VEGETATION: TERRAIN, TERRAIN: VEGETATION}
MAX_INSTANCE = 999


@dataclass
class TrackPlan:
    """What happens to one GT track in the prediction."""

    missed: bool
    category: int
    switch_row: int | None  # from this annotated frame on, the track gets a new id
    new_instance: int


def plan_tracks(values: np.ndarray, rows: int, noise: float, rng, divisor: int) -> dict:
    """Decide, per GT thing value of a video, whether it is missed, confused or switched."""
    next_id = int(values.max() % divisor) + 1 if len(values) else 1
    plans = {}
    for value in values.tolist():
        category = value // divisor
        if rng.random() < 0.3 * noise and category in THING_CONFUSIONS:
            category = THING_CONFUSIONS[category]
        switch = int(rng.integers(1, rows)) if rows > 1 and rng.random() < 0.5 * noise else None
        plans[value] = TrackPlan(
            rng.random() < 0.25 * noise, category, switch, min(next_id, MAX_INSTANCE)
        )
        next_id += 1
    return plans


def jitter(pan: np.ndarray, noise: float, rng, void: int) -> np.ndarray:
    """Shift the whole map by up to ~4*noise pixels, filling the uncovered border with void."""
    reach = round(4 * noise)
    if reach == 0:
        return pan
    dy, dx = (int(v) for v in rng.integers(-reach, reach + 1, 2))
    out = np.full_like(pan, void)
    h, w = pan.shape
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = pan[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def perturb_frame(
    gt: np.ndarray, row: int, plans: dict, noise: float, rng, divisor: int, void: int
) -> np.ndarray:
    """The prediction of one annotated frame."""
    if noise == 0:
        return gt.copy()
    pred = gt.copy()
    crowd_like = (gt % divisor == 0) & (gt // divisor >= PERSON) & (gt != void)
    pred[crowd_like] = ROAD * divisor  # crowd is predicted as background
    for value, plan in plans.items():
        mask = gt == value
        if not mask.any():
            continue
        if plan.missed:
            pred[mask] = ROAD * divisor if rng.random() < 0.5 else void
            continue
        switched = plan.switch_row is not None and row >= plan.switch_row
        instance = plan.new_instance if switched else value % divisor
        pred[mask] = plan.category * divisor + instance
    if rng.random() < 0.5 * noise:
        swap_region(pred, rng, divisor)
    pred = jitter(pred, noise, rng, void)
    if rng.random() < 0.6 * noise:
        add_spurious_blob(pred, rng, divisor)
    return pred


def swap_region(pred: np.ndarray, rng, divisor: int) -> None:
    """Confuse similar stuff classes inside a random rectangle."""
    h, w = pred.shape
    y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
    region = pred[y : y + h // 4, x : x + w // 4]
    for src, dst in STUFF_CONFUSIONS.items():
        region[region == src * divisor] = -dst * divisor - 1  # mark, so swaps do not chain
    marked = region < 0
    region[marked] = -region[marked] - 1


def add_spurious_blob(pred: np.ndarray, rng, divisor: int) -> None:
    """A small false object with an id no GT track uses."""
    h, w = pred.shape
    bh, bw = max(h // 16, 2), max(w // 24, 2)
    y, x = int(rng.integers(0, h - bh)), int(rng.integers(0, w - bw))
    category = int(rng.choice(list(THING_CONFUSIONS)))
    pred[y : y + bh, x : x + bw] = category * divisor + MAX_INSTANCE


def synth_predict(
    gt_path: str | Path,
    out_path: str | Path,
    noise: float,
    seed: int = 0,
    progress: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write a prediction file for every annotated frame of ``gt_path``, perturbed by ``noise``."""
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"noise must be in [0, 1], got {noise}")
    gt_path = Path(gt_path)
    with VPSFile(gt_path) as gt:
        info = FileInfo(
            kind="prediction",
            dataset=gt.info.dataset,
            split=gt.info.split,
            label_divisor=gt.info.label_divisor,
            ignore_label=gt.info.ignore_label,
            source=f"vpsbench synth-predict noise={noise} seed={seed}",
            predicts=GroundTruthRef(
                gt.info.dataset, gt.info.split, gt_path.name, gt.info.content_id
            ),
        )
        divisor, void = gt.info.label_divisor, gt.info.void_label
        things = {c.id for c in gt.categories if c.isthing}
        with VPSWriter(
            out_path, info, gt.categories, None, gt.categories_source_json, overwrite=overwrite
        ) as writer:
            for index, video in enumerate(
                tqdm(list(gt), desc="synth-predict", disable=not progress)
            ):
                rng = np.random.default_rng([seed, index])
                maps = video.load_panoptic()
                values = np.unique(maps)
                tracked = values[np.isin(values // divisor, list(things)) & (values % divisor > 0)]
                plans = plan_tracks(tracked, len(maps), noise, rng, divisor)
                with writer.video(video.video_id, video.height, video.width) as out:
                    for row, i in enumerate(video.annotated_indices):
                        pred = perturb_frame(maps[row], row, plans, noise, rng, divisor, void)
                        out.add_frame(video.stems[i], int(video.source_frames[i]), pred)
    return Path(out_path)
