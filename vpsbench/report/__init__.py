"""Reports of an evaluation: ``EvalResult`` (JSON, tables), Markdown, CSV and plots."""

from __future__ import annotations

from pathlib import Path

from vpsbench.report.result import EvalResult, build_result, json_safe

__all__ = ["EvalResult", "build_result", "json_safe", "write_report"]


def write_report(result: EvalResult, directory: str | Path) -> list[Path]:
    """Write scores.json, report.md, per_class.csv, per_video.csv and the plots."""
    from vpsbench.report.plots import write_plots

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "scores.json", out / "report.md", out / "per_class.csv", out / "per_video.csv"]
    result.to_json(written[0])
    written[1].write_text(result.to_markdown() + "\n")
    result.per_class.to_csv(written[2], index=False)
    result.per_video.to_csv(written[3], index=False)
    return written + write_plots(result, out)
