"""Scoring: read a GT file and a prediction (file or submission) once, feed every metric.

``evaluate`` is the Python API behind ``vpsbench eval`` (``evaluate_many``: several predictions
in one pass over the GT); ``Evaluator`` is the streaming, in-memory one it is built on (label
maps from a training loop, no file); ``EvaluationError`` is raised for inputs that cannot be
scored, with a message saying what and where.
"""

from vpsbench.evaluation.predictions import EvaluationError, open_predictions
from vpsbench.evaluation.runner import ALL_METRICS, evaluate, evaluate_many
from vpsbench.evaluation.streaming import Evaluator

__all__ = [
    "ALL_METRICS",
    "EvaluationError",
    "Evaluator",
    "evaluate",
    "evaluate_many",
    "open_predictions",
]
