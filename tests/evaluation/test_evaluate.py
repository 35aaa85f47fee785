"""``vpsbench.evaluate`` end to end: HDF5 and submission inputs agree, bad inputs are named."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import write_toy

import vpsbench
from vpsbench.evaluation import EvaluationError
from vpsbench.format import VPSFile, VPSWriter
from vpsbench.format.schema import FileInfo, GroundTruthRef
from vpsbench.io.submission import write_submission as export_submission


def write_prediction(
    gt_path: Path, out: Path, transform: Callable[[str, int, np.ndarray], np.ndarray]
) -> Path:
    """A prediction file whose maps are ``transform(video_id, row, gt_map)``."""
    with VPSFile(gt_path) as gt:
        info = FileInfo(kind="prediction", dataset=gt.info.dataset, split=gt.info.split)
        info.predicts = GroundTruthRef(
            gt.info.dataset, gt.info.split, gt_path.name, gt.info.content_id
        )
        with VPSWriter(out, info, gt.categories) as writer:
            for video in gt:
                with writer.video(video.video_id, video.height, video.width) as pv:
                    for row, i in enumerate(video.annotated_indices):
                        pred = transform(video.video_id, row, video.panoptic(int(i)))
                        pv.add_frame(video.stems[i], int(video.source_frames[i]), pred)
    return out


def shift_car(video_id: str, row: int, gt: np.ndarray) -> np.ndarray:
    """Moves the car one pixel down and switches the person's id in video 0002 from row 1 on."""
    pred = gt.copy()
    car = gt // 1000 == 13
    pred[car] = 0
    pred[np.roll(car, 1, axis=0)] = 13_001
    if video_id == "0002" and row >= 1:
        pred[gt == 11_002] = 11_007
    return pred


def write_submission(gt_path: Path, pred_path: Path, root: Path, with_ids: bool = True) -> Path:
    """The official layout of a prediction file: pred.json + pan_pred/<stem>.png colour ids."""
    with VPSFile(gt_path) as gt, VPSFile(pred_path) as pred:
        return export_submission(pred, gt, root, with_ids=with_ids)


@pytest.fixture
def shifted_pred(tmp_path, toy_gt) -> Path:
    return write_prediction(toy_gt, tmp_path / "pred.h5", shift_car)


def test_perfect_prediction_scores_100(tmp_path, toy_gt):
    pred = write_prediction(toy_gt, tmp_path / "p.h5", lambda v, r, g: g)
    result = vpsbench.evaluate(toy_gt, pred, metrics="vpq,pq")
    assert result.summary["pq"]["all"] == 100.0
    for k in ("0", "5", "10"):
        assert result.summary["vpq"]["k"][k]["all"] == 100.0
    # The toy videos have 3 annotated frames: no window of 4, so k=15 and the mean are undefined.
    assert result.summary["vpq"]["k"]["15"]["all"] is None
    assert result.summary["vpq"]["all"] is None


def test_submission_dir_zip_and_positional_agree_with_hdf5(tmp_path, toy_gt, shifted_pred):
    reference = vpsbench.evaluate(toy_gt, shifted_pred, metrics="vpq,pq").summary
    assert reference["vpq"]["k"]["5"]["things"] < reference["vpq"]["k"]["0"]["things"]
    named = write_submission(toy_gt, shifted_pred, tmp_path / "named")
    unnamed = write_submission(toy_gt, shifted_pred, tmp_path / "unnamed", with_ids=False)
    archive = tmp_path / "submission.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(named.rglob("*")):
            zf.write(path, path.relative_to(named).as_posix())
    for source in (named, unnamed, archive):
        summary = vpsbench.evaluate(toy_gt, source, metrics="vpq,pq").summary
        assert summary["vpq"] == reference["vpq"]
        assert summary["pq"] == reference["pq"]
        assert summary["inputs"]["pred_format"] == "cityscapes-vps-submission"


def test_workers_do_not_change_results(toy_gt, shifted_pred):
    one = vpsbench.evaluate(toy_gt, shifted_pred, metrics="vpq,pq", workers=1)
    two = vpsbench.evaluate(toy_gt, shifted_pred, metrics="vpq,pq", workers=2)
    assert one.summary == two.summary


def test_result_json_and_markdown(tmp_path, toy_gt, shifted_pred):
    result = vpsbench.evaluate(toy_gt, shifted_pred, metrics="vpq,pq")
    data = json.loads(result.to_json(tmp_path / "s.json"))
    assert set(data["vpq"]["k"]) == {"0", "5", "10", "15"}
    assert data["protocol"]["vpq_k"] == [0, 5, 10, 15]
    assert data["inputs"]["videos"] == 2
    assert {"metric", "category_id", "name", "pq", "tp", "fp", "fn"} <= set(data["per_class"][0])
    markdown = result.to_markdown()
    assert "| things |" in markdown and "person" in markdown


def corrupt_and_expect(tmp_path, toy_gt, shifted_pred, edit, message):
    root = write_submission(toy_gt, shifted_pred, tmp_path / "sub")
    edit(root)
    with pytest.raises(EvaluationError, match=message):
        vpsbench.evaluate(toy_gt, root, metrics="vpq")


def edit_json(root: Path, change: Callable[[dict], None]) -> None:
    data = json.loads((root / "pred.json").read_text())
    change(data)
    (root / "pred.json").write_text(json.dumps(data))


