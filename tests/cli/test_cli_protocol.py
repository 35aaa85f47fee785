"""``info`` and ``eval`` say what the windows span and why a VC value is empty; --vc-n overrides."""

from __future__ import annotations

import json

from conftest import write_toy
from viper_fixtures import write_viper_tree

from vpsbench.cli import main
from vpsbench_converters.viper import convert_viper


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, " ".join(out.split()), err


def test_info_states_label_spacing_and_vc_lengths(capsys, toy_gt):
    code, out, _ = run(capsys, "info", str(toy_gt))
    assert code == 0
    assert "VC clip lengths [2, 4, 6]" in out
    assert "annotated frames are 10 source frames apart, so the windows span 1, 11, 21, 31" in out
    assert "VC_4/VC_6 will be empty: the longest video has 3 annotated frames" in out
    assert (
        "VPQ will be empty: its windows of 4 annotated frames are longer than the longest " in out
    )
    code, out, _ = run(capsys, "info", str(toy_gt), "--json")
    data = json.loads(out)
    assert data["label_spacing"] == [10] and data["protocol"]["vc_clip_lengths"] == [2, 4, 6]
    assert "vpq_window_unit" not in data["protocol"]


def test_info_of_a_viper_file_with_a_stride(capsys, tmp_path):
    write_viper_tree(tmp_path / "viper", sequences=("001",))
    out_file = tmp_path / "v.h5"
    convert_viper(tmp_path / "viper", "val", out_file, stride=2)
    code, out, _ = run(capsys, "info", str(out_file))
    assert code == 0
    assert "annotated frames are 20 source frames apart" in out
    assert "windows span 1, 81, 181, 281 source frames" in out


def test_eval_explains_empty_vc_and_takes_vc_n(capsys, tmp_path, toy_gt):
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    base = ["eval", "--gt", str(toy_gt), "--pred", str(pred), "--metrics", "vpq,vc"]
    code, out, err = run(capsys, *base)
    assert code == 0, err
    assert "VC_2 100.0" in out and "VC_6 -" in out
    assert "VC_6 is empty: no video has 6 annotated frames; the longest has 3" in out
    assert "10 source frames apart" in out
    code, out, err = run(capsys, *base, "--vc-n", "3", "--json", str(tmp_path / "s.json"))
    assert code == 0, err
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["vc"]["settings"]["ns"] == [3] and data["protocol"]["vc_clip_lengths"] == [3]
    assert "empty" not in data["vc"]
