"""``vpsbench.evaluate_many``: several predictions in one pass over the GT, each scored as alone."""

from __future__ import annotations

import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import vpsbench
from vpsbench.evaluation import EvaluationError, evaluate_many
from vpsbench.evaluation.predictions import HDF5Predictions
from vpsbench.evaluation.runner import VideoTask, compute_video_stats, compute_video_stats_many
from vpsbench.format import VPSFile, VPSWriter
from vpsbench.format.reader import Video
from vpsbench.format.schema import FileInfo, GroundTruthRef
from vpsbench.io.submission import write_submission


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
    """The car one pixel down; the person's id switches in video 0002 from row 1 on."""
    pred = gt.copy()
    car = gt // 1000 == 13
    pred[car] = 0
    pred[np.roll(car, 1, axis=0)] = 13_001
    if video_id == "0002" and row >= 1:
        pred[gt == 11_002] = 11_007
    return pred


def drop_person(video_id: str, row: int, gt: np.ndarray) -> np.ndarray:
    """The person is missed (predicted as road)."""
    return np.where(gt // 1000 == 11, 0, gt).astype(np.int32)


def as_submission(gt_path: Path, pred_path: Path, root: Path) -> Path:
    with VPSFile(gt_path) as gt, VPSFile(pred_path) as pred:
        return write_submission(pred, gt, root)


def zipped(root: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(root.rglob("*")):
            zf.write(path, path.relative_to(root).as_posix())
    return archive


def error_of(function, *args, **kwargs) -> str:
    """The message of the EvaluationError that ``function(*args, **kwargs)`` raises."""
    with pytest.raises(EvaluationError) as caught:
        function(*args, **kwargs)
    return str(caught.value)


@pytest.fixture
def predictions(tmp_path, toy_gt) -> list[Path]:
    """An HDF5 file, a submission directory and a zip of another prediction, and a perfect one."""
    shifted = write_prediction(toy_gt, tmp_path / "shifted.h5", shift_car)
    missed = write_prediction(toy_gt, tmp_path / "missed.h5", drop_person)
    sub = as_submission(toy_gt, missed, tmp_path / "missed_sub")
    perfect = write_prediction(toy_gt, tmp_path / "perfect.h5", lambda v, r, g: g)
    return [shifted, sub, zipped(sub, tmp_path / "missed.zip"), perfect]


@pytest.mark.parametrize("workers", [1, 2])
def test_each_result_equals_the_prediction_scored_alone(toy_gt, predictions, workers):
    results = evaluate_many(toy_gt, predictions, workers=workers)
    assert len(results) == len(predictions)
    for pred, result in zip(predictions, results, strict=True):
        alone = vpsbench.evaluate(toy_gt, pred, workers=workers)
        assert result.to_dict() == alone.to_dict()
        assert result.summary["inputs"]["pred"] == str(pred)
    shifted, sub, archive, perfect = (r.summary for r in results)
    assert shifted["pq"]["all"] < 100 and perfect["pq"]["all"] == 100.0
    assert sub["pq"] == archive["pq"] and sub["pq"] != shifted["pq"]
    assert sub["inputs"]["pred_format"] == "cityscapes-vps-submission"
    assert shifted["idsw"]["idsw"] == 1


def test_one_prediction_is_evaluate(toy_gt, predictions):
    many = evaluate_many(toy_gt, predictions[:1], metrics="vpq,stq")
    single = evaluate_many(toy_gt, predictions[0], metrics="vpq,stq")  # a path is one prediction
    alone = vpsbench.evaluate(toy_gt, predictions[0], metrics="vpq,stq")
    assert many[0].to_dict() == single[0].to_dict() == alone.to_dict()
    with pytest.raises(EvaluationError, match="no prediction given"):
        evaluate_many(toy_gt, [])


def test_each_gt_frame_is_decoded_once(monkeypatch, toy_gt, predictions):
    reads = Counter()
    whole, in_blocks = Video.panoptic_row, Video.panoptic_row_blocks

    def counting(self, row, writable=True):
        reads[(Path(self._group.file.filename).name, self.video_id, int(row))] += 1
        return whole(self, row, writable)

    def counting_blocks(self, row, block_pixels):  # the scorer's read of maps in pieces
        reads[(Path(self._group.file.filename).name, self.video_id, int(row))] += 1
        return in_blocks(self, row, block_pixels)

    monkeypatch.setattr(Video, "panoptic_row", counting)
    monkeypatch.setattr(Video, "panoptic_row_blocks", counting_blocks)
    evaluate_many(toy_gt, predictions, workers=1)
    gt_reads = {key: n for key, n in reads.items() if key[0] == toy_gt.name}
    # 2 videos of 3 annotated frames, each decoded once for the four predictions.
    assert sorted(gt_reads) == [(toy_gt.name, v, r) for v in ("0001", "0002") for r in range(3)]
    assert set(gt_reads.values()) == {1}
    # Each prediction file's own maps are read once too.
    assert {n for key, n in reads.items() if key[0] == "shifted.h5"} == {1}
    assert len([key for key in reads if key[0] == "shifted.h5"]) == 6


def test_a_bad_prediction_is_named_before_anything_is_scored(monkeypatch, tmp_path, toy_gt):
    good = write_prediction(toy_gt, tmp_path / "good.h5", shift_car)
    other = write_prediction(toy_gt, tmp_path / "other.h5", drop_person)
    bad = tmp_path / "bad_sub"
    bad.mkdir()
    (bad / "pred.json").write_text("{not json")
    reads = Counter()
    whole, in_blocks = Video.panoptic_row, Video.panoptic_row_blocks

    def counting(self, row, *args):
        reads[self.video_id] += 1
        return whole(self, row, *args)

    def counting_blocks(self, row, block_pixels):
        reads[self.video_id] += 1
        return in_blocks(self, row, block_pixels)

    monkeypatch.setattr(Video, "panoptic_row", counting)
    monkeypatch.setattr(Video, "panoptic_row_blocks", counting_blocks)
    with pytest.raises(EvaluationError) as caught:
        evaluate_many(toy_gt, [good, other, bad])
    message = str(caught.value)
    assert message.startswith(f"{bad}: ") and "not valid JSON" in message
    assert "\n" not in message
    assert not reads  # refused before the first frame was read
    missing = error_of(evaluate_many, toy_gt, [good, tmp_path / "nope.h5"])
    assert missing == f"{tmp_path / 'nope.h5'}: no such file or directory"
    # The GT file given as a prediction: the path as given, then the usual message.
    wrong = error_of(evaluate_many, toy_gt, [good, toy_gt])
    assert wrong.startswith(f"{toy_gt}: toy_gt.h5 does not fit the GT")


@pytest.mark.parametrize("workers", [1, 2])
def test_an_error_while_scoring_names_its_prediction(tmp_path, toy_gt, workers):
    good = write_prediction(toy_gt, tmp_path / "good.h5", shift_car)

    def unknown_category(video_id, row, gt):
        pred = gt.copy()
        if video_id == "0002" and row == 1:
            pred[0, 0] = 99 * 1000
        return pred

    bad = write_prediction(toy_gt, tmp_path / "bad.h5", unknown_category)
    with pytest.raises(EvaluationError) as caught:
        evaluate_many(toy_gt, [good, bad], workers=workers)
    assert str(caught.value).startswith(f"{bad}: video 0002, frame 0002_0003: predicted values")
    # Alone, the same error reads as it always has: no prefix.
    alone = error_of(vpsbench.evaluate, toy_gt, bad, workers=workers)
    assert str(caught.value) == f"{bad}: {alone}"
    assert alone.startswith("video 0002, frame 0002_0003: predicted values")


def test_a_video_task_takes_one_source_or_several(toy_gt, predictions):
    with VPSFile(toy_gt) as gt:
        categories = tuple(c.id for c in gt.categories)
    shifted, perfect = HDF5Predictions(predictions[0]), HDF5Predictions(predictions[3])
    one = VideoTask(toy_gt, shifted, "0001", categories, (2,), "corrected")  # positional source
    assert one.sources == (shifted,)
    two = VideoTask(toy_gt, (shifted, perfect), "0001", categories, (2,), "corrected")
    stats = compute_video_stats_many(two)
    alone = compute_video_stats(one)
    assert len(stats) == 2 and stats[0].stems == alone.stems == [
        "0001_0001",
        "0001_0003",
        "0001_0005",
    ]
    for mine, theirs in zip(stats[0].histograms, alone.histograms, strict=True):
        assert np.array_equal(mine.count, theirs.count) and np.array_equal(mine.pred, theirs.pred)
    assert all(np.array_equal(stats[0].vc[n], alone.vc[n]) for n in alone.vc)
    with pytest.raises(ValueError, match="compute_video_stats_many"):
        compute_video_stats(two)
