"""Helpers for the leaderboard tests: a tiny synthetic GT with a prediction in all three
submission forms, a registry snapshot, and a valid published entry to mutate."""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path

import pytest

from vpsbench.format import VPSFile
from vpsbench.io.submission import write_submission
from vpsbench.synth import SynthConfig, generate, synth_predict
from vpsbench_leaderboard.registry import REGISTRY_ENV

# 4 annotated frames per video, so every VPQ window (k = 0..15) has a value.
TINY = SynthConfig(num_videos=2, frames_per_video=20, height=64, width=128, with_images=False)

PUBLISHED = {
    "schema": 1,
    "id": "toynet-cityscapes-vps-val",
    "method": "ToyNet",
    "variant": "R50",
    "dataset": "cityscapes_vps",
    "split": "val",
    "metrics": {
        "vpq": {
            "k": {"0": {"all": 60.0, "things": 50.0, "stuff": 70.0}, "5": {"all": 55.5}},
            "all": 57.75,
            "things": None,
            "stuff": None,
        },
        "stq": {"stq": 61.0},
    },
    "source": {
        "type": "published",
        "citation": "Doe et al. ToyNet. CVPR 2099",
        "url": "https://example.org/toynet",
        "table": "Table 1",
        "status": "primary",
    },
    "verified": True,
    "notes": "a test entry",
}


def published_entry(**changes) -> dict:
    """A deep copy of the valid published entry with top-level fields changed."""
    entry = copy.deepcopy(PUBLISHED)
    entry.update(changes)
    return entry


def write_entry(path: Path, entry: dict) -> Path:
    path.write_text(json.dumps(entry, indent=2))
    return path


def make_synth(root: Path) -> dict[str, Path]:
    """GT, HDF5 prediction, submission directory, zip, and folder holding the zip."""
    root.mkdir(parents=True, exist_ok=True)
    gt = generate(root / "gt.h5", TINY)
    pred = synth_predict(gt, root / "pred.h5", noise=0.3, seed=1)
    with VPSFile(pred) as p, VPSFile(gt) as g:
        sub = write_submission(p, g, root / "sub")
    archive = root / "sub.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(sub.rglob("*")):
            z.write(path, path.relative_to(sub).as_posix())
    zipdir = root / "zipdir"  # the official layout may ship submission.zip in a folder
    zipdir.mkdir()
    (zipdir / "submission.zip").write_bytes(archive.read_bytes())
    return {"gt": gt, "pred": pred, "dir": sub, "zip": archive, "zipdir": zipdir}


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under a directory with its content (to prove it was left untouched)."""
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


@pytest.fixture(autouse=True)
def no_user_registry(monkeypatch):
    """A developer's own $VPSBENCH_REGISTRY must neither change what these tests see nor
    receive their entries (import this fixture into a test module to use it)."""
    monkeypatch.delenv(REGISTRY_ENV, raising=False)


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """The files of ``make_synth``, built once per test module."""
    return make_synth(tmp_path_factory.mktemp("synth"))
