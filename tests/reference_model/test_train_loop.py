"""Training loop: DDP with gloo gives identical weights on both ranks, resume, a short run
that lowers the loss and beats the untrained model's VPQ."""

from __future__ import annotations

import csv
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from model_fixtures import LABELS, synth_file, tiny_config, trained_a_little

import vpsbench
from reference_model.checkpoint import load_checkpoint, save_checkpoint
from reference_model.data import LabelMap
from reference_model.infer import infer
from reference_model.model import VPSNet
from reference_model.train import load_init_weights, lr_at, main, train


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ddp_worker(rank: int, world: int, port: int, data: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        config = tiny_config("fusetrack")
        config.train.steps = 3
        model = train(config, data, out, device="cpu", progress=False)
        torch.save(model.state_dict(), os.path.join(out, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_ddp_gloo_ranks_agree(tmp_path):
    data = synth_file(tmp_path / "train.h5", videos=2, frames=10)
    out = tmp_path / "ddp"
    mp.spawn(ddp_worker, args=(2, free_port(), str(data), str(out)), nprocs=2, join=True)
    weights = [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]
    assert weights[0].keys() == weights[1].keys()
    for key, value in weights[0].items():
        assert torch.equal(value, weights[1][key]), key
    # The ranks trained: the weights moved away from the (shared) initialisation.
    assert load_checkpoint(out / "last.pt")["step"] == 3
    with open(out / "losses.csv") as f:
        assert len(list(csv.DictReader(f))) == 3


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
