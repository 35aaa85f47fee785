"""Reports of an evaluation: ``EvalResult`` (JSON, tables), Markdown, CSV and plots."""

from __future__ import annotations

from pathlib import Path

from vpsbench.atomic import staged_directory
from vpsbench.report.result import EvalResult, build_result, json_safe

__all__ = ["EvalResult", "build_result", "check_replaceable", "json_safe", "write_report"]


def write_report(result: EvalResult, directory: str | Path, overwrite: bool = False) -> list[Path]:
    """Write scores.json, report.md, per_class.csv, per_video.csv and the plots to
    ``directory`` (new or empty; ``overwrite`` replaces an earlier report there whole).

    The files are made in a scratch folder beside ``directory`` and then take its contents'
    place (``vpsbench.atomic.staged_directory``): a failure half-way leaves no partial report,
    and no file of an earlier report stays.
    """
    from vpsbench.report.plots import write_plots

    out = Path(directory)
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{out} exists and is not empty (overwrite=True replaces it)")
        check_replaceable(out)
    with staged_directory(out) as scratch:
        names = ["scores.json", "report.md", "per_class.csv", "per_video.csv"]
        made = [scratch / name for name in names]
        result.to_json(made[0])
        made[1].write_text(result.to_markdown() + "\n")
        result.per_class.to_csv(made[2], index=False)
        result.per_video.to_csv(made[3], index=False)
        made += write_plots(result, scratch)
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
