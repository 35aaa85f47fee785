"""Size and speed of label-map compression choices for the unified format.

Rewrites the panoptic maps of an existing unified file with each HDF5 filter and prints bytes
per frame, write time and read time per frame. Used to choose the writer's default
(docs/FORMAT.md, "Compression").

    python benchmarks/compression.py synth_val.h5 [--frames 60]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from vpsbench.format import VPSFile

CHOICES = {
    "none": dict(compression=None),
    "lzf + shuffle": dict(compression="lzf", shuffle=True),
    "lzf": dict(compression="lzf", shuffle=False),
    "gzip-1 (h5py)": dict(compression="gzip", compression_opts=1, shuffle=False),
    "gzip-1 + shuffle": dict(compression="gzip", compression_opts=1, shuffle=True),
    "gzip-4 + shuffle": dict(compression="gzip", compression_opts=4, shuffle=True),
    "gzip-4": dict(compression="gzip", compression_opts=4, shuffle=False),
    "gzip-9 + shuffle": dict(compression="gzip", compression_opts=9, shuffle=True),
}


def sample_maps(path: Path, limit: int) -> np.ndarray:
    """Up to ``limit`` annotated maps of a unified file, video by video."""
    maps = []
    with VPSFile(path) as f:
        for video in f:
            for row in range(video.num_annotated):
                maps.append(video.panoptic_row(row))
                if len(maps) == limit:
                    return np.stack(maps)
    return np.stack(maps)


def measure(
    maps: np.ndarray, options: dict, workdir: Path, direct: bool = False
) -> tuple[float, float, float]:
    """(bytes per frame, write ms per frame, read ms per frame) for one filter choice; with
    ``direct`` the chunks are made by the writer's ``encode_label_map`` (ISA-L deflate-1) and
    stored with write_direct_chunk, as vpsbench writes them."""
    from vpsbench.format.writer import encode_label_map

    path = workdir / "probe.h5"
    n, h, w = maps.shape
    start = time.perf_counter()
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("p", shape=maps.shape, dtype=np.int32, chunks=(1, h, w), **options)
        for i in range(n):
            if direct:
                ds.id.write_direct_chunk((i, 0, 0), encode_label_map(maps[i]).chunk)
            else:
                ds[i] = maps[i]
    write = time.perf_counter() - start
    with h5py.File(path, "r") as f:
        size = f["p"].id.get_storage_size()
        start = time.perf_counter()
        for i in range(n):
            f["p"][i]
        read = time.perf_counter() - start
    return size / n, 1000 * write / n, 1000 * read / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="a unified file whose label maps to use")
    parser.add_argument("--frames", type=int, default=60, help="maps to sample (default 60)")
    args = parser.parse_args()
    maps = sample_maps(args.file, args.frames)
    print(f"{len(maps)} maps of {maps.shape[1]}x{maps.shape[2]} from {args.file}")
    print(f"{'filter':18} {'KiB/frame':>10} {'ratio':>7} {'write ms':>9} {'read ms':>8}")
    raw = maps[0].nbytes
    with tempfile.TemporaryDirectory() as tmp:
        for name, options in CHOICES.items():
            size, write, read = measure(maps, options, Path(tmp))
            print(f"{name:18} {size / 1024:10.1f} {raw / size:7.1f} {write:9.2f} {read:8.2f}")
        gzip_1 = dict(compression="gzip", compression_opts=1)
        size, write, read = measure(maps, gzip_1, Path(tmp), direct=True)
        name = "gzip-1 ISA-L (default)"
        print(f"{name:18} {size / 1024:10.1f} {raw / size:7.1f} {write:9.2f} {read:8.2f}")


if __name__ == "__main__":
    main()
