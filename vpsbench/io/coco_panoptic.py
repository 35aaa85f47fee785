"""Image PQ on COCO-panoptic files, as panopticapi's ``pq_compute`` computes it.

The layout (cocodataset.org/#format-data, "Panoptic Segmentation"): a JSON with
``"annotations"`` (one per image: ``image_id``, ``file_name`` of its PNG, ``segments_info``
``[{"id", "category_id", "iscrowd", "area", "bbox"}]``) and, for the GT, ``"categories"``
(``id``, ``isthing``, ...), plus a folder of 8-bit RGB PNGs whose pixels hold segment ids
``R + 256 G + 256² B`` (0 = void / no segment).

Each image pair is reduced to vpsbench's pair histogram (``vpsbench.metrics.core``) and matched
by ``vpsbench.metrics.pq.match_segments``, the rules of panopticapi's
``pq_compute_single_core``; the segment ids become panoptic values so that the matching sees
what panopticapi sees:

* a GT segment (listed in the GT JSON) with a known category is ``position * D + k``
  (``position`` in the category list, ``k`` its place in ``segments_info``, from 1); its area is
  the JSON ``area`` (panopticapi's union), the PNG count where the JSON gives none. One listed
  but absent from the PNG is still a false negative.
* crowd: panopticapi never matches nor misses a crowd segment, and an unmatched prediction is
  not a false positive when more than half of it lies on void plus the crowd segment of its
  category that is listed *last*. So the last crowd segment of each category is
  ``position * D`` (instance 0: every category is a "thing" of the label space here, so
  instance 0 is crowd, stuff included), and every other pixel panopticapi never matches, never
  misses and never counts as void or crowd (earlier crowd segments of a category, GT segments
  of a category not in ``categories``, PNG ids the GT JSON does not list) goes to the crowd
  value of one extra, unreported category.
* GT id 0 is void; prediction id 0 is "no segment".

Checked (panopticapi raises on the prediction checks too): every prediction PNG id but 0 is
listed in the prediction JSON, every listed id is in the PNG, every predicted category is in the
GT categories, every GT image has a prediction and both PNGs exist, decode as 8-bit RGB and have
one size. Errors are ``CocoPanopticError`` with one line naming the file, image and segment.
"""

from __future__ import annotations

import json
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image
from tqdm import tqdm

from vpsbench.io.submission import PNG_COLOUR_TYPES, PNG_SIGNATURE, json_int_problem, rgb_to_id
from vpsbench.metrics.core import LabelSpace, PairHistogram, pair_histogram, sum_histograms
from vpsbench.metrics.pq import ClassCounts, match_segments
from vpsbench.parallel import ordered_map, worker_context
from vpsbench.report.panopticapi import CategoryStat, pq_results

MAX_ID = 2**24 - 1  # the largest R + 256 G + 65536 B


class CocoPanopticError(ValueError):
    """The COCO-panoptic files cannot be scored as they are; the message says what to fix."""


@dataclass(frozen=True)
class GtSegment:
    """One GT ``segments_info`` entry: id, category position (-1: not in ``categories``),
    crowd, and the JSON area (None when not given)."""

    id: int
    position: int
    iscrowd: bool
    area: float | None


@dataclass(frozen=True)
class ImageTask:
    """Everything one worker needs to score one image."""

    image_id: int | str
    gt_png: Path
    pred_png: Path
    gt_segments: tuple[GtSegment, ...]
    pred_segments: tuple[tuple[int, int], ...]  # (id, category position)
    num_categories: int


