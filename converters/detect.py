"""Recognise which dataset release a directory holds, and convert it for on-the-fly scoring."""

from __future__ import annotations

from pathlib import Path

from vpsbench_converters.common import ConversionError


def detect_dataset(root: str | Path, split: str) -> str:
    """'cityscapes-vps' or 'viper', from the layout of ``root`` for ``split``."""
    root = Path(root)
    if (root / f"panoptic_gt_{split}_city_vps.json").is_file() or any(
        (root / split / "cls").glob("????_????_*.png")
    ):
        return "cityscapes-vps"
    cls = root / split / "cls"
    if cls.is_dir() and any(p.is_dir() for p in cls.iterdir()):
        return "viper"
    raise ConversionError(
        f"{root} is neither a Cityscapes-VPS root (panoptic_gt_{split}_city_vps.json or "
        f"{split}/cls/VVVV_FFFF_*.png) nor a VIPER root ({split}/cls/SSS/); pass a unified "
        ".h5 file or a dataset root with its labels"
    )


def convert_for_scoring(
    root: str | Path, split: str, out: Path, workers: int = 1, progress: bool = False
) -> Path:
    """Convert the labels of one split of a release to a unified GT file at ``out``."""
    dataset = detect_dataset(root, split)
    if dataset == "cityscapes-vps":
        from vpsbench_converters.cityscapes_vps import convert_cityscapes_vps

        return convert_cityscapes_vps(
            root, split, out, workers=workers, progress=progress, labels_only=True
        )
    from vpsbench_converters.viper import convert_viper

    return convert_viper(root, split, out, workers=workers, progress=progress)
