"""Checkpoints shipped with vpsbench (int8 compact copies, see ``vpsbench_model.export``).

``synthetic_tiny_fusetrack.pt``: VPSNet ``fusetrack`` with the ``synthetic-tiny`` config, trained
on CPU on the synthetic train split (16 videos, seed 0) in the paper's two stages (an ``image``
model for 1200 steps, then ``fusetrack`` from it for 600); its scores on the synthetic val split
are the leaderboard entry ``vpsnet-fusetrack-synthetic-tiny-synthetic-val``, and the exact
commands are in docs/MODEL.md ("Baseline table"). ``vpsbench demo`` runs it.
"""

from pathlib import Path

SYNTHETIC_TINY_FUSETRACK = Path(__file__).with_name("synthetic_tiny_fusetrack.pt")
