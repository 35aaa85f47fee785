"""Checkpoints shipped with vpsbench (int8 compact, see ``reference_model.export``).

``synthetic_tiny_fusetrack.pt``: VPSNet ``fusetrack`` trained with the ``synthetic-tiny`` config
on the synthetic train split (16 videos, seed 0) for 1200 steps on CPU; its scores on the
synthetic val split are the leaderboard entry ``vpsnet-fusetrack-synthetic-val``. ``vpsbench demo``
runs it. How it was made is in docs/MODEL.md ("Baseline table").
"""

from pathlib import Path

SYNTHETIC_TINY_FUSETRACK = Path(__file__).with_name("synthetic_tiny_fusetrack.pt")
