"""Hostile submissions through ``vpsbench leaderboard score``: each crafted file is refused with
one line (exit 2), the registry is untouched and no private temporary directory is left."""

from __future__ import annotations

import os
import pickle
import shutil
import stat
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from lb_fixtures import make_synth, published_entry, snapshot, synth, write_entry  # noqa: F401 (fixtures)

from vpsbench.cli import main

VIDEO = "0001"  # first video of the tiny synthetic split


@pytest.fixture
def registry(tmp_path):
    root = tmp_path / "registry"
    root.mkdir()
    write_entry(root / "toynet-cityscapes-vps-val.json", published_entry())
    return root


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Route the private extraction directories here, to check that they are removed."""
    root = tmp_path / "private"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.fixture
def refuse(capsys, synth, registry, private_tmp):
    """Score a submission; assert a one-line refusal and no trace; return the reason."""

    def score(submission: Path, *options: str) -> str:
        before = snapshot(registry)
        # --split: the tiny GT is not the official synth val GT, which would be refused first
        argv = ["leaderboard", "score", str(submission), "--gt", str(synth["gt"])]
        argv += ["--split", "val-custom"]
        code = main([*argv, "--method", "Evil", "--registry", str(registry), *options])
        out, err = capsys.readouterr()
        assert code == 2 and out == ""
        lines = err.splitlines()
        assert len(lines) == 1, err
        prefix = "vpsbench leaderboard: error: submission rejected: "
        assert lines[0].startswith(prefix), lines[0]
        assert snapshot(registry) == before
        assert list(private_tmp.iterdir()) == []
        return lines[0][len(prefix) :]

    return score


# --- zip archives -----------------------------------------------------------------------------


def crafted_zip(path: Path, synth: dict, extra: list[tuple[str, bytes, int | None]]) -> Path:
    """The valid submission zip plus hostile members (name, data, st_mode or None)."""
    with zipfile.ZipFile(synth["zip"]) as valid, zipfile.ZipFile(path, "w") as z:
        for info in valid.infolist():
            z.writestr(info, valid.read(info))
        for name, data, mode in extra:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.external_attr = mode << 16
            z.writestr(info, data)
    return path


@pytest.mark.parametrize(
    ("name", "mode", "reason"),
    [
        ("../../escaped.txt", None, "path escapes the archive directory: '../../escaped.txt'"),
        ("/tmp/absolute.txt", None, "absolute path in archive: '/tmp/absolute.txt'"),
        ("pan_pred/link.png", stat.S_IFLNK | 0o777, "symlink in archive: 'pan_pred/link.png'"),
        ("pan_pred/fifo.png", stat.S_IFIFO | 0o644, "special file in archive: 'pan_pred/fifo.png'"),
    ],
)
def test_zip_members_that_escape_or_are_not_files(tmp_path, synth, refuse, name, mode, reason):
    path = crafted_zip(tmp_path / "evil.zip", synth, [(name, b"/etc/passwd", mode)])
    assert refuse(path) == reason
    assert not (tmp_path / "escaped.txt").exists()


def test_zip_bomb_compression_ratio(tmp_path, synth, refuse):
    path = crafted_zip(tmp_path / "bomb.zip", synth, [("pan_pred/z.bin", b"\0" * 2_000_000, None)])
    assert "expands 1" in refuse(path) and "zip bomb" in refuse(path)
    assert "(limit 50x)" in refuse(path, "--max-ratio", "50")


def test_zip_total_size_limit(tmp_path, synth, refuse):
    path = crafted_zip(tmp_path / "big.zip", synth, [("pan_pred/z.bin", b"\0" * 2_000_000, None)])
    limits = ("--max-size-mb", "1", "--max-ratio", "1e9")
    assert refuse(path, *limits) == "archive expands to 2.01 MB (limit 1.00 MB)"


def test_zip_file_count_limit(synth, refuse):
    assert refuse(synth["zip"], "--max-files", "3").endswith("files (limit 3)")


def test_zip_nested_too_deep(tmp_path, synth, refuse):
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("x.txt", b"x")
    middle = tmp_path / "middle.zip"
    with zipfile.ZipFile(middle, "w") as z:
        z.write(inner, "inner.zip")
    path = crafted_zip(tmp_path / "nested.zip", synth, [("middle.zip", middle.read_bytes(), None)])
    assert refuse(path) == "inner.zip: archives nested deeper than 2"


def test_not_a_submission_at_all(tmp_path, refuse):
    (tmp_path / "submission.zip").write_bytes(os.urandom(2048))
    assert refuse(tmp_path / "submission.zip") == (
        "submission.zip is not an HDF5 prediction, a zip or a submission directory"
    )


class Payload:
    """Unpickling this creates the marker file: proof that nothing was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_pickle_is_never_unpickled(tmp_path, refuse, monkeypatch):
    marker = tmp_path / "unpickled"
    (tmp_path / "pred.pkl").write_bytes(pickle.dumps(Payload(marker)))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("pickle.loads called"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("pickle.load called"))
    assert "is not an HDF5 prediction" in refuse(tmp_path / "pred.pkl")
    assert not marker.exists()


