"""Submissions whose colour ids change category score as the official scorer scores them.

End to end, from files: ``evaluate`` on the submission equals the literal official procedure
run on the decoded PNGs and pred.json; the submission imported as a unified file
(``tube_identity = "instance"``) and that file exported again score the same; ``split`` is an
option that differs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import write_toy
from literal_vpq import literal_vpq
from PIL import Image

import vpsbench
from vpsbench.evaluation import EvaluationError
from vpsbench.format import VPSFile
from vpsbench.format.validate import validate_file
from vpsbench.io.submission import id_to_rgb, rgb_to_id
from vpsbench_converters.cityscapes_vps_export import export_cityscapes_vps
from vpsbench_converters.submission import import_submission

CAR_ID, PERSON_ID, ROAD_ID, SKY_ID = 300, 301, 8405120, 11829830


def colour_frame(pan: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """Colour ids of a shifted-car prediction and its {id: category} table."""
    ids = np.zeros(pan.shape, np.uint32)
    ids[pan == 0] = ROAD_ID
    ids[pan == 10_000] = SKY_ID
    car = pan // 1000 == 13
    ids[np.roll(car, 1, axis=0)] = CAR_ID
    ids[pan == 11_002] = PERSON_ID
    table = {ROAD_ID: 0, SKY_ID: 10, CAR_ID: 13, PERSON_ID: 11}
    return ids, {i: c for i, c in table.items() if (ids == i).any()}


def write_category_changing_submission(gt_path: Path, root: Path) -> Path:
    """The car's colour id is labelled person in video 0002 from its 3rd annotated frame on,
    and again a car in its 5th (as a tracker that gives one id to two classes would)."""
    (root / "pan_pred").mkdir(parents=True)
    annotations = []
    with VPSFile(gt_path) as gt:
        frames = sorted(
            (v.stems[i], v, row) for v in gt for row, i in enumerate(v.annotated_indices)
        )
        for stem, video, row in frames:
            ids, table = colour_frame(video.panoptic(video.frame_index(stem)))
            if video.video_id == "0002" and row in (2, 3):
                table[CAR_ID] = 11
            Image.fromarray(id_to_rgb(ids)).save(root / "pan_pred" / f"{stem}.png")
            segments = [{"id": i, "category_id": c} for i, c in table.items()]
            annotations.append({"image_id": stem, "segments_info": segments})
    (root / "pred.json").write_text(json.dumps({"annotations": annotations}))
    return root


def literal_scores(gt_path: Path, submission: Path) -> dict:
    """The literal official procedure on the decoded files: {n: (all, things, stuff)}."""
    entries = json.loads((submission / "pred.json").read_text())["annotations"]
    tables = {
        e["image_id"]: {s["id"]: s["category_id"] for s in e["segments_info"]} for e in entries
    }
    videos = []
    with VPSFile(gt_path) as gt:
        categories = [c.id for c in gt.categories]
        things = {c.id for c in gt.categories if c.isthing}
        for video in gt:
            stems = [video.stems[i] for i in video.annotated_indices]
            gts = [video.panoptic(int(i)) for i in video.annotated_indices]
            rgb = [np.asarray(Image.open(submission / "pan_pred" / f"{s}.png")) for s in stems]
            ids = [rgb_to_id(x).astype(np.int64) for x in rgb]
            videos.append((gts, ids, [tables[s] for s in stems]))
    _, scores = literal_vpq(videos, categories, things, (1, 2, 3, 4))
    return scores


@pytest.fixture
def gt6(tmp_path) -> Path:
    """Two videos with 6 annotated frames each, like Cityscapes-VPS."""
    return write_toy(tmp_path / "toy_gt.h5", frames=12, stride=2)


@pytest.fixture
def submission(tmp_path, gt6) -> Path:
    return write_category_changing_submission(gt6, tmp_path / "sub")


def vpq_by_k(result) -> dict:
    vpq = result.summary["vpq"]
    return {k: tuple(vpq["k"][k][g] for g in ("all", "things", "stuff")) for k in vpq["k"]}


def test_submission_scores_as_the_literal_official_procedure(gt6, submission):
    fast = vpq_by_k(vpsbench.evaluate(gt6, submission, metrics="vpq"))
    literal = literal_scores(gt6, submission)
    for n, k in zip((1, 2, 3, 4), ("0", "5", "10", "15"), strict=True):
        assert fast[k] == pytest.approx(literal[n], abs=1e-9), k


def test_split_rule_is_an_option_that_differs(gt6, submission):
    official = vpq_by_k(vpsbench.evaluate(gt6, submission, metrics="vpq"))
    split = vpq_by_k(vpsbench.evaluate(gt6, submission, metrics="vpq", tube_rule="split"))
    assert split["0"] == official["0"]  # one frame: the rule cannot matter
    assert any(split[k][1] != official[k][1] for k in ("5", "10", "15"))


def test_imported_submission_and_its_export_score_the_same(tmp_path, gt6, submission):
    direct = vpsbench.evaluate(gt6, submission)
    pred = import_submission(submission, gt6, tmp_path / "pred.h5")
    assert validate_file(str(pred)) == []
    with VPSFile(pred) as f:
        assert f.info.tube_identity == "instance"
    imported = vpsbench.evaluate(gt6, pred)
    exported = export_cityscapes_vps(pred, tmp_path / "exported", gt=gt6)
    again = vpsbench.evaluate(gt6, exported)
    for result in (imported, again):
        assert vpq_by_k(result) == vpq_by_k(direct)
        for metric in ("pq", "stq", "vc", "idsw"):
            assert result.summary[metric] == direct.summary[metric], metric


def test_import_refuses_two_colour_ids_for_one_stuff_class(tmp_path, gt6, submission):
    data = json.loads((submission / "pred.json").read_text())
    first = data["annotations"][0]
    png = submission / "pan_pred" / f"{first['image_id']}.png"
    ids = rgb_to_id(np.asarray(Image.open(png)))
    ids[ids == SKY_ID] = 77
    Image.fromarray(id_to_rgb(ids)).save(png)
    first["segments_info"] = [
        {"id": 77 if s["id"] == SKY_ID else s["id"], "category_id": s["category_id"]}
        for s in first["segments_info"]
    ]
    (submission / "pred.json").write_text(json.dumps(data))
    vpsbench.evaluate(gt6, submission)  # the submission itself is fine to score
    with pytest.raises(EvaluationError, match="one-id-per-stuff-class"):
        import_submission(submission, gt6, tmp_path / "pred.h5")
    assert not (tmp_path / "pred.h5").exists()


def test_instance_file_with_two_categories_for_one_instance_in_a_frame_is_refused(tmp_path, gt6):
    from test_evaluate import write_prediction

    def clash(video_id, row, gt):
        pred = gt.copy()
        pred[gt == 11_002] = 13_001  # the person gets the car's instance id, as a car...
        pred[0, 0] = 11_001  # ...and one pixel of instance 1 is a person in the same frame
        return pred

    pred = write_prediction(gt6, tmp_path / "pred.h5", clash)
    import h5py

    with h5py.File(pred, "a") as f:
        f.attrs["tube_identity"] = "instance"
    assert any(p.check == "tube_identity" for p in validate_file(str(pred)))
    with pytest.raises(EvaluationError, match="two categories in this frame"):
        vpsbench.evaluate(gt6, pred, metrics="vpq")


def test_table_says_when_the_tube_rule_is_not_official(gt6, submission):
    official = vpsbench.evaluate(gt6, submission, metrics="vpq")
    split = vpsbench.evaluate(gt6, submission, metrics="vpq", tube_rule="split")
    assert official.summary["inputs"]["vpq_tube_rule"] == "official"
    assert "tube rule" not in official.table()
    assert "not the official scorer's rule" in split.table()
