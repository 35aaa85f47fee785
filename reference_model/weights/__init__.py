"""Checkpoints shipped with vpsbench (int8 compact copies, see ``vpsbench_model.export``).

``synthetic_tiny_fusetrack.pt``: VPSNet ``fusetrack`` with the ``synthetic-tiny`` config, trained
on CPU on the synthetic train split (16 videos, seed 0) in the paper's two stages (an ``image``
model for 1200 steps, then ``fusetrack`` from it for 600) by the v1 baseline recipe (docs/MODEL.md,
"Earlier table (v1)"). The v2 leaderboard entries come from models retrained with the current
recipe, which are not shipped. ``vpsbench demo`` runs it.
"""

from pathlib import Path

SYNTHETIC_TINY_FUSETRACK = Path(__file__).with_name("synthetic_tiny_fusetrack.pt")
