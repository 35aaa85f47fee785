"""Scoring untrusted submissions and turning them into ``reproduced`` registry entries.

A submission (unified HDF5 prediction, official-layout directory, or zip) is checked before a
byte of label data is read: zips are extracted with limits into a private directory that is
always removed, directories may hold only regular files, HDF5 files may not link outside
themselves and must declare label maps of the GT's shape and an integer dtype. Nothing is ever
unpickled. Every refusal is a ``SubmissionRejectedError`` with a one-line reason.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import shlex
import shutil
import stat
import subprocess
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py

from vpsbench import __version__
from vpsbench.io.archive import PrivateDirectory, SubmissionLimits, extract_archive
from vpsbench.io.digest import file_digest
from vpsbench.metrics import METRICS, headline_values
from vpsbench.report.result import EvalResult, json_safe
from vpsbench_leaderboard.registry import add_entry, check_can_add, load_entries, writable_registry
from vpsbench_leaderboard.schema import GROUPS, SCHEMA_VERSION, slug, validate_entry
from vpsbench_leaderboard.splits import GTDigest, check_gt, gt_digest

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class SubmissionRejectedError(ValueError):
    """The submission is refused before or while scoring; the message says why in one line."""


@dataclass(frozen=True)
class RunInfo:
    """What the submitter states about a run: names, seed, notes, how the prediction was made."""

    method: str
    variant: str | None = None
    seed: int | None = None  # of the one run; several runs: ``seeds``, one per submission
    notes: str | None = None
    entry_id: str | None = None
    prediction_command: str | None = None
    split: str | None = None  # the table to rank in (default: the GT's split)
    seeds: tuple[int, ...] = ()


def reject(message: str) -> SubmissionRejectedError:
    return SubmissionRejectedError(f"submission rejected: {message}")


# --- checks before scoring -------------------------------------------------------------------


def check_tree(root: Path, limits: SubmissionLimits) -> None:
    """Only regular files and folders, within the file-count and total-size limits."""
    count = total = 0
    for dirpath, dirnames, filenames in os.walk(root):  # never follows links
        for name in sorted(dirnames + filenames):
            path = Path(dirpath) / name
            info = path.lstat()
            where = path.relative_to(root)
            if stat.S_ISLNK(info.st_mode):
                raise reject(f"symlink in the submission: {where}")
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):
                raise reject(f"special file in the submission: {where}")
            count += 1
            total += info.st_size
            if count > limits.max_files:
                raise reject(f"more than {limits.max_files} files in the submission")
            if total > limits.max_total_bytes:
                raise reject(f"the submission is larger than {mb(limits.max_total_bytes)}")


def mb(size: float) -> str:
    """A byte count for messages: 160.0 GB, 4.1 MB, 512 bytes."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} bytes"


def check_hdf5_links(f: h5py.File, limits: SubmissionLimits) -> None:
    """No soft/external links, external or virtual storage, or oversized declared datasets.

    An external link or a virtual dataset could point at the GT itself (a perfect score) or at
    any file on the machine; the unified format uses none of them.
    """
    seen = 0

    # h5py mangles exceptions raised inside a visitor; returning a value stops the walk.
    def visit(name: str, link) -> str | None:
        nonlocal seen
        seen += 1
        if seen > limits.max_files:
            return f"{Path(f.filename).name}: more than {limits.max_files} HDF5 objects"
        if not isinstance(link, h5py.HardLink):
            kind = "external link" if isinstance(link, h5py.ExternalLink) else "soft link"
            return f"/{name} is an HDF5 {kind}; links are not allowed in a prediction"
        obj = f.get(name)
        return storage_problem(obj, limits) if isinstance(obj, h5py.Dataset) else None

    problem = f.visititems_links(visit)
    if problem:
        raise reject(problem)


