"""Options every command shares: global flags anywhere, --workers, help texts and SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

import pytest

from vpsbench.cli import build_parser, common, main, subcommand_parsers


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def named_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    """(command line, parser) of every subcommand, nested ones included, once each."""

    def walk(prefix: str, parser: argparse.ArgumentParser):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                seen = set()
                for name, sub in action.choices.items():
                    if id(sub) not in seen:
                        seen.add(id(sub))
                        yield f"{prefix} {name}", sub
                        yield from walk(f"{prefix} {name}", sub)

    return list(walk("vpsbench", build_parser()))


@pytest.mark.parametrize("flag", ["--quiet", "--debug"])
def test_global_flags_before_or_after_the_subcommand(capsys, tmp_path, toy_gt, flag):
    for argv in ([flag, "info", str(toy_gt)], ["info", str(toy_gt), flag]):
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        assert "groundtruth of toy/val" in out
    args = build_parser().parse_args([flag, "convert", "viper", "r", "--split", "val", "-o", "x"])
    assert getattr(args, flag[2:]) is True  # the nested subparser keeps it
    args = build_parser().parse_args(["convert", "viper", "r", "--split", "val", "-o", "x", flag])
    assert getattr(args, flag[2:]) is True
    args = build_parser().parse_args(["leaderboard", "list", flag])
    assert getattr(args, flag[2:]) is True
    args = build_parser().parse_args(["leaderboard", "list"])
    assert args.quiet is False and args.debug is False


def test_debug_after_the_subcommand_shows_the_traceback(capsys, tmp_path):
    code, _, err = run(capsys, "info", str(tmp_path / "nope.h5"), "--debug")
    assert code == 2 and "Traceback" in err


def test_every_parser_is_reached_by_the_walk():
    names = {name for name, _ in named_parsers()}
    assert {"vpsbench eval", "vpsbench convert viper", "vpsbench export cityscapes_vps"} <= names
    assert {"vpsbench leaderboard score", "vpsbench leaderboard digest"} <= names
    assert len(subcommand_parsers(build_parser())) == len(named_parsers())


@pytest.mark.parametrize("name", [name for name, _ in named_parsers()])
def test_every_subcommand_has_an_example_and_every_option_a_help_with_its_default(name):
    parser = dict(named_parsers())[name]
    assert "example" in (parser.description or ""), f"{name}: no example in its description"
    assert name in parser.description or name.replace("_", "-") in parser.description
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        label = "/".join(action.option_strings) or action.dest
        assert action.help, f"{name} {label}: no help text"
        has_default = action.default not in (None, False, argparse.SUPPRESS)
        if action.option_strings and has_default:
            assert "default" in action.help, f"{name} {label}: help does not give its default"


def test_usable_cores_follow_affinity_and_a_cgroup_quota(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5}, raising=False)
    proc = tmp_path / "cgroup"
    monkeypatch.setattr(common, "PROC_CGROUP", proc)
    monkeypatch.setattr(common, "CGROUP_ROOT", tmp_path / "fs")
    assert common.usable_cores() == 6  # no /proc/self/cgroup: the affinity alone
    proc.write_text("0::/job/step\n")
    (tmp_path / "fs/job/step").mkdir(parents=True)
    (tmp_path / "fs/job/step/cpu.max").write_text("max 100000\n")
    assert common.usable_cores() == 6
    (tmp_path / "fs/job/cpu.max").write_text("250000 100000\n")  # a parent's quota counts
    assert common.usable_cores() == 3  # 2.5 cores, rounded up
    (tmp_path / "fs/job/step/cpu.max").write_text("50000 100000\n")
    assert common.usable_cores() == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {3}, raising=False)
    (tmp_path / "fs/job/step/cpu.max").write_text("max 100000\n")
    assert common.usable_cores() == 1


def workers_commands(tmp_path, toy_gt) -> list[list[str]]:
    """One command line of every command that takes --workers."""
    return [
        ["eval", "--gt", str(toy_gt), "--pred", str(toy_gt)],
        ["convert", "viper", str(tmp_path), "--split", "val", "-o", str(tmp_path / "x.h5")],
        ["convert", "kitti_step", str(tmp_path), "--split", "val", "-o", str(tmp_path / "x.h5")],
        ["leaderboard", "score", str(toy_gt), "--gt", str(toy_gt), "--method", "M",
         "--registry", str(tmp_path / "reg")],
    ]  # fmt: skip


def test_workers_default_to_the_usable_cores_and_0_is_refused(capsys, tmp_path, toy_gt):
    cores = common.usable_cores()
    parser = build_parser()
    for argv in workers_commands(tmp_path, toy_gt):
        assert parser.parse_args(argv).workers == cores
        code, out, err = run(capsys, *argv, "--workers", "0")
        assert code == 2 and out == ""
        why = f"--workers must be >= 1 (default: the {cores} usable cores)"
        assert err.splitlines() == [f"vpsbench {argv[0]}: error: {why}"]
    for name, sub in named_parsers():
        for action in sub._actions:
            if "--workers" in action.option_strings:
                assert action.default == cores, name
                assert "usable cores" in action.help and ">= 1" in action.help, name


def hidden_files(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_sigterm_stops_synth_without_partial_files(tmp_path):
    out = tmp_path / "synth_val.h5"
    argv = [sys.executable, "-m", "vpsbench", "synth", "-o", str(out), "--videos", "200",
            "--frames", "20", "--size", "128", "256"]  # fmt: skip
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not hidden_files(tmp_path) and process.poll() is None:
            assert time.monotonic() < deadline, "synth never started writing"
            time.sleep(0.05)
        assert process.poll() is None, "synth finished before it could be stopped"
        time.sleep(0.3)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 143, err
    assert err.strip().splitlines()[-1] == "vpsbench: terminated"
    assert list(tmp_path.iterdir()) == [], err  # its stderr says where a lost signal went


def test_sigterm_handler_is_only_installed_while_a_command_runs(capsys, toy_gt):
    before = signal.getsignal(signal.SIGTERM)
    assert run(capsys, "info", str(toy_gt))[0] == 0
    assert signal.getsignal(signal.SIGTERM) == before


def terminate_on_call(monkeypatch, owner, name: str, after: int = 0) -> None:
    """Replace ``owner.name`` by a wrapper that sends this process SIGTERM on call ``after``."""
    original = getattr(owner, name)
    calls = []

    def wrapper(*args, **kwargs):
        calls.append(1)
        if len(calls) > after:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)


def test_sigterm_during_convert_leaves_no_partial_file(capsys, tmp_path, monkeypatch):
    from viper_fixtures import write_viper_tree

    import vpsbench_converters.viper

    write_viper_tree(tmp_path / "viper")
    terminate_on_call(monkeypatch, vpsbench_converters.viper, "decode_viper_frame", after=3)
    out = tmp_path / "out"
    out.mkdir()
    argv = ["convert", "viper", str(tmp_path / "viper"), "--split", "val", "-o", str(out / "v.h5")]
    code, _, err = run(capsys, *argv, "--workers", "1")
    assert code == 143 and err.strip() == "vpsbench: terminated"
    assert list(out.iterdir()) == []


def test_sigterm_during_eval_report_keeps_the_earlier_report(capsys, tmp_path, monkeypatch):
    from conftest import write_toy

    import vpsbench.report.plots

    gt = write_toy(tmp_path / "gt.h5")
    pred = write_toy(tmp_path / "pred.h5", kind="prediction")
    report = tmp_path / "report"
    argv = ["eval", "--gt", str(gt), "--pred", str(pred), "--metrics", "pq"]
    argv += ["--report", str(report)]
    assert run(capsys, *argv)[0] == 0
    before = sorted(p.name for p in report.iterdir())
    terminate_on_call(monkeypatch, vpsbench.report.plots, "write_plots")
    code, out, err = run(capsys, *argv, "--force")
    assert code == 143 and out == "" and err.strip() == "vpsbench: terminated"
    assert sorted(p.name for p in report.iterdir()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gt.h5", "pred.h5", "report"]


def test_version_says_which_kernels_and_decoder_compute(capsys, monkeypatch):
    from vpsbench import __version__

    monkeypatch.setenv("VPSBENCH_KERNELS", "numpy")
    monkeypatch.setenv("VPSBENCH_PNG_DECODER", "pillow")
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out == f"vpsbench {__version__} (per-frame kernels: numpy, PNG decoder: pillow)\n"
    monkeypatch.setenv("VPSBENCH_KERNELS", "fast")
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "VPSBENCH_KERNELS='fast': choose auto, compiled or numpy" in capsys.readouterr().out
