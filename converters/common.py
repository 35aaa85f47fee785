"""What every converter shares: the plan of a split, parallel frame decoding, checked PNG reads.

A converter only has to (1) scan the release into a ``SplitPlan`` (videos, frames in temporal
order, and for each frame a picklable task naming its files) and (2) provide a ``decode``
function turning one task into a ``DecodedFrame``. ``write_split`` then converts whole videos in
``workers`` processes (decode, instance ids, compression) and streams them, in order, into an
atomic unified file.
"""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from vpsbench import atomic
from vpsbench.format import Category, FileInfo, Protocol, Track, VPSFile, VPSWriter
from vpsbench.format.writer import EncodedLabelMap, encode_label_map
from vpsbench.io import png
from vpsbench.parallel import ordered_map, start_server, worker_context
from vpsbench.runlength import RunMap, run_starts


class ConversionError(ValueError):
    """The release on disk is not what the converter expects; the message says what and where."""


@dataclass(frozen=True)
class FramePlan:
    """One frame of a video: its names, whether it is annotated, and what to decode."""

    stem: str
    source_frame: int
    annotated: bool
    task: object
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class VideoPlan:
    """One video of the split, frames in temporal order."""

    video_id: str
    height: int
    width: int
    frames: tuple[FramePlan, ...]
    meta: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DecodedFrame:
    """A decoded frame: its label map (annotated frames) and the original image bytes.

    ``panoptic`` is a full map or a ``RunMap``. In it, stuff, crowd and void pixels hold their
    final values; the pixels of each thing object hold a negative code ``-c`` with
    ``objects[c] = (source key, category)``. The
    source key names the object in the release (stable through the video); ``write_split``
    turns it into an instance id, because only the whole video shows which objects exist.
    """

    panoptic: np.ndarray | RunMap | None
    image: bytes | None
    objects: dict[int, tuple[str, int]] = field(default_factory=dict)
    # The values (object codes allowed) in the order the release lists the frame's segments, if
    # that order matters (VIPSeg: the GT JSON's, read by its STQ); kept as frame meta "segments".
    segment_order: tuple[int, ...] | None = None


class InstanceRegistry:
    """Per-video instance ids 1..divisor-1, one per source object key, in order of appearance."""

    def __init__(self, label_divisor: int, video_id: str) -> None:
        self.divisor = label_divisor
        self.video_id = video_id
        self.ids: dict[str, Track] = {}

    def instance(self, key: str, category: int) -> int:
        """The instance id of an object, assigned on first sight."""
        track = self.ids.get(key)
        if track is None:
            if len(self.ids) + 1 >= self.divisor:
                raise ConversionError(
                    f"video {self.video_id} has more than {self.divisor - 1} objects; they do not "
                    f"fit label_divisor {self.divisor}"
                )
            track = self.ids[key] = Track(len(self.ids) + 1, category, key)
        elif track.category_id != category:
            raise ConversionError(
                f"video {self.video_id}: object {key} is category {track.category_id} in one "
                f"frame and {category} in another"
            )
        return track.instance_id

    def finalize(self, frame: DecodedFrame) -> np.ndarray | RunMap:
        """The frame's panoptic map (same kind) with object codes replaced by
        ``category * divisor + id``."""
        if isinstance(frame.panoptic, RunMap):
            run_map = frame.panoptic
            values = self.relabel(np.asarray(run_map.values, np.int64), frame.objects)
            return RunMap(run_map.shape, run_map.lengths, values)
        return self.relabel(np.asarray(frame.panoptic, np.int32), frame.objects)

    def relabel(self, panoptic: np.ndarray, objects: dict[int, tuple[str, int]]) -> np.ndarray:
        """``panoptic`` (any shape) with each object code ``-c`` replaced by its value."""
        if not objects:
            return panoptic
        codes = np.array(sorted(objects), np.int64)
        values = np.array(
            [cat * self.divisor + self.instance(key, cat) for key, cat in
             (objects[c] for c in codes)], panoptic.dtype
        )  # fmt: skip
        lut = np.zeros(int(codes.max()) + 1, panoptic.dtype)
        lut[codes] = values
        negative = panoptic < 0
        panoptic[negative] = lut[-panoptic[negative]]
        return panoptic

    def resolve(self, frame: DecodedFrame, values: tuple[int, ...]) -> list[int]:
        """Final panoptic values of ``values``, object codes replaced as ``finalize`` does."""
        out = []
        for value in values:
            if value < 0:
                key, category = frame.objects[-value]
                value = category * self.divisor + self.instance(key, category)
            out.append(int(value))
        return out

    def tracks(self) -> list[Track]:
        return list(self.ids.values())