def storage_problem(ds: h5py.Dataset, limits: SubmissionLimits) -> str | None:
    """Metadata only: where the data lives and how large it says it is."""
    if ds.is_virtual:
        return f"{ds.name} is a virtual dataset (it maps other files); not allowed"
    if ds.external:
        return f"{ds.name} stores its data in external files; not allowed"
    declared = ds.size * ds.dtype.itemsize
    if declared > limits.max_total_bytes:
        return f"{ds.name} declares {mb(declared)} (limit {mb(limits.max_total_bytes)})"
    return None


def check_label_maps(pred: h5py.File, gt: h5py.File) -> None:
    """Each predicted ``panoptic`` declares an integer dtype and at most the GT video's frames
    of the GT's size, and each frame-table column at most the GT's frame count."""
    videos = pred.get("videos")
    if not isinstance(videos, h5py.Group):
        raise reject(f"{Path(pred.filename).name}: no /videos group; not a unified prediction")
    for vid, gt_video in gt["videos"].items():
        video = videos.get(vid)
        if video is None:
            continue  # the evaluator names missing videos
        if not isinstance(video, h5py.Group):
            raise reject(f"/videos/{vid} is not a group")
        frames = gt_video["frames/stem"].shape[0]
        for column in video.get("frames", {}).values():
            if column.ndim != 1 or column.shape[0] > frames:
                raise reject(
                    f"{column.name} declares shape {column.shape}; the GT video has {frames} frames"
                )
        # A GT video without annotated frames has no maps, and no predicted map is read.
        if "panoptic" in video and "panoptic" in gt_video:
            check_panoptic(video["panoptic"], gt_video["panoptic"], frames)


def check_panoptic(ds: h5py.Group | h5py.Dataset, gt_ds: h5py.Dataset, frames: int) -> None:
    """Dtype and shape as declared, before any element is read."""
    if not isinstance(ds, h5py.Dataset):
        raise reject(f"{ds.name} is not a dataset")
    if ds.dtype.kind not in "iu" or ds.dtype.itemsize > 8:
        raise reject(
            f"{ds.name} declares dtype {ds.dtype}; label maps are integers "
            f"({gt_ds.dtype} in the GT)"
        )
    height, width = gt_ds.shape[1:]
    if ds.ndim != 3 or ds.shape[1:] != (height, width) or ds.shape[0] > frames:
        raise reject(
            f"{ds.name} declares shape {ds.shape}; the GT has at most {frames} maps "
            f"of {height}x{width}"
        )


def check_hdf5(pred: Path, gt: Path, limits: SubmissionLimits) -> None:
    """All HDF5 checks, reading metadata only (no label data, no pickles: h5py has none)."""
    if pred.stat().st_size > limits.max_total_bytes:
        raise reject(f"{pred.name} is larger than {mb(limits.max_total_bytes)}")
    try:
        with h5py.File(pred, "r") as f, h5py.File(gt, "r") as g:
            check_hdf5_links(f, limits)
            check_label_maps(f, g)
    except SubmissionRejectedError:
        raise
    except (OSError, KeyError, ValueError, TypeError, AttributeError) as err:
        raise reject(f"{pred.name}: unreadable HDF5 layout ({err})") from err


