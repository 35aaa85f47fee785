"""Checkpoints: model, optimizer, step, config and label map in one ``torch.save`` dict.

Everything stored is a tensor or a plain Python value, so ``torch.load(weights_only=True)``
reads it back (no pickled classes).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from reference_model.config import Config
from reference_model.data import LabelMap


def save_checkpoint(
    path: str | os.PathLike, model: nn.Module, config: Config, labels: LabelMap, step: int,
    optimizer: torch.optim.Optimizer | None = None,
) -> Path:  # fmt: skip
    """Write atomically (temporary name, then rename), so a killed run never leaves half a file."""
    path = Path(path)
    state = {
        "model": model.state_dict(),
        "step": step,
        "config": config.to_dict(),
        "labels": {"category_ids": list(labels.category_ids), "num_stuff": labels.num_stuff},
    }
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict:
    """The checkpoint dict, with ``config`` as a ``Config`` and ``labels`` as a ``LabelMap``."""
    state = torch.load(path, map_location=device, weights_only=True)
    state["config"] = Config.from_dict(state["config"])
    labels = state["labels"]
    state["labels"] = LabelMap(tuple(labels["category_ids"]), int(labels["num_stuff"]))
    return state