@dataclass(frozen=True)
class SplitPlan:
    """Everything needed to write one split."""

    info: FileInfo
    categories: Sequence[Category]
    protocol: Protocol | None
    categories_source_json: str | None
    videos: tuple[VideoPlan, ...]

    @property
    def num_frames(self) -> int:
        return sum(len(v.frames) for v in self.videos)


def read_png(path: Path, modes: Sequence[str], size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode a PNG, refusing unexpected modes, another size, or a truncated file.

    Greyscale PNGs are decoded by libspng when it is installed (``vpsbench.io.png``), into the
    array Pillow would give (same dtype); Pillow otherwise, or wherever libspng refuses a file.
    """
    try:
        with Image.open(path) as img:
            check_size(path, (img.size[1], img.size[0]), size)
            if img.mode not in modes:
                raise ConversionError(f"{path.name} has PNG mode {img.mode}; expected {modes}")
            fast = decode_grey_fast(path, img.mode, (img.size[1], img.size[0]))
            return fast if fast is not None else np.asarray(img)
    except ConversionError:
        raise
    except (OSError, SyntaxError, ValueError) as err:
        raise ConversionError(
            f"{path.name} cannot be decoded (truncated or not a PNG): {err}"
        ) from err


# Pillow's mode of a greyscale PNG -> the dtype of np.asarray(image) in that mode.
GREY_DTYPES = {"L": np.dtype("u1"), "I;16": np.dtype("<u2"), "I;16B": np.dtype(">u2"),
               "I": np.dtype("<i4")}  # fmt: skip


def decode_grey_fast(path: Path, mode: str, shape: tuple[int, int]) -> np.ndarray | None:
    """A greyscale PNG decoded by libspng (``vpsbench.io.png.decode_grey``) as Pillow's array
    for ``mode``, or None where Pillow must decode it."""
    if mode not in GREY_DTYPES:
        return None
    array = png.decode_grey(path.read_bytes(), *shape)
    return None if array is None else array.astype(GREY_DTYPES[mode], copy=False)


def runs(*arrays: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Raster-order runs where all arrays are constant: (run lengths, each array's run values)."""
    flat = [a.ravel() for a in arrays]
    starts = run_starts(*flat)
    return np.diff(starts, append=flat[0].size), [f[starts] for f in flat]


def read_rgb_ids(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode an RGB(A) PNG straight to colour ids ``R + 256 G + 65536 B`` (uint32), refusing
    another size (``read_png``'s message) or mode.

    8-bit RGB PNGs go through the evaluator's decoder (``vpsbench.io.png``: libspng, else
    Pillow's RGBX packer), from one read of the file; others (RGBA, 16-bit) through Pillow.
    """
    return _read_rgb(path, size, as_runs=False)


def read_rgb_id_runs(
    path: Path, size: tuple[int, int] | None = None
) -> tuple[tuple[int, int], np.ndarray, np.ndarray]:
    """``read_rgb_ids``'s map as raster runs: ((height, width), run lengths, run colour ids),
    the same files accepted and refused; an 8-bit RGB PNG is decoded to its runs without the
    packed map (``png.decode_packed_runs``: libspng's RGB output, half the time of RGBA)."""
    return _read_rgb(path, size, as_runs=True)


def _read_rgb(path: Path, size: tuple[int, int] | None, as_runs: bool):
    try:
        data = path.read_bytes()
        shape = png.header_size(data[:24])
        if shape is not None and png.header_depth_and_colour(data[:26]) == (8, 2):
            check_size(path, shape, size)
            if not as_runs:
                return png.decode_packed(path, *shape, png.ORDER_COCO, data=data)
            starts, ids = png.decode_packed_runs(path, *shape, png.ORDER_COCO, data=data)
            return shape, np.diff(starts, append=shape[0] * shape[1]), ids
        with Image.open(io.BytesIO(data)) as img:
            check_size(path, (img.size[1], img.size[0]), size)
            if img.mode not in ("RGB", "RGBA"):
                raise ConversionError(f"{path.name} has PNG mode {img.mode}; expected RGB")
            width, height = img.size
            # Packed as 4 bytes a pixel (Pillow's own layout, no conversion pass), viewed as
            # little-endian uint32 they are R + 256 G + 65536 B + 2^24 A.
            packed = img.tobytes("raw", "RGBX" if img.mode == "RGB" else "RGBA")
    except ConversionError:
        raise
    except (OSError, SyntaxError, ValueError) as err:  # PngDecodeError, PngBombError included
        raise ConversionError(
            f"{path.name} cannot be decoded (truncated or not a PNG): {err}"
        ) from err
    ids = np.frombuffer(packed, "<u4").reshape(height, width) & np.uint32(0xFFFFFF)
    if not as_runs:
        return ids
    lengths, (run_ids,) = runs(ids)
    return ids.shape, lengths, run_ids


def check_size(path: Path, shape: tuple[int, int], expected: tuple[int, int] | None) -> None:
    """Refuse an image whose (height, width) is not the video's (one-line error)."""
    if expected is not None and tuple(shape) != tuple(expected):
        raise ConversionError(
            f"{path.name} is {shape[1]}x{shape[0]}, other frames of this video are "
            f"{expected[1]}x{expected[0]}"
        )


def image_size(path: Path) -> tuple[int, int]:
    """(height, width) of an image file, from its header only."""
    try:
        with Image.open(path) as img:
            return img.size[1], img.size[0]
    except (OSError, SyntaxError) as err:
        raise ConversionError(f"{path.name} cannot be read as an image: {err}") from err


@dataclass(frozen=True)
class EncodedVideo:
    """A converted video ready to write: per frame (compressed label map or None, image bytes)."""

    frames: tuple[tuple[EncodedLabelMap | None, bytes | None], ...]
    tracks: tuple[Track, ...]
    frame_meta: tuple[dict, ...] = ()  # per frame, meta known only after decoding


def check_categories(
    panoptic: np.ndarray | RunMap,
    category_ids: np.ndarray,
    label_divisor: int,
    ignore_label: int,
    stem: str,
) -> None:
    """Every value of a converted map is void or of a category of the table (one-line error)."""
    # Checked here, once for every converter: a value of an unknown category would make a GT
    # segment no class can match, and an evaluator could book its misses to another class.
    if isinstance(panoptic, RunMap):
        run_values = panoptic.values
    else:
        _, (run_values,) = runs(panoptic)  # maps are piecewise constant: cheap unique
    values = np.unique(run_values)
    semantic = values // label_divisor
    bad = values[(semantic != ignore_label) & ~np.isin(semantic, category_ids)]
    if len(bad):
        raise ConversionError(
            f"frame {stem!r}: label value {int(bad[0])} has category {int(bad[0]) // label_divisor}"
            f", which is not in the category table (ids {category_ids.tolist()}, void "
            f"{ignore_label})"
        )


def encode_video(
    video: VideoPlan,
    decode: Callable[[object], DecodedFrame],
    label_divisor: int,
    category_ids: tuple[int, ...] | None = None,
    ignore_label: int = 255,
) -> EncodedVideo:
    """Decode every frame of a video, give its objects instance ids, compress its label maps.

    Runs in a worker process: a whole video per task, because instance ids depend on the order
    in which objects appear through the video. With ``category_ids`` every value is checked.
    Tasks of 4 frames were measured slower with 2 workers on 2 cores (alternating runs): with
    ids and compression in the parent by 2-5% (its compression competes with the workers), and
    as a two-stage pipeline (workers decode; ids in the parent; workers check and compress) by
    0-12%: the second round trip costs more than the shorter tail.
    """
    known = None if category_ids is None else np.asarray(category_ids, np.int64)
    registry = InstanceRegistry(label_divisor, video.video_id)
    frames, metas = [], []
    for frame in video.frames:
        decoded = decode(frame.task)
        encoded = None
        meta = {}
        if frame.annotated and decoded.panoptic is not None:
            panoptic = registry.finalize(decoded)
            if decoded.segment_order is not None:
                meta["segments"] = registry.resolve(decoded, decoded.segment_order)
            if tuple(panoptic.shape) != (video.height, video.width):
                raise ConversionError(
                    f"frame {frame.stem!r}: panoptic map is {tuple(panoptic.shape)}, the video "
                    f"is {(video.height, video.width)}"
                )
            if known is not None:
                check_categories(panoptic, known, label_divisor, ignore_label, frame.stem)
            if isinstance(panoptic, RunMap):
                panoptic = panoptic.expand()
            encoded = encode_label_map(panoptic)
        frames.append((encoded, decoded.image))
        metas.append(meta)
    return EncodedVideo(tuple(frames), tuple(registry.tracks()), tuple(metas))


def converter_context(decode: Callable[[object], DecodedFrame]) -> BaseContext:
    """The worker context of a converter: its server preloads this module and the decoder's."""
    return worker_context([__name__, decode.__module__])


def start_workers(workers: int, decode: Callable[[object], DecodedFrame]) -> None:
    """With ``workers`` > 1, start the worker server before scanning the release, so that its
    start (about 0.5 s of imports) overlaps the scan instead of following it."""
    if workers > 1:
        start_server(converter_context(decode))


def encoded_videos(
    plan: SplitPlan, decode: Callable[[object], DecodedFrame], workers: int
) -> Iterator[EncodedVideo]:
    """Every video of the plan, in order, converted in ``workers`` processes."""
    task = functools.partial(
        encode_video,
        decode=decode,
        label_divisor=plan.info.label_divisor,
        category_ids=tuple(c.id for c in plan.categories),
        ignore_label=plan.info.ignore_label,
    )
    yield from ordered_map(task, plan.videos, workers, converter_context(decode))


def write_split(
    plan: SplitPlan,
    out: str | Path,
    decode: Callable[[object], DecodedFrame],
    workers: int = 1,
    progress: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write the plan's videos to a unified file; nothing is left behind if anything fails."""
    bar = tqdm(total=plan.num_frames, desc="converting", unit="frame", disable=not progress)
    with (
        bar,
        VPSWriter(
            out,
            plan.info,
            plan.categories,
            plan.protocol,
            categories_source_json=plan.categories_source_json,
            overwrite=overwrite,
        ) as writer,
    ):
        for video, encoded in zip(plan.videos, encoded_videos(plan, decode, workers), strict=True):
            with writer.video(video.video_id, video.height, video.width, video.meta) as vw:
                extra = encoded.frame_meta or ({},) * len(video.frames)
                for frame, (label_map, image), more in zip(
                    video.frames, encoded.frames, extra, strict=True
                ):
                    meta = {**frame.meta, **more} if more else frame.meta
                    vw.add_frame(frame.stem, frame.source_frame, label_map, image, meta)
                    bar.update()
                vw.set_tracks(encoded.tracks)
    return Path(out)


def zip_folder(folder: Path, archive: Path) -> Path:
    """Pack every file under ``folder`` into ``archive`` (paths relative to it, sorted)."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return archive


@contextmanager
def staged_directory(out_dir: Path, overwrite: bool = False) -> Iterator[Path]:
    """``vpsbench.atomic.staged_directory`` for an export: ``out_dir`` is never half-written;
    one that is not empty is refused, or with ``overwrite`` replaced whole."""
    out_dir = Path(out_dir)
    taken = out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir()))
    if taken and not overwrite:
        raise ConversionError(
            f"{out_dir} exists and is not an empty directory; choose a new one, or replace it "
            "(--force)"
        )
    with atomic.staged_directory(out_dir) as stage:
        yield stage


def export_file(
    path: str | Path,
    out_dir: str | Path,
    gt: str | Path | None,
    zip_it: bool,
    overwrite: bool,
    groundtruth: Callable[[VPSFile, Path], Path],
    submission: Callable[[VPSFile, VPSFile, Path], Path],
) -> Path:
    """Export a unified file into a staged ``out_dir`` (``staged_directory``): a GT file by
    ``groundtruth(file, folder)``, a prediction by ``submission(pred, gt or pred, folder)``
    (``zip_it``: also packed as submission.zip). Returns the path written, under ``out_dir``."""
    out_dir = Path(out_dir)
    with VPSFile(path) as file, staged_directory(out_dir, overwrite) as stage:
        if not file.info.is_prediction:
            written = groundtruth(file, stage)
        else:
            with VPSFile(gt) if gt is not None else nullcontext(file) as reference:
                folder = submission(file, reference, stage / "submission" if zip_it else stage)
            written = zip_folder(folder, stage / "submission.zip") if zip_it else folder
    return out_dir / written.relative_to(stage)
