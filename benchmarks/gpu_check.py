"""GPU check of the reference VPSNet: one CUDA GPU, sized for under 5 minutes, nothing downloaded.

    python benchmarks/gpu_check.py                 # all checks, bf16 autocast
    python benchmarks/gpu_check.py --steps 100     # shorter training part

1. Every variant (image, fuse, track, fusetrack) of the ``cityscapes-vps`` model (R50-FPN,
   random weights) does forward + backward on 800x1600 pairs under bf16 autocast: losses and
   gradients finite, proposals fp32 and finite, then video inference on two frames; it/s and
   peak memory per variant.
2. ``--steps`` steps (default 300) of ``cityscapes-vps``-sized training (``fusetrack``, 800x1600
   crops of 1024x2048 frames, bf16) on a synthetic split generated into a temporary directory,
   through ``vpsbench_model.train.train`` from scratch: loss falling (mean of the last 30 steps
   below the first 30), every logged loss finite, steps/s and peak memory.

Exits 0 when every check passes, 1 when one fails (each printed as FAIL), 2 without CUDA.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import tempfile
import time
from pathlib import Path

import torch

from vpsbench_model.config import VARIANTS, Config, get_config
from vpsbench_model.model import VideoState, VPSNet

NUM_STUFF, NUM_THINGS = 11, 8  # Cityscapes-VPS, as vpsbench synth writes them


def parse_size(text: str) -> tuple[int, int]:
    """'800x1600' -> (800, 1600); both multiples of 32."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not HEIGHTxWIDTH") from None
    if height % 32 or width % 32 or height <= 0 or width <= 0:
        raise argparse.ArgumentTypeError(f"{text}: height and width must be multiples of 32")
    return height, width


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/gpu_check.py",
        description="Check the reference VPSNet on one CUDA GPU (bf16 autocast): every variant's "
        "forward/backward at 800x1600 and a few hundred cityscapes-vps-sized training steps on "
        "synthetic data. Under 5 minutes; nothing is downloaded.",
    )
    parser.add_argument("--size", type=parse_size, default=(800, 1600),
                        help="forward/backward and training crop (default 800x1600)")  # fmt: skip
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--iters", type=int, default=5, help="timed forward/backward passes")
    parser.add_argument("--steps", type=int, default=300, help="training steps (0: skip)")
    parser.add_argument("--train-variant", choices=VARIANTS, default="fusetrack")
    parser.add_argument("--no-amp", action="store_true", help="fp32 instead of bf16 autocast")
    parser.add_argument("--workdir", help="keep the synthetic data and the run here")
    parser.add_argument("--device", default="cuda", help="a CUDA device (default: cuda)")
    return parser


