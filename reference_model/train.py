"""Train VPSNet on (target, reference) pairs of a unified HDF5 file.

    python -m vpsbench_model.train --config synthetic-tiny --data TRAIN.h5 --out DIR
    torchrun --nproc_per_node 2 -m vpsbench_model.train --config synthetic-tiny ...

One process, or DistributedDataParallel under torchrun (gloo on CPU, nccl on GPU). Writes
``DIR/last.pt`` (model, optimizer, step) every ``checkpoint_every`` steps and at the end,
``DIR/model_final.pt`` (no optimizer), ``DIR/losses.csv`` and ``DIR/losses.png``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler
from tqdm import tqdm

from vpsbench_model.checkpoint import load_checkpoint, save_checkpoint
from vpsbench_model.config import (
    CONFIGS,
    VARIANTS,
    Config,
    TrainConfig,
    apply_override,
    get_config,
)
from vpsbench_model.data import LabelMap, PairDataset, collate
from vpsbench_model.model import VPSNet

OUTPUTS = ("last.pt", "model_final.pt", "losses.csv", "losses.png", "config.json")


def lr_at(step: int, config: TrainConfig, lr: float | None = None) -> float:
    """Linear warmup from ``warmup_factor``, then x0.1 at each fraction in ``lr_steps``; ``lr``
    (default ``config.lr``) is the base, e.g. the world-size-scaled one of ``step_rule``."""
    factor = 0.1 ** sum(step >= int(f * config.steps) for f in config.lr_steps)
    if step < config.warmup_steps:
        alpha = step / config.warmup_steps
        factor *= config.warmup_factor * (1 - alpha) + alpha
    return (config.lr if lr is None else lr) * factor


def step_rule(config: TrainConfig, world: int) -> tuple[int, float]:
    """(forward passes accumulated per optimizer step, base lr) for ``world`` processes.

    ``lr`` and ``steps`` are defined for ``reference_batch`` pairs per optimizer step (the
    paper: 8 GPUs x 1 pair). With fewer pairs per pass (world x batch_size), gradients are
    accumulated over ``reference_batch // (world x batch_size)`` passes, so one GPU runs the
    paper's schedule unchanged, only 8x longer; with more (or a remainder), the lr scales
    linearly with the pairs per step (Goyal et al. 2017). The step count never changes.
    """
    per_pass = world * config.batch_size
    accumulate = max(1, config.reference_batch // per_pass)
    return accumulate, config.lr * accumulate * per_pass / config.reference_batch


def build_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    raise ValueError(f"unknown optimizer {config.optimizer!r}")


def to_device(batch: dict, device: torch.device) -> dict:
    """Move images and every target tensor of a collated batch."""
    out = {}
    for key, value in batch.items():
        if isinstance(value, torch.Tensor):
            out[key] = value.to(device, non_blocking=True)
        else:
            out[key] = [
                None if t is None else {k: v.to(device, non_blocking=True) for k, v in t.items()}
                for t in value
            ]
    return out


def setup_distributed(device: torch.device) -> tuple[int, int, torch.device]:
    """(rank, world size, this process's device); joins the torchrun group if launched by
    torchrun. On CUDA the device is set first: NCCL binds a process to the current device at
    ``init_process_group``, and every rank would otherwise share GPU 0."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if device.type == "cuda" and (world > 1 or dist.is_initialized()):
        local = os.environ.get("LOCAL_RANK")
        index = int(local) if local is not None else dist.get_rank() if dist.is_initialized() else 0
        device = torch.device("cuda", index)
        torch.cuda.set_device(device)
    if not dist.is_initialized() and world > 1:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), device
    return 0, 1, device


def all_finite(loss: torch.Tensor, world: int) -> bool:
    """Whether the loss is finite on every rank (a MAX all-reduce of a flag): all ranks stop
    together, instead of one raising while the others wait in the gradient all-reduce."""
    bad = torch.tensor([0.0 if math.isfinite(loss.item()) else 1.0], device=loss.device)
    if world > 1:
        dist.all_reduce(bad, op=dist.ReduceOp.MAX)
    return bad.item() == 0


