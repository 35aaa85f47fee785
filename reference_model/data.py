"""Training data: (target, reference) frame pairs from a unified HDF5 file, with targets.

Both frames of a pair get the same resize, flip and crop (as the official pair pipeline,
mcahny/vps ``mmdet/datasets/cityscapes_vps.py``). The reader opens
the file once per process, so the dataset is safe in DataLoader workers (fork or spawn).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)
from torch.utils.data import Dataset

from vpsbench.format import VPSFile
from vpsbench.format.schema import Category
from vpsbench_model.backbone import normalize
from vpsbench_model.config import DataConfig

IGNORE = 255


@dataclass(frozen=True)
class LabelMap:
    """Dataset categories <-> semantic channels: stuff first, then things, each by id."""

    category_ids: tuple[int, ...]  # category id of every channel
    num_stuff: int

    @classmethod
    def from_categories(cls, categories: list[Category]) -> LabelMap:
        stuff = sorted(c.id for c in categories if not c.isthing)
        things = sorted(c.id for c in categories if c.isthing)
        return cls(tuple(stuff + things), len(stuff))

    @property
    def num_things(self) -> int:
        return len(self.category_ids) - self.num_stuff

    def lookup(self, size: int) -> np.ndarray:
        """Array mapping category id -> channel (255 for ids without a channel, like void)."""
        table = np.full(max(size, max(self.category_ids) + 1), IGNORE, np.int64)
        table[list(self.category_ids)] = np.arange(len(self.category_ids))
        return table


def panoptic_targets(
    panoptic: np.ndarray, labels: LabelMap, divisor: int, min_area: int
) -> dict[str, torch.Tensor]:
    """Targets of one (augmented) panoptic map: semantic channels, instance boxes, labels 1..K,
    masks and ids (the panoptic value, which names the object across the video).

    Crowd regions (thing category, instance 0) keep their class in the semantic target but are
    no instance; instances smaller than ``min_area`` pixels are dropped.
    """
    category = panoptic // divisor
    table = labels.lookup(int(category.max()) + 1)
    semantic = table[category]
    values, counts = np.unique(panoptic, return_counts=True)
    boxes, classes, masks, ids = [], [], [], []
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        channel = table[value // divisor]
        if value % divisor == 0 or channel == IGNORE or channel < labels.num_stuff:
            continue
        if count < min_area:
            continue
        mask = panoptic == value
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        boxes.append([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1])
        classes.append(channel - labels.num_stuff + 1)
        masks.append(mask)
        ids.append(value)
    height, width = panoptic.shape
    return {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "labels": torch.tensor(classes, dtype=torch.int64),
        "masks": torch.from_numpy(np.stack(masks)).to(torch.uint8)
        if masks
        else torch.zeros((0, height, width), dtype=torch.uint8),
        "ids": torch.tensor(ids, dtype=torch.int64),
        "semantic": torch.from_numpy(semantic),
    }


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """H x W x 3 uint8 -> float (3, H, W) in 0..255."""
    return torch.from_numpy(np.array(image, dtype=np.float32)).permute(2, 0, 1)


def resize_pair(
    image: torch.Tensor, panoptic: np.ndarray, size: tuple[int, int]
) -> tuple[torch.Tensor, np.ndarray]:
    """Bilinear image, nearest label map (panoptic values < 2**24 are exact in float32)."""
    if tuple(image.shape[-2:]) == size:
        return image, panoptic
    image = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False)[0]
    pan = torch.from_numpy(panoptic.astype(np.float32))[None, None]
    pan = F.interpolate(pan, size=size, mode="nearest")[0, 0].numpy().astype(np.int64)
    return image, pan


@dataclass(frozen=True)
class Augment:
    """One draw of the geometric augmentation, applied identically to both frames."""

    size: tuple[int, int]
    flip: bool
    top: int
    left: int

    @classmethod
    def draw(cls, height: int, width: int, config: DataConfig, train: bool) -> Augment:
        ratio = config.base_scale
        if train:
            low, high = config.scale_range
            ratio *= low + (high - low) * float(torch.rand(()))
        size = (max(round(height * ratio), 1), max(round(width * ratio), 1))
        crop_h, crop_w = config.crop
        top = int(torch.randint(0, max(size[0] - crop_h, 0) + 1, ())) if train else 0
        left = int(torch.randint(0, max(size[1] - crop_w, 0) + 1, ())) if train else 0
        flip = train and config.flip and bool(torch.rand(()) < 0.5)
        return cls(size, flip, top, left)

    def __call__(
        self, image: np.ndarray, panoptic: np.ndarray, crop: tuple[int, int], void: int
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Normalised image and label map, resized, flipped, cropped and padded to ``crop``."""
        tensor, pan = resize_pair(to_tensor(image), panoptic.astype(np.int64), self.size)
        if self.flip:
            tensor, pan = tensor.flip(-1), pan[:, ::-1]
        crop_h, crop_w = crop
        tensor = tensor[:, self.top : self.top + crop_h, self.left : self.left + crop_w]
        pan = pan[self.top : self.top + crop_h, self.left : self.left + crop_w]
        # Pad with zeros after normalisation (the mean colour) and with void labels (the
        # official code pads the semantic GT with 0, "road": harmless for its /32 crops only).
        tensor = normalize(tensor[None])[0]
        pad_h, pad_w = crop_h - tensor.shape[1], crop_w - tensor.shape[2]
        tensor = F.pad(tensor, (0, pad_w, 0, pad_h))
        pan = np.pad(pan, ((0, pad_h), (0, pad_w)), constant_values=void)
        return tensor, np.ascontiguousarray(pan)


