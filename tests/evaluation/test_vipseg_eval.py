"""Scoring VIPSeg submissions (pred.json + pan_pred/<video>/): vpsbench == the literal official
scorers on the same files, for a directory, a zip, the imported and the exported prediction."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from literal_vipseg import literal_stq_vspw, literal_vpq_vspw, read_layout
from vipseg_fixtures import (
    H,
    W,
    perturbed_submission,
    prepare_720p,
    write_raw,
    write_raw_release,
    write_submission,
)

from vpsbench.cli import main
from vpsbench.evaluation import evaluate
from vpsbench_converters.submission import import_submission
from vpsbench_converters.vipseg import convert_vipseg
from vpsbench_converters.vipseg_export import export_vipseg


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    base = tmp_path_factory.mktemp("vipseg")
    raw = write_raw_release(base / "VIPSeg")
    prepared = prepare_720p(raw, base / "VIPSeg_720P", height=36)
    gt = convert_vipseg(prepared, "val", base / "vipseg_val.h5")
    submission = write_submission(base / "sub", perturbed_submission(prepared))
    return prepared, gt, submission


def official(prepared, submission) -> tuple[dict, dict]:
    layout = read_layout(prepared / "panoptic_gt_VIPSeg_val.json", prepared / "panomasksRGB",
                         submission)  # fmt: skip
    return literal_vpq_vspw(*layout), literal_stq_vspw(*layout)


def assert_official(result, vpq: dict, stq: dict) -> None:
    summary = result.summary
    for n, k in zip((1, 2, 4, 6, 8), ("0", "5", "15", "25", "35"), strict=True):
        got = summary["vpq"]["k"][k]
        assert (got["all"], got["things"], got["stuff"]) == pytest.approx(vpq["k"][n], abs=1e-9)
    final = (summary["vpq"]["all"], summary["vpq"]["things"], summary["vpq"]["stuff"])
    assert final == pytest.approx(vpq["final"], abs=1e-9)
    got = summary["stq"]
    assert (got["stq"], got["aq"], got["sq"]) == pytest.approx(
        (100 * stq["STQ"], 100 * stq["AQ"], 100 * stq["IoU"]), abs=1e-9
    )


def test_submission_scores_as_the_official_scripts(release, tmp_path):
    prepared, gt, submission = release
    vpq, stq = official(prepared, submission)
    assert None not in vpq["final"]  # a 9-frame video: every window size is scored
    result = evaluate(gt, submission, metrics="vpq,stq")
    assert result.summary["inputs"]["pred_format"] == "video-submission"
    assert result.summary["protocol"]["name"] == "vipseg_official"
    assert result.summary["protocol"]["stq_rule"] == "vipseg"
    assert_official(result, vpq, stq)
    # The door listed first in 3_Zz9-x_Yq is crowd for STQ there: AQ differs from deeplab2's.
    assert result.summary["stq"]["num_gt_tracks"] == 6 + 6
    # a zip, the imported unified file and its export score the same
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(submission.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(submission).as_posix())
    pred = import_submission(submission, gt, tmp_path / "pred.h5")
    exported = export_vipseg(pred, tmp_path / "exported", gt=gt)
    for source in (archive, pred, exported):
        assert_official(evaluate(gt, source, metrics="vpq,stq"), vpq, stq)


def test_eval_command_with_a_release_root_and_json(release, tmp_path, capsys):
    prepared, _, submission = release
    out = tmp_path / "scores.json"
    code = main(["eval", "--gt", str(prepared), "--split", "val", "--pred", str(submission),
                 "--metrics", "vpq", "--json", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    vpq, _ = official(prepared, submission)
    assert json.loads(out.read_text())["vpq"]["all"] == pytest.approx(vpq["final"][0], abs=1e-9)


# --- hypothesis: random releases and submissions, end to end ------------------------------------

THING_VALUES = [300, 301, 6100, 6101, 4900, 3]  # door 0/1, person 0/1, car 0, door as code 3
STUFF_VALUES = [0, 1, 2, 14, 29, 200, 150]  # void, wall, ceiling, floor, sky, 200, 150 (wall)
PRED_CATEGORIES = [0, 1, 2, 13, 28, 48, 60]


def random_release(rng, root, lengths):
    """A raw release of random blocky masks, all its videos in val."""
    masks = {}
    for v, length in enumerate(lengths):
        frames = {}
        for t in range(length):
            block = rng.choice(STUFF_VALUES + THING_VALUES, size=(4, 4))
            if t == 0 and rng.random() < 0.5:  # no wall/ceiling code: a thing may come first
                block[np.isin(block, (1, 2))] = 14
            frames[f"{3 + 2 * t:08d}"] = np.kron(block, np.ones((H // 4, W // 4), np.int64)).astype(
                np.uint16
            )
        masks[f"{v}_rand"] = frames
    return write_raw(root, masks, {"val": list(masks), "train": []})


def random_submission(rng, prepared) -> dict:
    gt = json.loads((prepared / "panoptic_gt_VIPSeg_val.json").read_text())
    out = {}
    for video in gt["videos"]:
        frames = []
        for image in video["images"]:
            shape = (image["height"], image["width"])
            block = rng.choice([0, 5, 6, 7, 8, 9], size=(3, 4))
            rows = -(-shape[0] // 3)
            cols = -(-shape[1] // 4)
            ids = np.kron(block, np.ones((rows, cols), np.int64))[: shape[0], : shape[1]]
            table = {int(i): int(rng.choice(PRED_CATEGORIES)) for i in np.unique(ids) if i}
            frames.append((image["file_name"], ids, table))
        out[video["video_id"]] = frames
    return out


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), lengths=st.lists(st.integers(1, 9), min_size=1, max_size=3))
def test_random_releases_score_as_the_official_scripts(tmp_path_factory, seed, lengths):
    rng = np.random.default_rng(seed)
    base = tmp_path_factory.mktemp("random")
    raw = random_release(rng, base / "VIPSeg", lengths)
    prepared = prepare_720p(raw, base / "VIPSeg_720P", height=12)
    gt = convert_vipseg(prepared, "val", base / "gt.h5")
    submission = write_submission(base / "sub", random_submission(rng, prepared),
                                  named=bool(seed % 2))  # fmt: skip
    vpq, stq = official(prepared, submission)
    result = evaluate(gt, submission, metrics="vpq,stq")
    summary = result.summary["vpq"]
    for n, k in zip((1, 2, 4, 6, 8), ("0", "5", "15", "25", "35"), strict=True):
        got = summary["k"][k]
        for a, b in zip((got["all"], got["things"], got["stuff"]), vpq["k"][n], strict=True):
            assert (a is None) == (b is None) and (a is None or a == pytest.approx(b, abs=1e-9))
    got = result.summary["stq"]
    assert (got["stq"], got["aq"], got["sq"]) == pytest.approx(
        (100 * stq["STQ"], 100 * stq["AQ"], 100 * stq["IoU"]), abs=1e-9
    )
