"""The ``hard`` preset: crossings, multi-frame full occlusions and degraded frames, by
construction; the standard preset is unchanged by it."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest

from vpsbench.format import VPSFile
from vpsbench.format.validate import validate_file
from vpsbench.synth import SynthConfig, generate
from vpsbench.synth.degrade import KINDS, degrade, motion_blur
from vpsbench.synth.events import add_hard_events
from vpsbench.synth.generate import video_rng
from vpsbench.synth.render import DIVISOR, render_panoptic
from vpsbench.synth.scene import make_scene

HARD = SynthConfig(num_videos=4, frames_per_video=30, height=128, width=256, seed=1, preset="hard")


@pytest.fixture(scope="module")
def hard_split(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("hard") / "val.h5", HARD)


def hard_scene(video: int):
    rng = video_rng(HARD, "val", video)
    scene = make_scene(rng, HARD.height, HARD.width, HARD.frames_per_video)
    return add_hard_events(rng, scene, HARD.frames_per_video)


def pixels(scene, instance: int, t: int) -> int:
    pan = render_panoptic(scene, t)
    return int(np.count_nonzero((pan % DIVISOR == instance) & (pan // DIVISOR >= 11)))


def test_standard_preset_is_unchanged(tmp_path):
    # Digest of labels and JPEG bytes written by the generator before presets existed.
    path = generate(tmp_path / "s.h5", SynthConfig(2, 10, 64, 128, seed=5))
    sha = hashlib.sha256()
    with VPSFile(path) as f:
        assert f.info.split == "val"
        for video in f:
            sha.update(np.ascontiguousarray(video.load_panoptic(), "<i8").tobytes())
            for t in range(video.num_frames):
                sha.update(video.image_bytes(t))
    assert sha.hexdigest() == "2a83130b5f8a548b361ccfb51309e124d4edfe760351d139d78ff498dc527716"


def test_hard_split_is_valid_named_apart_and_records_its_events(hard_split):
    assert validate_file(hard_split) == []
    with VPSFile(hard_split) as f:
        assert (f.info.dataset, f.info.split) == ("synth", "val-hard")
        for video in f:
            assert video.meta["crossings"] and len(video.meta["occlusions"]) == 1
            kinds = [m.get("degraded") for m in video.frame_meta]
            assert set(kinds) - {None} <= set(KINDS)
            # The frame before a degraded frame is always clean (Fuse has a clean reference).
            assert all(a is None or b is None for a, b in itertools.pairwise(kinds))
    degraded = [m.get("degraded") for v in VPSFile(hard_split) for m in v.frame_meta]
    assert set(degraded) - {None} == set(KINDS)


def test_occluded_object_is_fully_hidden_for_its_span_and_seen_around_it():
    for video in range(1, HARD.num_videos + 1):
        scene, _, occlusions = hard_scene(video)
        (occ,) = occlusions
        assert occ.last - occ.first + 1 >= 3
        for t in range(occ.first, occ.last + 1):
            assert pixels(scene, occ.hidden, t) == 0, (video, t)
            assert pixels(scene, occ.occluder, t) > 0
        assert any(pixels(scene, occ.hidden, t) > 0 for t in range(occ.first))
        assert any(
            pixels(scene, occ.hidden, t) > 0 for t in range(occ.last + 1, HARD.frames_per_video)
        )


def center(scene, thing, t: int) -> float:
    _, left, _, right = thing.box(t, scene.camera_x(t))
    return (left + right) / 2


def test_crossing_objects_share_a_class_and_swap_sides():
    for video in range(1, HARD.num_videos + 1):
        scene, crossings, _ = hard_scene(video)
        things = {t.instance: t for t in scene.things}
        for a, b in crossings:
            assert things[a].category == things[b].category
            assert abs(things[a].depth - things[b].depth) <= 0.06 + 1e-9
            last = HARD.frames_per_video - 1
            before = center(scene, things[a], 0) - center(scene, things[b], 0)
            after = center(scene, things[a], last) - center(scene, things[b], last)
            assert before * after < 0


def test_degradations_change_the_image_not_its_size():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    assert degrade(rgb, None, rng) is rgb
    for kind in KINDS:
        out = degrade(rgb, kind, np.random.default_rng(1))
        assert out.shape == rgb.shape and out.dtype == np.uint8
        assert (np.abs(out.astype(int) - rgb) > 20).mean() > 0.01, kind
    with pytest.raises(ValueError, match="unknown degradation"):
        degrade(rgb, "fog", rng)


def test_motion_blur_is_a_horizontal_mean():
    row = np.array([[[0], [0], [30], [0], [0]]], np.uint8).repeat(3, axis=2)
    blurred = motion_blur(row, 3)
    np.testing.assert_allclose(blurred[0, :, 0], [0, 10, 10, 10, 0])
    flat = np.full((4, 6, 3), 77, np.uint8)
    np.testing.assert_allclose(motion_blur(flat, 5), 77)


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="unknown preset 'extreme'"):
        SynthConfig(preset="extreme")