class PairDataset(Dataset):
    """Annotated frames of every video, each with a neighbouring frame as reference: an
    annotated one (``DataConfig.reference == "annotated"``) or any frame with an image
    (``"raw"``; its target is None when it has no labels, so only Fuse learns from it)."""

    def __init__(self, path: str | os.PathLike, config: DataConfig, train: bool = True) -> None:
        if config.reference not in ("annotated", "raw"):
            raise ValueError(f"unknown reference {config.reference!r}; choose annotated or raw")
        self.file = VPSFile(path)
        self.config = config
        self.train = train
        self.labels = LabelMap.from_categories(self.file.categories)
        self.divisor = self.file.info.label_divisor
        self.void = self.file.info.void_label
        self.videos = {video_id: n for n, video_id in enumerate(self.file.video_ids)}
        self.samples: list[tuple[str, int, list[int]]] = []
        for video in self.file:
            if not video.has_images:
                raise ValueError(f"{path}: video {video.video_id} has no images to train on")
            for index, refs in reference_frames(video, config):
                self.samples.append((video.video_id, index, refs))
        if not self.samples:
            which = "an annotated" if config.reference == "annotated" else "a"
            raise ValueError(f"{path}: no annotated frame has {which} neighbour")

    def __len__(self) -> int:
        return len(self.samples) * (self.config.repeat if self.train else 1)

    def __getitem__(self, item: int) -> dict:
        video_id, index, refs = self.samples[item % len(self.samples)]
        # A random available neighbour (the official code tries the other side if one is out).
        ref = refs[int(torch.randint(0, len(refs), ()))] if self.train else refs[0]
        video = self.file.video(video_id)
        aug = Augment.draw(video.height, video.width, self.config, self.train)
        sample = {"video_id": video_id, "index": index, "ref_index": ref}
        labelled = set(video.annotated_indices.tolist())
        for key, frame in (("", index), ("ref_", ref)):
            # An unlabelled reference is augmented with an all-void map (same geometry).
            pan = video.panoptic(frame) if frame in labelled else None
            void = np.full((video.height, video.width), self.void, np.int64)
            image, pan_aug = aug(video.image(frame), void if pan is None else pan,
                                 self.config.crop, self.void)  # fmt: skip
            sample[f"{key}image"] = image
            target = None
            if pan is not None:
                target = panoptic_targets(
                    pan_aug, self.labels, self.divisor, self.config.min_instance_area
                )
                target["video"] = torch.tensor(self.videos[video_id])
            sample[f"{key}target"] = target
        return sample


def reference_frames(video, config: DataConfig) -> list[tuple[int, list[int]]]:
    """(annotated frame index, its candidate reference frame indices) of one video."""
    annotated = video.annotated_indices.tolist()
    out = []
    for row, index in enumerate(annotated):
        if config.reference == "annotated":
            refs = [
                annotated[row + offset]
                for offset in config.ref_offsets
                if 0 <= row + offset < len(annotated)
            ]
        else:
            refs = [index + o for o in config.ref_offsets if 0 <= index + o < video.num_frames]
        if refs:
            out.append((index, refs))
    return out


def collate(samples: list[dict]) -> dict:
    """Stack images (all of the crop size); keep targets as per-image lists (a reference
    target is None for an unlabelled reference frame)."""
    return {
        "images": torch.stack([s["image"] for s in samples]),
        "targets": [s["target"] for s in samples],
        "ref_images": torch.stack([s["ref_image"] for s in samples]),
        "ref_targets": [s["ref_target"] for s in samples],
    }
