"""Cityscapes-VPS export -> convert of a file not converted from the release (synthetic GT).

Every frame must come back (unannotated ones through ``img_all/``), with its stem, source frame,
annotated flag, label map and image pixels; every image file written must be a PNG.
"""

from __future__ import annotations

import numpy as np
import pytest
from cityscapes_fixtures import write_release
from conftest import write_toy

from vpsbench.cli import main
from vpsbench.format import VPSFile
from vpsbench.format.reader import decode_image
from vpsbench.synth import SynthConfig, generate
from vpsbench_converters.cityscapes_vps import convert_cityscapes_vps
from vpsbench_converters.cityscapes_vps_export import export_cityscapes_vps
from vpsbench_converters.common import ConversionError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SMALL = SynthConfig(num_videos=2, frames_per_video=10, height=64, width=128, seed=3)


@pytest.fixture(scope="module")
def roundtrip(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth_roundtrip")
    gt = generate(root / "gt.h5", SMALL)
    export_cityscapes_vps(gt, root / "exported")
    back = convert_cityscapes_vps(root / "exported", "val", root / "back.h5")
    return gt, root / "exported", back


def frame_table(path) -> list:
    with VPSFile(path) as f:
        return [(v.video_id, v.stems, v.source_frames.tolist(), v.annotated.tolist()) for v in f]


def test_every_frame_comes_back_in_order(roundtrip):
    gt, _, back = roundtrip
    with VPSFile(gt) as a, VPSFile(back) as b:
        assert a.num_frames() == b.num_frames() == (20, 4)
    assert frame_table(back) == frame_table(gt)


def first_appearance_ids(maps: np.ndarray, divisor: int = 1000) -> np.ndarray:
    """A video's maps with thing ids renumbered 1, 2, .. by first appearance (ties in a frame by
    ascending value): the layout keeps no instance ids, only one colour per object."""
    renumbered: dict[int, int] = {}
    for frame in maps:
        for value in np.unique(frame).tolist():
            if value % divisor and value not in renumbered:
                renumbered[value] = value // divisor * divisor + len(renumbered) + 1
    values, inverse = np.unique(maps, return_inverse=True)
    lut = np.array([renumbered.get(v, v) for v in values.tolist()], maps.dtype)
    return lut[inverse].reshape(maps.shape)


def test_label_maps_are_bit_identical_up_to_instance_numbering(roundtrip):
    """Categories, void, stuff, crowd and each object's pixels through the video are exact."""
    gt, _, back = roundtrip
    with VPSFile(gt) as a, VPSFile(back) as b:
        for va, vb in zip(a, b, strict=True):
            maps_a, maps_b = va.load_panoptic(), vb.load_panoptic()
            assert maps_a.dtype == maps_b.dtype and maps_a.shape == maps_b.shape
            np.testing.assert_array_equal(first_appearance_ids(maps_a), maps_b, va.video_id)


def test_images_are_pixel_identical(roundtrip):
    gt, _, back = roundtrip
    with VPSFile(gt) as a, VPSFile(back) as b:
        for va, vb in zip(a, b, strict=True):
            for i in range(va.num_frames):
                assert not va.image_bytes(i).startswith(PNG_SIGNATURE)  # the synth writes JPEG
                assert vb.image_bytes(i).startswith(PNG_SIGNATURE)
                np.testing.assert_array_equal(va.image(i), vb.image(i), err_msg=va.stems[i])


def test_layout_keeps_every_image_where_the_release_does(roundtrip):
    _, exported, _ = roundtrip
    img = sorted(p.name for p in (exported / "val" / "img").iterdir())
    img_all = sorted(p.name for p in (exported / "val" / "img_all").iterdir())
    assert len(img) == 4 and len(img_all) == 20
    assert img[0] == "0001_0005_synth_000001_000104_newImg8bit.png"
    assert img_all[0] == "synth_000001_000100_leftImg8bit.png"
    for folder in ("img", "img_all"):
        for path in (exported / "val" / folder).iterdir():
            assert path.read_bytes().startswith(PNG_SIGNATURE), path.name
            assert decode_image(path.read_bytes()).shape == (64, 128, 3)


def test_frames_after_the_last_annotated_one_are_refused(capsys, tmp_path):
    """The layout keeps a snippet only up to its last annotated frame: refuse, drop nothing."""
    gt = generate(tmp_path / "gt.h5", SynthConfig(1, 12, 32, 64))
    code = main(["export", "cityscapes_vps", str(gt), str(tmp_path / "out")])
    line = capsys.readouterr().err.splitlines()[0]
    assert code == 2 and "video 0001" in line and "0001_0011_synth_000001_000110" in line
    assert not (tmp_path / "out").exists()


def test_stems_outside_the_official_naming_are_refused(tmp_path):
    gt = write_toy(tmp_path / "toy.h5")  # stems like 0001_0001, not VVVV_FFFF_city_seq_frame
    with pytest.raises(ConversionError, match=r"video 0001 frame 0001_0001 .*VVVV_FFFF_city"):
        export_cityscapes_vps(gt, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unannotated_frames_without_images_are_refused(tmp_path):
    gt = generate(tmp_path / "gt.h5", SynthConfig(1, 10, 32, 64, with_images=False))
    with pytest.raises(ConversionError, match=r"video 0001.*0001_0001_synth_000001_000100.*image"):
        export_cityscapes_vps(gt, tmp_path / "out")


def test_labels_only_file_still_exports(tmp_path):
    """A file without images (annotated frames only) round-trips its labels, as before."""
    write_release(tmp_path / "release", dense=False)
    labels = convert_cityscapes_vps(
        tmp_path / "release", "val", tmp_path / "l.h5", labels_only=True
    )
    export_cityscapes_vps(labels, tmp_path / "exported")
    assert not (tmp_path / "exported" / "val" / "img").exists()
    back = convert_cityscapes_vps(tmp_path / "exported", "val", tmp_path / "back.h5")
    assert frame_table(back) == frame_table(labels)
    with VPSFile(labels) as a, VPSFile(back) as b:
        for va, vb in zip(a, b, strict=True):
            np.testing.assert_array_equal(va.load_panoptic(), vb.load_panoptic())
            assert not vb.has_images or vb.image_bytes(0) is None
