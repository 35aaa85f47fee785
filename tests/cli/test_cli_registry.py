"""The registry on the command line: ``protocols``, ``eval --protocol``, dataset aliases."""

from __future__ import annotations

import json

from vpsbench.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_protocols_lists_every_registered_protocol(capsys):
    code, out, _ = run(capsys, "protocols")
    assert code == 0
    assert "cityscapes_vps_official  (default of: cityscapes_vps, synth)" in out
    assert "viper_official  (default of: viper)" in out
    assert "min tube area 1024; excluded categories [11]; VC clip lengths [8, 16]" in out


def test_eval_with_a_named_protocol(capsys, tmp_path):
    gt, pred = tmp_path / "gt.h5", tmp_path / "pred.h5"
    assert main(["synth", "-o", str(gt), "--videos", "2", "--frames", "10", "--size", "64", "128",
                 "--no-images"]) == 0  # fmt: skip
    assert main(["synth-predict", str(gt), str(pred), "--noise", "0.4", "--seed", "1"]) == 0
    capsys.readouterr()
    scores = {}
    for name in ("cityscapes_vps_official", "viper_official"):
        out = tmp_path / f"{name}.json"
        code, _, err = run(capsys, "eval", "--gt", str(gt), "--pred", str(pred),
                           "--protocol", name, "--metrics", "vpq", "--json", str(out))  # fmt: skip
        assert code == 0, err
        scores[name] = json.loads(out.read_text())
    assert scores["viper_official"]["protocol"]["name"] == "viper_official"
    assert scores["viper_official"]["protocol"]["min_tube_area"] == 1024
    assert scores["cityscapes_vps_official"]["vpq"] != scores["viper_official"]["vpq"]
    # Changing a registered protocol makes it custom; an unknown name is a one-line error.
    out = tmp_path / "custom.json"
    argv = ["eval", "--gt", str(gt), "--pred", str(pred), "--metrics", "vpq", "--json", str(out)]
    code, _, err = run(capsys, *argv, "--protocol", "viper_official", "--min-tube-area", "0")
    assert code == 0, err
    custom = json.loads(out.read_text())["protocol"]
    assert custom["name"] == "custom" and custom["vpq_window_sizes"] == [1, 5, 10, 15]
    code, _, err = run(capsys, "eval", "--gt", str(gt), "--pred", str(pred), "--protocol", "nope")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "unknown protocol 'nope'" in err


def test_leaderboard_list_accepts_any_spelling_of_a_dataset(capsys, monkeypatch):
    monkeypatch.delenv("VPSBENCH_REGISTRY", raising=False)
    _, canonical, _ = run(capsys, "leaderboard", "list", "--dataset", "cityscapes_vps")
    _, hyphen, _ = run(capsys, "leaderboard", "list", "--dataset", "Cityscapes-VPS")
    assert "Cityscapes-VPS · val" in canonical and hyphen == canonical
