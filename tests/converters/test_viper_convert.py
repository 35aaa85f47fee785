"""VIPER raw release conversion: exact labels, frames and images, selection options, errors."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from PIL import Image
from viper_fixtures import expected_panoptic, write_viper_tree

from vpsbench.datasets import viper
from vpsbench.format import VPSFile
from vpsbench.format.validate import validate_file
from vpsbench_converters.common import ConversionError
from vpsbench_converters.viper import convert_viper

# Objects of every sequence in order of first appearance: frame 10 shows firehydrant 1, car 5,
# car 9 and van 300 (ascending raw class, then id); person 2 appears at frame 20.
TRACKS = [("16:1", 14), ("24:5", 19), ("24:9", 19), ("25:300", 20), ("20:2", 17)]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("viper")
    return root, write_viper_tree(root)


@pytest.fixture(scope="module")
def converted(tree, tmp_path_factory):
    root, _ = tree
    return convert_viper(root, "val", tmp_path_factory.mktemp("converted") / "viper_val.h5")


def maps_by_video(path) -> dict[str, dict[str, np.ndarray]]:
    with VPSFile(path) as f:
        return {v.video_id: {v.stems[i]: v.panoptic(int(i)) for i in v.annotated_indices}
                for v in f}  # fmt: skip


def assert_maps_equal(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    for video_id, maps in expected.items():
        assert list(got[video_id]) == list(maps), video_id
        for stem, truth in maps.items():
            np.testing.assert_array_equal(got[video_id][stem], truth, err_msg=stem)


def no_output(out) -> bool:
    return not list(out.parent.glob(f"*{out.name}*"))


def test_label_maps_are_the_drawn_truth(tree, converted):
    _, truth = tree
    assert_maps_equal(maps_by_video(converted), truth["panoptic"])
    assert validate_file(converted) == []
    with VPSFile(converted) as f:
        for video in f:
            assert [(t.source_key, t.category_id) for t in video.tracks()] == TRACKS
            assert [t.instance_id for t in video.tracks()] == [1, 2, 3, 4, 5]


def test_van_train_crowd_void_and_stuff_values(tree, converted):
    """Spot checks of the decisions, on pixels of the first labelled frame."""
    with VPSFile(converted) as f:
        pan = f.video("001").panoptic(2)  # frame 10
    assert pan[15, 22] == 20 * 1000 + 4  # van (raw 25), not train although the colours match
    assert pan[4, 32] == 255000  # train (raw 29) region: void
    assert pan[17, 35] == 255000  # bicycle: void, though inst names an object
    assert pan[22, 5] == 255000  # unlabeled
    assert pan[11, 35] == 11000  # mobilebarrier stays stuff 11
    assert pan[7, 1] == 17000  # persons without instance id: crowd
    assert pan[19, 1] == 16000  # inst names a trashcan with id 0: crowd
    assert pan[17, 3] == 19000 + 2  # cls says road, inst says car 5: car


def test_frames_images_and_metadata(tree, converted):
    root, truth = tree
    with VPSFile(converted) as f:
        assert f.video_ids == ["001", "002"]
        assert f.info.dataset == "viper" and f.info.split == "val"
        assert str(root) in f.info.source and "one video per sequence" in f.info.source
        assert f.protocol == viper.PROTOCOL
        assert [c.name for c in f.categories] == [c.name for c in viper.CATEGORIES]
        assert [c.source_id for c in f.categories] == [c.source_id for c in viper.CATEGORIES]
        assert f.categories_source_json == viper.category_json()
        video = f.video("002")
        numbers = truth["frames"]["002"]
        assert numbers == list(range(8, 53))
        assert video.stems == [f"002_{n:05d}" for n in numbers]
        assert video.source_frames.tolist() == numbers
        assert video.annotated.tolist() == [n % 10 == 0 for n in numbers]
        assert video.meta == {"sequence": "002"}
        assert video.frame_meta[0] == {"image_file": "002_00008.jpg"}
        assert video.frame_meta[2] == {
            "image_file": "002_00010.jpg", "cls_file": "002_00010.png",
            "inst_file": "002_00010.png"}  # fmt: skip
        for i, stem in enumerate(video.stems):
            assert video.image_bytes(i) == (root / "val/img/002" / f"{stem}.jpg").read_bytes()


def test_sequence_selection_by_ids_and_by_list_file(tree, tmp_path):
    root, truth = tree
    by_ids = convert_viper(root, "val", tmp_path / "ids.h5", sequences=["2"])
    day = tmp_path / "day.txt"
    day.write_text("# day sequences of val\n\n002   # clear\n")
    by_list = convert_viper(root, "val", tmp_path / "list.h5", list_file=day)
    for out in (by_ids, by_list):
        assert_maps_equal(maps_by_video(out), {"002": truth["panoptic"]["002"]})
    with VPSFile(by_list) as f:
        assert "sequences 002 (from" in f.info.source


def test_frames_per_video_counts_labelled_frames(tree, tmp_path):
    """N labelled frames a video, each with the image-only frames before its labels."""
    root, truth = tree
    out = convert_viper(root, "val", tmp_path / "cut.h5", sequences=["001"], frames_per_video=2)
    numbers = truth["frames"]["001"]  # 8..52, labelled 10, 20, 30, 40, 50
    # parts end on their 2nd labelled frame; frames 51, 52 after the last label join the last
    parts = [[f"001_{n:05d}" for n in numbers if lo <= n <= hi]
             for lo, hi in ((8, 20), (21, 40), (41, 52))]  # fmt: skip
    expected = {f"001_{i:04d}": expected_panoptic(truth["truth"]["001"],
                                                  [s for s in part if s in truth["truth"]["001"]])
                for i, part in enumerate(parts, start=1)}  # fmt: skip
    assert_maps_equal(maps_by_video(out), expected)
    with VPSFile(out) as f:
        assert [v.stems for v in f] == parts
        assert [v.num_annotated for v in f] == [2, 2, 1]
        assert f.video("001_0003").meta == {"sequence": "001", "part": 3}
        assert "2 labelled frames per video" in f.info.source
        # ids restart per video: part 2 starts at frame 21; car 9 is away at 30, so it comes last
        keys = [t.source_key for t in f.video("001_0002").tracks()]
        assert keys == ["16:1", "20:2", "24:5", "25:300", "24:9"]
    assert validate_file(out) == []
    # The same N gives the same evaluated frames without the image-only frames.
    labelled_only = write_viper_tree(tmp_path / "lab", sequences=("001",), with_unlabelled=False)
    out2 = convert_viper(tmp_path / "lab", "val", tmp_path / "cut2.h5", frames_per_video=2)
    with VPSFile(out2) as f:
        assert [[v.stems[i] for i in v.annotated_indices] for v in f] == [
            [s for s in part if s in labelled_only["truth"]["001"]] for part in parts
        ]


def test_frames_per_video_in_an_image_only_split_counts_frames(tmp_path):
    write_viper_tree(tmp_path, split="test", sequences=("001",), frames=range(1, 8))
    with VPSFile(convert_viper(tmp_path, "test", tmp_path / "t.h5", frames_per_video=3)) as f:
        assert [v.num_frames for v in f] == [3, 3, 1]


def test_label_spacing_follows_the_source_and_the_stride(tree, tmp_path):
    """The public labels are 10 source frames apart; --stride S makes that 10 S."""
    root, _ = tree
    with VPSFile(convert_viper(root, "val", tmp_path / "s1.h5", sequences=["1"])) as f:
        assert f.label_spacing() == (10,)
    with VPSFile(convert_viper(root, "val", tmp_path / "s2.h5", sequences=["1"], stride=2)) as f:
        assert f.label_spacing() == (20,)


def test_stride_counts_annotated_frames(tree, tmp_path):
    root, truth = tree
    out = convert_viper(root, "val", tmp_path / "stride.h5", stride=2, frames_per_video=2)
    with VPSFile(out) as f:
        assert f.video_ids == ["001_0001", "001_0002", "002_0001", "002_0002"]
        assert f.video("001_0001").stems == ["001_00010", "001_00030"]
        assert f.video("001_0002").stems == ["001_00050"]
        assert all(v.annotated.all() for v in f)
    for seq in ("001", "002"):
        kept = maps_by_video(out)
        assert_maps_equal({k: v for k, v in kept.items() if k.startswith(seq)}, {
            f"{seq}_0001": expected_panoptic(truth["truth"][seq], [f"{seq}_00010", f"{seq}_00030"]),
            f"{seq}_0002": expected_panoptic(truth["truth"][seq], [f"{seq}_00050"])})  # fmt: skip


def test_labelled_frames_only_and_images_only_split(tmp_path):
    truth = write_viper_tree(tmp_path, size=(36, 60), with_unlabelled=False)
    out = convert_viper(tmp_path, "val", tmp_path / "val.h5")
    assert_maps_equal(maps_by_video(out), truth["panoptic"])
    with VPSFile(out) as f:
        assert f.num_frames() == (10, 10)
    write_viper_tree(tmp_path, split="test", frames=range(1, 6))  # no multiple of 10: no labels
    assert not (tmp_path / "test" / "cls").exists()
    with VPSFile(convert_viper(tmp_path, "test", tmp_path / "test.h5")) as f:
        assert f.num_frames() == (10, 0) and all(v.has_images for v in f)


def test_labelled_frame_without_image_is_kept(tree, tmp_path):
    root = copy_tree(tree, tmp_path)
    (root / "val/img/001/001_00020.jpg").unlink()
    out = convert_viper(root, "val", tmp_path / "o.h5", sequences=["001"])
    assert_maps_equal(maps_by_video(out), {"001": tree[1]["panoptic"]["001"]})
    with VPSFile(out) as f:
        video = f.video("001")
        index = video.frame_index("001_00020")
        assert video.frame_meta[index]["image_file"] is None and not video.image_bytes(index)
    assert validate_file(out) == []


def test_two_workers_give_the_same_content(tree, converted, tmp_path):
    root, _ = tree
    two = convert_viper(root, "val", tmp_path / "w2.h5", workers=2)
    assert_maps_equal(maps_by_video(two), maps_by_video(converted))
    with VPSFile(two) as a, VPSFile(converted) as b:
        for va, vb in zip(a, b, strict=True):
            assert va.stems == vb.stems and va.tracks() == vb.tracks()
            assert va.frame_meta == vb.frame_meta
            assert [va.image_bytes(i) for i in range(va.num_frames)] == [
                vb.image_bytes(i) for i in range(vb.num_frames)]  # fmt: skip


# --- errors: one clear line, no output left behind ---------------------------------------------


def copy_tree(tree, tmp_path):
    root = tmp_path / "release"
    shutil.copytree(tree[0], root)
    return root


def fails_with(text: str):
    return pytest.raises(ConversionError, match=re.escape(text))


def test_root_without_split_folders(tmp_path):
    out = tmp_path / "o.h5"
    with fails_with("no val/img/ folder; expected a VIPER root holding val/img/SSS/SSS_FFFFF.jpg"):
        convert_viper(tmp_path / "missing", "val", out)
    assert no_output(out)


def test_unknown_sequence_id(tree, tmp_path):
    out = tmp_path / "o.h5"
    with fails_with("unknown sequence id(s) 007, day; the split has 2 sequences: 001, 002"):
        convert_viper(tree[0], "val", out, sequences=["001", "7", "day"])
    assert no_output(out)


def test_cls_and_inst_without_each_other(tree, tmp_path):
    root = copy_tree(tree, tmp_path)
    (root / "val/inst/001/001_00020.png").unlink()
    (root / "val/cls/002/002_00030.png").unlink()
    out = tmp_path / "o.h5"
    with fails_with(
        "2 cls/inst files have no partner of the same frame, "
        "e.g. val/cls/001/001_00020.png, val/inst/002/002_00030.png"
    ):
        convert_viper(root, "val", out)
    assert no_output(out)


def test_frames_of_another_size(tree, tmp_path):
    root = copy_tree(tree, tmp_path)
    path = root / "val/img/002/002_00015.jpg"
    Image.open(path).resize((20, 12)).save(path)
    out = tmp_path / "o.h5"
    with fails_with(
        "video 002: 002_00015.jpg is 20x12 but 002_00008.jpg is 40x24; "
        "all frames of a video must have one size"
    ):
        convert_viper(root, "val", out)
    assert no_output(out)


def test_label_of_another_size_than_its_image(tree, tmp_path):
    root = copy_tree(tree, tmp_path)
    path = root / "val/cls/001/001_00030.png"
    Image.open(path).crop((0, 0, 20, 12)).save(path)
    out = tmp_path / "o.h5"
    with fails_with("cls/001/001_00030.png is 20x12, other frames of this video are 40x24"):
        convert_viper(root, "val", out)
    assert no_output(out)


def test_truncated_png(tree, tmp_path):
    root = copy_tree(tree, tmp_path)
    path = root / "val/inst/002/002_00040.png"
    path.write_bytes(path.read_bytes()[:60])
    out = tmp_path / "o.h5"
    with fails_with("inst/002/002_00040.png cannot be decoded (truncated or not a PNG)"):
        convert_viper(root, "val", out, workers=2)
    assert no_output(out)


def test_colour_cls_png_is_refused(tree, tmp_path):
    """A cls PNG saved as colours cannot be decoded: van and train share a colour."""
    root = copy_tree(tree, tmp_path)
    path = root / "val/cls/001/001_00010.png"
    Image.open(path).convert("RGB").save(path)
    out = tmp_path / "o.h5"
    with fails_with("cls/001/001_00010.png has PNG mode RGB"):
        convert_viper(root, "val", out)
    assert no_output(out)


def test_bad_options(tree, tmp_path):
    with fails_with("stride must be at least 1, got 0"):
        convert_viper(tree[0], "val", tmp_path / "o.h5", stride=0)
    with fails_with("give either sequences or a sequence list file, not both"):
        convert_viper(tree[0], "val", tmp_path / "o.h5", sequences=["001"], list_file=tmp_path)
    with fails_with("cannot read the sequence list"):
        convert_viper(tree[0], "val", tmp_path / "o.h5", list_file=tmp_path / "none.txt")
    root = copy_tree(tree, tmp_path)
    shutil.copy(root / "val/img/002/002_00010.jpg", root / "val/img/001/002_00010.jpg")
    with fails_with("img/001/002_00010.jpg: not a frame of sequence 001"):
        convert_viper(root, "val", tmp_path / "o.h5")
    assert no_output(tmp_path / "o.h5")
