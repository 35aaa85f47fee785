"""``write_report``: a new folder, or an earlier report replaced whole, never a half report."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write_toy

import vpsbench.report.plots
from vpsbench.evaluation import evaluate
from vpsbench.report import write_report


@pytest.fixture
def result(tmp_path, toy_gt):
    return evaluate(toy_gt, write_toy(tmp_path / "pred.h5", kind="prediction"), metrics="pq")


def test_an_earlier_report_is_replaced_whole_only_when_asked(tmp_path, result):
    report = tmp_path / "out" / "report"
    write_report(result, report)  # missing parents are made
    (report / "stale_plot.png").write_bytes(b"from an earlier run")
    with pytest.raises(FileExistsError, match="not empty"):
        write_report(result, report)
    written = write_report(result, report, overwrite=True)
    assert sorted(p.name for p in report.iterdir()) == sorted(p.name for p in written)
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["report"]


def test_a_report_into_the_working_directory_keeps_that_folder(tmp_path, result, monkeypatch):
    """``--report .`` from an empty folder: it is filled, and stays the shell's folder."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    first = write_report(result, ".")
    (here / "stale_plot.png").write_bytes(b"from an earlier run")
    again = write_report(result, ".", overwrite=True)
    assert Path.cwd().samefile(here)
    assert sorted(p.name for p in here.iterdir()) == sorted(p.name for p in again)
    assert [p.name for p in first] == [p.name for p in again]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_folder_without_a_report_is_never_replaced(tmp_path, result):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds no vpsbench report"):
        write_report(result, folder, overwrite=True)
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_report_leaves_the_earlier_one_and_no_scratch(
    tmp_path, result, monkeypatch, stop
):
    report = tmp_path / "report"
    write_report(result, report)
    before = {p.name: p.read_bytes() for p in report.iterdir()}

    def fail(*args):
        raise stop

    monkeypatch.setattr(vpsbench.report.plots, "write_plots", fail)
    with pytest.raises(stop):
        write_report(result, report, overwrite=True)
    assert {p.name: p.read_bytes() for p in report.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.h5", "report", "toy_gt.h5"]
