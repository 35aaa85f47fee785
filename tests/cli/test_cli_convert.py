"""``vpsbench convert viper`` / ``convert cityscapes-vps`` / ``export`` from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

from vpsbench.cli import main
from vpsbench.format import VPSFile

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "converters"))
from viper_fixtures import write_viper_tree


def test_convert_viper_passes_its_options(capsys, tmp_path):
    write_viper_tree(tmp_path / "viper")
    out = tmp_path / "viper_val.h5"
    argv = ["convert", "viper", str(tmp_path / "viper"), "--split", "val", "-o", str(out)]
    code = main([*argv, "--sequences", "2", "--frames-per-video", "20", "--workers", "2"])
    assert code == 0, capsys.readouterr().err
    with VPSFile(out) as f:
        assert f.info.dataset == "viper" and f.video_ids[0].startswith("002_")
        assert max(v.num_frames for v in f) == 20
    listing = tmp_path / "day.txt"
    listing.write_text("# day sequences\n001\n")
    code = main([*argv, "-f", "--sequences", "1", "--sequence-list", str(listing)])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("vpsbench convert: error:")