def pq_compute(
    gt_json_file: str | Path,
    pred_json_file: str | Path,
    gt_folder: str | Path | None = None,
    pred_folder: str | Path | None = None,
    *,
    workers: int = 1,
    progress: bool = False,
) -> dict:
    """panopticapi's ``pq_compute``: the same arguments (a folder defaults to its JSON's path
    without ``.json``) and the same result, ``{"All": {"pq", "sq", "rq", "n"}, "per_class":
    {category_id: {"pq", "sq", "rq"}}, "Things": ..., "Stuff": ...}`` as fractions.

    Nothing is printed (``vpsbench.report.panopticapi.format_table`` gives panopticapi's
    table); ``workers`` processes score the images.
    """
    gt_json_file, pred_json_file = Path(gt_json_file), Path(pred_json_file)
    gt_folder = Path(gt_folder) if gt_folder is not None else default_folder(gt_json_file)
    pred_folder = Path(pred_folder) if pred_folder is not None else default_folder(pred_json_file)
    gt = load_json(gt_json_file, "GT")
    pred = load_json(pred_json_file, "prediction")
    for folder, what in ((gt_folder, "GT"), (pred_folder, "prediction")):
        if not folder.is_dir():
            raise CocoPanopticError(
                f"{what} folder {folder} does not exist; give the folder of the {what} PNGs"
            )
    categories = parse_categories(gt, gt_json_file.name)
    tasks = image_tasks(gt, pred, categories, gt_json_file, pred_json_file, gt_folder, pred_folder)
    total = ClassCounts.zeros(len(categories) + 1)
    for counts in iter_counts(tasks, workers, progress):
        total += counts
    n = len(categories)  # the last position, the unreported category, is left out
    stats = zip(
        total.iou[:n].tolist(), total.tp[:n].tolist(), total.fp[:n].tolist(),
        total.fn[:n].tolist(), strict=True,
    )  # fmt: skip
    return pq_results(
        CategoryStat(cat_id, isthing, *counts)
        for (cat_id, isthing), counts in zip(categories, stats, strict=True)
    )


def default_folder(json_file: Path) -> Path:
    """panopticapi's default: the JSON's path without ``.json`` (``panoptic_val2017.json`` ->
    ``panoptic_val2017``)."""
    return Path(str(json_file).replace(".json", ""))


def load_json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise CocoPanopticError(f"{what} JSON {path}: no such file")
    try:
        data = json.loads(path.read_bytes())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise CocoPanopticError(f"{what} JSON {path} is not valid JSON: {err}") from err
    if not isinstance(data, dict) or not isinstance(data.get("annotations"), list):
        raise CocoPanopticError(
            f'{what} JSON {path} must be an object with an "annotations" list (COCO panoptic)'
        )
    return data


def parse_categories(gt: dict, name: str) -> list[tuple[int, bool]]:
    """(id, isthing) of every GT category, in the JSON's order."""
    listed = gt.get("categories")
    if not isinstance(listed, list):
        raise CocoPanopticError(
            f'{name} has no "categories" list; the GT JSON gives the categories '
            '([{"id", "name", "isthing", ...}])'
        )
    out: list[tuple[int, bool]] = []
    seen: set[int] = set()
    for i, cat in enumerate(listed):
        at = f"{name}: categories[{i}]"
        if not isinstance(cat, dict) or "id" not in cat or "isthing" not in cat:
            raise CocoPanopticError(f"{at} needs an id and isthing (0 or 1)")
        problem = json_int_problem(cat["id"])
        if problem:
            raise CocoPanopticError(f"{at}: id {problem}; write it as a JSON integer")
        if cat["isthing"] not in (0, 1):  # true/false equal 1/0, as in panopticapi
            raise CocoPanopticError(f"{at}: isthing is {json.dumps(cat['isthing'])}, not 0 or 1")
        if cat["id"] in seen:
            raise CocoPanopticError(f"{at}: category id {cat['id']} is listed twice")
        seen.add(cat["id"])
        out.append((cat["id"], cat["isthing"] == 1))
    return out


def image_key(annotation: dict, at: str) -> int | str:
    image_id = annotation.get("image_id")
    if isinstance(image_id, bool) or not isinstance(image_id, (int, str)):
        raise CocoPanopticError(f"{at}: image_id must be a JSON integer or string")
    return image_id


