"""Conversion speed against the decode limit, for every dataset vpsbench converts.

Builds the test suite's miniature releases enlarged to their real frame sizes (cached in
--workdir): Cityscapes-VPS at 1024x2048, VIPER at 1080x1920, KITTI-STEP at 375x1242 and
MOTChallenge-STEP at 1080x1920 (the sequences of KITTI-STEP val, 9, and MOTChallenge-STEP
train, 2, of --step-frames frames each, every frame labelled, as in those releases), VIPSeg as
a raw 1080p release (--vipseg-videos videos of --vipseg-frames frames) and its official 720p
preparation. For each, it prints annotated frames/s of plain
decoding of the files the converter must decode (the limit: the label PNGs, plus the images
where the converter re-encodes them, VIPSeg --resize 720) in the same number of processes,
and of the converter with --workers, and their ratio. The limit is measured with Pillow and with
libspng (pyspng), the decoder the converters use for 8-bit RGB and greyscale PNGs; the target
is conversion >= 50% of the faster of the two limits with 2 workers. VIPSeg --resize 720 also
resizes and re-encodes every image as change2_720p.py does (Pillow's bilinear resize of a 1080p
image alone costs about twice its decode), so its row also prints the limit of decoding plus
that resize.

Each figure is the fastest of --repeat runs. The first conversion of the process also starts
the workers' forkserver (about 0.5 s, once per process; `vpsbench convert` starts it before
scanning the release, so on a real split it overlaps the scan).

    python benchmarks/bench_convert.py [--dataset all] [--workers 2] [--repeat 2] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import functools
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyspng
from from_tests import load_test_module
from PIL import Image

from vpsbench.parallel import keep_freed_memory
from vpsbench_converters.cityscapes_vps import convert_cityscapes_vps
from vpsbench_converters.step import convert_step
from vpsbench_converters.viper import convert_viper
from vpsbench_converters.vipseg import convert_vipseg
from vpsbench_converters.vipseg_720p import resize_image, target_size

write_release = load_test_module("cityscapes_fixtures").write_release
step_fixtures = load_test_module("step_fixtures")
viper_fixtures = load_test_module("viper_fixtures")
vipseg_fixtures = load_test_module("vipseg_fixtures")
KITTI_SIZE = (375, 1242)
MOT_SIZE = (1080, 1920)
VIPER_SIZE = (1080, 1920)
VIPSEG_RAW_SIZE = (1080, 1920)  # a common VIPSeg source size: the official resize gives 720x1280

REPEAT = 1  # --repeat
LABEL_FOLDERS = {"prepared": ("panoptic_video",), "raw": ("cls", "inst")}


def pillow_decode(path: Path) -> int:
    return np.asarray(Image.open(path)).size


def libspng_decode(path: Path) -> int:
    """libspng (pyspng), the decoder the converters use for 8-bit RGB and greyscale PNGs."""
    if path.suffix.lower() != ".png":
        return pillow_decode(path)  # the images of --resize 720 are JPEGs
    return pyspng.load(path.read_bytes()).size


DECODERS = {"Pillow": pillow_decode, "libspng": libspng_decode}


def decode_frame(paths: tuple[Path, ...], decoder: str) -> int:
    """Decode the files of one frame to arrays (what any converter must at least do)."""
    return sum(DECODERS[decoder](p) for p in paths)


def decode_limit(frames: list[tuple[Path, ...]], workers: int, decoder: str, repeat: int) -> float:
    """Frames/s of decoding every frame's files with ``decoder`` in ``workers`` processes, the
    fastest of ``repeat`` runs."""
    work = functools.partial(decode_frame, decoder=decoder)
    return frames_per_second(work, frames, workers, repeat)


def conversion_speed(convert: Callable[[Path], object], frames: int, repeat: int) -> float:
    """Frames/s of ``convert(out_path)`` over ``frames`` annotated frames, the fastest of
    ``repeat`` runs (the shared machine is noisy)."""
    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            convert(Path(tmp) / "out.h5")
            best = min(best, time.perf_counter() - start)
    return frames / best


def resize_frame(paths: tuple[Path, Path], decoder: str) -> int:
    """Decode a raw VIPSeg frame and resize its image as change2_720p.py does (bilinear, then
    re-encoded): the least any converter reproducing the official 720p images must do."""
    mask, image = paths
    decode_frame((mask,), decoder)
    with Image.open(image) as img:
        size = target_size(img.size[1], img.size[0])
    return len(resize_image(image.read_bytes(), size, image.name))


def frames_per_second(work, frames: list[tuple[Path, ...]], workers: int, repeat: int) -> float:
    """Frames/s of ``work(frame)`` over every frame in ``workers`` processes, the fastest of
    ``repeat`` runs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        # Decoding workers reuse freed frame buffers as the converters' do (init_worker).
        with concurrent.futures.ProcessPoolExecutor(workers, initializer=keep_freed_memory) as pool:
            list(pool.map(work, frames, chunksize=4))
        best = min(best, time.perf_counter() - start)
    return len(frames) / best


