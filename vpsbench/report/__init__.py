"""Reports of an evaluation: ``EvalResult`` (JSON, tables), Markdown, CSV and plots."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from vpsbench.report.result import EvalResult, build_result, json_safe

__all__ = ["EvalResult", "build_result", "json_safe", "write_report"]


def write_report(result: EvalResult, directory: str | Path) -> list[Path]:
    """Write scores.json, report.md, per_class.csv, per_video.csv and the plots.

    Files are made in a scratch folder beside ``directory`` and then moved in, so that a failure
    half-way leaves no partial report and a reader never sees a half-written file.
    """
    from vpsbench.report.plots import write_plots

    out = Path(directory)
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        names = ["scores.json", "report.md", "per_class.csv", "per_video.csv"]
        made = [scratch / name for name in names]
        result.to_json(made[0])
        made[1].write_text(result.to_markdown() + "\n")
        result.per_class.to_csv(made[2], index=False)
        result.per_video.to_csv(made[3], index=False)
        made += write_plots(result, scratch)
        out.mkdir(exist_ok=True)
        for path in made:
            os.replace(path, out / path.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return [out / path.name for path in made]
