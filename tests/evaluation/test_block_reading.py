"""The scorer's piecewise path: GT maps inflated piece by piece and compared while cached give
the same pair runs, histograms and scores as whole maps."""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_evaluate import write_prediction

import vpsbench
from vpsbench.evaluation import runner
from vpsbench.format import VPSFile, deflate
from vpsbench.io.submission import write_submission
from vpsbench.metrics.core import pair_runs, pair_runs_of_blocks
from vpsbench.runlength import RunMap

# Every test here runs with the compiled kernels and with NumPy's (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_kernels")


@pytest.mark.parametrize("codec", ["isal", "zlib"])
@pytest.mark.parametrize("block_bytes", [4, 12, 4096, 1 << 20])
def test_decompressed_pieces_are_the_stream_in_order(monkeypatch, codec, block_bytes):
    if codec == "zlib":
        monkeypatch.setattr(deflate, "CODEC", zlib)
    data = np.repeat(np.arange(3000, dtype="<i4"), 7).tobytes()
    pieces = list(deflate.decompress_blocks(zlib.compress(data, 6), block_bytes))
    assert b"".join(pieces) == data
    assert all(len(p) == block_bytes for p in pieces[:-1]) and 0 < len(pieces[-1]) <= block_bytes


def test_a_truncated_stream_is_an_error():
    chunk = zlib.compress(np.arange(10000, dtype="<i4").tobytes())
    with pytest.raises(ValueError, match="truncated"):
        list(deflate.decompress_blocks(chunk[: len(chunk) // 2], 4096))


def test_pieces_of_a_stored_map_equal_the_whole_map(toy_gt, tmp_path):
    other = tmp_path / "h5py_chunks.h5"  # not the writer's layout: read whole, then cut
    shutil.copy(toy_gt, other)
    with h5py.File(other, "r+") as f:
        maps = f["videos/0001/panoptic"][()]
        del f["videos/0001/panoptic"]
        f.create_dataset("videos/0001/panoptic", data=maps, chunks=(1, 2, 3), compression="gzip")
    for path, in_blocks in ((toy_gt, True), (other, False)):
        with VPSFile(path) as file:
            video = file.video("0001")
            assert video.stores_maps_in_blocks == in_blocks
            for row in range(video.num_annotated):
                pieces = list(video.panoptic_row_blocks(row, 5))
                assert all(p.size == 5 for p in pieces[:-1])
                whole = video.panoptic_row(row)
                np.testing.assert_array_equal(np.concatenate(pieces), whole.ravel())
                stored = video.stored_map(int(video.annotated_indices[row]))
                np.testing.assert_array_equal(np.asarray(stored), whole)


class Pieces:
    """A stored map's stand-in: ``blocks(n)`` cuts a map into pieces of n pixels."""

    def __init__(self, label_map: np.ndarray) -> None:
        self.flat, self.shape, self.dtype = label_map.ravel(), label_map.shape, label_map.dtype

    def blocks(self, n: int):
        return (self.flat[i : i + n] for i in range(0, self.flat.size, n))


def blocky(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    out = np.full((h, w), rng.integers(0, 3) * 1000, np.int32)
    for _ in range(rng.integers(0, 5)):
        y, x = rng.integers(0, h), rng.integers(0, w)
        out[y : y + rng.integers(1, h + 1), x : x + rng.integers(1, w + 1)] = rng.choice(
            [1000, 11_001, 11_002, 255_000]
        )
    return out


def as_run_map(label_map: np.ndarray) -> RunMap:
    flat = label_map.ravel()
    starts = np.flatnonzero(np.diff(flat, prepend=flat[0] - 1))
    return RunMap(label_map.shape, np.diff(starts, append=flat.size), flat[starts])


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), block=st.integers(1, 40), noisy=st.booleans())
def test_pair_runs_of_pieces_equal_pair_runs_of_whole_maps(seed, block, noisy):
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    gt = blocky(rng, h, w)
    pred = rng.choice([0, 1000, 11_001], (h, w)).astype(np.int32) if noisy else blocky(rng, h, w)
    gt_pieces = Pieces(gt).blocks(block)
    got = pair_runs_of_blocks(gt_pieces, [pred, as_run_map(pred), Pieces(pred)], h * w, block)
    flat = pred.ravel()
    starts = np.flatnonzero(np.diff(np.stack([gt.ravel(), flat]), prepend=-1, axis=1).any(0))
    expected = pair_runs(gt, pred)  # None when fragmented: compare with the literal runs then
    for runs in got:
        np.testing.assert_array_equal(runs.starts, starts)
        np.testing.assert_array_equal(runs.gt, gt.ravel()[starts])
        np.testing.assert_array_equal(runs.pred, flat[starts])
        if expected is not None:
            np.testing.assert_array_equal(runs.starts, expected.starts)
    # Giving up fragmented predictions: judged on the first piece (a RunMap: on its runs).
    limited = pair_runs_of_blocks(
        Pieces(gt).blocks(block), [pred, as_run_map(pred), Pieces(pred)], h * w, block, True
    )
    first = min(block, h * w)
    noisy_start = int((starts < first).sum()) * 8 > first
    noisy_runs = len(as_run_map(pred).values) * 8 > h * w
    assert [r is None for r in limited] == [noisy_start, noisy_runs, noisy_start]
    for runs in limited:
        if runs is not None:
            np.testing.assert_array_equal(runs.starts, starts)


def test_pieces_of_the_wrong_length_are_refused():
    gt = np.zeros((2, 3), np.int32)
    with pytest.raises(ValueError, match="do not match"):
        pair_runs_of_blocks(Pieces(gt).blocks(2), [Pieces(gt)], 6, 4)


def scores(gt: Path, pred: Path) -> str:
    """Every score and table of the result; the run's record (paths, GT content id) left out."""
    data = vpsbench.evaluate(gt, pred, metrics="vpq,pq,stq,vc,idsw", workers=1).to_dict()
    data.pop("inputs")
    return json.dumps(data, sort_keys=True)


def copy_read_whole(gt: Path, folder: Path) -> Path:
    """A copy of the GT file whose maps are in a layout the scorer reads whole (h5py chunks)."""
    folder.mkdir()
    copy = Path(shutil.copy(gt, folder / gt.name))
    with h5py.File(copy, "r+") as f:
        for video_id in f["videos"]:
            maps = f[f"videos/{video_id}/panoptic"][()]
            del f[f"videos/{video_id}/panoptic"]
            f.create_dataset(f"videos/{video_id}/panoptic", data=maps, chunks=True)
    return copy


def test_scores_from_pieces_equal_scores_from_whole_maps(monkeypatch, toy_gt, tmp_path):
    def shift(video_id, row, gt_map):
        return np.roll(gt_map, row + 1, axis=1)

    pred = write_prediction(toy_gt, tmp_path / "shifted.h5", shift)
    submission = write_submission_of(pred, toy_gt, tmp_path / "sub")
    whole_gt = copy_read_whole(toy_gt, tmp_path / "whole")
    with VPSFile(whole_gt) as f:
        assert not f.video(f.video_ids[0]).stores_maps_in_blocks
    monkeypatch.setattr(runner, "BLOCK_PIXELS", 7)  # many pieces a frame, odd boundaries
    for source in (pred, submission):
        assert scores(toy_gt, source) == scores(whole_gt, source)


def test_fragmented_predictions_are_counted_from_whole_maps(monkeypatch, toy_gt, tmp_path):
    rng = np.random.default_rng(0)

    def noise(video_id, row, gt_map):  # every pixel its own run: far over one run per 8 pixels
        return np.where(rng.random(gt_map.shape) < 0.5, gt_map, 0)

    pred = write_prediction(toy_gt, tmp_path / "noisy.h5", noise)
    submission = write_submission_of(pred, toy_gt, tmp_path / "sub")
    whole_gt = copy_read_whole(toy_gt, tmp_path / "whole")
    from vpsbench.evaluation.streaming import VideoAccumulator

    whole_adds = []
    add = VideoAccumulator.add
    monkeypatch.setattr(
        VideoAccumulator, "add", lambda self, *a, **k: whole_adds.append(1) or add(self, *a, **k)
    )
    for source in (pred, submission):
        whole_adds.clear()
        blocked = scores(toy_gt, source)
        assert whole_adds  # the fragmented frames took the whole-map path
        assert blocked == scores(whole_gt, source)


def write_submission_of(pred: Path, gt: Path, out: Path) -> Path:
    with VPSFile(pred) as p, VPSFile(gt) as g:
        write_submission(p, g, out)
    return out
