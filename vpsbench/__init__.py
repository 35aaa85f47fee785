"""vpsbench: video panoptic segmentation benchmark toolkit.

The core library: the unified HDF5 format (``vpsbench.format``), the procedural synthetic
benchmark (``vpsbench.synth``), the metrics (``vpsbench.metrics``), scoring
(``vpsbench.evaluate``, the streaming ``vpsbench.Evaluator``, ``vpsbench.evaluation``),
reports (``vpsbench.report``) and the ``vpsbench`` command line (``vpsbench.cli``).
"""

__version__ = "0.1.0"

__all__ = ["Evaluator", "__version__", "evaluate"]


def __getattr__(name: str):
    # Lazy, so that ``import vpsbench`` stays light and the format modules can import
    # ``__version__`` without a cycle.
    if name == "evaluate":
        from vpsbench.evaluation import evaluate

        return evaluate
    if name == "Evaluator":
        from vpsbench.evaluation import Evaluator

        return Evaluator
    raise AttributeError(f"module 'vpsbench' has no attribute {name!r}")
