"""Checkpoints: model, optimizer, step, config and label map in one ``torch.save`` dict.

Everything stored is a tensor or a plain Python value, so ``torch.load(weights_only=True)``
reads it back (no pickled classes). ``compact_checkpoint`` writes an inference-only copy with
int8 weights (symmetric, one scale per output channel), about a quarter of the size, which
``load_checkpoint`` expands back to float transparently.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from vpsbench.atomic import write_atomically
from vpsbench_model.config import Config
from vpsbench_model.data import LabelMap


def save_checkpoint(
    path: str | os.PathLike, model: nn.Module, config: Config, labels: LabelMap, step: int,
    optimizer: torch.optim.Optimizer | None = None,
) -> Path:  # fmt: skip
    """Write model, step, config, labels (and optimizer) with ``save_atomically``."""
    state = {
        "model": model.state_dict(),
        "step": step,
        "config": config.to_dict(),
        "labels": {"category_ids": list(labels.category_ids), "num_stuff": labels.num_stuff},
    }
    if optimizer is not None:
        state["optimizer"] = optimizer.state_dict()
    return save_atomically(state, path)


def save_atomically(state: dict, path: str | os.PathLike) -> Path:
    """``torch.save`` under a hidden temporary name, then rename: a killed run never leaves
    half a file (``vpsbench.atomic``)."""
    return write_atomically(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike, device: str | torch.device = "cpu") -> dict:
    """The checkpoint dict, with ``config`` as a ``Config`` and ``labels`` as a ``LabelMap``."""
    state = torch.load(path, map_location=device, weights_only=True)
    if "model_int8" in state:
        state["model"] = expand_weights(state.pop("model_int8"))
    state["config"] = Config.from_dict(state["config"])
    labels = state["labels"]
    state["labels"] = LabelMap(tuple(labels["category_ids"]), int(labels["num_stuff"]))
    return state


# Tensors below this size (norms, biases, small heads) stay float: they are a negligible part of
# the file, and quantising them would only add error.
MIN_QUANTIZED_NUMEL = 4096


def quantize_weight(weight: torch.Tensor) -> dict[str, torch.Tensor]:
    """Symmetric int8 with one float scale per output channel (dim 0)."""
    flat = weight.detach().float().reshape(weight.shape[0], -1)
    scale = flat.abs().amax(dim=1).clamp_min(1e-12) / 127.0
    values = torch.round(flat / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return {"int8": values.reshape(weight.shape), "scale": scale}


def compact_weights(model_state: dict[str, torch.Tensor]) -> dict[str, object]:
    """A state dict with every large float tensor replaced by its ``quantize_weight`` form."""
    compact: dict[str, object] = {}
    for name, tensor in model_state.items():
        large = tensor.is_floating_point() and tensor.dim() >= 2
        if large and tensor.numel() >= MIN_QUANTIZED_NUMEL:
            compact[name] = quantize_weight(tensor)
        else:
            compact[name] = tensor
    return compact


def expand_weights(compact: dict[str, object]) -> dict[str, torch.Tensor]:
    """Inverse of ``compact_weights`` (up to the int8 rounding)."""
    state = {}
    for name, value in compact.items():
        if isinstance(value, dict):
            scale = value["scale"].reshape(-1, *([1] * (value["int8"].dim() - 1)))
            state[name] = value["int8"].float() * scale
        else:
            state[name] = value
    return state


def compact_checkpoint(src: str | os.PathLike, dst: str | os.PathLike) -> Path:
    """Write an inference-only copy of ``src`` (no optimizer) with int8 weights."""
    state = torch.load(src, map_location="cpu", weights_only=True)
    if "model_int8" in state:
        raise ValueError(f"{src} is already compact")
    compact = {key: value for key, value in state.items() if key not in ("model", "optimizer")}
    compact["model_int8"] = compact_weights(state["model"])
    return save_atomically(compact, dst)
