"""The official tables of the leaderboard and the digest of each one's ground truth.

A result is ranked in an official table only when it was scored on that table's official GT.
A GT is identified by two digests: its ``content_id`` (the file's root attribute: video ids,
frame stems, annotated flags; ``vpsbench info`` prints it) and ``labels_digest`` (the label
maps, label divisor and categories, which ``content_id`` does not cover). Both are printed by
``vpsbench leaderboard digest GT.h5``. docs/LEADERBOARD.md says how a maintainer records them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# The documented command of the synthetic val table (docs/LEADERBOARD.md, README); the digests
# below were printed by `vpsbench leaderboard digest` on its output (vpsbench 0.1.0).
SYNTH_VAL_COMMAND = "vpsbench synth -o synth_val.h5 --videos 16 --seed 0"
SYNTH_HARD_VAL_COMMAND = "vpsbench synth -o synth_val.h5 --videos 16 --seed 0 --preset hard"
NOT_RECORDED = (
    "not recorded: no copy of the official release was available when the split was added; "
    "a maintainer records it with `vpsbench leaderboard digest GT.h5` (docs/LEADERBOARD.md)"
)

# One row per official table. content_id/labels_digest None: the official GT's digest is not
# known, so every result scored on it is shown as "GT not verified". scorable False: a table of
# published numbers only (the source does not name its split, or the GT is not public).
SPLITS: list[dict] = [
    {"dataset": "cityscapes_vps", "split": "val"},
    {
        "dataset": "cityscapes_vps",
        "split": "test",
        "scorable": False,
        "obtained": "the release has no test labels (vpsbench convert writes the test split "
        "as images only); its numbers come from the sources",
    },
    {"dataset": "viper", "split": "val"},
    {"dataset": "viper", "split": "test"},
    {"dataset": "vipseg", "split": "val"},
    {"dataset": "vipseg", "split": "test"},
    {
        "dataset": "vipseg",
        "split": "pvuw23-dev",
        "scorable": False,
        "obtained": "PVUW 2023 challenge phase; its GT is held by the challenge server",
    },
    {
        "dataset": "vipseg",
        "split": "pvuw23-test",
        "scorable": False,
        "obtained": "PVUW 2023 challenge phase; its GT is held by the challenge server",
    },
    {
        "dataset": "vipseg",
        "split": "unspecified",
        "scorable": False,
        "obtained": "published numbers whose source does not name the split",
    },
    {"dataset": "kitti_step", "split": "val"},
    {
        "dataset": "kitti_step",
        "split": "test",
        "scorable": False,
        "obtained": "its labels are held by the KITTI benchmark server",
    },
    {
        "dataset": "kitti_step",
        "split": "unspecified",
        "scorable": False,
        "obtained": "published numbers whose source does not name the split",
    },
    {"dataset": "cityscapes_dvps", "split": "val"},
    {"dataset": "semkitti_dvps", "split": "val"},
    {
        "dataset": "synth",
        "split": "val",
        "content_id": "bbb2a35935c105a7bdb2b06b94505df0",
        "labels_digest": "202fb6c618b8440403c3a0afa861a8370d72d38b5a888ce07b7e3a5f2c87521b",
        "obtained": f"`{SYNTH_VAL_COMMAND}` (default --frames 30 --size 256 512 --stride 5; "
        "--train-out and --no-images do not change it), then `vpsbench leaderboard digest "
        "synth_val.h5`, vpsbench 0.1.0",
    },
    {
        "dataset": "synth",
        "split": "val-hard",
        "content_id": "bbb2a35935c105a7bdb2b06b94505df0",
        "labels_digest": "d305911d0308d2df49b4b7831719b4a23fafe325196669444e4e7135f26b598f",
        "obtained": f"`{SYNTH_HARD_VAL_COMMAND}` (defaults as for synth val), then `vpsbench "
        "leaderboard digest synth_val.h5`, vpsbench 0.1.0",
    },
]


class GTMismatchError(ValueError):
    """A GT is not the official GT of the table a result would be ranked in."""


@dataclass(frozen=True)
class Split:
    """One official table and what is known of its ground truth."""

    dataset: str
    split: str
    content_id: str | None = None
    labels_digest: str | None = None
    scorable: bool = True
    obtained: str = NOT_RECORDED

    @property
    def digest_known(self) -> bool:
        return self.content_id is not None


@dataclass(frozen=True)
class GTDigest:
    """The identity of one GT file."""

    dataset: str
    split: str
    content_id: str
    labels_digest: str


def official_splits(rows: list[dict] | None = None) -> dict[tuple[str, str], Split]:
    """The official tables keyed by (dataset, split)."""
    splits = [Split(**row) for row in (SPLITS if rows is None else rows)]
    return {(s.dataset, s.split): s for s in splits}


def labels_digest(gt: str | Path) -> str:
    """sha256 of a GT's label maps (as int64, per annotated frame, in file order), its label
    divisor, ignore label and categories: what decides every score but not ``content_id``."""
    from vpsbench.format import VPSFile

    sha = hashlib.sha256()
    with VPSFile(gt) as f:
        sha.update(f"D\t{f.info.label_divisor}\t{f.info.ignore_label}\n".encode())
        for c in sorted(f.categories, key=lambda c: c.id):
            sha.update(f"C\t{c.id}\t{int(c.isthing)}\n".encode())
        for video in f:
            sha.update(f"V\t{video.video_id}\n".encode())
            for row, index in enumerate(video.annotated_indices):
                # int64 little-endian: the digest must not depend on the stored dtype
                labels = np.ascontiguousarray(video.panoptic_row(row), dtype="<i8")
                sha.update(f"F\t{video.stems[index]}\t{labels.shape}\n".encode())
                sha.update(labels.tobytes())
    return sha.hexdigest()


def gt_digest(gt: str | Path) -> GTDigest:
    """Dataset, split, ``content_id`` and labels digest of a GT file (reads every label map)."""
    from vpsbench.format import VPSFile

    with VPSFile(gt) as f:
        info = f.info
    return GTDigest(info.dataset, info.split, info.content_id, labels_digest(gt))


def check_gt(gt: GTDigest, split: str, splits: dict[tuple[str, str], Split] | None = None) -> str:
    """The GT status a result scored on ``gt`` gets in table (gt.dataset, split):
    "verified", "not verified" (official digest unknown) or "custom" (not an official table).
    Raises ``GTMismatchError`` when the GT is not the official GT of an official table."""
    table = (official_splits() if splits is None else splits).get((gt.dataset, split))
    if table is None:
        return "custom"
    name = f"{gt.dataset} {split}"
    if not table.scorable:
        raise GTMismatchError(
            f"{name} is a table of published numbers only ({table.obtained}); score into a "
            f"table of your own with --split {split}-custom"
        )
    if not table.digest_known:
        return "not verified"
    theirs = (gt.content_id, gt.labels_digest)
    ours = (table.content_id, table.labels_digest)
    if any(o is not None and t != o for t, o in zip(theirs, ours, strict=True)):
        raise GTMismatchError(
            f"the GT (content_id {gt.content_id[:12]}, labels {gt.labels_digest[:12]}) is not "
            f"the official {name} GT ({ours[0][:12]}, {(ours[1] or '-')[:12]}); rank it in a "
            f"table of its own with --split {split}-custom, or score on the official GT"
        )
    return "verified"


def entry_gt_status(entry: dict, splits: dict[tuple[str, str], Split] | None = None) -> str:
    """The GT status of a registry entry, derived from the official digests at render time
    (never from the entry's own flag, which a hand-written file could set): "published" for
    published numbers, else "verified", "not verified", "mismatch" or "custom"."""
    table = (official_splits() if splits is None else splits).get(
        (entry["dataset"], entry["split"])
    )
    if table is None:
        return "custom"
    if entry["source"]["type"] != "reproduced":
        return "published"
    if not table.digest_known:
        return "not verified"
    gt = entry["source"].get("gt") or {}
    if gt.get("content_id") != table.content_id:
        return "mismatch"
    # Entries scored before labels were digested record content_id only.
    if "labels_digest" in gt and table.labels_digest not in (None, gt["labels_digest"]):
        return "mismatch"
    return "verified"


def is_dirty(source: dict) -> bool:
    """Whether a reproduced entry was scored from a checkout with uncommitted changes."""
    commit = source.get("commit") or ""
    return bool(source.get("dirty")) or commit.endswith("-dirty")