def png_path(folder: Path, annotation: dict, at: str) -> Path:
    """The annotation's PNG in ``folder``; a file name that leaves the folder is refused."""
    name = annotation.get("file_name")
    if not isinstance(name, str) or not name:
        raise CocoPanopticError(f"{at}: file_name (the PNG's name in its folder) is missing")
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if PurePosixPath(name).is_absolute() or ".." in parts:
        raise CocoPanopticError(f"{at}: file_name {name!r} leaves the PNG folder")
    return folder / name


def segments(annotation: dict, at: str) -> list[dict]:
    """The annotation's ``segments_info``, with integer ids in 1..2^24-1 listed once."""
    listed = annotation.get("segments_info")
    if not isinstance(listed, list) or not all(
        isinstance(s, dict) and "id" in s and "category_id" in s for s in listed
    ):
        raise CocoPanopticError(f"{at} needs segments_info: a list of {{id, category_id, ...}}")
    seen: set[int] = set()
    for j, seg in enumerate(listed):
        where = f"{at} segments_info[{j}]"
        for key in ("id", "category_id"):
            problem = json_int_problem(seg[key])
            if problem:
                raise CocoPanopticError(f"{where}: {key} {problem}; write it as a JSON integer")
        if seg["id"] == 0:
            raise CocoPanopticError(
                f"{where}: id 0 is listed, but id 0 (black) is void in COCO panoptic PNGs; "
                "remove it from segments_info"
            )
        if not 0 < seg["id"] <= MAX_ID:
            raise CocoPanopticError(
                f"{where}: id {seg['id']} is outside 1..{MAX_ID}, the ids an RGB PNG can hold"
            )
        if seg["id"] in seen:
            raise CocoPanopticError(f"{where}: segment id {seg['id']} is listed twice")
        seen.add(seg["id"])
    return listed


def gt_segment(seg: dict, positions: dict[int, int], where: str) -> GtSegment:
    crowd = seg.get("iscrowd", 0)
    if crowd not in (0, 1):
        raise CocoPanopticError(f"{where}: iscrowd is {json.dumps(crowd)}, not 0 or 1")
    area = seg.get("area")
    if area is not None and (
        isinstance(area, bool) or not isinstance(area, (int, float)) or not area >= 0
    ):
        raise CocoPanopticError(f"{where}: area is {json.dumps(area)}, not a pixel count")
    return GtSegment(seg["id"], positions.get(seg["category_id"], -1), crowd == 1, area)


def image_tasks(
    gt: dict,
    pred: dict,
    categories: list[tuple[int, bool]],
    gt_json: Path,
    pred_json: Path,
    gt_folder: Path,
    pred_folder: Path,
) -> list[ImageTask]:
    """One task per GT annotation, paired with the prediction of its image id (predictions of
    other images are not scored, as in panopticapi)."""
    positions = {cat_id: i for i, (cat_id, _) in enumerate(categories)}
    predictions: dict[int | str, tuple[int, dict]] = {}
    for i, annotation in enumerate(pred["annotations"]):
        at = f"{pred_json.name}: annotations[{i}]"
        if not isinstance(annotation, dict):
            raise CocoPanopticError(f"{at} is not an object")
        key = image_key(annotation, at)
        if key in predictions:
            raise CocoPanopticError(
                f"{at}: image {key!r} is predicted twice (also annotations[{predictions[key][0]}])"
            )
        predictions[key] = (i, annotation)
    tasks = []
    seen: set[int | str] = set()
    for i, annotation in enumerate(gt["annotations"]):
        at = f"{gt_json.name}: annotations[{i}]"
        if not isinstance(annotation, dict):
            raise CocoPanopticError(f"{at} is not an object")
        key = image_key(annotation, at)
        if key in seen:
            raise CocoPanopticError(f"{at}: image {key!r} is annotated twice")
        seen.add(key)
        at = f"{at} (image {key!r})"
        gt_segs = tuple(
            gt_segment(seg, positions, f"{at} segments_info[{j}]")
            for j, seg in enumerate(segments(annotation, at))
        )
        if key not in predictions:
            raise CocoPanopticError(
                f"no prediction for image {key!r} in {pred_json.name}: every GT image needs an "
                "annotation with its image_id"
            )
        j, pred_annotation = predictions[key]
        pred_at = f"{pred_json.name}: annotations[{j}] (image {key!r})"
        pred_segs = []
        for k, seg in enumerate(segments(pred_annotation, pred_at)):
            if seg["category_id"] not in positions:
                raise CocoPanopticError(
                    f"{pred_at} segments_info[{k}]: segment {seg['id']} has category_id "
                    f"{seg['category_id']}, which is not in the categories of {gt_json.name}"
                )
            pred_segs.append((seg["id"], positions[seg["category_id"]]))
        tasks.append(
            ImageTask(
                key,
                png_path(gt_folder, annotation, at),
                png_path(pred_folder, pred_annotation, pred_at),
                gt_segs,
                tuple(pred_segs),
                len(categories),
            )
        )
    return tasks


