"""``synth_predict``: a perturbed copy of a GT file, as a prediction of a chosen quality.

Each perturbation's probability or strength grows with ``noise`` (0 gives the GT itself):
boundary jitter (objects dilated or eroded, the whole map shifted by a few pixels), identity
switches partway through tracks, class confusions between similar classes, missed objects (they
become the surrounding stuff or void), spurious blobs, stuff swaps and predicted void regions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vpsbench.format import FileInfo, VPSFile, VPSWriter

# Similar classes, by name, so that any category table (Cityscapes-VPS, VIPER, ...) gets them.
THING_CONFUSIONS = {"car": "truck", "truck": "car", "bus": "truck", "van": "car",
                    "person": "rider", "rider": "person", "bicycle": "motorcycle",
                    "motorcycle": "bicycle"}  # fmt: skip
STUFF_CONFUSIONS = {"road": "sidewalk", "sidewalk": "road", "vegitation": "terrain",
                    "vegetation": "terrain", "terrain": "vegetation",
                    "tree": "vegetation"}  # fmt: skip
MAX_INSTANCE = 999


@dataclass(frozen=True)
class Labels:
    """The label encoding of the GT file being perturbed."""

    divisor: int
    void: int
    stuff_ids: np.ndarray
    thing_ids: np.ndarray
    thing_confusions: dict[int, int]
    stuff_confusions: dict[int, int]

    @classmethod
    def of(cls, gt: VPSFile) -> Labels:
        """The encoding and class confusions of a GT file's category table."""
        things = {c.name: c.id for c in gt.categories if c.isthing}
        stuff = {c.name: c.id for c in gt.categories if not c.isthing}
        return cls(
            divisor=gt.info.label_divisor,
            void=gt.info.void_label,
            stuff_ids=np.array(sorted(stuff.values())),
            thing_ids=np.array(sorted(things.values())),
            thing_confusions=confusions(things, THING_CONFUSIONS),
            stuff_confusions=confusions(stuff, STUFF_CONFUSIONS),
        )


def confusions(ids: dict[str, int], similar: dict[str, str]) -> dict[int, int]:
    """Id pairs of similar classes present in the table; else each class -> the next one."""
    pairs = {ids[a]: ids[b] for a, b in similar.items() if a in ids and b in ids}
    if pairs or len(ids) < 2:
        return pairs
    order = sorted(ids.values())
    return dict(zip(order, order[1:] + order[:1], strict=True))


class IdPool:
    """Instance ids no GT object of the video uses, each handed out once (new identities)."""

    def __init__(self, used: set[int]) -> None:
        self.free = [i for i in range(MAX_INSTANCE, 0, -1) if i not in used]

    def take(self) -> int | None:
        """A fresh id, or None when all 999 are taken (the perturbation is then skipped)."""
        return self.free.pop() if self.free else None


@dataclass(frozen=True)
class TrackPlan:
    """What happens to one GT track in the prediction."""

    missed: bool
    category: int
    switch_row: int | None  # from this annotated frame on, the track has new_instance
    new_instance: int | None


def plan_tracks(
    values: list[int], rows: int, noise: float, rng: np.random.Generator, labels: Labels,
    pool: IdPool,
) -> dict[int, TrackPlan]:  # fmt: skip
    """Decide, per GT thing value of a video, whether it is missed, confused or switched."""
    plans = {}
    for value in values:
        category = value // labels.divisor
        if category in labels.thing_confusions and rng.random() < 0.3 * noise:
            category = labels.thing_confusions[category]
        switch_row, new_instance = None, None
        if rows > 1 and rng.random() < 0.5 * noise:
            new_instance = pool.take()
            switch_row = int(rng.integers(1, rows)) if new_instance is not None else None
        plans[value] = TrackPlan(rng.random() < 0.25 * noise, category, switch_row, new_instance)
    return plans


def dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    """Grow a boolean mask by ``steps`` pixels (4-neighbourhood)."""
    out = mask.copy()
    for _ in range(steps):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def bounding_crop(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    """The mask's bounding box grown by ``margin``: the work area of a local edit."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    h, w = mask.shape
    return (
        slice(max(rows[0] - margin, 0), min(rows[-1] + margin + 1, h)),
        slice(max(cols[0] - margin, 0), min(cols[-1] + margin + 1, w)),
    )


def surrounding_stuff(pred: np.ndarray, mask: np.ndarray, labels: Labels) -> int:
    """The most common stuff value just around ``mask`` (void if there is none)."""
    ring = pred[dilate(mask, 2) & ~mask]
    ring = ring[np.isin(ring // labels.divisor, labels.stuff_ids) & (ring % labels.divisor == 0)]
    if ring.size == 0:
        return labels.void
    values, counts = np.unique(ring, return_counts=True)
    return int(values[np.argmax(counts)])


def fill_with_surroundings(pred: np.ndarray, mask: np.ndarray, labels: Labels) -> None:
    """Erase a region as a model that sees no object there would: it becomes the background."""
    box = bounding_crop(mask, 2)
    crop, local = pred[box], mask[box]
    crop[local] = surrounding_stuff(crop, local, labels)


def jitter_boundary(
    pred: np.ndarray, value: int, steps: int, rng: np.random.Generator, labels: Labels
) -> None:
    """Dilate or erode one segment by ``steps`` pixels: an imprecise mask boundary."""
    mask = pred == value
    if not mask.any():
        return
    box = bounding_crop(mask, steps + 2)
    crop, local = pred[box], mask[box]
    if rng.random() < 0.5:
        crop[dilate(local, steps) & (crop != labels.void)] = value
    else:
        lost = local & dilate(~local, steps)
        if lost.any():
            crop[lost] = surrounding_stuff(crop, local, labels)


def shift_map(pan: np.ndarray, noise: float, rng: np.random.Generator, void: int) -> np.ndarray:
    """Shift the whole map by up to ~3*noise pixels, filling the uncovered border with void."""
    reach = round(3 * noise)
    if reach == 0:
        return pan
    dy, dx = (int(v) for v in rng.integers(-reach, reach + 1, 2))
    out = np.full_like(pan, void)
    h, w = pan.shape
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = pan[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def swap_stuff(pred: np.ndarray, rng: np.random.Generator, labels: Labels, noise: float) -> None:
    """Confuse similar stuff classes (road/sidewalk, vegetation/terrain) inside a rectangle
    whose size grows with noise."""
    h, w = pred.shape
    y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
    region = pred[y : y + int(h * noise / 2) + 1, x : x + int(w * noise / 2) + 1]
    before = region.copy()  # read from a copy so that swaps do not chain
    for src, dst in labels.stuff_confusions.items():
        region[before == src * labels.divisor] = dst * labels.divisor


def random_ellipse(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A small elliptic blob at a random place."""
    h, w = shape
    ry, rx = max(h // 24, 2), max(w // 40, 2)
    cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
    yy, xx = np.ogrid[:h, :w]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1


def add_spurious_blob(
    pred: np.ndarray, rng: np.random.Generator, labels: Labels, pool: IdPool
) -> None:
    """A small false object with an id no GT or other predicted object of the video uses."""
    instance = pool.take()
    if instance is not None:
        category = int(rng.choice(labels.thing_ids))
        pred[random_ellipse(pred.shape, rng)] = category * labels.divisor + instance


def relabel_tracks(
    pred: np.ndarray, gt: np.ndarray, row: int, plans: dict[int, TrackPlan], labels: Labels
) -> list[int]:
    """Apply misses, class confusions and identity switches; the predicted thing values."""
    kept = []
    for value, plan in plans.items():
        mask = gt == value
        if not mask.any():
            continue
        if plan.missed:
            fill_with_surroundings(pred, mask, labels)
            continue
        switched = plan.switch_row is not None and row >= plan.switch_row
        instance = plan.new_instance if switched else value % labels.divisor
        pred[mask] = plan.category * labels.divisor + instance
        kept.append(plan.category * labels.divisor + instance)
    return kept


def perturb_frame(
    gt: np.ndarray, row: int, plans: dict[int, TrackPlan], noise: float,
    rng: np.random.Generator, labels: Labels, pool: IdPool,
) -> np.ndarray:  # fmt: skip
    """The prediction of one annotated frame."""
    if noise == 0:
        return gt.copy()
    pred = gt.copy()
    crowd = np.isin(gt // labels.divisor, labels.thing_ids) & (gt % labels.divisor == 0)
    if crowd.any():  # models predict objects, not crowd regions: the crowd becomes background
        fill_with_surroundings(pred, crowd, labels)
    for value in relabel_tracks(pred, gt, row, plans, labels):
        if rng.random() < noise:
            steps = 1 + int(rng.integers(0, 1 + round(3 * noise)))
            jitter_boundary(pred, value, steps, rng, labels)
    if rng.random() < noise:
        swap_stuff(pred, rng, labels, noise)
    pred = shift_map(pred, noise, rng, labels.void)
    if rng.random() < 0.6 * noise:
        add_spurious_blob(pred, rng, labels, pool)
    if rng.random() < 0.3 * noise:
        pred[random_ellipse(pred.shape, rng)] = labels.void  # the model abstains here
    return pred


def predict_video(
    maps: np.ndarray, noise: float, rng: np.random.Generator, labels: Labels
) -> list[np.ndarray]:
    """Perturbed copies of the annotated frames of one video."""
    values = np.unique(maps)
    things = values[np.isin(values // labels.divisor, labels.thing_ids)]
    tracked = things[things % labels.divisor > 0]
    pool = IdPool(set((tracked % labels.divisor).tolist()))
    plans = plan_tracks(tracked.tolist(), len(maps), noise, rng, labels, pool)
    return [
        perturb_frame(frame, row, plans, noise, rng, labels, pool) for row, frame in enumerate(maps)
    ]


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
        info = FileInfo.prediction_of(
            gt.info, gt_path.name, f"vpsbench synth-predict noise={noise} seed={seed}"
        )
        labels = Labels.of(gt)
        with VPSWriter(
            out_path, info, gt.categories, None, gt.categories_source_json, overwrite=overwrite
        ) as writer:
            videos = tqdm(list(gt), desc="synth-predict", unit="video", disable=not progress)
            for index, video in enumerate(videos):
                if video.num_annotated == 0:
                    continue  # nothing to predict; a prediction file holds annotated frames only
                rng = np.random.default_rng([seed, index])
                preds = predict_video(video.load_panoptic(), noise, rng, labels)
                with writer.video(video.video_id, video.height, video.width) as out:
                    for pred, i in zip(preds, video.annotated_indices, strict=True):
                        out.add_frame(video.stems[i], int(video.source_frames[i]), pred)
    return Path(out_path)
