"""The submission contract (docs/METRICS.md, "Submission contract"): one crafted file per rule,
refused by both ``vpsbench eval`` and ``vpsbench leaderboard score`` with exit 2, one error line
naming the file and the fix, no traceback or library warning, and nothing written."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import write_toy
from PIL import Image

from vpsbench.cli import main
from vpsbench.format import VPSFile
from vpsbench.io.archive import SubmissionLimits
from vpsbench.io.png import DECODER_ENV
from vpsbench.io.submission import SubmissionError, read_id_png, write_submission

H, W = 6, 8  # the toy GT frame
FIRST = "annotations[0] (image 0001_0001) segments_info[0]"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict[str, Path]:
    """A toy GT and a valid submission of it (the GT itself, in the official layout)."""
    root = tmp_path_factory.mktemp("contract")
    gt = write_toy(root / "toy_gt.h5")
    with VPSFile(gt) as g:
        sub = write_submission(g, g, root / "valid")
    return {"gt": gt, "sub": sub}


# --- crafting ---------------------------------------------------------------------------------


def png_chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png_bytes(width: int, height: int, depth: int, colour: int, rows: bytes | None) -> bytes:
    """A PNG written by hand (Pillow cannot write 16-bit RGB); ``rows`` None: a tiny IDAT."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    idat = zlib.compress(rows if rows is not None else b"\0" * 1024)
    chunks = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def rgb16_png(width: int, height: int) -> bytes:
    """A valid 16-bit RGB PNG: each row a filter byte then 6 bytes per pixel."""
    row = b"\0" + b"\x80\x00\x40\x00\x80\x00" * width
    return png_bytes(width, height, 16, 2, row * height)


def first_png(sub: Path) -> Path:
    return sorted((sub / "pan_pred").glob("*.png"))[0]


def save_png(mode: str, fmt: str = "PNG") -> Callable[[Path], None]:
    """Replace the first PNG with a GT-sized image of another PIL mode (or format)."""

    def edit(sub: Path) -> None:
        arrays = {
            "RGBA": np.full((H, W, 4), 128, np.uint8),
            "LA": np.full((H, W, 2), 128, np.uint8),
            "I;16": np.full((H, W), 40000, np.uint16),
        }
        img = Image.fromarray(arrays[mode]) if mode in arrays else Image.new(mode, (W, H), 1)
        img.save(first_png(sub), format=fmt)

    return edit


def write_png_bytes(data: bytes) -> Callable[[Path], None]:
    def edit(sub: Path) -> None:
        first_png(sub).write_bytes(data)

    return edit


def edit_segment(change: Callable[[list[dict]], None]) -> Callable[[Path], None]:
    """Change the first annotation's segments_info in pred.json."""

    def edit(sub: Path) -> None:
        data = json.loads((sub / "pred.json").read_text())
        change(data["annotations"][0]["segments_info"])
        (sub / "pred.json").write_text(json.dumps(data))

    return edit


def set_key(key: str, value) -> Callable[[Path], None]:
    return edit_segment(lambda segments: segments[0].__setitem__(key, value))


def huge_pred_json(sub: Path) -> None:
    """Valid JSON padded to 200 MiB: refused by size, before it is read."""
    text = (sub / "pred.json").read_text()
    with open(sub / "pred.json", "w") as f:
        f.write(text[:-1])
        f.write(" " * (200 * 2**20 - len(text)))
        f.write("}")