def synthetic_pair(size: tuple[int, int], device: torch.device) -> dict:
    """Random images and a reference shifted by 8 px, with 6 objects spread over the width
    (several right of x = 1024, where bf16 coordinates would step by 8 px)."""
    height, width = size
    generator = torch.Generator().manual_seed(0)

    def target(shift: int) -> dict[str, torch.Tensor]:
        boxes, masks = [], torch.zeros(6, height, width, dtype=torch.uint8)
        semantic = torch.zeros(height, width, dtype=torch.int64)
        semantic[: height // 3] = 10  # sky over road
        for i in range(6):
            x0 = int((0.05 + 0.15 * i) * width) + shift
            y0 = int(0.4 * height)
            x1, y1 = x0 + width // 12, y0 + height // 4
            masks[i, y0:y1, x0:x1] = 1
            semantic[y0:y1, x0:x1] = NUM_STUFF + i % NUM_THINGS
            boxes.append([x0, y0, x1, y1])
        return {
            "boxes": torch.tensor(boxes, dtype=torch.float32, device=device),
            "labels": torch.arange(6, device=device) % NUM_THINGS + 1,
            "masks": masks.to(device),
            "ids": torch.arange(6, device=device) + 1000,
            "semantic": semantic.to(device),
        }

    return {
        "images": torch.randn(1, 3, height, width, generator=generator).to(device),
        "targets": [target(0)],
        "ref_images": torch.randn(1, 3, height, width, generator=generator).to(device),
        "ref_targets": [target(8)],
    }


def paper_model(variant: str, device: torch.device) -> tuple[Config, VPSNet]:
    config = get_config("cityscapes-vps", variant)
    config.model.num_stuff, config.model.num_things = NUM_STUFF, NUM_THINGS
    torch.manual_seed(0)
    return config, VPSNet(config.model).to(device)


def peak_memory(device: torch.device) -> str:
    if device.type != "cuda":
        return "n/a"
    return f"{torch.cuda.max_memory_allocated(device) / 2**30:.1f} GiB"


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def check_variant(
    variant: str, size: tuple[int, int], device: torch.device, amp: bool, iters: int
) -> list[str]:
    """Forward/backward and two-frame inference of one variant; the failures found."""
    failures: list[str] = []
    reset_peak(device)
    _, model = paper_model(variant, device)
    model.train()
    batch = synthetic_pair(size, device)
    params = [p for p in model.parameters() if p.requires_grad]
    seconds = 0.0
    for i in range(iters + 1):  # the first pass warms up (cuDNN autotuning, allocator)
        sync(device)
        start = time.perf_counter()
        with torch.autocast(device.type, torch.bfloat16, enabled=amp):
            losses = model(batch["images"], batch["targets"], batch["ref_images"],
                           batch["ref_targets"])  # fmt: skip
        loss = sum(losses.values())
        model.zero_grad(set_to_none=True)
        loss.backward()
        sync(device)
        if i:
            seconds += time.perf_counter() - start
    bad = [k for k, v in losses.items() if not torch.isfinite(v)]
    if bad:
        failures.append(f"{variant}: non-finite losses {bad}")
    if not all(p.grad is None or torch.isfinite(p.grad).all() for p in params):
        failures.append(f"{variant}: non-finite gradients")

    model.eval()
    with torch.no_grad(), torch.autocast(device.type, torch.bfloat16, enabled=amp):
        feats = model.backbone(batch["images"])
        proposals, _ = model.propose(batch["images"], [size], feats)
        state = VideoState()
        for frame in (batch["images"], batch["ref_images"]):
            pred = model.predict(frame, state, size)
    if proposals[0].dtype != torch.float32 or not torch.isfinite(proposals[0]).all():
        failures.append(f"{variant}: proposals {proposals[0].dtype}, not finite fp32")
    if pred.classes.shape != size:
        failures.append(f"{variant}: prediction of shape {tuple(pred.classes.shape)}")
    print(
        f"{variant:10s} forward+backward {size[0]}x{size[1]}: {iters / max(seconds, 1e-9):.2f} "
        f"it/s, loss {loss.item():.3f}, peak memory {peak_memory(device)}, "
        f"{len(proposals[0])} proposals, {len(pred.track_ids)} instances at inference",
        flush=True,
    )
    return failures


def train_check(
    steps: int, variant: str, size: tuple[int, int], device: torch.device, amp: bool,
    workdir: Path,
) -> list[str]:  # fmt: skip
    """``steps`` training steps of the paper-sized model on a synthetic split; the failures."""
    from vpsbench.synth import SynthConfig, generate
    from vpsbench_model.train import train

    # Frames at 1/4 of Cityscapes' 1024x2048, scaled back up by the data pipeline: cheap to
    # generate, and the model sees Cityscapes-sized inputs.
    data = workdir / "synth_train.h5"
    if not data.exists():
        generate(data, SynthConfig(num_videos=4, frames_per_video=20, height=256, width=512),
                 split="train")  # fmt: skip
    config = get_config("cityscapes-vps", variant)
    config.data.base_scale = 4.0
    config.data.crop = size
    tc = config.train
    tc.steps, tc.checkpoint_every, tc.log_every, tc.workers, tc.amp = steps, 10**9, 20, 4, amp
    # One pair per step, lr scaled linearly from the paper's 8 (no accumulation: a short
    # check, not the recipe); warmup shortened to fit the run.
    tc.reference_batch, tc.lr = 1, tc.lr / 8
    tc.warmup_steps = max(1, min(tc.warmup_steps, steps // 6))
    out = workdir / f"run_{variant}"
    reset_peak(device)
    start = time.perf_counter()
    train(config, data, out, device=str(device), progress=False)
    seconds = time.perf_counter() - start
    with open(out / "losses.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    losses = [float(r["loss"]) for r in rows]
    failures = []
    if len(losses) != steps:
        failures.append(f"training: {len(losses)} logged steps, expected {steps}")
    if not all(math.isfinite(v) for r in rows for k, v in ((k, float(r[k])) for k in r)):
        failures.append("training: a logged value is not finite")
    window = max(1, min(30, len(losses) // 3))
    first, last = sum(losses[:window]) / window, sum(losses[-window:]) / window
    if not last < first:
        failures.append(f"training: loss did not fall ({first:.3f} -> {last:.3f})")
    print(
        f"training {variant} {steps} steps at {size[0]}x{size[1]}: {steps / seconds:.2f} steps/s "
        f"(incl. start-up), loss {first:.3f} -> {last:.3f} (mean of first/last {window}), "
        f"peak memory {peak_memory(device)}",
        flush=True,
    )
    return failures


def run_checks(args: argparse.Namespace, device: torch.device) -> list[str]:
    """Every check; the list of failures (empty: all passed)."""
    amp = not args.no_amp
    failures: list[str] = []
    for variant in args.variants:
        failures += check_variant(variant, args.size, device, amp, args.iters)
    if args.steps > 0:
        if args.workdir:
            workdir = Path(args.workdir)
            workdir.mkdir(parents=True, exist_ok=True)
            failures += train_check(args.steps, args.train_variant, args.size, device, amp,
                                    workdir)  # fmt: skip
        else:
            with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
                failures += train_check(args.steps, args.train_variant, args.size, device, amp,
                                        Path(tmp))  # fmt: skip
    return failures


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not torch.cuda.is_available() or not args.device.startswith("cuda"):
        print(
            "gpu_check: error: needs a CUDA GPU (torch.cuda.is_available() is "
            f"{torch.cuda.is_available()}, --device {args.device}); on CPU run the tests instead",
            file=sys.stderr,
        )
        return 2
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    name = torch.cuda.get_device_name(device)
    print(f"gpu_check on {name}, torch {torch.__version__}, amp {'off' if args.no_amp else 'bf16'}")
    started = time.perf_counter()
    failures = run_checks(args, device)
    for failure in failures:
        print(f"FAIL {failure}")
    verdict = "FAILED" if failures else "all checks passed"
    print(f"gpu_check: {verdict} in {time.perf_counter() - started:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
