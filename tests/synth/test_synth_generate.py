"""The synthetic generator: deterministic, valid, and containing what the benchmark promises."""

from __future__ import annotations

import numpy as np
import pytest

from vpsbench.format import VPSFile
from vpsbench.format.validate import validate_file
from vpsbench.synth import SynthConfig, generate
from vpsbench.synth.render import paint_thing, render_panoptic
from vpsbench.synth.scene import make_scene

SMALL = SynthConfig(num_videos=3, frames_per_video=10, height=64, width=128, seed=3)


@pytest.fixture(scope="module")
def small_split(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("synth") / "val.h5", SMALL)


def all_maps(path) -> list[np.ndarray]:
    with VPSFile(path) as f:
        return [video.load_panoptic() for video in f]


def test_structure_and_validity(small_split):
    assert validate_file(small_split) == []
    with VPSFile(small_split) as f:
        assert f.info.dataset == "synth" and f.protocol.vpq_k == (0, 5, 10, 15)
        assert len(f.video_ids) == 3
        video = f.video(f.video_ids[0])
        assert video.num_frames == 10
        assert video.annotated_indices.tolist() == [4, 9]  # frames 5 and 10, 1-based
        assert video.has_images
        image = video.image(0)
        assert image.shape == (64, 128, 3) and image.dtype == np.uint8


def test_same_seed_same_content_other_seed_or_split_differs(tmp_path, small_split):
    again = generate(tmp_path / "again.h5", SMALL)
    for a, b in zip(all_maps(small_split), all_maps(again), strict=True):
        np.testing.assert_array_equal(a, b)
    with VPSFile(small_split) as f, VPSFile(again) as g:
        assert f.video("0001").image_bytes(3) == g.video("0001").image_bytes(3)
        assert f.info.content_id == g.info.content_id
    other = generate(tmp_path / "other.h5", SynthConfig(**{**SMALL.__dict__, "seed": 4}))
    train = generate(tmp_path / "train.h5", SMALL, split="train")
    assert not np.array_equal(all_maps(small_split)[0], all_maps(other)[0])
    assert not np.array_equal(all_maps(small_split)[0], all_maps(train)[0])


def test_scenes_have_stuff_persistent_tracks_crowd_void_and_motion(tmp_path):
    config = SynthConfig(num_videos=6, frames_per_video=30, height=96, width=192, seed=0)
    maps = all_maps(generate(tmp_path / "rich.h5", config))
    stuff_counts, crowd, void, enters_or_leaves, stuff_moves = [], False, False, False, False
    for video in maps:
        cats = video // 1000
        stuff_counts.append(len({int(c) for c in np.unique(cats) if c < 11}))
        crowd |= bool(np.any((cats >= 11) & (cats < 255) & (video % 1000 == 0)))
        void |= bool(np.any(video == 255_000))
        stuff_moves |= not np.array_equal(cats[0] < 11, cats[1] < 11)
        things = [set(np.unique(f[(f // 1000 >= 11) & (f // 1000 < 255) & (f % 1000 > 0)]))
                  for f in video]  # fmt: skip
        everywhere = set.intersection(*things)
        enters_or_leaves |= any(t - everywhere for t in things)
        longest = max(sum(value in frame for frame in things) for value in set.union(*things))
        assert longest >= 3, "an object keeps its id through at least 3 annotated frames"
    assert min(stuff_counts) >= 6
    assert crowd and void and enters_or_leaves and stuff_moves


def test_images_show_classes(small_split):
    with VPSFile(small_split) as f:
        video = f.video("0001")
        index = int(video.annotated_indices[0])
        image = video.image(index).astype(float)
        pan = video.panoptic(index)
    sky = image[pan == 10_000].mean(axis=0)
    road = image[pan == 0].mean(axis=0)
    assert np.abs(sky - road).sum() > 60  # clearly different colours


def test_nearer_objects_occlude_farther_ones():
    rng = np.random.default_rng(5)
    occluded = 0
    for _ in range(4):
        scene = make_scene(rng, 96, 192, 10)
        for t in range(10):
            pan = render_panoptic(scene, t)
            for thing in scene.things:
                alone = np.zeros_like(pan)
                if thing.first <= t <= thing.last:
                    paint_thing(alone, thing, t, scene.camera_x(t))
                silhouette = (alone != 0)[: scene.ego_top]
                visible = (pan == thing.category * 1000 + thing.instance)[: scene.ego_top]
                assert not (visible & ~silhouette).any()
                occluded += int(silhouette.sum() > visible.sum() > 0)
    assert occluded > 0, "some object is partly hidden behind a nearer one"