# --- submission directories and PNGs ---------------------------------------------------------


@pytest.fixture
def sub_dir(tmp_path, synth):
    """A writable copy of the valid submission directory, and its first PNG."""
    root = shutil.copytree(synth["dir"], tmp_path / "subdir")
    return root, sorted((root / "pan_pred").glob("*.png"))[0]


def test_symlink_in_a_submission_directory(sub_dir, synth, refuse):
    root, png = sub_dir
    png.unlink()
    png.symlink_to(synth["gt"])  # could point anywhere: the GT, /etc/passwd, /dev/zero
    assert refuse(root) == f"symlink in the submission: pan_pred/{png.name}"


def test_special_file_in_a_submission_directory(sub_dir, refuse):
    root, png = sub_dir
    png.unlink()
    os.mkfifo(png)  # reading a FIFO would block the scorer forever
    assert refuse(root) == f"special file in the submission: pan_pred/{png.name}"


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height, with a tiny deflate stream of zeros."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def test_png_larger_than_the_gt_frame(sub_dir, refuse):
    root, png = sub_dir
    png.write_bytes(png_header_only(8192, 8192))  # 200 MB if decoded; refused from the header
    assert refuse(root).endswith(f"{png.name} is 8192x8192, the GT frame is 128x64")


def test_png_decompression_bomb_beyond_pillow_limit(sub_dir, refuse):
    root, png = sub_dir
    png.write_bytes(png_header_only(100_000, 100_000))
    assert "exceeds limit" in refuse(root) and "decompression bomb" in refuse(root)


def test_zipped_png_larger_than_the_gt_frame(tmp_path, sub_dir, refuse):
    root, png = sub_dir
    png.write_bytes(png_header_only(8192, 8192))
    path = tmp_path / "bigpng.zip"
    with zipfile.ZipFile(path, "w") as z:
        for item in sorted(root.rglob("*.*")):
            z.write(item, item.relative_to(root).as_posix())
    assert refuse(path).endswith(f"{png.name} is 8192x8192, the GT frame is 128x64")


# --- HDF5 predictions -------------------------------------------------------------------------


@pytest.fixture
def pred_copy(tmp_path, synth):
    """A writable copy of the valid HDF5 prediction with video 0001's panoptic removed."""
    path = Path(shutil.copy(synth["pred"], tmp_path / "evil.h5"))
    with h5py.File(path, "r+") as f:
        shape = f[f"videos/{VIDEO}/panoptic"].shape
        del f[f"videos/{VIDEO}/panoptic"]
    return path, shape