def iter_counts(tasks: list[ImageTask], workers: int, progress: bool):
    """Per-image counts in task order, computed in ``workers`` processes."""
    bar = tqdm(total=len(tasks), desc="scoring images", unit="image", disable=not progress)
    chunk = max(1, min(64, len(tasks) // (4 * max(workers, 1))))
    context = worker_context([__name__])
    with bar:
        for counts in ordered_map(image_counts, tasks, workers, context, chunk=chunk):
            yield counts
            bar.update()


def image_counts(task: ImageTask) -> ClassCounts:
    """TP/FP/FN and IoU sums of one image, per category position (the last one: unreported)."""
    gt_ids = read_id_png(task.gt_png, "GT", task.image_id)
    pred_ids = read_id_png(task.pred_png, "prediction", task.image_id)
    if gt_ids.shape != pred_ids.shape:
        raise CocoPanopticError(
            f"image {task.image_id!r}: prediction {task.pred_png.name} is "
            f"{pred_ids.shape[1]}x{pred_ids.shape[0]}, GT {task.gt_png.name} is "
            f"{gt_ids.shape[1]}x{gt_ids.shape[0]}"
        )
    hist = pair_histogram(gt_ids, pred_ids)
    gt_png_ids = np.unique(hist.gt)
    pred_png_ids = np.unique(hist.pred)
    check_prediction_ids(task, pred_png_ids)

    c = task.num_categories  # positions 0..c-1; c: the unreported category; c + 1: void
    divisor = max(len(task.gt_segments), len(task.pred_segments)) + 1
    space = LabelSpace(divisor, c + 1, tuple(range(c + 1)), frozenset(range(c + 1)))
    unreported = c * divisor
    last_crowd = {s.position: s.id for s in task.gt_segments if s.iscrowd and s.position >= 0}
    gt_value = {0: space.void}
    for k, seg in enumerate(task.gt_segments, start=1):
        if seg.position < 0 or (seg.iscrowd and last_crowd[seg.position] != seg.id):
            gt_value[seg.id] = unreported
        else:
            gt_value[seg.id] = seg.position * divisor + (0 if seg.iscrowd else k)
    pred_value = {0: space.void}
    for k, (seg_id, position) in enumerate(task.pred_segments, start=1):
        pred_value[seg_id] = position * divisor + k

    values = PairHistogram(
        remap(hist.gt, gt_png_ids, [gt_value.get(i, unreported) for i in gt_png_ids.tolist()]),
        remap(hist.pred, pred_png_ids, [pred_value[i] for i in pred_png_ids.tolist()]),
        hist.count,
    )
    values = sum_histograms([values], merge_single=True)  # unreported ids merge into one
    areas = listed_gt_areas(task.gt_segments, values, gt_value, unreported)
    return match_segments(values, space, gt_areas=areas)


def remap(ids: np.ndarray, present: np.ndarray, new: list[int]) -> np.ndarray:
    """Each id replaced by ``new[i]`` where ``present[i]`` is the id (``present`` sorted)."""
    return np.asarray(new, np.int64)[np.searchsorted(present, ids)]


def listed_gt_areas(
    gt_segments: tuple[GtSegment, ...],
    values: PairHistogram,
    gt_value: dict[int, int],
    unreported: int,
) -> tuple[np.ndarray, np.ndarray]:
    """GT areas as panopticapi takes them: the JSON ``area`` of each listed segment (the PNG
    count where none is given; a listed segment with no pixel included), the PNG count of the
    rest (void, the unreported category)."""
    present, counted = values.gt_areas()
    areas = dict(zip(present.tolist(), counted.tolist(), strict=True))
    for seg in gt_segments:
        value = gt_value[seg.id]
        if value == unreported:
            continue
        if seg.area is not None:
            areas[value] = seg.area
        else:
            areas.setdefault(value, 0)
    keys = sorted(areas)
    dtype = np.float64 if any(isinstance(areas[k], float) for k in keys) else np.int64
    return np.asarray(keys, np.int64), np.asarray([areas[k] for k in keys], dtype)


def check_prediction_ids(task: ImageTask, in_png_ids: np.ndarray) -> None:
    """panopticapi's checks: each PNG id but 0 listed in the JSON, each listed id in the PNG."""
    in_png = set(in_png_ids.tolist()) - {0}
    listed = {seg_id for seg_id, _ in task.pred_segments}
    extra = sorted(in_png - listed)
    if extra:
        raise CocoPanopticError(
            f"image {task.image_id!r}: segment id {extra[0]} is in the prediction PNG "
            f"{task.pred_png.name} but not in its segments_info"
            + (f" ({len(extra)} such ids)" if len(extra) > 1 else "")
            + "; list it with its category_id, or paint its pixels 0 (no segment)"
        )
    missing = sorted(listed - in_png)
    if missing:
        raise CocoPanopticError(
            f"image {task.image_id!r}: segment id {missing[0]} is in the prediction's "
            f"segments_info but not in its PNG {task.pred_png.name}"
            + (f" ({len(missing)} such ids)" if len(missing) > 1 else "")
            + "; remove it from segments_info (or the PNG has the wrong colours)"
        )


def read_id_png(path: Path, what: str, image_id: int | str) -> np.ndarray:
    """Segment ids ``R + 256 G + 65536 B`` of an 8-bit RGB PNG (uint32)."""
    where = f"image {image_id!r}: {what} PNG {path}"
    try:
        with open(path, "rb") as f:
            head = f.read(26)
    except FileNotFoundError:
        raise CocoPanopticError(
            f"{where} does not exist; the annotation's file_name names a PNG in the {what} folder"
        ) from None
    except OSError as err:
        raise CocoPanopticError(f"{where} cannot be read: {err}") from err
    if not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        raise CocoPanopticError(f"{where} is not a PNG file; save the id map as an 8-bit RGB PNG")
    depth, colour = struct.unpack(">BB", head[24:26])
    if (depth, colour) != (8, 2):
        kind = PNG_COLOUR_TYPES.get(colour, f"colour type {colour}")
        raise CocoPanopticError(
            f"{where} is a {depth}-bit {kind} PNG; segment ids are R + 256 G + 65536 B of an "
            "8-bit RGB PNG (PIL mode 'RGB', no alpha, no palette)"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path, formats=["PNG"]) as img:
                if img.mode != "RGB":  # the header said 8-bit RGB: cannot happen
                    raise CocoPanopticError(f"{where} decodes as mode {img.mode}")
                rgb = np.asarray(img)
    except CocoPanopticError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as err:
        raise CocoPanopticError(f"{where}: refusing a possible decompression bomb ({err})") from err
    except (OSError, SyntaxError, ValueError, zlib.error) as err:
        raise CocoPanopticError(f"{where} cannot be decoded as PNG: {err}; re-save it") from err
    return rgb_to_id(rgb)
