"""``vpsbench.Evaluator``: the streaming API scores as the file-based ``evaluate`` does, whatever
the input form, order of adding or split over evaluators, and refuses bad input by name."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import TOY_CATEGORIES, write_toy

import vpsbench
from vpsbench.datasets import get_dataset
from vpsbench.evaluation import EvaluationError, Evaluator
from vpsbench.evaluation.streaming import VideoAccumulator
from vpsbench.format import VPSFile
from vpsbench.format.schema import Protocol
from vpsbench.synth import SynthConfig, generate, synth_predict


@pytest.fixture(scope="module")
def synth_pair(tmp_path_factory) -> tuple[Path, Path]:
    """A small synthetic GT (crowd, void, moving and occluded objects) and a noisy prediction."""
    root = tmp_path_factory.mktemp("streaming")
    config = SynthConfig(4, 12, 48, 96, annotation_stride=2, seed=5, with_images=False)
    gt = generate(root / "gt.h5", config)
    return gt, synth_predict(gt, root / "pred.h5", noise=0.4, seed=2)


def file_videos(gt_path: Path, pred_path: Path) -> list[tuple[str, list, list]]:
    """(video id, GT maps, predicted maps) of every video with annotated frames."""
    videos = []
    with VPSFile(gt_path) as gt, VPSFile(pred_path) as pred:
        for video in gt:
            if not video.num_annotated:
                continue
            pv = pred.video(video.video_id)
            stems = [video.stems[i] for i in video.annotated_indices]
            gts = [video.panoptic(int(i)) for i in video.annotated_indices]
            preds = [pv.panoptic(pv.frame_index(s)) for s in stems]
            videos.append((video.video_id, gts, preds))
    return videos


def as_pair(pan: np.ndarray, divisor: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    return pan // divisor, pan % divisor


def assert_same_result(a, b) -> None:
    """Equal scores, per-class and per-video tables; only the recorded inputs may differ."""
    left = {k: v for k, v in a.summary.items() if k != "inputs"}
    right = {k: v for k, v in b.summary.items() if k != "inputs"}
    assert left == right
    pd.testing.assert_frame_equal(a.per_class, b.per_class)
    pd.testing.assert_frame_equal(a.per_video, b.per_video)


@pytest.fixture(scope="module")
def reference(synth_pair):
    gt, pred = synth_pair
    return vpsbench.evaluate(gt, pred)


def test_reference_is_not_trivial(reference):
    # Otherwise every comparison below could pass on empty or perfect scores.
    summary = reference.summary
    assert 20 < summary["vpq"]["all"] < 95
    assert 10 < summary["stq"]["stq"] < 95
    assert summary["vc"]["vc_2"] is not None and summary["vc"]["vc_4"] is not None
    assert summary["idsw"]["idsw"] > 0
    assert summary["inputs"]["videos"] == 4


@pytest.mark.parametrize("form", ["panoptic", "pairs"])
@pytest.mark.parametrize("how", ["add_video", "add_frame"])
def test_streaming_equals_evaluate(synth_pair, reference, form, how):
    gt_path, pred_path = synth_pair
    ev = Evaluator.from_gt(gt_path)
    for video_id, gts, preds in file_videos(gt_path, pred_path):
        if form == "pairs":
            gts, preds = [as_pair(g) for g in gts], [as_pair(p) for p in preds]
        if how == "add_video":
            ev.add_video(video_id, gts, preds)
        else:
            for gt, pred in zip(gts, preds, strict=True):
                ev.add_frame(video_id, gt, pred)
            ev.finish_video(video_id)
    result = ev.result()
    assert_same_result(result, reference)
    assert result.summary["inputs"]["frames"] == reference.summary["inputs"]["frames"]


@pytest.mark.parametrize(
    "options",
    [
        {"vc_mode": "vspw_official", "vc_ns": [2, 3]},
        {"tube_rule": "split", "metrics": "vpq,idsw"},
        {"metrics": ["stq", "vc"], "vc_ns": [1, 5]},
    ],
)
def test_options_match_evaluate(synth_pair, options):
    gt_path, pred_path = synth_pair
    ev = Evaluator.from_gt(gt_path, **options)
    for video_id, gts, preds in file_videos(gt_path, pred_path):
        ev.add_video(video_id, (g for g in gts), (p for p in preds))
    assert_same_result(ev.result(), vpsbench.evaluate(gt_path, pred_path, **options))


def test_protocol_name_takes_the_registry_categories(synth_pair, reference):
    gt_path, pred_path = synth_pair
    ev = Evaluator(protocol="cityscapes_vps_official")
    assert ev.categories == get_dataset("cityscapes_vps").categories
    assert ev.space.label_divisor == 1000 and ev.space.ignore_label == 255
    for video_id, gts, preds in file_videos(gt_path, pred_path):
        ev.add_video(video_id, gts, preds)
    assert_same_result(ev.result(), reference)


def test_interleaved_frames_equal_video_by_video(synth_pair, reference):
    gt_path, pred_path = synth_pair
    videos = file_videos(gt_path, pred_path)
    ev = Evaluator.from_gt(gt_path)
    for t in range(max(len(g) for _, g, _ in videos)):
        for video_id, gts, preds in videos:
            if t < len(gts):
                ev.add_frame(video_id, gts[t], preds[t])
    # result() scores open videos; the order of the per-video rows is the order added.
    assert ev.open_video_ids == [v for v, _, _ in videos]
    assert_same_result(ev.result(), reference)


def test_merge_of_disjoint_evaluators_equals_one(synth_pair, reference):
    gt_path, pred_path = synth_pair
    videos = file_videos(gt_path, pred_path)
    first, second = Evaluator.from_gt(gt_path), Evaluator.from_gt(gt_path)
    for video_id, gts, preds in videos[:2]:
        first.add_video(video_id, gts, preds)
    for video_id, gts, preds in videos[2:]:
        for gt, pred in zip(gts, preds, strict=True):
            second.add_frame(video_id, gt, pred)  # left open: merge takes them as they are
    # Evaluators travel between processes pickled (e.g. detectron2's comm.gather).
    second = pickle.loads(pickle.dumps(second))
    assert first.merge(second) is first
    assert first.open_video_ids == []
    assert_same_result(first.result(), reference)
    assert second.open_video_ids == [v for v, _, _ in videos[2:]]  # the other is unchanged


def test_result_does_not_consume_state(synth_pair):
    gt_path, pred_path = synth_pair
    (video_id, gts, preds), *_ = file_videos(gt_path, pred_path)
    ev = Evaluator.from_gt(gt_path, metrics="vpq,vc")
    ev.add_frame(video_id, gts[0], preds[0])
    one_frame = ev.result()
    assert one_frame.summary == ev.result().summary  # twice, the same
    for gt, pred in zip(gts[1:], preds[1:], strict=True):
        ev.add_frame(video_id, gt, pred)  # the video is still open
    all_frames = ev.result()
    assert all_frames.summary["vc"]["clips_2"] == len(gts) - 1
    assert one_frame.summary["vc"]["clips_2"] == 0
    ev.finish_video(video_id)
    assert ev.result().summary == all_frames.summary
    whole = Evaluator.from_gt(gt_path, metrics="vpq,vc")
    whole.add_video(video_id, gts, preds)
    assert whole.result().summary["vpq"] == all_frames.summary["vpq"]


def test_reset_forgets_videos(synth_pair):
    gt_path, pred_path = synth_pair
    (video_id, gts, preds), *_ = file_videos(gt_path, pred_path)
    ev = Evaluator.from_gt(gt_path, metrics="pq")
    ev.add_video(video_id, gts, preds)
    before = ev.result().summary
    ev.reset()
    assert ev.video_ids == [] and ev.num_frames == 0
    assert ev.result().summary["pq"]["all"] is None
    ev.add_video(video_id, gts, preds)  # the same id is new again
    assert ev.result().summary["pq"] == before["pq"]


def toy_maps(frames: int = 4) -> list[np.ndarray]:
    """Road, sky, a moving car (track 1), a person (track 2), a crowd pixel and a void pixel."""
    maps = []
    for t in range(frames):
        pan = np.zeros((6, 8), np.int32)
        pan[:2] = 10_000
        pan[3:5, t : t + 2] = 13_001
        pan[4:6, 6] = 11_002
        pan[5, 0] = 11_000
        pan[5, 7] = 255_000
        maps.append(pan)
    return maps


def toy_evaluator(**options) -> Evaluator:
    return Evaluator("cityscapes_vps_official", TOY_CATEGORIES, **options)


def test_perfect_prediction_scores_100():
    ev = toy_evaluator(vc_ns=[2, 4])
    for v in ("a", "b"):
        ev.add_video(v, toy_maps(), toy_maps())
    summary = ev.result().summary
    assert summary["pq"]["all"] == 100.0
    assert summary["vpq"]["all"] == 100.0
    assert all(summary["vpq"]["k"][k]["all"] == 100.0 for k in ("0", "5", "10", "15"))
    assert summary["stq"]["stq"] == 100.0
    assert summary["vc"]["vc_2"] == 100.0 and summary["vc"]["vc_4"] == 100.0
    assert summary["idsw"]["idsw"] == 0
    assert summary["protocol"]["vc_clip_lengths"] == [2, 4]
    assert summary["inputs"]["videos"] == 2 and summary["inputs"]["frames"] == 8


def test_an_identity_switch_costs_video_but_not_image_scores():
    ev = toy_evaluator(metrics="vpq,pq,idsw")
    preds = toy_maps()
    for pred in preds[2:]:
        pred[pred == 13_001] = 13_009
    ev.add_video("a", toy_maps(), preds)
    summary = ev.result().summary
    assert summary["pq"]["all"] == 100.0
    assert summary["vpq"]["k"]["5"]["things"] < 100.0
    assert summary["idsw"]["idsw"] == 1


def test_from_gt_takes_the_file_settings(tmp_path):
    gt_path = write_toy(tmp_path / "toy_gt.h5")
    with VPSFile(gt_path) as gt:
        ev = Evaluator.from_gt(gt, metrics="vpq")
        assert ev.categories == tuple(gt.categories)
        assert ev.protocol == gt.protocol
        assert ev.space.label_divisor == gt.info.label_divisor
        for video in gt:
            maps = [video.panoptic(int(i)) for i in video.annotated_indices]
            ev.add_video(video.video_id, maps, maps)
    result = ev.result()
    assert result.summary["vpq"]["k"]["0"]["all"] == 100.0
    assert result.summary["inputs"]["dataset"] == "toy"
    assert result.summary["inputs"]["gt"] == str(gt_path)
    by_path = Evaluator.from_gt(gt_path, protocol="viper_official")
    assert by_path.protocol.name == "viper_official"
    pred = tmp_path / "pred.h5"
    write_toy(pred, kind="prediction")
    with pytest.raises(EvaluationError, match="prediction file"):
        Evaluator.from_gt(pred)
    with pytest.raises(EvaluationError, match="no such GT file"):
        Evaluator.from_gt(tmp_path / "missing.h5")


def test_settings_from_the_registry_and_their_errors():
    kitti = Evaluator("step_official", dataset="kitti_step")
    assert kitti.categories == get_dataset("kitti_step").categories
    assert kitti.space.label_divisor == get_dataset("kitti_step").label_divisor
    assert Evaluator(dataset="viper").protocol.name == "viper_official"
    with pytest.raises(EvaluationError, match=r"kitti_step, motchallenge_step.*dataset="):
        Evaluator("step_official")
    custom = Protocol((1, 2), (0, 5))
    with pytest.raises(EvaluationError, match="pass categories="):
        Evaluator(custom)
    assert Evaluator(custom, TOY_CATEGORIES).space.label_divisor == 1000
    with pytest.raises(EvaluationError, match="unknown protocol 'nope'"):
        Evaluator("nope")
    with pytest.raises(EvaluationError, match="pass protocol="):
        Evaluator()
    with pytest.raises(EvaluationError, match="unknown metrics"):
        toy_evaluator(metrics="vpq,bogus")
    with pytest.raises(EvaluationError, match="unknown VC mode"):
        toy_evaluator(vc_mode="paper")
    with pytest.raises(EvaluationError, match="ignore_label 0 is also a category id"):
        toy_evaluator(ignore_label=0)


@pytest.mark.parametrize(
    ("gt", "pred", "message"),
    [
        (np.zeros((6, 8), np.int32), np.zeros((6, 7), np.int32), r"prediction is \(6, 7\)"),
        (np.zeros((6, 8), np.float32), np.zeros((6, 8), np.int32), "GT map dtype float32"),
        (np.zeros((6, 8), np.int32), np.full((6, 8), 0.5), "prediction map dtype float64"),
        (np.zeros((2, 6, 8), np.int32), np.zeros((2, 6, 8), np.int32), "one \\(H, W\\) map"),
        (np.full((6, 8), 42_001), np.zeros((6, 8), np.int32), "GT values \\[42001\\].*categories="),
        (np.zeros((6, 8), np.int32), np.full((6, 8), 42_001), "predicted values \\[42001\\]"),
        (np.zeros((6, 8), np.int32), np.full((6, 8), -3), "negative"),
        (
            (np.zeros((6, 8), int), np.full((6, 8), 1000)),
            np.zeros((6, 8), np.int32),
            r"instance ids must be in \[0, 1000\)",
        ),
        (
            (np.zeros((6, 8), int), np.zeros((6, 7), int)),
            np.zeros((6, 8), np.int32),
            r"semantic map is \(6, 8\) but its instance map is \(6, 7\)",
        ),
        ((np.zeros((6, 8), int),) * 3, np.zeros((6, 8), np.int32), "tuple of 3 arrays"),
    ],
)
def test_bad_frames_are_named_and_change_nothing(gt, pred, message):
    ev = toy_evaluator()
    ev.add_frame("a", toy_maps()[0], toy_maps()[0])
    before = ev.result().summary
    with pytest.raises(EvaluationError, match=message) as err:
        ev.add_frame("a", gt, pred)
    assert "video a, frame 1" in str(err.value)
    with pytest.raises(EvaluationError, match=message):
        ev.add_frame("b", gt, pred)  # a new video's first frame
    assert ev.video_ids == ["a"] and ev.num_frames == 1
    assert ev.result().summary == before


def test_frame_size_may_not_change_within_a_video():
    ev = toy_evaluator(metrics="pq")
    ev.add_frame("a", np.zeros((6, 8), np.int32), np.zeros((6, 8), np.int32))
    with pytest.raises(EvaluationError, match=r"earlier frames of this video are \(6, 8\)"):
        ev.add_frame("a", np.zeros((4, 4), np.int32), np.zeros((4, 4), np.int32))
    ev.add_frame("b", np.zeros((4, 4), np.int32), np.zeros((4, 4), np.int32))  # another video


def test_video_life_cycle_errors():
    ev = toy_evaluator()
    maps = toy_maps()
    ev.add_video("a", maps, maps)
    with pytest.raises(EvaluationError, match="'a' was already finished"):
        ev.add_frame("a", maps[0], maps[0])
    with pytest.raises(EvaluationError, match="'a' was already finished"):
        ev.add_video("a", maps, maps)
    ev.add_frame("b", maps[0], maps[0])
    with pytest.raises(EvaluationError, match="already has frames from add_frame"):
        ev.add_video("b", maps, maps)
    ev.finish_video("b")
    with pytest.raises(EvaluationError, match="'b' was already finished"):
        ev.finish_video("b")
    with pytest.raises(EvaluationError, match="'c' has no frames"):
        ev.finish_video("c")
    with pytest.raises(EvaluationError, match="more GT maps than prediction maps"):
        ev.add_video("d", maps, maps[:2])
    with pytest.raises(EvaluationError, match="more prediction maps than GT maps"):
        ev.add_video("d", maps[:2], maps)
    with pytest.raises(EvaluationError, match="no frames"):
        ev.add_video("d", [], [])
    assert ev.video_ids == ["a", "b"]  # a refused video leaves nothing behind
    ev.add_video("d", maps, maps)


def test_merge_errors():
    ev, other = toy_evaluator(), toy_evaluator()
    ev.add_video("a", toy_maps(), toy_maps())
    other.add_frame("a", toy_maps()[0], toy_maps()[0])
    with pytest.raises(EvaluationError, match=r"videos \['a'\] are in both"):
        ev.merge(other)
    with pytest.raises(EvaluationError, match="different metrics"):
        ev.merge(toy_evaluator(metrics="vpq"))
    with pytest.raises(EvaluationError, match="different protocol"):
        ev.merge(Evaluator("viper_official", TOY_CATEGORIES))
    with pytest.raises(EvaluationError, match="different categories"):
        ev.merge(Evaluator("cityscapes_vps_official"))
    with pytest.raises(EvaluationError, match="with itself"):
        ev.merge(ev)
    with pytest.raises(EvaluationError, match="only merge an Evaluator"):
        ev.merge(object())


def test_instance_tube_identity_joins_a_track_across_categories():
    preds = toy_maps()
    for pred in preds[2:]:
        pred[pred == 13_001] = 11_001  # the tracker relabels the car as a person
    scores = {}
    for identity in ("panoptic", "instance"):
        ev = toy_evaluator(metrics="vpq", tube_identity=identity)
        ev.add_video("a", toy_maps(), preds)
        scores[identity] = ev.result().summary["vpq"]["k"]["15"]
    # Instance identity: track 1 is one car tube (its first frame's category), as the official
    # colour-id rule; panoptic identity: two tubes, each half of the window's car.
    assert scores["instance"]["things"] == 100.0
    assert scores["panoptic"]["things"] < 100.0
    ev = toy_evaluator(metrics="vpq", tube_identity="instance")
    conflict = toy_maps()[0]
    conflict[0, 0] = 11_001  # instance 1 is a car and a person in one frame
    with pytest.raises(EvaluationError, match="instance ids \\[1\\] have two categories"):
        ev.add_frame("a", toy_maps()[0], conflict)


def test_frames_are_not_kept():
    # Per frame, only the pair histogram is kept (plus VC's counters of one frame).
    ev = Evaluator("cityscapes_vps_official", TOY_CATEGORIES, metrics="vpq,vc")
    big = [np.kron(m, np.ones((64, 64), np.int32)) for m in toy_maps(4)]
    ev.add_frame("a", big[0], big[0])
    size_one = len(pickle.dumps(ev))
    for t in range(1, 40):
        ev.add_frame("a", big[t % 4], big[t % 4])
    growth = (len(pickle.dumps(ev)) - size_one) / 39
    assert growth < big[0].nbytes / 50
    accumulator: VideoAccumulator = ev._open["a"]
    assert len(accumulator.histograms) == 40
    assert all(len(h) < 20 for h in accumulator.histograms)


def test_pairs_void_and_stacked_arrays():
    maps = np.stack(toy_maps())  # an (N, H, W) array is N frames
    semantic, instance = maps // 1000, maps % 1000
    instance[semantic == 255] = 7  # void whatever its instance
    pairs = [(s, i) for s, i in zip(semantic, instance, strict=True)]
    by_pairs, by_maps = toy_evaluator(), toy_evaluator()
    by_pairs.add_video("a", pairs, maps)
    by_maps.add_video("a", maps, maps)
    assert by_pairs.result().summary == by_maps.result().summary
    assert by_maps.result().summary["vpq"]["all"] == 100.0
    list_pair = toy_evaluator(metrics="pq")
    list_pair.add_frame("a", [semantic[0], instance[0]], maps[0])  # a list of two maps
    assert list_pair.result().summary["pq"]["all"] == 100.0


@pytest.mark.parametrize("ids", [(1, 7, 30), (7, 1), (30,)])
def test_unknown_category_values_by_table_and_by_list(ids):
    """The space's lookup table and an explicit category list find the same unknown values."""
    from vpsbench.evaluation.streaming import unknown_category_values
    from vpsbench.metrics.core import LabelSpace

    space = LabelSpace(1000, 255, (1, 7, 30), frozenset({7}))
    values = np.array([255_000, 1000, 7003, 30_000, 0, 2000, 31_005, 7000, 2000, 99_999_000, -5])
    expected = [v for v in sorted(set(values.tolist()))
                if v != 255_000 and v // 1000 not in ids]  # fmt: skip
    assert unknown_category_values(values, np.asarray(ids), space).tolist() == expected
