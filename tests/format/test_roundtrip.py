"""Write -> read round trip of every field of the unified format, bit-exact."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import TOY_CATEGORIES, png_bytes, toy_panoptic, write_toy

from vpsbench.datasets.cityscapes_vps import PROTOCOL as CITYSCAPES_VPS_PROTOCOL
from vpsbench.datasets.viper import PROTOCOL as VIPER_PROTOCOL
from vpsbench.format import FileInfo, VPSFile, VPSWriter, decode_panoptic, encode_panoptic


def test_root_attributes(toy_reader):
    info = toy_reader.info
    assert (info.kind, info.dataset, info.split) == ("groundtruth", "toy", "val")
    assert (info.label_divisor, info.ignore_label, info.void_label) == (1000, 255, 255000)
    assert info.source == "tests" and info.tool_version and info.created
    assert len(info.content_id) == 32 and info.predicts is None


def test_categories_and_protocol(toy_reader):
    assert toy_reader.categories == TOY_CATEGORIES
    assert toy_reader.categories_source_json == '[{"id": 0}]'
    assert toy_reader.protocol == CITYSCAPES_VPS_PROTOCOL


def test_frames_labels_images_tracks(toy_gt):
    rng = np.random.default_rng(0)
    with VPSFile(toy_gt) as f:
        assert f.video_ids == ["0001", "0002"]
        video = f.video("0002")
        assert (video.height, video.width, video.num_frames, video.num_annotated) == (6, 8, 6, 3)
        assert video.meta == {"city": "toyville", "v": 1}
        assert video.stems == [f"0002_{t:04d}" for t in range(6)]
        assert video.source_frames.tolist() == [100, 105, 110, 115, 120, 125]
        assert video.annotated_indices.tolist() == [1, 3, 5]
        assert video.frame_meta[4] == {"t": 4}
        assert [t.source_key for t in video.tracks()] == ["26000", "24001"]
        for v in f:
            for t in range(v.num_frames):
                image = png_bytes(rng.integers(0, 255, (6, 8, 3), np.uint8))
                assert v.image_bytes(t) == image  # encoded bytes pass through untouched
        frame = video.frame(3)
        assert frame.annotated and frame.stem == "0002_0003"
        np.testing.assert_array_equal(frame.panoptic, toy_panoptic(3))
        assert frame.panoptic.dtype == np.int32
        np.testing.assert_array_equal(video.load_panoptic()[2], toy_panoptic(5))
        assert video.image(0).shape == (6, 8, 3)
        with pytest.raises(KeyError, match="not annotated"):
            video.panoptic(0)


def test_prediction_file_without_images_or_protocol(tmp_path):
    path = write_toy(tmp_path / "pred.h5", kind="prediction")
    with VPSFile(path) as f:
        assert f.info.is_prediction and f.protocol is None
        assert f.info.predicts.content_id == "abc"
        assert f.video("0001").image_bytes(0) is None


def test_viper_protocol_round_trip(tmp_path):
    info = FileInfo(kind="groundtruth", dataset="viper", split="val")
    with VPSWriter(tmp_path / "v.h5", info, TOY_CATEGORIES, VIPER_PROTOCOL) as w:
        with w.video("001", 2, 2) as v:
            v.add_frame("001_00001", 1, panoptic=np.zeros((2, 2), np.int32))
    with VPSFile(tmp_path / "v.h5") as f:
        assert f.protocol == VIPER_PROTOCOL


@pytest.mark.parametrize("compression", ["gzip", "lzf", None])
def test_compression_is_lossless(tmp_path, compression):
    path = write_toy(tmp_path / "c.h5", compression=compression)
    with VPSFile(path) as f:
        np.testing.assert_array_equal(f.video("0001").panoptic(5), toy_panoptic(5))
        assert f.h5["videos/0001/panoptic"].chunks == (1, 6, 8)


def test_content_id_depends_on_frame_structure(tmp_path):
    a = VPSFile(write_toy(tmp_path / "a.h5")).info.content_id
    b = VPSFile(write_toy(tmp_path / "b.h5")).info.content_id
    c = VPSFile(write_toy(tmp_path / "c.h5", stride=3)).info.content_id
    d = VPSFile(write_toy(tmp_path / "d.h5", kind="prediction")).info.content_id
    assert a == b == d and a != c


def test_encode_decode_panoptic():
    sem = np.array([[0, 13, 255]])
    inst = np.array([[0, 7, 0]])
    pan = encode_panoptic(sem, inst, 1000)
    assert pan.tolist() == [[0, 13007, 255000]]
    s, i = decode_panoptic(pan, 1000)
    assert s.tolist() == sem.tolist() and i.tolist() == inst.tolist()


def test_writer_rejects_bad_input(tmp_path):
    info = FileInfo(kind="groundtruth", dataset="toy", split="val")
    with pytest.raises(ValueError, match="protocol"):
        VPSWriter(tmp_path / "x.h5", info, TOY_CATEGORIES)
    with pytest.raises(ValueError, match="increasing"):
        with VPSWriter(tmp_path / "x.h5", info, TOY_CATEGORIES, CITYSCAPES_VPS_PROTOCOL) as w:
            with w.video("a", 2, 2) as v:
                v.add_frame("f1", 5)
                v.add_frame("f0", 4)
    with pytest.raises(ValueError, match="panoptic map is"):
        with VPSWriter(tmp_path / "x.h5", info, TOY_CATEGORIES, CITYSCAPES_VPS_PROTOCOL) as w:
            with w.video("a", 2, 2) as v:
                v.add_frame("f1", 5, panoptic=np.zeros((3, 2), np.int32))
    assert not list(tmp_path.iterdir())


def test_refuses_to_overwrite(toy_gt):
    with pytest.raises(FileExistsError, match="--force"):
        write_toy(toy_gt)
    write_toy(toy_gt, overwrite=True)


def test_reader_is_lazy(toy_gt, monkeypatch):
    """Opening a file and a frame reads one chunk, not the whole video."""
    import h5py

    reads = []
    original = h5py.Dataset.__getitem__

    def spy(self, key):
        reads.append((self.name, key))
        return original(self, key)

    from vpsbench.format import reader

    original_row = reader.read_label_row

    def spy_row(dataset, row, plain_deflate, writable=True):
        rows.append(row)
        return original_row(dataset, row, plain_deflate, writable)

    rows = []
    monkeypatch.setattr(h5py.Dataset, "__getitem__", spy)
    monkeypatch.setattr(reader, "read_label_row", spy_row)
    with VPSFile(toy_gt) as f:
        f.frame("0001", 3, with_image=False)
    panoptic_reads = [k for name, k in reads if name.endswith("panoptic")]
    assert rows == [1]
    assert panoptic_reads in ([], [1])  # the chunk read raw, or through h5py


def test_image_bytes_are_not_reencoded(tmp_path):
    jpeg = io.BytesIO()
    from PIL import Image

    Image.fromarray(np.full((2, 2, 3), 7, np.uint8)).save(jpeg, format="JPEG", quality=73)
    info = FileInfo(kind="groundtruth", dataset="toy", split="val")
    with VPSWriter(tmp_path / "j.h5", info, TOY_CATEGORIES, CITYSCAPES_VPS_PROTOCOL) as w:
        with w.video("a", 2, 2) as v:
            v.add_frame("f0", 0, image=jpeg.getvalue())
            v.add_frame("f1", 1)
    with VPSFile(tmp_path / "j.h5") as f:
        assert f.video("a").image_bytes(0) == jpeg.getvalue()
        assert f.video("a").image_bytes(1) is None


def test_maps_are_writable_unless_asked_otherwise(toy_gt):
    with VPSFile(toy_gt) as f:
        video = f.video("0002")
        writable = video.panoptic(3)
        assert writable.flags.writeable
        writable[0, 0] = -1  # a copy: the file's next read is untouched
        cheap = video.panoptic(3, writable=False)
        np.testing.assert_array_equal(cheap, toy_panoptic(3))
        assert cheap.dtype == np.int32