# rule id -> (edit of the valid submission, fragments expected in the error line)
RULES: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "id-float": (set_key("id", 8405120.5), [FIRST, "id 8405120.5 is a float", "JSON integer"]),
    "id-string": (set_key("id", "8405120"), [FIRST, 'id "8405120" is a string', "no quotes"]),
    "id-integral-float": (set_key("id", 13.0), [FIRST, "id 13.0 is a float"]),
    "id-bool": (set_key("id", True), [FIRST, "id true is a boolean"]),
    "category-bool": (set_key("category_id", True), [FIRST, "category_id true is a boolean"]),
    "category-string": (set_key("category_id", "1"), [FIRST, 'category_id "1" is a string']),
    "category-float": (set_key("category_id", 1.0), [FIRST, "category_id 1.0 is a float"]),
    "id-zero": (
        edit_segment(lambda s: s.append({"id": 0, "category_id": 0})),
        ["annotations[0] (image 0001_0001)", "id 0 is listed", "remove it from segments_info"],
    ),
    "id-too-large": (set_key("id", 2**24), [FIRST, "outside 1..16777215"]),
    "id-duplicate": (
        edit_segment(lambda s: s.append(dict(s[0]))),
        ["annotations[0] (image 0001_0001)", "listed twice"],
    ),
    "png-rgb16": (write_png_bytes(rgb16_png(W, H)), ["16-bit RGB PNG", "save an 8-bit RGB PNG"]),
    "png-rgba": (save_png("RGBA"), ["8-bit RGBA PNG", "no alpha"]),
    "png-palette": (save_png("P"), ["palette PNG", "no palette"]),
    "png-grey": (save_png("L"), ["8-bit grey PNG"]),
    "png-grey-alpha": (save_png("LA"), ["8-bit grey+alpha PNG"]),
    "png-grey16": (save_png("I;16"), ["16-bit grey PNG"]),
    "png-is-bmp": (save_png("RGB", "BMP"), ["is not a PNG file (BMP data)", "save the id map"]),
    "png-is-jpeg": (save_png("RGB", "JPEG"), ["is not a PNG file (JPEG data)"]),
    "png-truncated": (
        write_png_bytes(png_bytes(W, H, 8, 2, None)[:20]),
        ["cannot be decoded as PNG", "re-save it"],
    ),
    # 10000 x 10000 is above Pillow's warning threshold and below its error threshold:
    # Pillow would warn (DecompressionBombWarning) and then decode 300 MB of pixels.
    "png-bomb": (
        write_png_bytes(png_bytes(10_000, 10_000, 8, 2, None)),
        ["declares 10000x10000", "exceeds limit 89,478,485 (--max-pixels)", "decompression bomb"],
    ),
    "png-wrong-size": (
        write_png_bytes(png_bytes(W + 1, H, 8, 2, None)),
        [f"is {W + 1}x{H}, the GT frame is {W}x{H}"],
    ),
}
PNG_RULES = {rule for rule in RULES if rule.startswith("png-")}


