"""synth_predict: noise 0 is the GT, quality falls with noise, files pair with the GT."""

from __future__ import annotations

import numpy as np
import pytest

import vpsbench
from vpsbench.format import VPSFile
from vpsbench.format.validate import validate_pair
from vpsbench.synth import SynthConfig, generate, synth_predict

CONFIG = SynthConfig(num_videos=3, frames_per_video=20, height=64, width=128, seed=1)


@pytest.fixture(scope="module")
def gt(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("predict") / "gt.h5", CONFIG)


def predict(gt, tmp_path, noise, seed=0):
    return synth_predict(gt, tmp_path / f"pred_{noise}_{seed}.h5", noise=noise, seed=seed)


def pixel_accuracy(gt_path, pred_path) -> float:
    with VPSFile(gt_path) as g, VPSFile(pred_path) as p:
        hits = total = 0
        for video in g:
            a, b = video.load_panoptic(), p.video(video.video_id).load_panoptic()
            hits += int((a == b).sum())
            total += a.size
    return hits / total


def test_noise_zero_is_the_ground_truth(gt, tmp_path):
    pred = predict(gt, tmp_path, 0.0)
    with VPSFile(gt) as g, VPSFile(pred) as p:
        assert validate_pair(g, p) == []
        assert p.info.predicts.content_id == g.info.content_id
        for video in g:
            np.testing.assert_array_equal(
                video.load_panoptic(), p.video(video.video_id).load_panoptic()
            )
    assert vpsbench.evaluate(gt, pred, metrics="vpq").summary["vpq"]["all"] == 100.0


def test_quality_falls_with_noise(gt, tmp_path):
    preds = {n: predict(gt, tmp_path, n) for n in (0.0, 0.3, 0.7)}
    accuracy = [pixel_accuracy(gt, preds[n]) for n in (0.0, 0.3, 0.7)]
    assert accuracy[0] == 1.0 > accuracy[1] > accuracy[2]
    vpq = [vpsbench.evaluate(gt, preds[n], metrics="vpq").summary["vpq"]["all"] for n in (0.3, 0.7)]
    assert 100.0 > vpq[0] > vpq[1]


def load_all(path) -> list[np.ndarray]:
    with VPSFile(path) as f:
        return [video.load_panoptic() for video in f]


def test_deterministic_by_seed_and_ids_in_range(gt, tmp_path):
    first = load_all(synth_predict(gt, tmp_path / "a.h5", noise=0.5, seed=7))
    again = load_all(synth_predict(gt, tmp_path / "b.h5", noise=0.5, seed=7))
    other = load_all(synth_predict(gt, tmp_path / "c.h5", noise=0.5, seed=8))
    for x, y in zip(first, again, strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(not np.array_equal(x, y) for x, y in zip(first, other, strict=True))
    for maps in first:
        values = np.unique(maps)
        assert values.min() >= 0
        assert set((values // 1000).tolist()) <= set(range(19)) | {255}
        things = values[(values // 1000 >= 11) & (values // 1000 < 255)]
        assert things.size and (things % 1000 >= 1).all() and (things % 1000 <= 999).all()


def test_invalid_noise_is_refused(gt, tmp_path):
    with pytest.raises(ValueError, match="noise"):
        predict(gt, tmp_path, 1.5)


def test_confusions_follow_the_category_table():
    from vpsbench.datasets import viper
    from vpsbench.synth.perturb import confusions

    things = {c.name: c.id for c in viper.CATEGORIES if c.isthing}
    pairs = confusions(things, {"car": "truck", "person": "rider", "van": "car"})
    assert pairs == {things["car"]: things["truck"], things["van"]: things["car"]}
    assert all(viper.CATEGORIES[b].isthing for b in pairs.values())
    cyclic = confusions({"a": 3, "b": 5, "c": 9}, {"x": "y"})
    assert cyclic == {3: 5, 5: 9, 9: 3}
