"""The arrows point one way: the core imports no outer package, and nothing installs under a
generic top-level name."""

from __future__ import annotations

import ast
import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTER = ("vpsbench_converters", "vpsbench_leaderboard", "vpsbench_model")
GENERIC = ("converters", "leaderboard", "reference_model")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_imports_no_outer_package():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            m for m in imported_modules(path) if m.split(".")[0] in OUTER + GENERIC
        )
        for path in sorted((ROOT / "vpsbench").rglob("*.py"))
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_outer_packages_use_their_installed_names():
    for folder in GENERIC:
        for path in sorted((ROOT / folder).rglob("*.py")):
            bare = [m for m in imported_modules(path) if m.split(".")[0] in GENERIC]
            assert not bare, (path, bare)


def test_setup_installs_only_project_specific_names():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    packages = config["options"]["packages"].split()
    tops = {p.split(".")[0] for p in packages}
    assert tops == {"vpsbench", *OUTER}
    mapping = dict(
        line.split(" = ") for line in config["options"]["package_dir"].strip().splitlines()
    )
    assert mapping == dict(
        zip(OUTER, ("converters", "leaderboard", "reference_model"), strict=True)
    )
    # Every subpackage on disk is listed (setup.cfg lists them by hand).
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        .replace("converters", "vpsbench_converters")
        .replace("leaderboard", "vpsbench_leaderboard")
        .replace("reference_model", "vpsbench_model")
        for p in ROOT.glob("*/**/__init__.py")
        if p.parent.relative_to(ROOT).parts[0] in ("vpsbench", *GENERIC)
    }
    assert on_disk == set(packages)


def test_no_sys_path_edits_in_tests_and_benchmarks():
    """Test helpers are imported as modules of tests/ (pytest puts it on the path) and the
    benchmarks load them by file (benchmarks/from_tests.py), never by editing sys.path."""
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("tests", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if "sys.path." in path.read_text() and path.name != "test_layering.py"
    ]
    assert offenders == []
