"""vpsbench: video panoptic segmentation benchmark toolkit.

The core library: the unified HDF5 format (``vpsbench.format``), the procedural synthetic
benchmark (``vpsbench.synth``) and the ``vpsbench`` command line (``vpsbench.cli``). Metrics,
converters, the reference model and the leaderboard build on these.
"""

__version__ = "0.1.0"
