"""``vpsbench leaderboard list/add/score/build`` end to end, on a temporary registry."""

from __future__ import annotations

import shlex

import pytest
from lb_fixtures import make_synth, no_user_registry, published_entry, snapshot, synth, write_entry  # noqa: F401 (fixtures)

import vpsbench
from vpsbench.cli import main
from vpsbench_leaderboard.registry import load_entries
from vpsbench_leaderboard.submit import metrics_from_summary


@pytest.fixture
def registry(tmp_path):
    root = tmp_path / "registry"
    root.mkdir()
    write_entry(root / "toynet-cityscapes-vps-val.json", published_entry())
    return root


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("action", ["list", "add", "score", "build"])
def test_each_action_explains_itself_with_an_example(capsys, action):
    with pytest.raises(SystemExit) as exit_info:
        main(["leaderboard", action, "--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "example:" in out and f"vpsbench leaderboard {action}" in out


def test_list_prints_a_table_per_split(capsys):
    code, out, _ = run(capsys, "leaderboard", "list", "--dataset", "cityscapes_vps")
    assert code == 0
    assert out.startswith("Cityscapes-VPS · val  (3 entries)")
    assert "Cityscapes-VPS · test" in out and "VIPSeg" not in out
    row = next(line for line in out.splitlines() if line.startswith("VPSNet-FuseTrack"))
    assert row.split()[1:6] == ["65.0", "57.6", "54.4", "52.8", "57.5"]
    assert "unverified (recalled)" in row


def test_add_validates_and_refuses_duplicates(capsys, tmp_path, registry):
    entry = write_entry(tmp_path / "new.json", published_entry(id="toynet-b", variant="B"))
    code, out, _ = run(capsys, "leaderboard", "add", entry, "--registry", registry)
    assert code == 0 and "toynet-b.json" in out
    before = snapshot(registry)
    code, _, err = run(capsys, "leaderboard", "add", entry, "--registry", registry)
    assert code == 2 and "an entry with id 'toynet-b' exists" in err.splitlines()[0]
    bad = write_entry(tmp_path / "bad.json", published_entry(id="x", verified=1))
    code, _, err = run(capsys, "leaderboard", "add", bad, "--registry", registry)
    assert code == 2
    assert err.splitlines()[0] == (
        "vpsbench leaderboard: error: bad.json: invalid leaderboard entry: "
        "verified: expected true or false, got int"
    )
    assert snapshot(registry) == before


@pytest.mark.parametrize("form", ["pred", "dir", "zip", "zipdir"])
def test_score_adds_a_reproduced_entry(capsys, synth, registry, form):
    # The tiny GT is not the official synth val GT: it is ranked in a custom table.
    code, out, err = run(
        capsys,
        "leaderboard",
        "score",
        synth[form],
        "--gt",
        synth["gt"],
        "--split",
        "val-custom",
        "--method",
        "Synth",
        "--variant",
        form,
        "--seed",
        1,
        "--registry",
        registry,
    )
    assert code == 0, err
    assert f"added {registry}/synth-{form}-synth-val-custom-reproduced.json" in out
    entry = next(e for e in load_entries(registry) if e["variant"] == form)
    expected = vpsbench.evaluate(synth["gt"], synth["pred"]).summary
    assert entry["metrics"] == metrics_from_summary(expected)  # every form scores the same
    source = entry["source"]
    assert source["type"] == "reproduced" and entry["verified"] is False
    assert entry["split"] == "val-custom" and source["gt"]["split"] == "val"
    assert len(source["gt"]["labels_digest"]) == 64 and isinstance(source["dirty"], bool)
    assert source["vpsbench_version"] == vpsbench.__version__ and source["seed"] == 1
    assert source["date"][:2] == "20" and source["hardware"]
    assert source["gt"]["content_id"] == expected["inputs"]["gt_content_id"]
    assert len(source["submission"]["sha256"]) == 64
    assert entry["protocol"]["vpq_k"] == [0, 5, 10, 15]


def test_the_recorded_command_reproduces_the_entry(capsys, synth, registry, tmp_path):
    argv = ["leaderboard", "score", synth["pred"], "--gt", synth["gt"], "--method", "Synth"]
    argv += ["--split", "val-custom"]
    assert run(capsys, *argv, "--metrics", "vpq,stq", "--registry", registry)[0] == 0
    first = next(e for e in load_entries(registry) if e["method"] == "Synth")
    command = shlex.split(first["source"]["command"])
    assert command[:3] == ["vpsbench", "leaderboard", "score"] and "val-custom" in command
    other = tmp_path / "other"
    other.mkdir()
    assert run(capsys, *command[1:], "--registry", other)[0] == 0
    again = load_entries(other)[0]
    assert again["metrics"] == first["metrics"] and set(again["metrics"]) == {"vpq", "stq"}


def test_score_refuses_a_taken_id_before_scoring(capsys, synth, registry):
    before = snapshot(registry)
    code, _, err = run(
        capsys,
        "leaderboard",
        "score",
        synth["pred"],
        "--gt",
        synth["gt"],
        "--method",
        "M",
        "--id",
        "toynet-cityscapes-vps-val",
        "--registry",
        registry,
    )
    assert code == 2 and "exists" in err.splitlines()[0]
    assert snapshot(registry) == before


def test_build_writes_the_site(capsys, registry, tmp_path):
    code, out, _ = run(
        capsys,
        "leaderboard",
        "build",
        "--out",
        tmp_path / "site",
        "--registry",
        registry,
        "--no-shipped",
    )
    assert code == 0 and "index.html" in out
    names = sorted(p.name for p in (tmp_path / "site").iterdir())
    assert names == [
        "LEADERBOARD.md",
        "index.html",
        "vpq_vs_k_cityscapes_vps_val.png",
        "vpq_vs_stq.png",
    ]
    assert "ToyNet" in (tmp_path / "site" / "LEADERBOARD.md").read_text()
