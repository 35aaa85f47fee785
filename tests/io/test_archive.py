"""Untrusted zip archives: each attack is refused before anything is written."""

from __future__ import annotations

import stat
import zipfile

import pytest

from vpsbench.io.archive import (
    ArchiveLimits,
    PrivateDirectory,
    UnsafeArchiveError,
    extract_archive,
)


def make_zip(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data, mode in members:
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            if mode is not None:
                info.external_attr = mode << 16
            z.writestr(info, data)
    return path


def extract(path, limits=None):
    with PrivateDirectory() as target:
        extract_archive(path, target, limits or ArchiveLimits())
        return sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())


def test_plain_and_nested_archives_extract(tmp_path):
    inner = make_zip(tmp_path / "pan_pred.zip", [("a.png", b"x", None)])
    outer = make_zip(
        tmp_path / "s.zip", [("pred.json", b"{}", None), ("pan_pred.zip", inner.read_bytes(), None)]
    )
    assert extract(outer) == ["pan_pred/a.png", "pred.json"]


@pytest.mark.parametrize(
    ("name", "mode", "message"),
    [
        ("../evil.txt", None, "escapes"),
        ("a/../../evil.txt", None, "escapes"),
        ("/etc/evil.txt", None, "absolute"),
        ("link", stat.S_IFLNK | 0o777, "symlink"),
        ("fifo", stat.S_IFIFO | 0o644, "special file"),
    ],
)
def test_escaping_names_links_and_special_files_are_refused(tmp_path, name, mode, message):
    path = make_zip(tmp_path / "bad.zip", [(name, b"data", mode)])
    with pytest.raises(UnsafeArchiveError, match=message):
        extract(path)
    assert not (tmp_path / "evil.txt").exists()


def test_zip_bomb_ratio_is_refused(tmp_path):
    path = make_zip(tmp_path / "bomb.zip", [("zeros.bin", b"\0" * 5_000_000, None)])
    with pytest.raises(UnsafeArchiveError, match="zip bomb"):
        extract(path)


def test_total_size_and_file_count_limits(tmp_path):
    path = make_zip(tmp_path / "many.zip", [(f"f{i}", b"abc", None) for i in range(20)])
    with pytest.raises(UnsafeArchiveError, match="20 files"):
        extract(path, ArchiveLimits(max_files=10))
    with pytest.raises(UnsafeArchiveError, match="expands to"):
        extract(path, ArchiveLimits(max_total_bytes=30))


def test_nesting_depth_limit(tmp_path):
    level2 = make_zip(tmp_path / "l2.zip", [("x", b"x", None)])
    level1 = make_zip(tmp_path / "l1.zip", [("l2.zip", level2.read_bytes(), None)])
    outer = make_zip(tmp_path / "l0.zip", [("l1.zip", level1.read_bytes(), None)])
    with pytest.raises(UnsafeArchiveError, match="nested deeper"):
        extract(outer)


def test_not_a_zip(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"nope")
    with pytest.raises(UnsafeArchiveError, match="not a readable zip"):
        extract(tmp_path / "x.zip")


def test_private_directory_is_removed_even_on_error(tmp_path):
    with pytest.raises(RuntimeError), PrivateDirectory() as target:
        (target / "f").write_text("x")
        raise RuntimeError
    assert not target.exists()