def plot_losses(csv_path: Path, png_path: Path) -> None:
    """Loss curves (total and per term, smoothed) from the CSV, with the Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    keys = [k for k in rows[0] if k.startswith("loss")]
    steps = [int(r["step"]) for r in rows]
    fig, ax = plt.subplots(figsize=(8, 5))
    for key in keys:
        values = [float(r[key]) for r in rows]
        width = max(1, len(values) // 50)
        smooth = [sum(values[max(0, i - width) : i + 1]) / len(values[max(0, i - width) : i + 1])
                  for i in range(len(values))]  # fmt: skip
        ax.plot(steps, smooth, label=key, linewidth=2.0 if key == "loss" else 1.0)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)


def load_init_weights(
    model: VPSNet, path: str | os.PathLike, labels: LabelMap, device: torch.device
) -> list[str]:
    """Load an earlier run's weights into ``model``; the names of the parts left at their
    initialisation (e.g. ``track_head``) are returned. Labels and shapes must match."""
    state = load_checkpoint(path, device)
    if state["labels"] != labels:
        raise ValueError(f"--init {path}: trained on other categories than the training data")
    own = model.state_dict()
    for name, tensor in state["model"].items():
        if name in own and own[name].shape != tensor.shape:
            raise ValueError(
                f"--init {path}: {name} has shape {tuple(tensor.shape)}, this model "
                f"{tuple(own[name].shape)}; use a checkpoint of the same config"
            )
    missing, _ = model.load_state_dict(state["model"], strict=False)
    return sorted({name.split(".")[0] for name in missing})


def train(
    config: Config, data: str | os.PathLike, out: str | os.PathLike, resume: bool = False,
    backbone_weights: str | None = None, device: str | None = None, progress: bool = True,
) -> VPSNet:  # fmt: skip
    """Train (or resume) and return the unwrapped model; rank 0 writes all outputs."""
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    rank, world, dev = setup_distributed(dev)
    if dev.type == "cpu" and world > 1:
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    tc = config.train
    accumulate, base_lr = step_rule(tc, world)
    if rank == 0:
        print(
            f"schedule: {world} process(es) x {tc.batch_size} pair(s) x {accumulate} "
            f"accumulated = {world * tc.batch_size * accumulate} pairs per step (config: "
            f"{tc.reference_batch}); lr {base_lr:g} (config {tc.lr:g}); {tc.steps} steps"
            # CPU results are bit-identical run to run only at the same thread count.
            + (f"; {torch.get_num_threads()} CPU threads" if dev.type == "cpu" else ""),
            flush=True,
        )
    torch.manual_seed(tc.seed)  # identical initial weights on every rank
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    dataset = PairDataset(data, config.data)
    config.model.num_stuff = dataset.labels.num_stuff
    config.model.num_things = dataset.labels.num_things
    model = VPSNet(config.model, backbone_weights).to(dev)
    optimizer = build_optimizer(model, tc)
    step = 0
    last = out / "last.pt"
    if resume and last.exists():
        state = load_checkpoint(last, dev)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step = int(state["step"])
    elif tc.init:
        fresh = load_init_weights(model, tc.init, dataset.labels, dev)
        if rank == 0:
            print(f"init from {tc.init}; starting fresh: {', '.join(fresh) or 'nothing'}")
    torch.manual_seed(tc.seed + 1000 * rank + step)  # different augmentation per rank/resume
    ddp = (
        DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)
        if world > 1
        else model
    )

    if world > 1:
        sampler = DistributedSampler(dataset, world, rank, shuffle=True, seed=tc.seed)
    else:
        sampler = RandomSampler(dataset, generator=torch.Generator().manual_seed(tc.seed + step))
    loader = DataLoader(
        dataset, tc.batch_size, sampler=sampler, num_workers=tc.workers, collate_fn=collate,
        drop_last=True, persistent_workers=tc.workers > 0, pin_memory=dev.type == "cuda",
    )  # fmt: skip
    if len(loader) == 0:
        raise ValueError(f"{data}: fewer pairs ({len(dataset)}) than the batch size")
    amp = tc.amp and dev.type == "cuda"
    csv_path = out / "losses.csv"
    writer = None
    if rank == 0:
        (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
        csv_file = open(csv_path, "a" if resume and csv_path.exists() else "w", newline="")  # noqa: SIM115
        writer = csv.writer(csv_file)
    header_written = resume and csv_path.exists() and csv_path.stat().st_size > 0
    bar = tqdm(total=tc.steps, initial=step, disable=not progress or rank != 0, unit="step")
    model.train()
    epoch = step // max(1, len(loader) // accumulate)
    started = time.time()
    first_step, recent = step, []
    micro, sums = 0, {}
    optimizer.zero_grad(set_to_none=True)
    while step < tc.steps:
        if isinstance(sampler, DistributedSampler):
            sampler.set_epoch(epoch)
        for batch in loader:
            if step >= tc.steps:
                break
            batch = to_device(batch, dev)
            model.detach_match = step < tc.match_detach_steps
            lr = lr_at(step, tc, base_lr)
            for group in optimizer.param_groups:
                group["lr"] = lr
            # DDP all-reduces gradients only on the last pass of an accumulated step.
            sync = ddp.no_sync() if world > 1 and micro < accumulate - 1 else nullcontext()
            with sync:
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
                    losses = ddp(batch["images"], batch["targets"],
                                 batch["ref_images"], batch["ref_targets"])  # fmt: skip
                loss = sum(losses.values())
                if not all_finite(loss, world):
                    where = "this rank" if not math.isfinite(loss.item()) else "another rank"
                    raise FloatingPointError(
                        f"step {step}: non-finite loss on {where}: "
                        + ", ".join(f"{k} {v.item():.4g}" for k, v in losses.items())
                    )
                (loss / accumulate).backward()
            for key, value in losses.items():
                sums[key] = sums.get(key, 0.0) + value.detach() / accumulate
            micro += 1
            if micro < accumulate:
                continue
            losses, micro, sums = sums, 0, {}
            loss = sum(losses.values())
            torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            bar.update(1)
            recent = [*recent[-19:], loss.item()]
            if rank == 0:
                if not header_written:
                    writer.writerow(["step", "lr", "loss", *losses, "seconds"])
                    header_written = True
                values = [f"{v.item():.5f}" for v in losses.values()]
                elapsed = f"{time.time() - started:.1f}"
                writer.writerow([step, f"{lr:.6g}", f"{loss.item():.5f}", *values, elapsed])
                if step % tc.log_every == 0:
                    bar.set_postfix(loss=f"{loss.item():.3f}")
                    csv_file.flush()
                if step % tc.checkpoint_every == 0 or step == tc.steps:
                    save_checkpoint(last, model, config, dataset.labels, step, optimizer)
        epoch += 1
    bar.close()
    if rank == 0:
        csv_file.close()
        save_checkpoint(last, model, config, dataset.labels, step, optimizer)
        save_checkpoint(out / "model_final.pt", model, config, dataset.labels, step)
        plot_losses(csv_path, out / "losses.png")
        seconds = time.time() - started
        done = step - first_step
        final = (
            f"loss {sum(recent) / len(recent):.3f} (mean of the last {len(recent)})"
            if recent
            else "no new step"
        )
        print(
            f"trained {config.model.variant} ({config.name}) {done} steps in {seconds:.0f} s "
            f"({done / max(seconds, 1e-9):.2f} steps/s), {final}: {out / 'model_final.pt'}",
            flush=True,
        )
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vpsbench_model.train",
        description="Train the reference VPSNet.",
        epilog="example: python -m vpsbench_model.train --config synthetic-tiny "
        "--data synth_train.h5 --out runs/fusetrack --variant fusetrack",
    )
    parser.add_argument("--config", default="synthetic-tiny", choices=sorted(CONFIGS))
    parser.add_argument("--data", required=True, help="unified ground-truth HDF5 with images")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--variant", choices=VARIANTS, help="override the config's variant")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    parser.add_argument(
        "--force", action="store_true", help="start afresh in an existing OUT (its outputs go)"
    )
    parser.add_argument(
        "--init",
        help="start from this checkpoint's weights (stage 2, e.g. fusetrack from an image run); "
        "new parts start fresh, the step count and optimizer do not carry over",
    )
    parser.add_argument("--steps", type=int, help="override the number of steps")
    parser.add_argument("--batch-size", type=int, help="pairs per process")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--workers", type=int, help="DataLoader workers per process")
    parser.add_argument("--checkpoint-every", type=int)
    parser.add_argument("--backbone-weights", help="local ResNet state dict (never downloaded)")
    parser.add_argument(
        "--skip-stage1", action="store_true",
        help="train a stage-2 config (cityscapes-vps) without its stage-1 --init",
    )  # fmt: skip
    parser.add_argument(
        "--from-scratch", action="store_true",
        help="allow a FrozenBN config (cityscapes-vps, viper) without --backbone-weights/--init",
    )  # fmt: skip
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda if available)")
    parser.add_argument(
        "--threads", type=int,
        help="CPU threads (torch.set_num_threads); runs repeat bit for bit only at the same count",
    )  # fmt: skip
    parser.add_argument(
        "--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
        help="override any config field, e.g. --set model.match_batch_negatives=true "
        "--set train.match_detach_steps=200 (repeatable; tuples comma-separated)",
    )  # fmt: skip
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    config = get_config(args.config, args.variant)
    for key in ("steps", "batch_size", "lr", "seed", "workers", "checkpoint_every", "init"):
        if getattr(args, key) is not None:
            setattr(config.train, key, getattr(args, key))
    try:
        for assignment in args.set:
            apply_override(config, assignment)
    except ValueError as error:
        print(f"train: error: {error}", file=sys.stderr)
        return 2
    problem = check_args(args, config)
    if problem:
        print(f"train: error: {problem}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if args.force and not args.resume:
        for name in OUTPUTS:
            (out / name).unlink(missing_ok=True)
    try:
        train(config, args.data, out, args.resume, args.backbone_weights, args.device,
              progress=not args.no_progress)  # fmt: skip
    except (OSError, ValueError, FloatingPointError) as error:
        print(f"train: error: {error}", file=sys.stderr)
        return 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0


def check_args(args: argparse.Namespace, config: Config) -> str | None:
    """The reason the command line cannot train, or None; checked before anything is built."""
    if not Path(args.data).is_file():
        return f"--data {args.data}: no such file"
    if args.device and args.device.startswith("cuda") and not torch.cuda.is_available():
        return f"--device {args.device}: CUDA is not available here (use --device cpu)"
    for name in ("backbone_weights", "init"):
        path = getattr(args, name) if name != "init" else config.train.init
        if path and not Path(path).is_file():
            return f"--{name.replace('_', '-')} {path}: no such file"
    out = Path(args.out)
    if out.is_file():
        return f"--out {out}: is a file, not a directory"
    if out.is_dir() and any(out.iterdir()) and not (args.resume or args.force):
        return f"--out {out} is not empty: --resume to continue it, --force to start afresh"
    resumable = args.resume and (out / "last.pt").is_file()
    stage1 = config.train.previous_stage
    if stage1 and not (config.train.init or resumable or args.skip_stage1):
        return (
            f"--config {config.name} is stage 2 and starts from a {stage1} checkpoint: train "
            f"--config {stage1} first, then pass --init RUN/model_final.pt (--skip-stage1 to "
            "start from --backbone-weights alone)"
        )
    pretrained = args.backbone_weights or config.train.init or resumable
    if config.model.norm == "frozen_bn" and not pretrained and not args.from_scratch:
        return (
            f"--config {config.name} needs --backbone-weights (ImageNet ResNet) or --init: a "
            "random backbone with a frozen stem and FrozenBN trains nothing useful "
            "(--from-scratch to train anyway)"
        )
    return None


if __name__ == "__main__":
    sys.exit(main())
