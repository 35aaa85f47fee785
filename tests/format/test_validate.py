"""The validator: a clean file passes, and each kind of violation is caught where it is."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from conftest import write_toy

from vpsbench.format import FormatError, VPSFile
from vpsbench.format.validate import validate_file, validate_pair


def mutate(path, action):
    with h5py.File(path, "r+") as f:
        action(f)


def replace(f, name, data, **kw):
    del f[name]
    f.create_dataset(name, data=data, **kw)


def set_pixel(f, value, row=0, y=0, x=0, video="0001"):
    f[f"videos/{video}/panoptic"][row, y, x] = value


CASES = {
    "root_attrs": lambda f: f.attrs.__delitem__("split"),
    "format_version": lambda f: f.attrs.__setitem__("format_version", "2.0"),
    "categories": lambda f: replace(f, "categories/id", np.array([0, 0, 11, 13], np.int32)),
    "protocol": lambda f: f["protocol"].attrs.__setitem__(
        "excluded_category_ids", np.array([99], np.int32)
    ),
    "video_index": lambda f: replace(
        f, "video_ids", np.array(["0001"], dtype=object), dtype=h5py.string_dtype()
    ),
    "frames": lambda f: replace(
        f, "videos/0001/frames/annotated", np.array([0, 2, 0, 1, 0, 1], np.uint8)
    ),
    "frame_order": lambda f: replace(
        f, "videos/0001/frames/source_frame", np.array([100, 105, 105, 115, 120, 125], np.int64)
    ),
    "video_attrs": lambda f: f["videos/0002"].attrs.__setitem__("height", 0),
    "panoptic_shape": lambda f: f["videos/0001/panoptic"].resize(2, axis=0),
    "panoptic_dtype": lambda f: replace(
        f, "videos/0001/panoptic", f["videos/0001/panoptic"][()].astype(np.int64)
    ),
    "panoptic_chunks": lambda f: replace(
        f, "videos/0001/panoptic", f["videos/0001/panoptic"][()], chunks=(3, 6, 8), dtype=np.int32
    ),
    "images": lambda f: f["videos/0001/images"].__setitem__(
        2, np.frombuffer(b"GIF89a..", np.uint8)
    ),
    "label_values": lambda f: set_pixel(f, -5),
    "void_label": lambda f: set_pixel(f, 255 * 1000 + 3),
    "label_category": lambda f: set_pixel(f, 7 * 1000),
    "stuff_instance": lambda f: set_pixel(f, 10 * 1000 + 4),
    "instance_category": lambda f: set_pixel(f, 11 * 1000 + 1, row=2),
    "tracks": lambda f: set_pixel(f, 13 * 1000 + 9, row=1),
}


def test_clean_file_is_valid(toy_gt):
    assert validate_file(str(toy_gt)) == []


@pytest.mark.parametrize("check", sorted(CASES))
def test_each_violation_is_reported(toy_gt, check):
    mutate(toy_gt, CASES[check])
    problems = validate_file(str(toy_gt))
    assert check in {p.check for p in problems}, problems
    assert all(p.location.startswith("/") for p in problems)


def test_problem_location_points_at_the_frame(toy_gt):
    mutate(toy_gt, lambda f: set_pixel(f, 7 * 1000, row=2, video="0002"))
    [problem] = validate_file(str(toy_gt))
    assert problem.location == "/videos/0002/panoptic[2]" and "[7]" in problem.message


def test_every_problem_is_listed(toy_gt):
    mutate(toy_gt, lambda f: (set_pixel(f, 7000), set_pixel(f, 8000, video="0002")))
    assert len(validate_file(str(toy_gt))) == 2


def test_unreadable_files_raise(tmp_path):
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with pytest.raises(FormatError, match="cannot be read"):
        validate_file(str(tmp_path / "junk.h5"))
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.attrs["x"] = 1
    with pytest.raises(FormatError, match="not a vpsbench file"):
        validate_file(str(tmp_path / "other.h5"))


def test_prediction_without_gt_reference(tmp_path):
    path = write_toy(tmp_path / "p.h5", kind="prediction")
    mutate(path, lambda f: f.attrs.__delitem__("gt_content_id"))
    assert "root_attrs" in {p.check for p in validate_file(str(path))}


def test_crowd_and_instance_reuse_allowed_in_predictions(tmp_path):
    path = write_toy(tmp_path / "p.h5", kind="prediction")
    mutate(path, lambda f: set_pixel(f, 11 * 1000 + 1, row=2))
    assert validate_file(str(path)) == []


@pytest.fixture
def pair(tmp_path, toy_gt):
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    content_id = VPSFile(toy_gt).info.content_id
    mutate(pred, lambda f: f.attrs.__setitem__("gt_content_id", content_id))
    return toy_gt, pred


def pair_checks(gt, pred):
    with VPSFile(gt) as g, VPSFile(pred) as p:
        return {problem.check for problem in validate_pair(g, p)}


def test_matching_pair_is_valid(pair):
    assert pair_checks(*pair) == set()


PAIR_CASES = {
    "pair_content": lambda f: f.attrs.__setitem__("gt_content_id", "0" * 32),
    "pair_encoding": lambda f: f.attrs.__setitem__("label_divisor", 256),
    "pair_categories": lambda f: replace(f, "categories/isthing", np.array([0, 0, 0, 1], np.uint8)),
    "pair_videos": lambda f: (
        f["videos"].move("0002", "0003"),
        replace(
            f, "video_ids", np.array(["0001", "0003"], dtype=object), dtype=h5py.string_dtype()
        ),
    ),
    "pair_size": lambda f: f["videos/0001"].attrs.__setitem__("width", 9),
    "pair_frames": lambda f: replace(
        f,
        "videos/0001/frames/stem",
        np.array([f"x{i}" for i in range(6)], dtype=object),
        dtype=h5py.string_dtype(),
    ),
}


@pytest.mark.parametrize("check", sorted(PAIR_CASES))
def test_each_pair_violation_is_reported(pair, check):
    gt, pred = pair
    mutate(pred, PAIR_CASES[check])
    assert check in pair_checks(gt, pred)


def test_pair_order_matters(pair):
    gt, pred = pair
    assert pair_checks(pred, gt) == {"pair"}
