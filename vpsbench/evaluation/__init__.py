"""Scoring: read a GT file and a prediction (file or submission) once, feed every metric.

``evaluate`` is the Python API behind ``vpsbench eval``; ``EvaluationError`` is raised for
inputs that cannot be scored, with a message saying what and where.
"""

from vpsbench.evaluation.predictions import EvaluationError, open_predictions
from vpsbench.evaluation.runner import ALL_METRICS, evaluate

__all__ = ["ALL_METRICS", "EvaluationError", "evaluate", "open_predictions"]
