"""Training loop: DDP with gloo trains every variant with identical weights on both ranks and
stops every rank on a non-finite loss, the world-size rule, resume, command-line checks, a short
run that lowers the loss and beats the untrained model's VPQ."""

from __future__ import annotations

import argparse
import csv
import os
import socket
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from model_fixtures import LABELS, synth_file, tiny_config, trained_a_little

import vpsbench
from vpsbench_model.checkpoint import load_checkpoint, save_checkpoint
from vpsbench_model.config import VARIANTS, get_config
from vpsbench_model.data import LabelMap
from vpsbench_model.infer import infer
from vpsbench_model.model import VPSNet
from vpsbench_model.train import (
    check_args,
    load_init_weights,
    lr_at,
    main,
    setup_distributed,
    step_rule,
    train,
)

DDP_STEPS = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ddp_worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    """Every variant for DDP_STEPS steps, then a run in which rank 1 alone gets a NaN loss."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    # A timeout, so that a rank left waiting fails the test instead of hanging it.
    dist.init_process_group("gloo", rank=rank, world_size=world, timeout=timedelta(seconds=60))
    try:
        for variant in VARIANTS:
            config = tiny_config(variant)
            config.train.steps = DDP_STEPS
            run = os.path.join(out, variant)
            model = train(config, data, run, device="cpu", progress=False)
            torch.save(model.state_dict(), os.path.join(run, f"rank{rank}.pt"))
        if rank == 1:
            forward = VPSNet.forward

            def poisoned(self, *args, **kwargs):
                losses = forward(self, *args, **kwargs)
                losses["loss_segm"] = losses["loss_segm"] * float("nan")
                return losses

            VPSNet.forward = poisoned
        try:
            train(tiny_config("image"), data, os.path.join(out, "nan"), device="cpu",
                  progress=False)  # fmt: skip
        except FloatingPointError as error:
            with open(os.path.join(out, f"nan_rank{rank}.txt"), "w") as f:
                f.write(str(error))
    finally:
        dist.destroy_process_group()


def test_ddp_gloo_every_variant_and_nan_stops_all_ranks(tmp_path):
    data = synth_file(tmp_path / "train.h5", videos=2, frames=10)
    out = tmp_path / "ddp"
    mp.spawn(ddp_worker, args=(2, free_port(), str(data), str(out)), nprocs=2, join=True)
    for variant in VARIANTS:
        run = out / variant
        weights = [torch.load(run / f"rank{r}.pt", weights_only=True) for r in range(2)]
        assert weights[0].keys() == weights[1].keys()
        for key, value in weights[0].items():
            assert torch.equal(value, weights[1][key]), (variant, key)
        assert load_checkpoint(run / "last.pt")["step"] == DDP_STEPS
        with open(run / "losses.csv") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == DDP_STEPS and all(float(r["loss"]) > 0 for r in rows), variant
        if variant in ("track", "fusetrack"):
            assert "loss_match" in rows[0]
    # Both ranks stopped at the first step, rank 0 because of rank 1's loss.
    assert "another rank" in (out / "nan_rank0.txt").read_text()
    assert "this rank" in (out / "nan_rank1.txt").read_text()


def test_setup_distributed_sets_the_device_before_the_group(monkeypatch):
    calls = []
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setattr(torch.cuda, "set_device", lambda d: calls.append(("set_device", str(d))))
    monkeypatch.setattr(dist, "is_initialized", lambda: any(c[0] == "init" for c in calls))
    monkeypatch.setattr(dist, "init_process_group", lambda backend: calls.append(("init", backend)))
    monkeypatch.setattr(dist, "get_rank", lambda: 1)
    monkeypatch.setattr(dist, "get_world_size", lambda: 2)
    rank, world, device = setup_distributed(torch.device("cuda"))
    assert calls == [("set_device", "cuda:1"), ("init", "nccl")]
    assert (rank, world, device) == (1, 2, torch.device("cuda", 1))


def test_step_rule_follows_the_world_size():
    paper = get_config("cityscapes-vps").train  # 8 pairs per step at lr 0.005
    assert step_rule(paper, 8) == (1, 0.005)
    assert step_rule(paper, 1) == (8, 0.005)  # one GPU: accumulate 8, same lr and steps
    assert step_rule(paper, 2) == (4, 0.005)
    assert step_rule(paper, 3) == (2, pytest.approx(0.005 * 6 / 8))  # remainder: linear lr
    assert step_rule(paper, 16) == (1, pytest.approx(0.01))  # more: linear lr
    tiny = get_config("synthetic-tiny").train  # 1 process x 2 pairs
    assert step_rule(tiny, 1) == (1, 1e-3)
    assert step_rule(tiny, 2) == (1, pytest.approx(2e-3))
    assert lr_at(paper.steps - 1, paper, 0.01) == pytest.approx(0.01 * 0.01)


def test_accumulation_is_printed_and_logs_one_row_per_step(tmp_path, capsys):
    data = synth_file(tmp_path / "train.h5", videos=2, frames=10)
    out = tmp_path / "run"
    # synthetic-tiny defines its lr for 2 pairs per step: batch 1 accumulates 2 passes.
    threads = torch.get_num_threads()
    try:
        assert main(["--data", str(data), "--out", str(out), "--variant", "image", "--steps", "2",
                     "--batch-size", "1", "--workers", "0", "--threads", "1",
                     "--no-progress"]) == 0  # fmt: skip
    finally:
        torch.set_num_threads(threads)
    printed = capsys.readouterr().out
    assert "1 process(es) x 1 pair(s) x 2 accumulated = 2 pairs per step" in printed
    assert "; 1 CPU threads" in printed
    assert "lr 0.001 (config 0.001)" in printed
    assert printed.strip().splitlines()[-1].startswith("trained image (synthetic-tiny) 2 steps")
    with open(out / "losses.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2]


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("train: error: "), err
    return err


def test_command_line_errors_are_one_line(tmp_path, capsys):
    data = synth_file(tmp_path / "train.h5", videos=1, frames=4)
    base = ["--data", str(data), "--steps", "1", "--workers", "0", "--no-progress"]
    assert main(["--data", str(tmp_path / "missing.h5"), "--out", str(tmp_path / "a")]) == 2
    assert "no such file" in one_line_error(capsys)
    if not torch.cuda.is_available():
        assert main([*base, "--out", str(tmp_path / "b"), "--device", "cuda"]) == 2
        assert "CUDA is not available" in one_line_error(capsys)
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "losses.csv").write_text("step\n")
    assert main([*base, "--out", str(taken)]) == 2
    err = one_line_error(capsys)
    assert "--resume" in err and "--force" in err
    # A random FrozenBN ResNet-50 is refused unless asked for.
    assert main([*base, "--config", "cityscapes-vps-stage1", "--out", str(tmp_path / "cs")]) == 2
    assert "--backbone-weights" in one_line_error(capsys)
    # Stage 2 starts from stage 1 unless told otherwise.
    assert main([*base, "--config", "cityscapes-vps", "--out", str(tmp_path / "cs")]) == 2
    err = one_line_error(capsys)
    assert "stage 2" in err and "--config cityscapes-vps-stage1" in err and "--init" in err
    parser_args = {"data": str(data), "out": str(tmp_path / "cs"), "device": "cpu",
                   "resume": False, "force": False, "backbone_weights": None}  # fmt: skip
    args = argparse.Namespace(**parser_args, from_scratch=True, skip_stage1=False)
    assert check_args(args, get_config("cityscapes-vps-stage1")) is None
    assert "stage 2" in check_args(args, get_config("cityscapes-vps"))
    args.skip_stage1 = True
    assert check_args(args, get_config("cityscapes-vps")) is None
    # --set reaches any field; a wrong one is a one-line error.
    assert main([*base, "--set", "model.no_such_field=1", "--out", str(tmp_path / "x")]) == 2
    assert "SECTION.FIELD=VALUE" in one_line_error(capsys)
    assert not (tmp_path / "cs").exists()  # nothing was built or written


def test_force_restarts_an_existing_run(tmp_path, capsys):
    data = synth_file(tmp_path / "train.h5", videos=2, frames=10)
    out = tmp_path / "run"
    args = ["--data", str(data), "--out", str(out), "--variant", "image", "--workers", "0",
            "--no-progress"]  # fmt: skip
    assert main([*args, "--steps", "1"]) == 0
    assert main([*args, "--steps", "1"]) == 2
    assert "--force" in one_line_error(capsys)
    assert main([*args, "--steps", "2", "--force"]) == 0
    with open(out / "losses.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2]


def test_lr_schedule():
    config = tiny_config().train
    config.steps, config.lr, config.warmup_steps, config.lr_steps = 100, 1.0, 10, (0.5, 0.9)
    assert lr_at(0, config) == pytest.approx(config.warmup_factor)
    assert lr_at(10, config) == 1.0
    assert lr_at(50, config) == pytest.approx(0.1)
    assert lr_at(95, config) == pytest.approx(0.01)


def test_resume_continues_from_checkpoint(tmp_path):
    data = synth_file(tmp_path / "train.h5", videos=2, frames=10)
    out = str(tmp_path / "run")
    args = ["--config", "synthetic-tiny", "--data", str(data), "--out", out, "--variant",
            "image", "--batch-size", "1", "--workers", "0", "--no-progress"]  # fmt: skip
    assert main([*args, "--steps", "2"]) == 0
    assert load_checkpoint(tmp_path / "run" / "last.pt")["step"] == 2
    assert main([*args, "--steps", "4", "--resume"]) == 0
    state = load_checkpoint(tmp_path / "run" / "last.pt")
    assert state["step"] == 4 and "optimizer" in state
    with open(tmp_path / "run" / "losses.csv") as f:
        assert [int(r["step"]) for r in csv.DictReader(f)] == [1, 2, 3, 4]
    assert (tmp_path / "run" / "losses.png").stat().st_size > 0
    assert (tmp_path / "run" / "model_final.pt").exists()


def test_short_training_lowers_loss_and_beats_untrained(tmp_path):
    data = synth_file(tmp_path / "train.h5", videos=3, frames=10)
    val = synth_file(tmp_path / "val.h5", split="val", videos=1, frames=20)
    config = tiny_config("image")
    config.train.steps, config.train.batch_size, config.train.lr = 60, 2, 2e-3
    out = tmp_path / "run"
    torch.manual_seed(0)
    train(config, data, out, device="cpu", progress=False)
    with open(out / "losses.csv") as f:
        losses = [float(r["loss"]) for r in csv.DictReader(f)]
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < 0.7 * first, (first, last)

    config.train.steps = 0  # an untrained checkpoint of the same model
    train(config, data, tmp_path / "untrained", device="cpu", progress=False)
    scores = {}
    for name in ("run", "untrained"):
        pred = infer(tmp_path / name / "model_final.pt", val, tmp_path / f"{name}.h5",
                     progress=False)  # fmt: skip
        scores[name] = vpsbench.evaluate(val, pred, metrics="vpq").summary["vpq"]["all"]
    assert scores["run"] > scores["untrained"] + 5, scores


def test_init_loads_an_earlier_run_and_leaves_new_parts_fresh(tmp_path, capsys):
    image_config = tiny_config("image")
    image_model, _ = trained_a_little(image_config)
    ckpt = save_checkpoint(tmp_path / "image.pt", image_model, image_config, LABELS, 2)
    torch.manual_seed(1)
    model = VPSNet(tiny_config("fusetrack").model)
    assert load_init_weights(model, ckpt, LABELS, torch.device("cpu")) == [
        "fuse_neck",
        "track_head",
    ]
    for name, tensor in image_model.state_dict().items():
        assert torch.equal(model.state_dict()[name], tensor), name

    other = LabelMap(LABELS.category_ids[1:], LABELS.num_stuff - 1)
    with pytest.raises(ValueError, match="other categories"):
        load_init_weights(model, ckpt, other, torch.device("cpu"))
    wide = tiny_config("fusetrack")
    wide.model.fpn_channels = 32
    with pytest.raises(ValueError, match="shape"):
        load_init_weights(VPSNet(wide.model), ckpt, LABELS, torch.device("cpu"))

    data = synth_file(tmp_path / "train.h5", videos=2, frames=10)
    out = tmp_path / "stage2"
    assert main(["--data", str(data), "--out", str(out), "--variant", "track", "--steps", "1",
                 "--batch-size", "1", "--workers", "0", "--init", str(ckpt),
                 "--no-progress"]) == 0  # fmt: skip
    assert "starting fresh: track_head" in capsys.readouterr().out
    state = load_checkpoint(out / "model_final.pt")
    assert state["step"] == 1 and state["config"].train.init == str(ckpt)


def test_stage1_recipe_trains_fuse_on_unlabelled_raw_neighbours(tmp_path, capsys):
    """The stage-1 data path: annotated frames with their ±1 raw frames (no labels) as
    references; Fuse trains, and a fusetrack run on them has a zero match loss."""
    data = synth_file(tmp_path / "train.h5", videos=1, frames=10)
    base = ["--data", str(data), "--steps", "2", "--workers", "0", "--no-progress",
            "--set", "data.reference=raw", "--set", "data.crop=64,128"]  # fmt: skip
    assert main([*base, "--variant", "fuse", "--out", str(tmp_path / "fuse")]) == 0
    assert main([*base, "--variant", "fusetrack", "--out", str(tmp_path / "ft")]) == 0
    with open(tmp_path / "ft" / "losses.csv") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["loss_match"]) for r in rows] == [0.0, 0.0]
    assert all(float(r["loss_flow"]) > 0 for r in rows)