def is_hdf5(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(8) == HDF5_SIGNATURE


@contextlib.contextmanager
def prepared_submission(path: Path, gt: Path, limits: SubmissionLimits) -> Iterator[Path]:
    """The checked submission as a path ``vpsbench.evaluate`` can score.

    A zip is extracted, and a directory copied, into a private directory, so that nothing can
    change under the scorer after the checks.
    """
    try:
        mode = path.stat().st_mode  # the path itself is the operator's choice: follow it
    except OSError as err:
        raise reject(f"{path}: no such file or directory") from err
    if stat.S_ISDIR(mode):
        check_tree(path, limits)
        if (path / "pred.json").exists() or not (path / "submission.zip").exists():
            with PrivateDirectory() as tmp:
                shutil.copytree(path, tmp / "submission", symlinks=True)
                check_tree(tmp, limits)
                yield tmp / "submission"
            return
        path = path / "submission.zip"  # the official layout may ship the zip in a folder
    elif not stat.S_ISREG(mode):
        raise reject(f"{path.name} is not a regular file")
    if is_hdf5(path):
        check_hdf5(path, gt, limits)
        yield path
        return
    if not zipfile.is_zipfile(path):
        raise reject(f"{path.name} is not an HDF5 prediction, a zip or a submission directory")
    if path.stat().st_size > limits.max_total_bytes:
        raise reject(f"{path.name} is larger than {mb(limits.max_total_bytes)}")
    with PrivateDirectory() as tmp:
        extract_archive(path, tmp, limits)
        check_tree(tmp, limits)
        yield tmp


def score_submission(
    submission: str | Path,
    gt: str | Path,
    metrics: str | Sequence[str] | None = None,
    workers: int = 1,
    limits: SubmissionLimits | None = None,
) -> EvalResult:
    """Check an untrusted submission and score it against the GT with ``vpsbench.evaluate``."""
    from vpsbench.evaluation import evaluate

    gt_path = Path(gt)
    if not gt_path.is_file():
        raise FileNotFoundError(f"{gt_path}: no such GT file")
    try:
        limits = limits or SubmissionLimits()
        with prepared_submission(Path(submission), gt_path, limits) as ready:
            # The same limits again inside evaluate: pred.json size and PNG pixels.
            return evaluate(gt_path, ready, metrics=metrics, workers=workers, limits=limits)
    except SubmissionRejectedError:
        raise
    except Exception as err:  # any failure on untrusted input is a refusal, in one line
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise reject(message) from err


# --- the reproduced entry ---------------------------------------------------------------------


def git_commit() -> tuple[str | None, bool]:
    """(commit, dirty) of the vpsbench checkout that runs; (None, False) when not a checkout.

    Dirty means changed or untracked Python files: they change the code that scores, so the
    commit alone would not reproduce the entry. Other files do not count: scoring into the
    checkout's own leaderboard/entries rewrites tracked JSON, which must not mark the next
    entry dirty (three shipped entries were marked so that way).
    """
    repo = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        # An installed package inside some other repository (a venv in a project) is no checkout.
        if Path(git("rev-parse", "--show-toplevel")).resolve() != repo:
            return None, False
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=all", "--", "*.py")
    except (OSError, subprocess.SubprocessError):
        return None, False
    return commit, bool(changed)


def hardware() -> str:
    """CPU model and count, memory, OS and Python: enough to compare run times."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    return (
        f"{cpu} ({os.cpu_count()} logical CPUs){memory}, {platform.system()} "
        f"{platform.release()} {platform.machine()}, Python {platform.python_version()}"
    )


def metrics_from_summary(summary: dict) -> dict:
    """The headline scores of an evaluator summary, in the registry's metric keys."""
    out: dict = {name: headline_values(name, summary[name]) for name in METRICS if name in summary}
    if "vpq" in summary:  # VPQ also per window label k
        per_k = {k: {g: v.get(g) for g in GROUPS} for k, v in summary["vpq"]["k"].items()}
        out["vpq"] = {"k": per_k, **out["vpq"]}
    return json_safe(out)


def mean_metrics(runs: list[dict]) -> dict:
    """The element-wise mean of several runs' metrics (None where any run has none)."""
    first = runs[0]
    if isinstance(first, dict):
        keys = [k for k in first if all(isinstance(r, dict) and k in r for r in runs)]
        return {k: mean_metrics([r[k] for r in runs]) for k in keys}
    if any(v is None or isinstance(v, bool) for v in runs):
        return None
    return sum(float(v) for v in runs) / len(runs)


def score_command(
    submission: str | Path | Sequence[str | Path], gt: str | Path, info: RunInfo,
    metrics: str | Sequence[str] | None,
) -> str:  # fmt: skip
    """The ``vpsbench leaderboard score`` command line that gives the same entry."""
    paths = [submission] if isinstance(submission, str | Path) else list(submission)
    argv = ["vpsbench", "leaderboard", "score", *map(str, paths), "--gt", str(gt)]
    if info.split:
        argv += ["--split", info.split]
    argv += ["--method", info.method]
    if info.variant:
        argv += ["--variant", info.variant]
    if info.seeds:
        argv += ["--seed", *map(str, info.seeds)]
    elif info.seed is not None:
        argv += ["--seed", str(info.seed)]
    if metrics:
        argv += ["--metrics", metrics if isinstance(metrics, str) else ",".join(metrics)]
    return shlex.join(argv)


def default_entry_id(info: RunInfo, dataset: str, split: str) -> str:
    return info.entry_id or slug(info.method, info.variant, dataset, split, "reproduced")


def reproduced_entry(
    result: EvalResult,
    info: RunInfo,
    submission: str | Path,
    command: str,
    digest: GTDigest | None = None,
    gt_status: str = "verified",
) -> dict:
    """A validated ``reproduced`` entry for a scored submission; ``verified`` only when
    ``gt_status`` (from ``vpsbench_leaderboard.splits.check_gt``) says the GT is official."""
    inputs = result.summary["inputs"]
    commit, dirty = git_commit()
    split = info.split or inputs["split"]
    gt = {
        "file": Path(inputs["gt"]).name,
        "content_id": inputs.get("gt_content_id"),
        "videos": inputs.get("videos"),
        "frames": inputs.get("frames"),
    }
    if digest is not None:
        gt["labels_digest"] = digest.labels_digest
    if split != inputs["split"]:
        gt["split"] = inputs["split"]  # the GT's own split name, when ranked in another table
    source = {
        "type": "reproduced",
        "vpsbench_version": __version__,
        "command": command,
        "seed": info.seed,
        "commit": commit,
        "dirty": dirty,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "hardware": hardware(),
        "gt": gt,
        "submission": {
            "file": Path(submission).name,
            "format": inputs.get("pred_format"),
            "sha256": file_digest(Path(submission)),
        },
        "prediction_command": info.prediction_command,
    }
    entry = {
        "schema": SCHEMA_VERSION,
        "id": default_entry_id(info, inputs["dataset"], split),
        "method": info.method,
        "variant": info.variant,
        "dataset": inputs["dataset"],
        "split": split,
        "metrics": metrics_from_summary(result.summary),
        "protocol": result.summary.get("protocol", {}),
        "source": source,
        # computed here from the submission itself, and on the table's official GT
        "verified": gt_status == "verified",
    }
    if info.notes:
        entry["notes"] = info.notes
    return validate_entry(entry)


def gt_identity(gt: str | Path) -> tuple[str, str]:
    """(dataset, split) recorded in a GT file."""
    from vpsbench.format import VPSFile

    with VPSFile(gt) as f:
        return f.info.dataset, f.info.split


def check_run_info(info: RunInfo, dataset: str, split: str) -> None:
    """Refuse bad names before spending time on scoring."""
    skeleton = {
        "schema": SCHEMA_VERSION,
        "id": default_entry_id(info, dataset, split),
        "method": info.method,
        "variant": info.variant,
        "dataset": dataset,
        "split": split,
        "metrics": {"pq": {"all": 0.0}},
        "verified": True,
        "source": {
            "type": "reproduced",
            "vpsbench_version": __version__,
            "command": "-",
            "seed": info.seed,
            "commit": None,
            "date": "2000-01-01",
            "hardware": "-",
            "prediction_command": info.prediction_command,
        },
    }
    if info.notes:
        skeleton["notes"] = info.notes
    validate_entry(skeleton, "the entry to add")


def submit(
    submission: str | Path | Sequence[str | Path],
    gt: str | Path,
    info: RunInfo,
    registry: str | Path | None = None,
    replace: bool = False,
    metrics: str | Sequence[str] | None = None,
    workers: int = 1,
    limits: SubmissionLimits | None = None,
    add_to_existing: bool = False,
) -> tuple[Path, dict, EvalResult]:
    """Score a submission and add its ``reproduced`` entry to ``registry`` (else
    ``$VPSBENCH_REGISTRY``); the registry changes only on success.

    Several submissions (one per seed, ``info.seeds``) make one entry whose metrics are the
    mean over the runs, each run's scores kept in ``source.runs``. ``info.split`` names the
    table; a GT that is not the official GT of an official table is refused
    (``GTMismatchError``) before anything is scored.
    """
    single = isinstance(submission, str | Path)
    paths = [Path(submission)] if single else [Path(p) for p in submission]
    if len(paths) > 1 and len(info.seeds) != len(paths):
        raise ValueError(f"{len(paths)} submissions need {len(paths)} seeds (--seed S1 S2 ...)")
    if not Path(gt).is_file():
        raise FileNotFoundError(f"{gt}: no such GT file")
    registry = writable_registry(registry)
    dataset, gt_split = gt_identity(gt)
    split = info.split or gt_split
    check_run_info(info, dataset, split)
    entry_id = default_entry_id(info, dataset, split)
    if add_to_existing:
        old = next((e for e in load_entries(registry) if e["id"] == entry_id), None)
        if old is None:
            raise ValueError(f"--add-run: no entry {entry_id!r} in {registry} to add the run to")
    else:
        check_can_add(registry, entry_id, replace)
    digest = gt_digest(gt)
    status = check_gt(digest, split)
    results = [score_submission(p, gt, metrics, workers, limits) for p in paths]
    command = score_command(paths if len(paths) > 1 else paths[0], gt, info, metrics)
    entry = reproduced_entry(results[0], info, paths[0], command, digest, status)
    if len(paths) > 1:
        entry = with_runs(entry, results, paths, info.seeds)
    if add_to_existing:
        entry = add_run(old, entry)
    return add_entry(entry, registry, replace or add_to_existing), entry, results[0]


def existing_runs(entry: dict) -> list[dict]:
    """The runs an entry holds: its ``source.runs``, or its single run (seed, submission,
    metrics) for a one-seed entry."""
    source = entry["source"]
    if source.get("runs"):
        return list(source["runs"])
    if source.get("seed") is None or "submission" not in source:
        raise ValueError(f"entry {entry['id']!r} has no seed or submission to keep as a run")
    return [
        {"seed": source["seed"], "submission": source["submission"], "metrics": entry["metrics"]}
    ]


def add_run(old: dict, new: dict) -> dict:
    """``old`` with the single run of ``new`` added (same table, method, variant and GT): the
    mean over all runs, each run's seed, submission and scores in ``source.runs``."""
    for key in ("dataset", "split", "method", "variant"):
        if old.get(key) != new.get(key):
            raise ValueError(
                f"--add-run: the entry's {key} is {old.get(key)!r}, this run's {new.get(key)!r}"
            )
    if old["source"].get("gt") != new["source"].get("gt"):
        raise ValueError("--add-run: this run was scored on another GT than the entry")
    runs = existing_runs(old) + existing_runs(new)
    seeds = [run["seed"] for run in runs]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"--add-run: seed {seeds[-1]} is already in entry {old['id']!r}")
    source = {k: v for k, v in new["source"].items() if k != "submission"}
    source.update(
        seed=None, runs=runs, command=f"{old['source']['command']} && {new['source']['command']}"
    )
    metrics = json_safe(mean_metrics([run["metrics"] for run in runs]))
    return validate_entry({**new, "metrics": metrics, "source": source})


def with_runs(
    entry: dict, results: list[EvalResult], paths: list[Path], seeds: Sequence[int]
) -> dict:
    """The entry of several runs: mean metrics, and each run's seed, submission and scores."""
    runs = []
    for result, path, seed in zip(results, paths, seeds, strict=True):
        runs.append({
            "seed": int(seed),
            "submission": {
                "file": path.name,
                "format": result.summary["inputs"].get("pred_format"),
                "sha256": file_digest(path),
            },
            "metrics": metrics_from_summary(result.summary),
        })  # fmt: skip
    source = {k: v for k, v in entry["source"].items() if k != "submission"}
    source["seed"] = None
    source["runs"] = runs
    metrics = json_safe(mean_metrics([run["metrics"] for run in runs]))
    return validate_entry({**entry, "metrics": metrics, "source": source})
