"""Per-video (VIPSeg) submissions under the submission contract (docs/METRICS.md): each broken
file is refused by ``vpsbench eval`` with exit 2, one line naming the video and file, and
nothing written."""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from vipseg_fixtures import perturbed_submission, prepare_720p, write_raw_release, write_submission

from vpsbench.cli import main
from vpsbench.io.video_submission import is_video_submission
from vpsbench_converters.vipseg import convert_vipseg

VIDEO = "3_Zz9-x_Yq"


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("vipseg_contract")
    raw = write_raw_release(root / "VIPSeg")
    prepared = prepare_720p(raw, root / "VIPSeg_720P", height=36)
    gt = convert_vipseg(prepared, "val", root / "vipseg_val.h5")
    sub = write_submission(root / "valid", perturbed_submission(prepared))
    return {"gt": gt, "sub": sub}


def edit_json(root: Path, change: Callable[[dict], None]) -> None:
    path = root / "pred.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def png_16bit_rgb(width: int, height: int) -> bytes:
    """A valid 16-bit RGB PNG, written by hand (Pillow cannot write one)."""
    rows = b"".join(b"\0" + b"\0\1" * 3 * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))  # fmt: skip


def refused(base, tmp_path, capsys, change, fragment: str, *flags: str) -> None:
    sub = tmp_path / "sub"
    shutil.copytree(base["sub"], sub)
    change(sub)
    out = tmp_path / "scores.json"
    code = main(["eval", "--gt", str(base["gt"]), "--pred", str(sub), "--json", str(out), *flags])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("vpsbench eval: error:") and err.count("\n") == 1, err
    assert "Traceback" not in err and fragment in err, err
    assert not out.exists()


def test_valid_submission_is_a_video_submission(base, capsys, tmp_path):
    assert is_video_submission(base["sub"])
    out = tmp_path / "scores.json"
    assert (
        main(["eval", "--gt", str(base["gt"]), "--pred", str(base["sub"]), "--json", str(out)]) == 0
    )
    assert json.loads(out.read_text())["inputs"]["pred_format"] == "video-submission"


CASES = {
    "video id not a string": (
        lambda r: edit_json(r, lambda d: d["annotations"][0].__setitem__("video_id", 12)),
        "annotations[0]: video_id 12 is not a string",
    ),
    "video listed twice": (
        lambda r: edit_json(r, lambda d: d["annotations"].append(d["annotations"][0])),
        "annotations[2]: video 12_abcDEF-_01 is listed twice",
    ),
    "missing video": (
        lambda r: edit_json(r, lambda d: d["annotations"].pop(1)),
        f"1 GT video missing from pred.json: {VIDEO}",
    ),
    "extra video": (
        lambda r: edit_json(r, lambda d: d["annotations"].append(
            {"video_id": "99_other", "annotations": []})),
        "1 video in pred.json not in the GT: 99_other",
    ),
    "flat annotations": (
        lambda r: edit_json(r, lambda d: d.__setitem__("annotations", d["annotations"][1][
            "annotations"])),
        "annotations[0] must be {\"video_id\": ..., \"annotations\": [...]}",
    ),
    "float id": (
        lambda r: edit_json(r, lambda d: d["annotations"][1]["annotations"][0]["segments_info"][
            0].__setitem__("id", 5.0)),
        f"(video {VIDEO}) annotations[0] (image 00000040) segments_info[0]: id 5.0 is a float",
    ),
    "id 0 listed": (
        lambda r: edit_json(r, lambda d: d["annotations"][1]["annotations"][0]["segments_info"][
            0].__setitem__("id", 0)),
        "id 0 is listed",
    ),
    "unnamed entries of another count": (
        lambda r: edit_json(r, lambda d: [a.pop(k) for a in d["annotations"][1]["annotations"]
                                          for k in ("image_id", "file_name")]
                            and d["annotations"][1]["annotations"].pop()),
        f"pred.json video {VIDEO} has 2 annotations without image ids, the GT video has 3",
    ),
    "mixed naming": (
        lambda r: edit_json(r, lambda d: d["annotations"][1]["annotations"][0].pop("image_id")
                            and d["annotations"][1]["annotations"][0].pop("file_name")),
        f"pred.json video {VIDEO} mixes annotations with and without image_id",
    ),
    "frame missing from pred.json": (
        lambda r: edit_json(r, lambda d: d["annotations"][1]["annotations"].pop()),
        f"1 GT frame missing from pred.json video {VIDEO}: 00000050",
    ),
    "missing PNG": (
        lambda r: (r / "pan_pred" / VIDEO / "00000045.png").unlink(),
        f"1 GT frame missing from pan_pred: {VIDEO}/00000045.png",
    ),
    "extra PNG": (
        lambda r: shutil.copy(r / "pan_pred" / VIDEO / "00000045.png",
                              r / "pan_pred" / VIDEO / "00000046.png"),
        f"1 frame in pan_pred not in the GT: {VIDEO}/00000046.png",
    ),
    "folder of another video": (
        lambda r: shutil.copytree(r / "pan_pred" / VIDEO, r / "pan_pred" / "99_other"),
        "pan_pred/ has folders of videos not in the GT: 99_other",
    ),
    "16-bit RGB PNG": (
        lambda r: (r / "pan_pred" / VIDEO / "00000045.png").write_bytes(png_16bit_rgb(48, 36)),
        f"video {VIDEO}: pan_pred/00000045.png is a 16-bit RGB PNG",
    ),
    "grey PNG": (
        lambda r: Image.fromarray(np.zeros((36, 48), np.uint8)).save(
            r / "pan_pred" / VIDEO / "00000045.png"),
        f"video {VIDEO}: pan_pred/00000045.png is a 8-bit grey PNG",
    ),
    "another size": (
        lambda r: Image.fromarray(np.zeros((36, 40, 3), np.uint8)).save(
            r / "pan_pred" / VIDEO / "00000045.png"),
        f"video {VIDEO}: pan_pred/00000045.png is 40x36, the GT frame is 48x36",
    ),
    "truncated PNG": (
        lambda r: (r / "pan_pred" / VIDEO / "00000045.png").write_bytes(
            (r / "pan_pred" / VIDEO / "00000045.png").read_bytes()[:60]),
        f"video {VIDEO}: pan_pred/00000045.png cannot be decoded as PNG",
    ),
    "JSON id not in the PNG": (
        lambda r: edit_json(r, lambda d: d["annotations"][1]["annotations"][2][
            "segments_info"].append({"id": 4242, "category_id": 0})),
        f"video {VIDEO}, frame 00000050: pred.json ids [4242] do not occur in 00000050.png",
    ),
    "PNG id not in the JSON": (
        lambda r: edit_json(r, lambda d: d["annotations"][1]["annotations"][2][
            "segments_info"].pop()),
        f"video {VIDEO}, 00000050.png: PNG ids",
    ),
    "unknown category": (
        lambda r: edit_json(r, lambda d: d["annotations"][1]["annotations"][0]["segments_info"][
            0].__setitem__("category_id", 124)),
        f"video {VIDEO}, frame 00000040: segment",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_broken_submission_is_refused(base, tmp_path, capsys, case):
    change, fragment = CASES[case]
    refused(base, tmp_path, capsys, change, fragment)


def test_size_limits(base, tmp_path, capsys):
    refused(base, tmp_path, capsys, lambda r: None, "pred.json is", "--max-json-mb", "0.0001")
    refused(
        base, tmp_path / "px", capsys, lambda r: None, "exceeds limit 100", "--max-pixels", "100"
    )
