"""On-the-fly conversion for ``vpsbench eval --gt ROOT`` (``vpsbench.converters`` entry points).

Each function converts the labels of one split of a release into a unified GT file; the core
finds the dataset with ``vpsbench.datasets.detect_dataset`` and the function by its name. The
keyword options are those of ``vpsbench convert DATASET`` that change the labels (eval offers
them, ``cli.add_eval_conversion_options``), named by their dests.
"""

from __future__ import annotations

from pathlib import Path


def cityscapes_vps_labels(
    root: str | Path,
    split: str,
    out: Path,
    workers: int = 1,
    progress: bool = False,
    *,
    labels: str = "auto",
) -> Path:
    """The labels of a Cityscapes-VPS split (no images: scoring needs none)."""
    from vpsbench_converters.cityscapes_vps import convert_cityscapes_vps

    return convert_cityscapes_vps(
        root, split, out, labels, workers=workers, progress=progress, labels_only=True
    )


def viper_labels(
    root: str | Path,
    split: str,
    out: Path,
    workers: int = 1,
    progress: bool = False,
    *,
    sequences: list[str] | None = None,
    sequence_list: Path | None = None,
    frames_per_video: int | None = None,
    stride: int = 1,
) -> Path:
    """The labels of a VIPER split, cut as ``vpsbench convert viper`` cuts them."""
    from vpsbench_converters.viper import convert_viper

    return convert_viper(
        root,
        split,
        out,
        sequences=sequences,
        list_file=sequence_list,
        frames_per_video=frames_per_video,
        stride=stride,
        workers=workers,
        progress=progress,
    )


def vipseg_labels(
    root: str | Path,
    split: str,
    out: Path,
    workers: int = 1,
    progress: bool = False,
    *,
    layout: str | None = None,
    resize: int | None = None,
    mask_nearest: str | None = None,
    value_200: str | None = None,
) -> Path:
    """The labels of a VIPSeg split (prepared layout, or the raw release as it lies); an
    option left None takes ``convert_vipseg``'s default."""
    from vpsbench_converters.vipseg import convert_vipseg

    given = {"layout": layout, "mask_nearest": mask_nearest, "value_200": value_200}
    options = {key: value for key, value in given.items() if value is not None}
    return convert_vipseg(
        root, split, out, resize=resize, workers=workers, progress=progress, labels_only=True,
        **options,
    )  # fmt: skip


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
