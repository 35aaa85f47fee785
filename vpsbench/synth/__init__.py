"""The procedural synthetic benchmark: driving-like videos with Cityscapes-VPS categories.

``generate`` writes a deterministic ground-truth split (stuff under a moving camera; objects
that move, occlude, enter and leave; crowd and void; images where class and identity are
visible). ``synth_predict`` perturbs a GT file into a prediction of a chosen quality.
"""

from vpsbench.synth.generate import SynthConfig, generate
from vpsbench.synth.perturb import synth_predict

__all__ = ["SynthConfig", "generate", "synth_predict"]
