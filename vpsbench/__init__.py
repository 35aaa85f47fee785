"""vpsbench: video panoptic segmentation benchmark toolkit.

The core library: the unified HDF5 format (``vpsbench.format``), the procedural synthetic
benchmark (``vpsbench.synth``), the metrics (``vpsbench.metrics``), scoring
(``vpsbench.evaluate``, ``vpsbench.evaluate_many`` for several predictions, the streaming
``vpsbench.Evaluator``, ``vpsbench.evaluation``), reports (``vpsbench.report``) and the
``vpsbench`` command line (``vpsbench.cli``).
"""

__version__ = "0.1.0"

__all__ = ["Evaluator", "__version__", "evaluate", "evaluate_many"]


def __getattr__(name: str):
    # Lazy, so that ``import vpsbench`` stays light and the format modules can import
    # ``__version__`` without a cycle.
    if name == "evaluate":
        from vpsbench.evaluation import evaluate

        return evaluate
    if name == "evaluate_many":
        from vpsbench.evaluation import evaluate_many

        return evaluate_many
    if name == "Evaluator":
        from vpsbench.evaluation import Evaluator

        return Evaluator
    raise AttributeError(f"module 'vpsbench' has no attribute {name!r}")
