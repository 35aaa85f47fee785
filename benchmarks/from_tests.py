"""Load the test suite's fixture writers and reference implementations by file path.

The benchmarks build their inputs with the same code the tests use (release fixtures, the
literal official VPQ procedure), without putting ``tests/`` on ``sys.path``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parents[1] / "tests"


def load_test_module(name: str) -> ModuleType:
    """The module ``tests/<name>.py`` (loaded once, under the name ``vpsbench_tests_<name>``)."""
    key = f"vpsbench_tests_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, TESTS / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no test module {TESTS / f'{name}.py'}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[key] = module  # dataclasses in the module look themselves up here
    spec.loader.exec_module(module)
    return module