def measure(name: str, frames: list[tuple[Path, ...]], convert, workers: int,
            resizes: bool = False) -> None:  # fmt: skip
    """Print both decode limits, the conversion speed and its ratio to each, side by side.

    The target is met against the faster decoder's limit (the converters decode with libspng
    where it applies, so Pillow's slower limit alone would flatter them). With ``resizes``
    (VIPSeg --resize 720) it also prints the limit of decoding plus the official image resize.
    """
    limits = {decoder: decode_limit(frames, workers, decoder, REPEAT) for decoder in DECODERS}
    speed = conversion_speed(convert, len(frames), REPEAT)
    ratios = ", ".join(f"{100 * speed / v:5.1f}% of {k}'s" for k, v in limits.items())
    print(
        f"{name:18s}: decode {limits['Pillow']:6.1f} (Pillow) / {limits['libspng']:6.1f} "
        f"(libspng) frames/s, conversion {speed:6.1f} frames/s with {workers} workers: "
        f"{ratios}; {100 * speed / max(limits.values()):5.1f}% of the faster limit",
        flush=True,
    )
    if resizes:
        work = functools.partial(resize_frame, decoder="libspng")
        limit = frames_per_second(work, frames, workers, REPEAT)
        print(
            f"{'':18s}  decode + official image resize {limit:6.1f} frames/s (libspng): "
            f"conversion {100 * speed / limit:5.1f}% of it",
            flush=True,
        )


def bench_cityscapes(workdir: Path, videos: int, workers: int) -> None:
    if not (workdir / "val" / "inst").is_dir():
        write_release(workdir, scale=32, videos=videos)
    size = Image.open(next((workdir / "val" / "cls").glob("*.png"))).size
    annotated = len(list((workdir / "val" / "cls").glob("*.png")))
    print(f"Cityscapes-VPS: {workdir}, {size[0]}x{size[1]}, {annotated} annotated frames")
    for state in ("prepared", "raw"):
        folders = [sorted((workdir / "val" / f).glob("*.png")) for f in LABEL_FOLDERS[state]]
        frames = list(zip(*folders, strict=True))
        measure(f"cityscapes {state}", frames, lambda out, state=state: convert_cityscapes_vps(
            workdir, "val", out, state, workers=workers), workers)  # fmt: skip


def bench_viper(workdir: Path, videos: int, workers: int) -> None:
    sequences = tuple(f"{i + 1:03d}" for i in range(videos))
    if not (workdir / "val" / "inst").is_dir():
        viper_fixtures.write_viper_tree(
            workdir, "val", sequences, range(10, 10 * 13), VIPER_SIZE, 10, with_unlabelled=False
        )
    frames = list(zip(*(sorted((workdir / "val" / f).glob("*/*.png")) for f in ("cls", "inst")),
                      strict=True))  # fmt: skip
    print(f"VIPER: {workdir}, {VIPER_SIZE[1]}x{VIPER_SIZE[0]}, {len(frames)} annotated frames")
    measure("viper", frames, lambda out: convert_viper(workdir, "val", out, workers=workers),
            workers)  # fmt: skip


# The labelled sequences of each release's split (deeplab2 g3doc/setup/kitti_step.md and
# motchallenge_step.md): a split of many short videos pays the pool's start and the last video's
# writes once per conversion, as the real one does, not once per two videos.
STEP_SEQUENCES = {
    "kitti_step": ("0002", "0006", "0007", "0008", "0010", "0013", "0014", "0016", "0018"),
    "motchallenge_step": ("0002", "0009"),
}


def write_step_tree(root: Path, dataset: str, size: tuple[int, int], frames: int) -> None:
    """The split's sequences (``STEP_SEQUENCES``) of the test suite's STEP scene at ``size``,
    every frame labelled."""
    if dataset == "kitti_step":
        things = {step_fixtures.KITTI["person"], step_fixtures.KITTI["car"]}
        layers, split, suffix = step_fixtures.kitti_layers, "val", ".png"
    else:
        things = {step_fixtures.MOT["person"]}
        layers, split, suffix = step_fixtures.mot_layers, "train", ".jpg"
    for s, seq in enumerate(STEP_SEQUENCES[dataset]):
        step_fixtures.write_sequence(
            root, split, seq, size, range(1, frames + 1), layers, suffix, True, things, s
        )