def test_hdf5_declared_shape_bomb(pred_copy, refuse):
    path, (frames, _, _) = pred_copy
    with h5py.File(path, "r+") as f:  # 160 GB declared, a few kB on disk
        f.create_dataset(
            f"videos/{VIDEO}/panoptic",
            shape=(frames, 100_000, 100_000),
            dtype="int32",
            chunks=(1, 1024, 1024),
            compression="gzip",
        )
    assert refuse(path, "--max-size-mb", "1e6") == (
        f"/videos/{VIDEO}/panoptic declares shape ({frames}, 100000, 100000); "
        "the GT has at most 20 maps of 64x128"
    )
    # with the default size limit, the declared size is refused first
    assert "declares 160.0 GB (limit 4.1 GB)" in refuse(path)


def test_hdf5_wrong_dtype(pred_copy, refuse):
    path, shape = pred_copy
    with h5py.File(path, "r+") as f:
        f.create_dataset(f"videos/{VIDEO}/panoptic", data=np.zeros(shape, np.float32))
    assert refuse(path) == (
        f"/videos/{VIDEO}/panoptic declares dtype float32; "
        "label maps are integers (int32 in the GT)"
    )


def test_hdf5_pickled_payload_is_never_unpickled(tmp_path, pred_copy, refuse, monkeypatch):
    path, shape = pred_copy
    marker = tmp_path / "unpickled"
    blob = np.void(pickle.dumps(Payload(marker)))
    with h5py.File(path, "r+") as f:
        f.create_dataset(f"videos/{VIDEO}/panoptic", data=np.array([blob] * shape[0]))
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("pickle.loads called"))
    assert "declares dtype |V" in refuse(path)
    assert not marker.exists()


def test_hdf5_external_link_to_the_gt(pred_copy, synth, refuse):
    path, _ = pred_copy
    with h5py.File(path, "r+") as f:  # would score a perfect 100 if followed
        f[f"videos/{VIDEO}/panoptic"] = h5py.ExternalLink(
            str(synth["gt"]), f"/videos/{VIDEO}/panoptic"
        )
    assert refuse(path) == (
        f"/videos/{VIDEO}/panoptic is an HDF5 external link; links are not allowed in a prediction"
    )


def test_hdf5_virtual_dataset_mapping_the_gt(pred_copy, synth, refuse):
    path, shape = pred_copy
    layout = h5py.VirtualLayout(shape=shape, dtype="int32")
    layout[:] = h5py.VirtualSource(str(synth["gt"]), f"videos/{VIDEO}/panoptic", shape=shape)
    with h5py.File(path, "r+") as f:
        f.create_virtual_dataset(f"videos/{VIDEO}/panoptic", layout)
    assert refuse(path) == (
        f"/videos/{VIDEO}/panoptic is a virtual dataset (it maps other files); not allowed"
    )


def test_hdf5_external_raw_storage(tmp_path, pred_copy, refuse):
    path, shape = pred_copy
    outside = tmp_path / "outside.bin"  # stands for any file on the machine
    outside.write_bytes(b"\0" * (4 * int(np.prod(shape))))
    with h5py.File(path, "r+") as f:
        f.create_dataset(
            f"videos/{VIDEO}/panoptic",
            shape=shape,
            dtype="int32",
            external=[(str(outside), 0, h5py.h5f.UNLIMITED)],
        )
    assert refuse(path) == (
        f"/videos/{VIDEO}/panoptic stores its data in external files; not allowed"
    )


def test_hdf5_frame_table_declaring_more_frames_than_the_gt(synth, tmp_path, refuse):
    path = Path(shutil.copy(synth["pred"], tmp_path / "frames.h5"))
    with h5py.File(path, "r+") as f:
        del f[f"videos/{VIDEO}/frames/annotated"]
        f.create_dataset(
            f"videos/{VIDEO}/frames/annotated",
            shape=(10**9,),
            dtype="uint8",
            chunks=(4096,),
            compression="gzip",
        )
    assert refuse(path) == (
        f"/videos/{VIDEO}/frames/annotated declares shape (1000000000,); the GT video has 20 frames"
    )
