"""Validator of the unified format contract: every problem found, each with its location."""

from __future__ import annotations

import datetime as _dt
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import h5py
import numpy as np

from vpsbench.format import schema
from vpsbench.format.reader import (
    FormatError,
    VPSFile,
    attr_str,
    read_categories,
    read_protocol,
    read_strings,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"

REQUIRED_ROOT_ATTRS = {
    "format": str,
    "format_version": str,
    "kind": str,
    "dataset": str,
    "split": str,
    "label_divisor": int,
    "ignore_label": int,
    "source": str,
    "tool_version": str,
    "created": str,
    "content_id": str,
}
PREDICTION_ROOT_ATTRS = ("gt_dataset", "gt_split", "gt_file", "gt_content_id")


@dataclass(frozen=True)
class Problem:
    """One violation of the contract: which check, where in the file, and what is wrong;
    ``file``: which of the two files of ``validate_pair`` (empty: the file checked)."""

    check: str
    location: str
    message: str
    file: str = ""

    def __str__(self) -> str:
        return f"{self.location}: [{self.check}] {self.message}"


def _attr_type_ok(value: object, kind: type) -> bool:
    if kind is int:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    return isinstance(value, (str, bytes))


def check_root_attrs(file: h5py.File) -> Iterator[Problem]:
    """Required root attributes exist with the right types and values."""
    attrs = file.attrs
    for key, kind in REQUIRED_ROOT_ATTRS.items():
        if key not in attrs:
            yield Problem("root_attrs", "/", f"missing root attribute {key!r}")
        elif not _attr_type_ok(attrs[key], kind):
            yield Problem("root_attrs", "/", f"attribute {key!r} must be {kind.__name__}")
    version = attr_str(attrs, "format_version")
    if version and version.split(".")[0] != schema.FORMAT_VERSION.split(".")[0]:
        yield Problem(
            "format_version",
            "/",
            f"format_version {version} is not readable by this "
            f"vpsbench (supports {schema.FORMAT_VERSION.split('.')[0]}.x)",
        )
    kind = attr_str(attrs, "kind")
    if "kind" in attrs and kind not in schema.KINDS:
        yield Problem("root_attrs", "/", f"kind must be one of {schema.KINDS}, got {kind!r}")
    if int(attrs.get("label_divisor", 1)) <= 0:
        yield Problem("root_attrs", "/", "label_divisor must be positive")
    if int(attrs.get("ignore_label", 0)) < 0:
        yield Problem("root_attrs", "/", "ignore_label must be non-negative")
    created = attr_str(attrs, "created")
    if created:
        try:
            _dt.datetime.fromisoformat(created)
        except ValueError:
            yield Problem("root_attrs", "/", f"created={created!r} is not an ISO 8601 time")
    identity = attr_str(attrs, "tube_identity", schema.TUBE_IDENTITY_PANOPTIC)
    if identity not in schema.TUBE_IDENTITIES:
        yield Problem(
            "root_attrs",
            "/",
            f"tube_identity must be one of {schema.TUBE_IDENTITIES}, got {identity!r}",
        )
    if kind == schema.KIND_PREDICTION:
        for key in PREDICTION_ROOT_ATTRS:
            if key not in attrs:
                yield Problem("root_attrs", "/", f"a prediction file needs attribute {key!r}")


def check_categories(file: h5py.File, ignore_label: int) -> Iterator[Problem]:
    """The category table is complete, consistent and does not use the ignore label."""
    loc = f"/{schema.CATEGORIES}"
    if schema.CATEGORIES not in file:
        yield Problem("categories", loc, "missing category table")
        return
    group = file[schema.CATEGORIES]
    missing = [f for f in schema.CATEGORY_FIELDS if f not in group]
    if missing:
        yield Problem("categories", loc, f"missing fields {missing}")
        return
    lengths = {f: group[f].shape[0] for f in schema.CATEGORY_FIELDS}
    if len(set(lengths.values())) != 1:
        yield Problem("categories", loc, f"fields have different lengths {lengths}")
        return
    if group["color"].shape[1:] != (3,) or group["color"].dtype != np.uint8:
        yield Problem("categories", f"{loc}/color", "color must be uint8 with shape (N, 3)")
    ids = group["id"][()]
    if len(np.unique(ids)) != len(ids):
        yield Problem("categories", f"{loc}/id", "category ids are not unique")
    if np.any(ids < 0) or ignore_label in set(ids.tolist()):
        yield Problem("categories", f"{loc}/id", "ids must be >= 0 and != ignore_label")
    if not set(np.unique(group["isthing"][()]).tolist()) <= {0, 1}:
        yield Problem("categories", f"{loc}/isthing", "isthing must be 0 or 1")
    source_json = group.attrs.get("source_json")
    if source_json is not None:
        try:
            json.loads(source_json)
        except (TypeError, ValueError):
            yield Problem("categories", f"{loc}@source_json", "source_json is not valid JSON")


def check_protocol(file: h5py.File, category_ids: set[int]) -> Iterator[Problem]:
    """Evaluation protocol attributes: required in ground truth, well formed where present."""
    loc = f"/{schema.PROTOCOL}"
    if schema.PROTOCOL not in file:
        if attr_str(file.attrs, "kind") == schema.KIND_GROUNDTRUTH:
            yield Problem("protocol", loc, "a ground-truth file needs a /protocol group")
        return
    try:
        protocol = read_protocol(file)
    except (KeyError, ValueError, TypeError) as err:
        yield Problem("protocol", loc, f"unreadable protocol: {err}")
        return
    sizes = protocol.vpq_window_sizes
    if not sizes or min(sizes) < 1 or list(sizes) != sorted(set(sizes)):
        yield Problem("protocol", loc, f"vpq_window_sizes must be increasing positive: {sizes}")
    if protocol.min_tube_area < 0:
        yield Problem("protocol", loc, "min_tube_area must be >= 0")
    lengths = list(protocol.vc_clip_lengths)
    if lengths != sorted(set(lengths)):
        yield Problem("protocol", loc, f"vc_clip_lengths must be increasing: {lengths}")
    unknown = set(protocol.excluded_category_ids) - category_ids
    if unknown:
        yield Problem(
            "protocol", loc, f"excluded_category_ids not in categories: {sorted(unknown)}"
        )


def check_video_index(file: h5py.File) -> Iterator[Problem]:
    """``/video_ids`` lists exactly the video groups, once each."""
    if schema.VIDEO_IDS not in file or schema.VIDEOS not in file:
        yield Problem("video_index", "/", "missing /video_ids or /videos")
        return
    listed = read_strings(file[schema.VIDEO_IDS])
    if len(set(listed)) != len(listed):
        yield Problem("video_index", f"/{schema.VIDEO_IDS}", "duplicate video ids")
    groups = set(file[schema.VIDEOS].keys())
    if set(listed) != groups:
        yield Problem(
            "video_index",
            f"/{schema.VIDEO_IDS}",
            f"listed but absent: {sorted(set(listed) - groups)[:5]}; "
            f"present but unlisted: {sorted(groups - set(listed))[:5]}",
        )


def check_frame_table(group: h5py.Group, loc: str) -> Iterator[Problem]:
    """Frame table fields exist, agree in length, are in temporal order with unique stems."""
    if schema.FRAMES not in group:
        yield Problem("frames", loc, "missing frame table")
        return
    frames = group[schema.FRAMES]
    missing = [f for f in schema.FRAME_FIELDS if f not in frames]
    if missing:
        yield Problem("frames", f"{loc}/frames", f"missing fields {missing}")
        return
    fields = [*schema.FRAME_FIELDS, *(["meta"] if "meta" in frames else [])]
    lengths = {f: frames[f].shape[0] for f in fields}
    if len(set(lengths.values())) != 1 or lengths["stem"] == 0:
        yield Problem(
            "frames", f"{loc}/frames", f"fields must be non-empty, same length: {lengths}"
        )
        return
    order = frames["source_frame"][()]
    bad = np.flatnonzero(np.diff(order) <= 0)
    if len(bad):
        yield Problem(
            "frame_order",
            f"{loc}/frames/source_frame[{bad[0] + 1}]",
            f"source_frame must strictly increase ({order[bad[0]]} then {order[bad[0] + 1]})",
        )
    stems = read_strings(frames["stem"])
    if len(set(stems)) != len(stems) or "" in stems:
        yield Problem("frames", f"{loc}/frames/stem", "stems must be unique and non-empty")
    if not set(np.unique(frames["annotated"][()]).tolist()) <= {0, 1}:
        yield Problem("frames", f"{loc}/frames/annotated", "annotated must be 0 or 1")
    if "meta" in frames:
        for i, text in enumerate(read_strings(frames["meta"])):
            try:
                json.loads(text)
            except ValueError:
                yield Problem("frames", f"{loc}/frames/meta[{i}]", "meta is not valid JSON")
                break


def check_video_arrays(group: h5py.Group, loc: str) -> Iterator[Problem]:
    """Panoptic dataset shape/dtype/chunking and image entries agree with the frame table."""
    height, width = int(group.attrs.get("height", 0)), int(group.attrs.get("width", 0))
    if height <= 0 or width <= 0:
        yield Problem("video_attrs", loc, "height and width attributes must be positive")
        return
    annotated = group[schema.FRAMES]["annotated"][()]
    num_annotated, num_frames = int(annotated.sum()), len(annotated)
    if schema.PANOPTIC in group:
        ds = group[schema.PANOPTIC]
        if ds.dtype != np.int32:
            yield Problem(
                "panoptic_dtype", f"{loc}/panoptic", f"dtype must be int32, is {ds.dtype}"
            )
        if ds.shape != (num_annotated, height, width):
            yield Problem(
                "panoptic_shape",
                f"{loc}/panoptic",
                f"shape {ds.shape} != ({num_annotated} annotated frames, {height}, {width})",
            )
        if ds.chunks is not None and ds.chunks[0] != 1:
            yield Problem("panoptic_chunks", f"{loc}/panoptic", "chunks must hold one frame")
    elif num_annotated:
        yield Problem("panoptic_shape", loc, f"{num_annotated} annotated frames but no panoptic")
    if schema.IMAGES in group:
        yield from check_images(group[schema.IMAGES], f"{loc}/images", num_frames, (height, width))


def check_images(
    ds: h5py.Dataset, loc: str, num_frames: int, size: tuple[int, int]
) -> Iterator[Problem]:
    """Each stored image is PNG or JPEG of the video's size (headers only, nothing decoded)."""
    from PIL import Image

    if ds.shape != (num_frames,):
        yield Problem("images", loc, f"shape {ds.shape} != ({num_frames},)")
        return
    for i in range(num_frames):
        data = ds[i].tobytes()
        if not data:
            continue
        if not (data.startswith(PNG_SIGNATURE) or data.startswith(JPEG_SIGNATURE)):
            yield Problem("images", f"{loc}[{i}]", "not PNG or JPEG bytes")
            continue
        try:
            with Image.open(io.BytesIO(data)) as img:
                wh = img.size
        except Exception as err:  # PIL raises many types for broken headers
            yield Problem("images", f"{loc}[{i}]", f"unreadable image header: {err}")
            continue
        if (wh[1], wh[0]) != size:
            yield Problem("images", f"{loc}[{i}]", f"image is {wh[1]}x{wh[0]}, video is {size}")


@dataclass
class LabelRules:
    """What a valid panoptic value is, derived once from the file's root and category table."""

    divisor: int
    ignore_label: int
    thing_ids: np.ndarray
    stuff_ids: np.ndarray
    is_groundtruth: bool
    instance_tubes: bool = False


def check_label_values(values: np.ndarray, rules: LabelRules, loc: str) -> Iterator[Problem]:
    """Distinct panoptic values of one frame are valid: known class, void exact, stuff inst 0."""
    if values.size and values.min() < 0:
        yield Problem("label_values", loc, f"negative panoptic value {values.min()}")
        values = values[values >= 0]
    semantic, instance = values // rules.divisor, values % rules.divisor
    void = semantic == rules.ignore_label
    if np.any(void & (instance != 0)):
        yield Problem(
            "void_label", loc, f"void pixels must be exactly {rules.ignore_label * rules.divisor}"
        )
    known = np.isin(semantic, rules.thing_ids) | np.isin(semantic, rules.stuff_ids) | void
    if not known.all():
        yield Problem(
            "label_category",
            loc,
            f"unknown semantic ids {np.unique(semantic[~known])[:10].tolist()}",
        )
    stuff_with_instance = np.isin(semantic, rules.stuff_ids) & (instance != 0)
    if stuff_with_instance.any():
        yield Problem(
            "stuff_instance",
            loc,
            f"stuff classes must have instance 0: {values[stuff_with_instance][:5].tolist()}",
        )


def check_video_labels(group: h5py.Group, loc: str, rules: LabelRules) -> Iterator[Problem]:
    """Every annotated frame's values are valid; in GT, one category per instance per video."""
    if schema.PANOPTIC not in group:
        return
    ds = group[schema.PANOPTIC]
    instance_category: dict[int, int] = {}
    for row in range(ds.shape[0]):
        values = np.unique(ds[row])
        yield from check_label_values(values, rules, f"{loc}/panoptic[{row}]")
        things = values[np.isin(values // rules.divisor, rules.thing_ids)]
        if rules.instance_tubes:
            yield from check_one_category_per_tube(things, rules.divisor, f"{loc}/panoptic[{row}]")
        for value in things[things % rules.divisor != 0].tolist():
            inst, cat = value % rules.divisor, value // rules.divisor
            if instance_category.setdefault(inst, cat) != cat and rules.is_groundtruth:
                yield Problem(
                    "instance_category",
                    f"{loc}/panoptic[{row}]",
                    f"instance {inst} is category {cat} here, {instance_category[inst]} earlier",
                )
    if schema.TRACKS in group:
        yield from check_tracks(group[schema.TRACKS], f"{loc}/tracks", instance_category)


def check_one_category_per_tube(things: np.ndarray, divisor: int, loc: str) -> Iterator[Problem]:
    """With tube_identity "instance", an instance id is one segment per frame (one category)."""
    instances = things[things % divisor != 0] % divisor
    uniq, counts = np.unique(instances, return_counts=True)
    if (counts > 1).any():
        yield Problem(
            "tube_identity",
            loc,
            f"instance ids {uniq[counts > 1][:5].tolist()} have two categories in one frame; "
            'with tube_identity "instance" an instance id is one segment per frame',
        )


def check_tracks(
    group: h5py.Group, loc: str, instance_category: dict[int, int]
) -> Iterator[Problem]:
    """The track table lists every instance of the video with its category, once."""
    missing = [f for f in schema.TRACK_FIELDS if f not in group]
    if missing:
        yield Problem("tracks", loc, f"missing fields {missing}")
        return
    ids = group["instance_id"][()].tolist()
    cats = group["category_id"][()].tolist()
    if len(set(ids)) != len(ids):
        yield Problem("tracks", loc, "instance ids are not unique")
    table = dict(zip(ids, cats, strict=True))
    unlisted = sorted(set(instance_category) - set(table))
    if unlisted:
        yield Problem("tracks", loc, f"instances in the maps but not in the table: {unlisted[:10]}")
    wrong = [i for i, c in instance_category.items() if i in table and table[i] != c]
    if wrong:
        yield Problem("tracks", loc, f"category differs from the maps for instances {wrong[:10]}")


def label_rules(file: h5py.File) -> LabelRules:
    """Derive the value rules from root attributes and the category table."""
    cats = read_categories(file)
    return LabelRules(
        divisor=int(file.attrs["label_divisor"]),
        ignore_label=int(file.attrs["ignore_label"]),
        thing_ids=np.array([c.id for c in cats if c.isthing], np.int64),
        stuff_ids=np.array([c.id for c in cats if not c.isthing], np.int64),
        is_groundtruth=attr_str(file.attrs, "kind") == schema.KIND_GROUNDTRUTH,
        instance_tubes=attr_str(file.attrs, "tube_identity") == schema.TUBE_IDENTITY_INSTANCE,
    )


def validate_file(
    path: str, progress: Callable[[Iterator], Iterator] | None = None
) -> list[Problem]:
    """Check a file against the whole contract; raises ``FormatError`` if it cannot be read."""
    try:
        file = h5py.File(path, "r")
    except OSError as err:
        raise FormatError(f"{path}: cannot be read as HDF5 ({err})") from err
    with file:
        if attr_str(file.attrs, "format") != schema.FORMAT_NAME:
            raise FormatError(f"{path}: not a vpsbench file (root attribute 'format' missing)")
        problems = list(check_root_attrs(file))
        problems += check_categories(file, int(file.attrs.get("ignore_label", 255)))
        if problems:
            return problems  # later checks rely on a sane root and category table
        rules = label_rules(file)
        problems += check_protocol(file, {int(i) for i in file[schema.CATEGORIES]["id"][()]})
        problems += check_video_index(file)
        if schema.VIDEOS not in file:
            return problems
        names = list(file[schema.VIDEOS].keys())
        for name in progress(names) if progress else names:
            group, loc = file[schema.VIDEOS][name], f"/{schema.VIDEOS}/{name}"
            video_problems = list(check_frame_table(group, loc))
            if not video_problems:
                video_problems += check_video_arrays(group, loc)
            if not video_problems:
                video_problems += check_video_labels(group, loc, rules)
            problems += video_problems
    return problems


def validate_pair(gt: VPSFile, pred: VPSFile) -> list[Problem]:
    """Check that a prediction file predicts this GT: same categories, frames and sizes."""
    problems = []
    if gt.info.kind != schema.KIND_GROUNDTRUTH:
        message = f"the first file must be ground truth, this is a {gt.info.kind} file"
        problems.append(Problem("pair", "/", message, str(gt.path)))
    if pred.info.kind != schema.KIND_PREDICTION:
        message = f"the second file must be a prediction, this is a {pred.info.kind} file"
        problems.append(Problem("pair", "/", message, str(pred.path)))
    if problems:
        return problems
    ref = pred.info.predicts
    if ref.content_id != gt.info.content_id:
        message = (
            f"prediction was made for {ref.dataset}/{ref.split} ({ref.file}, content "
            f"{ref.content_id}), not for this GT (content {gt.info.content_id})"
        )
        problems.append(Problem("pair_content", "/", message))
    for key in ("label_divisor", "ignore_label"):
        if getattr(gt.info, key) != getattr(pred.info, key):
            problems.append(
                Problem("pair_encoding", "/", f"{key} differs between GT and prediction")
            )
    gt_cats = {(c.id, c.isthing) for c in gt.categories}
    if gt_cats != {(c.id, c.isthing) for c in pred.categories}:
        problems.append(
            Problem("pair_categories", f"/{schema.CATEGORIES}", "category ids/isthing differ")
        )
    problems += pair_frame_problems(gt, pred)
    return problems


def pair_frame_problems(gt: VPSFile, pred: VPSFile) -> list[Problem]:
    """Every annotated GT frame has a same-size prediction map; extra videos are reported."""
    problems = []
    pred_ids = set(pred.video_ids)
    extra = sorted(pred_ids - set(gt.video_ids))
    if extra:
        problems.append(
            Problem("pair_videos", f"/{schema.VIDEOS}", f"videos not in the GT: {extra[:10]}")
        )
    for video in gt:
        loc = f"/{schema.VIDEOS}/{video.video_id}"
        if video.video_id not in pred_ids and video.num_annotated == 0:
            continue  # nothing to predict in a video without annotated frames
        if video.video_id not in pred_ids:
            problems.append(Problem("pair_videos", loc, "video missing from the prediction"))
            continue
        pv = pred.video(video.video_id)
        if (pv.height, pv.width) != (video.height, video.width):
            message = f"prediction is {pv.height}x{pv.width}, GT {video.height}x{video.width}"
            problems.append(Problem("pair_size", loc, message))
        predicted = {pv.stems[i] for i in pv.annotated_indices}
        missing = [
            video.stems[i] for i in video.annotated_indices if video.stems[i] not in predicted
        ]
        if missing:
            message = f"{len(missing)} annotated frames have no prediction, e.g. {missing[:3]}"
            problems.append(Problem("pair_frames", loc, message))
    return problems
