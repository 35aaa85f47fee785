"""Video inference: every frame in temporal order, a unified prediction file for ``vpsbench eval``.

    python -m vpsbench_model.infer --checkpoint DIR/model_final.pt --data VAL.h5 -o PRED.h5

Frames are processed one at a time; the previous frame's FPN features and the track memory are
carried over (``VideoState``), so no frame is computed twice. Maps are written for the
annotated frames, named by the GT's stems, as ``synth_predict`` does.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the PyTorch convention)
from tqdm import tqdm

from vpsbench.format import FileInfo, VPSFile, VPSWriter
from vpsbench.termination import Terminated, terminate_as_interrupt
from vpsbench_model.backbone import normalize
from vpsbench_model.checkpoint import load_checkpoint
from vpsbench_model.config import VARIANTS
from vpsbench_model.data import LabelMap, to_tensor
from vpsbench_model.model import FramePrediction, VideoState, VPSNet


def load_model(
    checkpoint: str | os.PathLike, variant: str | None = None, device: str = "cpu",
    track_order: str | None = None, memory_max_age: int | None = None,
) -> tuple[VPSNet, dict]:  # fmt: skip
    """The model in eval mode and the checkpoint dict. ``variant`` may drop parts of the trained
    model (e.g. run a ``fusetrack`` checkpoint as ``fuse``), never add untrained ones; the
    association settings override the checkpoint's."""
    state = load_checkpoint(checkpoint, device)
    config = state["config"]
    if variant is not None:
        config.model.variant = variant
    if track_order is not None:
        config.model.track_order = track_order
    if memory_max_age is not None:
        config.model.memory_max_age = memory_max_age
    model = VPSNet(config.model)
    missing, _ = model.load_state_dict(state["model"], strict=False)
    if missing:
        raise ValueError(f"{checkpoint}: variant {variant!r} needs weights it lacks: {missing[:3]}")
    return model.to(device).eval(), state


def prepare(image: np.ndarray, scale: float) -> tuple[torch.Tensor, tuple[int, int]]:
    """Normalised [1, 3, H', W'] padded to /32, and the unpadded size after ``scale``."""
    tensor = to_tensor(image)[None]
    if scale != 1.0:
        size = (round(tensor.shape[-2] * scale), round(tensor.shape[-1] * scale))
        tensor = F.interpolate(tensor, size=size, mode="bilinear", align_corners=False)
    height, width = tensor.shape[-2:]
    tensor = normalize(tensor)
    tensor = F.pad(tensor, (0, -width % 32, 0, -height % 32))
    return tensor, (height, width)


class IdMap:
    """Per video: (category, track id) -> instance id 1..999, numbered per category."""

    def __init__(self, max_instance: int) -> None:
        self.max_instance = max_instance
        self.ids: dict[tuple[int, int], int] = {}
        self.counts: dict[int, int] = {}

    def __call__(self, category: int, track_id: int) -> int | None:
        key = (category, track_id)
        if key not in self.ids:
            self.counts[category] = self.counts.get(category, 0) + 1
            self.ids[key] = self.counts[category]
        value = self.ids[key]
        return value if value <= self.max_instance else None


def to_panoptic(
    pred: FramePrediction, labels: LabelMap, ids: IdMap, divisor: int, void: int
) -> np.ndarray:
    """category * divisor + instance (0 for stuff); void where the model abstains."""
    table = np.array(labels.category_ids, np.int64)
    classes = pred.classes.cpu().numpy()
    instance = pred.instance.cpu().numpy()
    out = np.full(classes.shape, void, np.int64)
    stuff = (classes < labels.num_stuff) & (instance < 0)
    out[stuff] = table[classes[stuff]] * divisor
    for j, (track_id, channel) in enumerate(zip(pred.track_ids, pred.channels, strict=True)):
        region = instance == j
        category = int(table[channel])
        number = ids(category, track_id)
        if number is not None and region.any():
            out[region] = category * divisor + number
    return out.astype(np.int32)


