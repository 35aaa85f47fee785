"""On-the-fly conversion for ``vpsbench eval --gt ROOT`` (``vpsbench.converters`` entry points).

Each function converts the labels of one split of a release into a unified GT file; the core
finds the dataset with ``vpsbench.datasets.detect_dataset`` and the function by its name.
"""

from __future__ import annotations

from pathlib import Path


def cityscapes_vps_labels(
    root: str | Path, split: str, out: Path, workers: int = 1, progress: bool = False
) -> Path:
    """The labels of a Cityscapes-VPS split (no images: scoring needs none)."""
    from vpsbench_converters.cityscapes_vps import convert_cityscapes_vps

    return convert_cityscapes_vps(
        root, split, out, workers=workers, progress=progress, labels_only=True
    )


def viper_labels(
    root: str | Path, split: str, out: Path, workers: int = 1, progress: bool = False
) -> Path:
    """The labels of a VIPER split."""
    from vpsbench_converters.viper import convert_viper

    return convert_viper(root, split, out, workers=workers, progress=progress)


def vipseg_labels(
    root: str | Path, split: str, out: Path, workers: int = 1, progress: bool = False
) -> Path:
    """The labels of a VIPSeg split (prepared layout, or the raw release as it lies)."""
    from vpsbench_converters.vipseg import convert_vipseg

    return convert_vipseg(root, split, out, workers=workers, progress=progress, labels_only=True)


def kitti_step_labels(
    root: str | Path, split: str, out: Path, workers: int = 1, progress: bool = False
) -> Path:
    """The labels of a KITTI-STEP split."""
    from vpsbench_converters.step import convert_step

    return convert_step(
        "kitti_step", root, split, out, workers=workers, progress=progress, labels_only=True
    )


def motchallenge_step_labels(
    root: str | Path, split: str, out: Path, workers: int = 1, progress: bool = False
) -> Path:
    """The labels of a MOTChallenge-STEP split."""
    from vpsbench_converters.step import convert_step

    return convert_step(
        "motchallenge_step", root, split, out, workers=workers, progress=progress, labels_only=True
    )
