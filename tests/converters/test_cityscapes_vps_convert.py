"""Cityscapes-VPS conversion: both label states, dense frames, test split, round trips, errors."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from cityscapes_fixtures import write_release
from PIL import Image

import vpsbench
from vpsbench.cli import main
from vpsbench.format import VPSFile
from vpsbench.format.validate import validate_file
from vpsbench.synth import synth_predict
from vpsbench_converters.cityscapes_vps import convert_cityscapes_vps
from vpsbench_converters.cityscapes_vps_export import export_cityscapes_vps


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("cityscapes_vps")
    return root, write_release(root)


@pytest.fixture(scope="module")
def converted(release, tmp_path_factory):
    root, _ = release
    out = tmp_path_factory.mktemp("converted")
    return {state: convert_cityscapes_vps(root, "val", out / f"{state}.h5", state) for state in
            ("prepared", "raw")}  # fmt: skip


def maps_by_stem(path) -> dict[str, np.ndarray]:
    with VPSFile(path) as f:
        return {v.stems[i]: v.panoptic(int(i)) for v in f for i in v.annotated_indices}


@pytest.mark.parametrize("state", ["prepared", "raw"])
def test_label_maps_are_the_drawn_truth(release, converted, state):
    _, expected = release
    flat = {stem: m for video in expected.values() for stem, m in video.items()}
    got = maps_by_stem(converted[state])
    assert got.keys() == flat.keys()
    for stem, truth in flat.items():
        np.testing.assert_array_equal(got[stem], truth, err_msg=stem)
    assert validate_file(converted[state]) == []


def test_prepared_and_raw_states_give_identical_maps(converted):
    prepared, raw = maps_by_stem(converted["prepared"]), maps_by_stem(converted["raw"])
    for stem in prepared:
        np.testing.assert_array_equal(prepared[stem], raw[stem])


def test_frames_ids_images_and_metadata_are_kept(release, converted):
    root, _ = release
    with VPSFile(converted["prepared"]) as f:
        assert f.video_ids == ["0005", "0015"]
        assert f.protocol.vpq_k == (0, 5, 10, 15)
        assert '"name": "vegitation"' in f.categories_source_json
        video = f.video("0005")
        assert video.num_frames == 30 and video.annotated_indices.tolist() == [4, 9, 14, 19, 24, 29]
        assert video.stems[4] == "0005_0025_frankfurt_000000_001736"
        assert video.stems[0] == "frankfurt_000000_001732"
        assert video.source_frames.tolist() == list(range(1732, 1762))
        assert video.meta == {"city": "frankfurt", "sequence": "000000", "cityscapes_frame": 1736}
        meta = video.frame_meta[19]
        assert meta["image_file"] == "0005_0028_frankfurt_000000_001751_leftImg8bit.png"
        assert video.image_bytes(19) == (root / "val" / "img" / meta["image_file"]).read_bytes()
        dense = root / "val" / "img_all" / "frankfurt_000000_001732_leftImg8bit.png"
        assert video.image_bytes(0) == dense.read_bytes()


def test_without_img_all_only_annotated_frames(tmp_path):
    write_release(tmp_path, dense=False)
    with VPSFile(convert_cityscapes_vps(tmp_path, "val", tmp_path / "o.h5")) as f:
        assert [v.num_frames for v in f] == [6, 6]


def test_test_split_is_an_image_only_file(tmp_path):
    write_release(tmp_path, split="test", raw=False, prepared=False)
    out = convert_cityscapes_vps(tmp_path, "test", tmp_path / "test.h5")
    with VPSFile(out) as f:
        assert f.num_frames() == (60, 0)
        assert all(v.has_images for v in f)


def test_workers_give_the_same_file_content(release, converted, tmp_path):
    root, _ = release
    two = convert_cityscapes_vps(root, "val", tmp_path / "w2.h5", "raw", workers=2)
    one, other = maps_by_stem(converted["raw"]), maps_by_stem(two)
    for stem in one:
        np.testing.assert_array_equal(one[stem], other[stem])


def frame_tables(path) -> list:
    with VPSFile(path) as f:
        return [(v.video_id, v.stems, v.source_frames.tolist(), v.annotated.tolist(),
                 v.frame_meta, v.meta, v.tracks(), [v.image_bytes(i) for i in range(v.num_frames)])
                for v in f]  # fmt: skip


def test_convert_export_convert_is_bit_identical(converted, tmp_path):
    export_cityscapes_vps(converted["prepared"], tmp_path / "exported")
    again = convert_cityscapes_vps(tmp_path / "exported", "val", tmp_path / "again.h5")
    assert frame_tables(again) == frame_tables(converted["prepared"])
    first, second = maps_by_stem(converted["prepared"]), maps_by_stem(again)
    for stem in first:
        np.testing.assert_array_equal(first[stem], second[stem])
    with VPSFile(again) as a, VPSFile(converted["prepared"]) as b:
        assert a.categories_source_json == b.categories_source_json


def test_raw_state_exports_to_the_prepared_layout(converted, tmp_path):
    export_cityscapes_vps(converted["raw"], tmp_path / "exported")
    again = convert_cityscapes_vps(tmp_path / "exported", "val", tmp_path / "again.h5")
    first, second = maps_by_stem(converted["raw"]), maps_by_stem(again)
    for stem in first:
        np.testing.assert_array_equal(first[stem], second[stem])
    stuff = tmp_path / "exported" / "val" / "panoptic_video"
    ids = np.asarray(Image.open(sorted(stuff.glob("*.png"))[0]))
    assert tuple(ids[-1, 20]) == (0, 0, 0) and tuple(ids[0, 0]) == (70, 130, 180)  # void, sky


def test_exported_prediction_scores_like_the_file(converted, tmp_path):
    gt = converted["prepared"]
    pred = synth_predict(gt, tmp_path / "pred.h5", noise=0.4, seed=2)
    archive = export_cityscapes_vps(pred, tmp_path / "submit", gt=gt, zip_it=True)
    assert archive.name == "submission.zip"
    from_file = vpsbench.evaluate(gt, pred, metrics="vpq,pq").summary
    from_zip = vpsbench.evaluate(gt, archive, metrics="vpq,pq").summary
    assert from_zip["vpq"] == from_file["vpq"] and from_zip["pq"] == from_file["pq"]


def run_convert(capsys, root, out, *extra):
    code = main(["convert", "cityscapes-vps", str(root), "--split", "val", "-o", str(out), *extra])
    err = capsys.readouterr().err
    return code, err


def broken_release(tmp_path, release):
    root = tmp_path / "release"
    shutil.copytree(release[0], root)
    return root


def test_wrong_root_says_what_was_expected(capsys, tmp_path):
    code, err = run_convert(capsys, tmp_path / "missing", tmp_path / "o.h5")
    assert code == 2 and "expected a Cityscapes-VPS root holding val/img/" in err


def test_unpaired_cls_and_inst_are_listed(capsys, tmp_path, release):
    root = broken_release(tmp_path, release)
    next(iter(sorted((root / "val" / "inst").glob("*.png")))).unlink()
    code, err = run_convert(capsys, root, tmp_path / "o.h5", "--labels", "raw")
    assert code == 2 and "no partner" in err and "0005_0025_frankfurt_000000_001736" in err
    assert not (tmp_path / "o.h5").exists()


def test_colour_not_in_palette(capsys, tmp_path, release):
    root = broken_release(tmp_path, release)
    path = sorted((root / "val" / "cls").glob("*final_mask.png"))[0]
    rgb = np.asarray(Image.open(path)).copy()
    rgb[0, 0] = (1, 2, 3)
    Image.fromarray(rgb).save(path)
    code, err = run_convert(capsys, root, tmp_path / "o.h5", "--labels", "raw")
    assert code == 2 and "colour (1, 2, 3) is not in the Cityscapes palette" in err
    assert not list(tmp_path.glob("o.h5*"))


def test_frame_of_another_size(capsys, tmp_path, release):
    root = broken_release(tmp_path, release)
    path = sorted((root / "val" / "panoptic_video").glob("*.png"))[2]
    Image.open(path).crop((0, 0, 20, 12)).save(path)
    code, err = run_convert(capsys, root, tmp_path / "o.h5")
    assert code == 2 and "panoptic map is (12, 20), the video is (32, 64)" in err
    assert not list(tmp_path.glob("o.h5*"))


def test_truncated_png(capsys, tmp_path, release):
    root = broken_release(tmp_path, release)
    path = sorted((root / "val" / "panoptic_video").glob("*.png"))[1]
    path.write_bytes(path.read_bytes()[:60])
    code, err = run_convert(capsys, root, tmp_path / "o.h5")
    assert code == 2 and path.name in err and "truncated" in err
    assert not list(tmp_path.glob("o.h5*"))


def test_eval_accepts_a_dataset_root_as_gt(capsys, release, converted, tmp_path):
    root, _ = release
    gt = converted["prepared"]
    pred = synth_predict(gt, tmp_path / "pred.h5", noise=0.4, seed=3)
    submission = export_cityscapes_vps(pred, tmp_path / "submit", gt=gt)
    args = ["eval", "--pred", str(submission), "--metrics", "vpq,pq"]
    assert main([*args, "--gt", str(gt), "--json", str(tmp_path / "h5.json")]) == 0
    code = main([*args, "--gt", str(root), "--split", "val", "--json", str(tmp_path / "dir.json")])
    assert code == 0, capsys.readouterr().err
    from_h5 = json.loads((tmp_path / "h5.json").read_text())
    from_root = json.loads((tmp_path / "dir.json").read_text())
    assert from_root["vpq"] == from_h5["vpq"] and from_root["pq"] == from_h5["pq"]
    assert main([*args, "--gt", str(root)]) == 2
    assert "give --split" in capsys.readouterr().err
