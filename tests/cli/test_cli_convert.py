"""``vpsbench convert viper`` / ``convert cityscapes-vps`` / ``export`` from the command line."""

from __future__ import annotations

import pytest
from viper_fixtures import write_viper_tree

from vpsbench.cli import main
from vpsbench.format import VPSFile


def test_convert_viper_passes_its_options(capsys, tmp_path):
    write_viper_tree(tmp_path / "viper")
    out = tmp_path / "viper_val.h5"
    argv = ["convert", "viper", str(tmp_path / "viper"), "--split", "val", "-o", str(out)]
    code = main([*argv, "--sequences", "2", "--frames-per-video", "2", "--workers", "2"])
    assert code == 0, capsys.readouterr().err
    with VPSFile(out) as f:
        assert f.info.dataset == "viper" and f.video_ids[0].startswith("002_")
        # --frames-per-video counts labelled frames (5 in the sequence): 2 + 2 + 1
        assert [v.num_annotated for v in f] == [2, 2, 1]
    code = main([*argv, "-f", "--sequences", "2", "--stride", "2", "--frames-per-video", "2"])
    assert code == 0, capsys.readouterr().err
    with VPSFile(out) as f:  # --stride counts labelled frames: 10, 30 | 50
        assert [v.stems for v in f] == [["002_00010", "002_00030"], ["002_00050"]]
    listing = tmp_path / "day.txt"
    listing.write_text("# day sequences\n001\n")
    code = main([*argv, "-f", "--sequences", "1", "--sequence-list", str(listing)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("vpsbench convert: error:")


def test_convert_viper_help_says_what_the_options_count(capsys):
    with pytest.raises(SystemExit):
        main(["convert", "viper", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "videos of N labelled frames" in out
    assert "keep every S-th labelled frame" in out