def resize_labels(panoptic: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest resize of a label map back to the GT size."""
    if panoptic.shape == size:
        return panoptic
    tensor = torch.from_numpy(panoptic.astype(np.float64))[None, None]
    return F.interpolate(tensor, size=size, mode="nearest")[0, 0].numpy().astype(np.int32)


def predict_video(
    model: VPSNet, video, labels: LabelMap, scale: float, divisor: int, void: int,
    device: str = "cpu", bar: tqdm | None = None,
) -> list[np.ndarray]:  # fmt: skip
    """Panoptic maps of the annotated frames, running the model over all frames in order
    (``bar`` advances by one per frame run)."""
    state = VideoState()
    ids = IdMap(divisor - 1)
    annotated = set(video.annotated_indices.tolist())
    last = max(annotated) if annotated else -1
    maps = []
    for index in range(last + 1):
        image, size = prepare(video.image(index), scale)
        pred = model.predict(image.to(device), state, size)
        if bar is not None:
            bar.update(1)
        if index in annotated:
            pan = to_panoptic(pred, labels, ids, divisor, void)
            maps.append(resize_labels(pan, (video.height, video.width)))
    return maps


def infer(
    checkpoint: str | os.PathLike, data: str | os.PathLike, out: str | os.PathLike,
    variant: str | None = None, device: str = "cpu", progress: bool = True,
    overwrite: bool = False, track_order: str | None = None, memory_max_age: int | None = None,
) -> Path:  # fmt: skip
    """Write the prediction file of ``data`` (a GT file with images) to ``out``; with
    ``progress``, a per-frame progress bar and a one-line summary at the end."""
    started = time.perf_counter()
    model, state = load_model(checkpoint, variant, device, track_order, memory_max_age)
    labels: LabelMap = state["labels"]
    scale = state["config"].data.base_scale
    data = Path(data)
    with VPSFile(data) as gt:
        if LabelMap.from_categories(gt.categories) != labels:
            raise ValueError(f"{data}: categories differ from the ones the model was trained on")
        info = FileInfo.prediction_of(
            gt.info,
            data.name,
            f"reference_model VPSNet {model.config.variant} {Path(checkpoint).name} "
            f"step {state['step']}",
        )
        divisor, void = gt.info.label_divisor, gt.info.void_label
        with VPSWriter(
            out, info, gt.categories, None, gt.categories_source_json, overwrite=overwrite
        ) as writer:
            videos = [video for video in gt if video.num_annotated > 0]
            # Every frame up to the last annotated one runs (the features and ids carry over).
            frames = sum(int(max(v.annotated_indices)) + 1 for v in videos)
            bar = tqdm(total=frames, desc="infer", unit="frame", disable=not progress)
            for video in videos:
                bar.set_postfix_str(str(video.video_id))
                maps = predict_video(model, video, labels, scale, divisor, void, device, bar)
                with writer.video(video.video_id, video.height, video.width) as target:
                    for pan, i in zip(maps, video.annotated_indices, strict=True):
                        target.add_frame(video.stems[i], int(video.source_frames[i]), pan)
            bar.close()
    if progress:
        seconds = time.perf_counter() - started
        print(
            f"inferred {model.config.variant} on {len(videos)} videos ({frames} frames) in "
            f"{seconds:.1f} s ({1000 * seconds / max(frames, 1):.0f} ms/frame with loading): "
            f"{out}",
            flush=True,
        )
    return Path(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vpsbench_model.infer",
        description="Run a trained VPSNet over every video of a GT file; write predictions.",
        epilog="example: python -m vpsbench_model.infer --checkpoint runs/ft/model_final.pt "
        "--data synth_val.h5 -o pred.h5 && vpsbench eval --gt synth_val.h5 --pred pred.h5",
    )
    parser.add_argument("--checkpoint", required=True, help="a checkpoint written by training")
    parser.add_argument("--data", required=True, help="unified ground-truth HDF5 with images")
    parser.add_argument("-o", "--out", required=True, help="prediction file to write")
    parser.add_argument("--variant", choices=VARIANTS, help="run a subset of the trained model")
    parser.add_argument(
        "--device",
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="cpu, cuda, cuda:1 (default: %(default)s)",
    )
    parser.add_argument(
        "--track-order",
        choices=("official", "after_removal"),
        help="associate every detection before MaskRemoval (official) or only those it keeps "
        "(default: the checkpoint's setting)",
    )
    parser.add_argument(
        "--memory-max-age",
        type=int,
        help="memory slots unseen for more than N frames stop matching (0: never; default: "
        "the checkpoint's setting)",
    )
    parser.add_argument("--force", action="store_true", help="overwrite OUT")
    parser.add_argument("--no-progress", action="store_true", help="no bar and no summary")
    args = parser.parse_args(argv)
    problem = None
    for flag, path in (("--checkpoint", args.checkpoint), ("--data", args.data)):
        if not Path(path).is_file():
            problem = problem or f"{flag} {path}: no such file"
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        problem = problem or f"--device {args.device}: CUDA is not available here (use cpu)"
    if Path(args.out).exists() and not args.force:
        problem = problem or f"-o {args.out} exists (--force to overwrite it)"
    if problem:
        print(f"infer: error: {problem}", file=sys.stderr)
        return 2
    try:
        # A job scheduler's SIGTERM stops inference as Ctrl-C does: no partial output is left.
        with terminate_as_interrupt():
            infer(args.checkpoint, args.data, args.out, args.variant, args.device,
                  progress=not args.no_progress, overwrite=args.force,
                  track_order=args.track_order, memory_max_age=args.memory_max_age)  # fmt: skip
    except (OSError, ValueError, KeyError) as error:
        print(f"infer: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, Terminated)
        print(f"infer: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return 143 if terminated else 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