def test_png_id_missing_from_json(tmp_path, toy_gt, shifted_pred):
    def drop_segment(data):
        data["annotations"][0]["segments_info"].pop()

    corrupt_and_expect(
        tmp_path, toy_gt, shifted_pred, lambda r: edit_json(r, drop_segment), "not in pred.json"
    )


def test_json_id_missing_from_png(tmp_path, toy_gt, shifted_pred):
    def add_segment(data):
        data["annotations"][0]["segments_info"].append({"id": 4242, "category_id": 0})

    corrupt_and_expect(
        tmp_path, toy_gt, shifted_pred, lambda r: edit_json(r, add_segment), "do not occur"
    )


def test_duplicate_segment_id(tmp_path, toy_gt, shifted_pred):
    def duplicate(data):
        segments = data["annotations"][0]["segments_info"]
        segments.append(dict(segments[0]))

    corrupt_and_expect(
        tmp_path, toy_gt, shifted_pred, lambda r: edit_json(r, duplicate), "listed twice"
    )


def test_unknown_category_in_submission(tmp_path, toy_gt, shifted_pred):
    def unknown(data):
        data["annotations"][0]["segments_info"][0]["category_id"] = 77

    corrupt_and_expect(
        tmp_path, toy_gt, shifted_pred, lambda r: edit_json(r, unknown), "unknown category_id 77"
    )


def test_unreadable_png(tmp_path, toy_gt, shifted_pred):
    def truncate(root):
        png = sorted((root / "pan_pred").glob("*.png"))[0]
        png.write_bytes(png.read_bytes()[:20])

    corrupt_and_expect(tmp_path, toy_gt, shifted_pred, truncate, "cannot be decoded")


def test_missing_png_frame_is_named(tmp_path, toy_gt, shifted_pred):
    def remove(root):
        sorted((root / "pan_pred").glob("*.png"))[1].unlink()

    corrupt_and_expect(tmp_path, toy_gt, shifted_pred, remove, "missing from pan_pred")


def test_unknown_category_in_hdf5(tmp_path, toy_gt):
    def bad(video_id, row, gt):
        pred = gt.copy()
        pred[0, 0] = 42_001
        return pred

    pred = write_prediction(toy_gt, tmp_path / "bad.h5", bad)
    with pytest.raises(EvaluationError, match=r"video 0001, frame 0001_0001.*unknown categories"):
        vpsbench.evaluate(toy_gt, pred, metrics="vpq")


def test_negative_ids_in_hdf5(tmp_path, toy_gt):
    def negative(video_id, row, gt):
        pred = gt.copy()
        pred[0, 0] = -5
        return pred

    pred = write_prediction(toy_gt, tmp_path / "neg.h5", negative)
    with pytest.raises(EvaluationError, match="negative"):
        vpsbench.evaluate(toy_gt, pred, metrics="vpq")


def test_prediction_of_another_shape_is_refused(tmp_path):
    gt = write_toy(tmp_path / "gt.h5")
    other = write_toy(tmp_path / "other.h5", frames=4)
    pred = write_prediction(other, tmp_path / "p.h5", lambda v, r, g: g)
    with pytest.raises(EvaluationError, match="does not fit the GT"):
        vpsbench.evaluate(gt, pred, metrics="vpq")


def test_gt_given_as_prediction_and_unknown_metric(tmp_path, toy_gt, shifted_pred):
    with pytest.raises(EvaluationError, match="prediction file"):
        vpsbench.evaluate(shifted_pred, toy_gt)
    with pytest.raises(EvaluationError, match="unknown metrics"):
        vpsbench.evaluate(toy_gt, shifted_pred, metrics="vpq,bogus")


def test_float_label_maps_are_refused(tmp_path, toy_gt):
    import h5py

    pred = write_prediction(toy_gt, tmp_path / "float.h5", lambda v, r, g: g)
    with h5py.File(pred, "r+") as f:
        maps = f["videos/0001/panoptic"][()]
        del f["videos/0001/panoptic"]
        f.create_dataset("videos/0001/panoptic", data=maps.astype(np.float32), chunks=True)
    with pytest.raises(EvaluationError, match="dtype float32 is not an integer type"):
        vpsbench.evaluate(toy_gt, pred, metrics="vpq")


def test_a_worker_task_carries_only_its_video_of_a_submission(tmp_path, toy_gt, shifted_pred):
    from vpsbench.evaluation.predictions import open_predictions

    root = write_submission(toy_gt, shifted_pred, tmp_path / "sub")
    with VPSFile(toy_gt) as gt, open_predictions(root, gt) as source:
        video = gt.video_ids[1]
        stems = [gt.video(video).stems[i] for i in gt.video(video).annotated_indices]
        cut = source.for_video(video)
        assert set(cut.frames) == set(cut.frame_sizes) == {video}
        assert len(source.frames) == len(gt.video_ids) > 1  # the source itself is unchanged
        for whole, part in zip(source.video_maps(video, stems), cut.video_maps(video, stems),
                               strict=True):  # fmt: skip
            np.testing.assert_array_equal(whole, part)
    two = vpsbench.evaluate(toy_gt, root, metrics="vpq,pq,stq,vc,idsw", workers=2).summary
    one = vpsbench.evaluate(toy_gt, root, metrics="vpq,pq,stq,vc,idsw", workers=1).summary
    assert json.dumps(two, sort_keys=True) == json.dumps(one, sort_keys=True)
