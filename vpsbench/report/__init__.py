"""Reports of an evaluation: ``EvalResult`` (JSON, tables), Markdown, CSV and plots."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from vpsbench.report.result import EvalResult, build_result, json_safe
from vpsbench.termination import raise_if_terminated

__all__ = ["EvalResult", "build_result", "check_replaceable", "json_safe", "write_report"]


def write_report(result: EvalResult, directory: str | Path, overwrite: bool = False) -> list[Path]:
    """Write scores.json, report.md, per_class.csv, per_video.csv and the plots to
    ``directory`` (new or empty; ``overwrite`` replaces an earlier report there whole).

    The files are made in a scratch folder beside ``directory``, which then takes its place:
    a failure half-way leaves no partial report, and no file of an earlier report stays.
    """
    from vpsbench.report.plots import write_plots

    out = Path(directory)
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} exists and is not empty (overwrite=True replaces it)")
        check_replaceable(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = out.with_name(f".{out.name}.partial-{os.getpid()}")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    try:
        names = ["scores.json", "report.md", "per_class.csv", "per_video.csv"]
        made = [scratch / name for name in names]
        result.to_json(made[0])
        made[1].write_text(result.to_markdown() + "\n")
        result.per_class.to_csv(made[2], index=False)
        result.per_video.to_csv(made[3], index=False)
        made += write_plots(result, scratch)
        replace_directory(scratch, out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return [out / path.name for path in made]


def check_replaceable(directory: Path) -> None:
    """Refuse to replace a non-empty folder that holds no report (scores.json): a path given
    by mistake must not cost a folder of other files."""
    empty = not directory.is_dir() or not any(directory.iterdir())
    if not empty and not (directory / "scores.json").is_file():
        raise FileExistsError(
            f"{directory} is not empty and holds no vpsbench report (scores.json); "
            "it is not replaced: choose another directory"
        )


def replace_directory(new: Path, old: Path) -> None:
    """Move ``new`` to ``old``'s path; an existing ``old`` is moved aside first, put back if
    the move fails, and removed. Nothing moves once SIGTERM has arrived."""
    raise_if_terminated()
    if not old.exists():
        os.rename(new, old)
        return
    aside = old.with_name(f".{old.name}.old-{os.getpid()}")
    os.rename(old, aside)
    try:
        os.rename(new, old)
    except BaseException:
        os.rename(aside, old)
        raise
    shutil.rmtree(aside, ignore_errors=True)