def crafted(tmp_path: Path, base: dict, edit: Callable[[Path], None], form: str) -> Path:
    """A copy of the valid submission with one edit, as a directory or a zip."""
    sub = Path(shutil.copytree(base["sub"], tmp_path / "sub"))
    edit(sub)
    if form == "dir":
        return sub
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(sub.rglob("*")):
            z.write(path, path.relative_to(sub).as_posix())
    return archive


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str, list]:
    """Run the CLI in-process, recording every warning (none may be raised)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err, caught


def refused_by_both(capsys, tmp_path: Path, gt: Path, submission: Path, *options: str) -> list:
    """Both commands refuse the submission the same way; return their two error lines."""
    json_out, report, registry = tmp_path / "s.json", tmp_path / "report", tmp_path / "registry"
    registry.mkdir(exist_ok=True)
    runs = {
        "eval": ["eval", "--gt", str(gt), "--pred", str(submission), "--metrics", "vpq,pq",
                 "--json", str(json_out), "--report", str(report), *options],
        "leaderboard": ["leaderboard", "score", str(submission), "--gt", str(gt),
                        "--method", "Crafted", "--registry", str(registry), *options],
    }  # fmt: skip
    messages = []
    for command, argv in runs.items():
        code, out, err, caught = run_cli(capsys, argv)
        lines = err.splitlines()
        assert code == 2, (command, out, err)
        assert len(lines) == 1, (command, err)
        assert lines[0].startswith(f"vpsbench {command}: error: "), lines[0]
        assert "Traceback" not in err and "Warning" not in err and caught == [], (err, caught)
        assert not json_out.exists() and not report.exists()
        assert list(registry.iterdir()) == []
        assert list(tmp_path.glob(".report-*")) == []
        messages.append(lines[0])
    assert messages[1].startswith("vpsbench leaderboard: error: submission rejected: ")
    return messages


@pytest.mark.parametrize("form", ["dir", "zip"])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_rule_is_enforced_by_eval_and_leaderboard(capsys, tmp_path, base, rule, form):
    edit, fragments = RULES[rule]
    submission = crafted(tmp_path, base, edit, form)
    png = first_png(base["sub"]).name
    for line in refused_by_both(capsys, tmp_path, base["gt"], submission):
        for fragment in fragments:
            assert fragment in line, (rule, line)
        where = f"pan_pred/{png}" if rule in PNG_RULES else "pred.json: "
        assert where in line, (rule, line)


def test_valid_submission_is_scored_by_both(capsys, tmp_path, base):
    """The crafted files differ from this one only by the broken rule."""
    registry = tmp_path / "registry"
    registry.mkdir()
    code, _, err, caught = run_cli(capsys, [
        "eval", "--gt", str(base["gt"]), "--pred", str(base["sub"]), "--metrics", "pq",
        "--json", str(tmp_path / "s.json"), "--report", str(tmp_path / "report"),
    ])  # fmt: skip
    assert code == 0 and caught == [], err
    assert json.loads((tmp_path / "s.json").read_text())["pq"]["all"] == 100.0
    assert (tmp_path / "report" / "scores.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    code, _, err, caught = run_cli(capsys, [
        "leaderboard", "score", str(base["sub"]), "--gt", str(base["gt"]), "--method", "Valid",
        "--metrics", "pq", "--registry", str(registry),
    ])  # fmt: skip
    assert code == 0 and caught == [], err
    assert len(list(registry.glob("*.json"))) == 1


def test_pred_json_of_200_mib_is_refused_by_default(capsys, tmp_path, base):
    submission = crafted(tmp_path, base, huge_pred_json, "dir")
    for line in refused_by_both(capsys, tmp_path, base["gt"], submission):
        assert "pred.json is 209.72 MB (limit 100.00 MB)" in line
        assert "--max-json-mb" in line


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (("--max-json-mb", "0.0001"), r"pred\.json is [\d.]+ kB \(limit 100 B\); a Cityscapes"),
        (("--max-pixels", "47"), r"declares 8x6 = 48 pixels, which exceeds limit 47"),
        (("--max-files", "3"), r"files \(limit 3\)"),
        # the leaderboard also checks the size of the zip file itself, first
        (("--max-size-mb", "0.001"), r"\(limit 1\.00 kB\)|is larger than 1\.0 kB"),
    ],
)
def test_limits_are_configurable_on_both_commands(capsys, tmp_path, base, options, fragment):
    submission = crafted(tmp_path, base, lambda sub: None, "zip")
    for line in refused_by_both(capsys, tmp_path, base["gt"], submission, *options):
        assert re.search(fragment, line), line


def test_limit_flags_have_the_same_defaults_on_both_commands(capsys):
    d = SubmissionLimits()
    for argv in (["eval", "--help"], ["leaderboard", "score", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out
        for flag, default in [("--max-size-mb", f"{d.max_total_bytes / 1e6:g}"),
                              ("--max-files", str(d.max_files)),
                              ("--max-ratio", f"{d.max_ratio:g}"),
                              ("--max-json-mb", f"{d.max_json_bytes / 1e6:g}"),
                              ("--max-pixels", str(d.max_pixels))]:  # fmt: skip
            assert flag in out
            assert f"(default: {default}" in " ".join(out.split()), (argv, flag)


def test_pillow_bomb_warning_becomes_our_refusal(tmp_path, monkeypatch):
    """Should Pillow still warn while decoding (its limit lowered here), it is a refusal."""
    path = tmp_path / "a.png"
    Image.new("RGB", (W, H)).save(path)
    monkeypatch.setenv(DECODER_ENV, "pillow")  # the default decoder, pyspng, has no such guard
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(SubmissionError, match="refusing a possible decompression bomb"):
            read_id_png(path, H, W)
    assert caught == []


def test_bomb_refusal_in_a_real_process_prints_one_line(tmp_path, base):
    """Outside pytest's warning capture: stderr holds our line and the hint, nothing else."""
    submission = crafted(tmp_path, base, RULES["png-bomb"][0], "dir")
    argv = ["eval", "--gt", str(base["gt"]), "--pred", str(submission)]
    code = "import sys; from vpsbench.cli import main; sys.exit(main(sys.argv[1:]))"
    done = subprocess.run(
        [sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "exceeds limit" in lines[0] and "Warning" not in done.stderr


def test_report_is_written_atomically(tmp_path, base):
    """An existing report folder gets complete files, and no scratch folder is left."""
    from vpsbench.evaluation import evaluate
    from vpsbench.report import write_report

    result = evaluate(base["gt"], base["sub"], metrics="pq")
    report = tmp_path / "report"
    report.mkdir()
    (report / "scores.json").write_text("old")
    written = write_report(result, report, overwrite=True)
    assert all(p.parent == report and p.is_file() for p in written)
    assert json.loads((report / "scores.json").read_text())["pq"]["all"] == 100.0
    result.to_json(tmp_path / "s.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report", "s.json"]
