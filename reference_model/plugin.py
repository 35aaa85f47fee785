"""What the reference model adds to ``vpsbench demo`` (the ``vpsbench.demo_models`` entry point)."""

from __future__ import annotations

import importlib.util
from pathlib import Path


class DemoModel:
    """VPSNet as a demo prediction: the shipped checkpoint, or the user's, run on CPU."""

    title = "VPSNet (model)"

    def default_checkpoint(self) -> Path | None:
        """The shipped synthetic-tiny ``fusetrack`` checkpoint, if torch and the file are here."""
        # vpsbench_model.weights imports no torch; the model extra is what must be present.
        if any(importlib.util.find_spec(name) is None for name in ("torch", "torchvision")):
            return None
        from vpsbench_model.weights import SYNTHETIC_TINY_FUSETRACK

        return SYNTHETIC_TINY_FUSETRACK if SYNTHETIC_TINY_FUSETRACK.exists() else None

    def predict(self, checkpoint: Path, gt: Path, out: Path, progress: bool) -> Path:
        """Run the model over every video of ``gt`` into the prediction file ``out``."""
        from vpsbench_model.infer import infer

        return infer(checkpoint, gt, out, device="cpu", progress=progress, overwrite=True)


DEMO_MODEL = DemoModel()
