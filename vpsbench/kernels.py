"""Which per-frame kernels run: the compiled ones (``vpsbench._kernels``, C, built by setup.py
where a compiler is found) or NumPy's. Both give identical results; the tests run both.

On W1 frames (1024x2048) the compiled run finders, merge, VC step and pair histogram cut the
scorer's own per-frame work by about a third; scoring W1 is 1.15-1.25x faster
(benchmarks/bench_eval.py prints both, side by side).
"""

from __future__ import annotations

from types import ModuleType

from vpsbench import settings

try:
    from vpsbench import _kernels
except ImportError:  # not built: no C compiler or Python headers at install time
    _kernels = None

KERNELS_ENV = settings.PREFIX + "KERNELS"
KERNELS = ("compiled", "numpy")
UNBUILT = (
    "vpsbench._kernels was not built: reinstall (pip install -e .) where a C compiler and the "
    "Python headers are present"
)


def kernels_name(requested: str | None = None) -> str:
    """The kernels to use: ``requested``, else ``$VPSBENCH_KERNELS``, else ``auto`` (the
    compiled ones when built, else NumPy's). Asking for unbuilt compiled ones is an error."""
    unbuilt = UNBUILT if _kernels is None else None
    return settings.choose(KERNELS_ENV, requested, {"compiled": unbuilt, "numpy": None})


def compiled() -> ModuleType | None:
    """The compiled kernels' module when they are to be used, else None (use NumPy)."""
    return _kernels if _kernels is not None and kernels_name() == "compiled" else None
