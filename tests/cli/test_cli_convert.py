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
    code = main([*argv, "--sequences", "2"])
    err = capsys.readouterr().err
    assert code == 2 and err == f"vpsbench convert: error: {out} exists (--force replaces it)\n"
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


@pytest.mark.parametrize("dataset", ["cityscapes_vps", "kitti_step"])
def test_export_refuses_a_non_empty_folder_and_force_replaces_it_whole(capsys, tmp_path, dataset):
    from vpsbench.synth import SynthConfig, generate, synth_predict

    if dataset == "kitti_step":  # a GT export, into the release layout
        from step_fixtures import write_kitti_step

        from vpsbench_converters.step import convert_step

        write_kitti_step(tmp_path / "kitti")
        pred = convert_step(dataset, tmp_path / "kitti", "val", tmp_path / "gt.h5")
        gt_option = []
    else:  # a prediction export, into the submission layout
        gt = generate(tmp_path / "gt.h5", SynthConfig(2, 6, 32, 64, with_images=False))
        pred = synth_predict(gt, tmp_path / "pred.h5", noise=0.2, seed=1)
        gt_option = ["--gt", str(gt)]
    out = tmp_path / "submit"
    out.mkdir()
    (out / "stale.png").write_bytes(b"from an earlier export")
    argv = ["export", dataset, str(pred), str(out), *gt_option]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not an empty directory" in err and "--force" in err
    assert [p.name for p in out.iterdir()] == ["stale.png"]
    assert main([*argv, "--force"]) == 0, capsys.readouterr().err
    names = {p.name for p in out.iterdir()}
    assert "stale.png" not in names and names
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
