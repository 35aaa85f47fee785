"""The dataset registry: every dataset vpsbench knows, one module each, as data.

A dataset module (``cityscapes_vps``, ``viper``, ``vipseg``, ``kitti_step``,
``motchallenge_step``, ``synth``) fills in one ``Dataset`` record: canonical name and accepted
spellings, category table, label divisor, protocols, the release layouts it reads and how to
recognise them. Converters, the evaluator, ``info``, the leaderboard and the synthetic
generator ask this registry; adding a dataset means adding its module here (and its converter,
registered as a ``vpsbench.converters`` entry point).
"""

from __future__ import annotations

from pathlib import Path

from vpsbench.datasets import cityscapes_vps, kitti_step, motchallenge_step, synth, viper, vipseg
from vpsbench.datasets.base import Dataset
from vpsbench.format.schema import Protocol

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        cityscapes_vps.DATASET,
        viper.DATASET,
        vipseg.DATASET,
        kitti_step.DATASET,
        motchallenge_step.DATASET,
        synth.DATASET,
    )
}


def normalise(name: str) -> str:
    """Lower case, ``-`` and spaces as ``_``: ``Cityscapes-VPS`` -> ``cityscapes_vps``."""
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def canonical_name(name: str) -> str:
    """The canonical spelling of a known dataset name or alias; other names come back
    normalised (the leaderboard lists datasets vpsbench cannot convert yet)."""
    key = normalise(name)
    for dataset in DATASETS.values():
        if key == dataset.name or key in {normalise(a) for a in dataset.aliases}:
            return dataset.name
    return key


def get_dataset(name: str) -> Dataset:
    """The registered dataset of a name or alias (KeyError naming the known ones)."""
    key = canonical_name(name)
    if key not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    return DATASETS[key]


def protocols() -> dict[str, Protocol]:
    """Every registered protocol by name, in dataset order."""
    out: dict[str, Protocol] = {}
    for dataset in DATASETS.values():
        for protocol in dataset.protocols:
            out.setdefault(protocol.name, protocol)
    return out


def get_protocol(name: str) -> Protocol:
    """The registered protocol of a name (KeyError naming the known ones)."""
    known = protocols()
    if name not in known:
        raise KeyError(f"unknown protocol {name!r}; known: {', '.join(known)} (vpsbench protocols)")
    return known[name]


def detect_dataset(root: str | Path, split: str) -> Dataset:
    """The dataset whose release layout ``root`` holds for ``split`` (ValueError if none)."""
    root = Path(root)
    for dataset in DATASETS.values():
        if dataset.detect is not None and dataset.detect(root, split):
            return dataset
    layouts = "; ".join(
        f"{d.title}: {d.layouts}" for d in DATASETS.values() if d.detect is not None
    )
    raise ValueError(
        f"{root} holds no known release layout for split {split!r} ({layouts}); pass a unified "
        ".h5 file or a dataset root with its labels"
    )


__all__ = [
    "DATASETS",
    "Dataset",
    "canonical_name",
    "detect_dataset",
    "get_dataset",
    "get_protocol",
    "normalise",
    "protocols",
]