def bench_step(workdir: Path, dataset: str, frames: int, workers: int) -> None:
    size, split = (KITTI_SIZE, "val") if dataset == "kitti_step" else (MOT_SIZE, "train")
    if not (workdir / "panoptic_maps" / split / STEP_SEQUENCES[dataset][-1]).is_dir():
        write_step_tree(workdir, dataset, size, frames)
    pngs = [(p,) for p in sorted((workdir / "panoptic_maps" / split).glob("*/*.png"))]
    print(f"{dataset}: {workdir}, {size[1]}x{size[0]}, {len(pngs)} annotated frames")
    measure(dataset, pngs, lambda out: convert_step(dataset, workdir, split, out,
            workers=workers), workers)  # fmt: skip


def write_vipseg_trees(root: Path, videos: int, frames: int) -> tuple[Path, Path]:
    """A raw 1080p VIPSeg release (the test scene enlarged) and its official 720p preparation."""
    raw, prepared = root / "VIPSeg", root / "VIPSeg_720P"
    if (prepared / "panoptic_gt_VIPSeg_val.json").is_file():
        return raw, prepared
    h, w = vipseg_fixtures.H, vipseg_fixtures.W
    scale = np.ones((-(-VIPSEG_RAW_SIZE[0] // h), -(-VIPSEG_RAW_SIZE[1] // w)))
    names = ("12_abcDEF-_01", "3_Zz9-x_Yq", *(f"{100 + i}_v" for i in range(videos - 2)))
    masks = {
        video: {
            f"{1 + 5 * t:08d}": np.kron(vipseg_fixtures.raw_mask(video, t % 9), scale)[
                : VIPSEG_RAW_SIZE[0], : VIPSEG_RAW_SIZE[1]
            ].astype(np.uint16)
            for t in range(frames)
        }
        for video in names[:videos]
    }
    vipseg_fixtures.write_raw(raw, masks, {"val": list(masks), "train": [], "test": []})
    vipseg_fixtures.prepare_720p(raw, prepared)
    return raw, prepared


def bench_vipseg(workdir: Path, videos: int, frames: int, workers: int) -> None:
    raw, prepared = write_vipseg_trees(workdir, videos, frames)
    print(f"VIPSeg: {workdir}, raw {VIPSEG_RAW_SIZE[1]}x{VIPSEG_RAW_SIZE[0]} and 720p, "
          f"{videos * frames} annotated frames")  # fmt: skip
    masks = [(p,) for p in sorted((prepared / "panomasksRGB").glob("*/*.png"))]
    measure("vipseg prepared", masks, lambda out: convert_vipseg(prepared, "val", out,
            workers=workers), workers)  # fmt: skip
    masks = [(p,) for p in sorted((raw / "panomasks").glob("*/*.png"))]
    measure("vipseg raw", masks, lambda out: convert_vipseg(raw, "val", out, workers=workers),
            workers)  # fmt: skip
    # --resize re-encodes every image (bilinear, as change2_720p.py): the limit decodes them too.
    with_images = [(m, raw / "imgs" / m.parent.name / f"{m.stem}.jpg") for (m,) in masks]
    measure("vipseg raw 720", with_images, lambda out: convert_vipseg(raw, "val", out,
            resize=720, workers=workers), workers, resizes=True)  # fmt: skip


DATASETS = ("cityscapes_vps", "viper", "vipseg", "kitti_step", "motchallenge_step")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", choices=("all", *DATASETS), default="all")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--videos", type=int, default=10, help="Cityscapes-VPS videos (6 labels)")
    parser.add_argument("--viper-videos", type=int, default=4, help="VIPER sequences (12 labels)")
    parser.add_argument("--step-frames", type=int, default=40, help="frames per STEP sequence")
    parser.add_argument("--vipseg-videos", type=int, default=6, help="VIPSeg videos")
    parser.add_argument("--vipseg-frames", type=int, default=20, help="frames per VIPSeg video")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/vpsbench-convert"))
    parser.add_argument("--repeat", type=int, default=2,
                        help="each figure the fastest of this many runs")  # fmt: skip
    args = parser.parse_args()
    global REPEAT
    REPEAT = args.repeat
    keep_freed_memory()  # as `vpsbench convert` does in its own process (vpsbench.cli)
    chosen = DATASETS if args.dataset == "all" else (args.dataset,)
    for dataset in chosen:
        if dataset == "cityscapes_vps":
            bench_cityscapes(args.workdir, args.videos, args.workers)
        elif dataset == "viper":
            bench_viper(args.workdir / "viper", args.viper_videos, args.workers)
        elif dataset == "vipseg":
            bench_vipseg(args.workdir / "vipseg6", args.vipseg_videos, args.vipseg_frames,
                         args.workers)  # fmt: skip
        else:
            bench_step(args.workdir / dataset, dataset, args.step_frames, args.workers)


if __name__ == "__main__":
    main()
