"""Streaming, atomic writer of unified vpsbench HDF5 files."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import h5py
import numpy as np

from vpsbench import __version__
from vpsbench.atomic import staged_file
from vpsbench.format import deflate, schema
from vpsbench.termination import raise_if_terminated

STR = h5py.string_dtype("utf-8")
BYTES = h5py.vlen_dtype(np.uint8)

# Chosen from benchmarks/compression.py (numbers in docs/FORMAT.md): deflate level 1 without the
# shuffle filter decodes a 1024x2048 map in ~5 ms (4x faster than level 4 + shuffle, 2x faster
# than lzf) at half lzf's size, and any HDF5 reader has deflate (lzf is h5py-only).
DEFAULT_COMPRESSION = "gzip"
DEFAULT_COMPRESSION_OPTS = 1


@dataclasses.dataclass(frozen=True)
class EncodedLabelMap:
    """A label map already compressed the way the default writer stores it (one HDF5 chunk).

    Lets converters compress in worker processes; the writer then stores the chunk as is.
    """

    shape: tuple[int, int]
    chunk: bytes


def encode_label_map(panoptic: np.ndarray) -> EncodedLabelMap:
    """Compress an int32 label map into one chunk for HDF5's deflate filter (level 1)."""
    panoptic = np.ascontiguousarray(panoptic, dtype="<i4")
    # The array's own buffer: a tobytes() copy costs more than ISA-L's compression itself.
    return EncodedLabelMap(panoptic.shape, deflate.compress(panoptic, DEFAULT_COMPRESSION_OPTS))


class ContentHasher:
    """Identity of a file's frame structure: video ids, frame stems and annotated flags.

    A prediction stores the content id of the GT it predicts, so a pair can be checked cheaply.
    """

    def __init__(self) -> None:
        self._sha = hashlib.sha256()

    def add_video(self, video_id: str) -> None:
        self._sha.update(f"V\t{video_id}\n".encode())

    def add_frame(self, stem: str, annotated: bool) -> None:
        self._sha.update(f"F\t{stem}\t{int(bool(annotated))}\n".encode())

    def hexdigest(self) -> str:
        return self._sha.hexdigest()[:32]


def temporary_path(path: Path) -> Path:
    """The name a file is written under until it is complete."""
    return path.with_name(f".{path.name}.partial-{os.getpid()}")


def write_string_list(group: h5py.Group, name: str, values: Iterable[str]) -> None:
    """Store a 1-D UTF-8 string dataset."""
    group.create_dataset(name, data=np.array(list(values), dtype=object), dtype=STR)


class VideoWriter:
    """Appends the frames of one video, in temporal order, to an open unified file."""

    def __init__(
        self,
        group: h5py.Group,
        height: int,
        width: int,
        compression: str | None,
        compression_opts: int | None,
        hasher: ContentHasher,
    ) -> None:
        self._group = group
        self.height, self.width = int(height), int(width)
        self._compression = compression
        self._compression_opts = compression_opts
        self._hasher = hasher
        self._frames: list[schema.FrameRecord] = []
        self._panoptic: h5py.Dataset | None = None
        self._images: h5py.Dataset | None = None
        self._num_annotated = 0

    @property
    def num_frames(self) -> int:
        return len(self._frames)

    def add_frame(
        self,
        stem: str,
        source_frame: int,
        panoptic: np.ndarray | EncodedLabelMap | None = None,
        image: bytes | None = None,
        meta: dict | None = None,
    ) -> None:
        """Append the next frame; ``panoptic`` given means the frame is annotated."""
        if self._frames and source_frame <= self._frames[-1].source_frame:
            raise ValueError(
                f"frames must be added in increasing source_frame order: {source_frame} after "
                f"{self._frames[-1].source_frame} (stem {stem!r})"
            )
        index = len(self._frames)
        annotated = panoptic is not None
        if isinstance(panoptic, EncodedLabelMap):
            self._append_encoded(panoptic, stem)
        elif annotated:
            self._append_panoptic(np.asarray(panoptic), stem)
        if image is not None:
            self._store_image(index, image)
        self._frames.append(
            schema.FrameRecord(index, int(source_frame), stem, annotated, meta or {})
        )
        self._hasher.add_frame(stem, annotated)

    def _check_shape(self, shape: tuple, stem: str) -> None:
        if tuple(shape) != (self.height, self.width):
            raise ValueError(
                f"frame {stem!r}: panoptic map is {tuple(shape)}, the video is "
                f"{(self.height, self.width)}"
            )

    def _append_encoded(self, encoded: EncodedLabelMap, stem: str) -> None:
        self._check_shape(encoded.shape, stem)
        if (self._compression, self._compression_opts) != (
            DEFAULT_COMPRESSION,
            DEFAULT_COMPRESSION_OPTS,
        ):
            raise ValueError("encoded label maps need the writer's default compression")
        self._ensure_panoptic()
        n = self._num_annotated
        self._panoptic.resize(n + 1, axis=0)
        self._panoptic.id.write_direct_chunk((n, 0, 0), encoded.chunk)
        self._num_annotated += 1

    def _append_panoptic(self, panoptic: np.ndarray, stem: str) -> None:
        self._check_shape(panoptic.shape, stem)
        if not np.issubdtype(panoptic.dtype, np.integer):
            raise TypeError(f"frame {stem!r}: panoptic map must be integer, got {panoptic.dtype}")
        if (self._compression, self._compression_opts) == (
            DEFAULT_COMPRESSION,
            DEFAULT_COMPRESSION_OPTS,
        ):  # the faster codec of encode_label_map, same chunk layout
            self._append_encoded(encode_label_map(panoptic), stem)
            return
        self._ensure_panoptic()
        n = self._num_annotated
        self._panoptic.resize(n + 1, axis=0)
        self._panoptic[n] = panoptic.astype(np.int32, copy=False)
        self._num_annotated += 1

    def _ensure_panoptic(self) -> None:
        if self._panoptic is None:
            self._panoptic = self._group.create_dataset(
                schema.PANOPTIC,
                shape=(0, self.height, self.width),
                maxshape=(None, self.height, self.width),
                dtype=np.int32,
                chunks=(1, self.height, self.width),
                compression=self._compression,
                compression_opts=self._compression_opts,
                shuffle=False,
            )

    def _store_image(self, index: int, image: bytes) -> None:
        if self._images is None:
            self._images = self._group.create_dataset(
                schema.IMAGES, shape=(0,), maxshape=(None,), dtype=BYTES, chunks=(1,)
            )
        if self._images.shape[0] <= index:
            self._images.resize(index + 1, axis=0)
        self._images[index] = np.frombuffer(image, dtype=np.uint8)

    def set_tracks(self, tracks: Iterable[schema.Track]) -> None:
        """Record the video's objects: instance id, category and source dataset key."""
        tracks = sorted(tracks, key=lambda t: t.instance_id)
        group = self._group.create_group(schema.TRACKS)
        group.create_dataset(
            "instance_id", data=np.array([t.instance_id for t in tracks], np.int32)
        )
        group.create_dataset(
            "category_id", data=np.array([t.category_id for t in tracks], np.int32)
        )
        write_string_list(group, "source_key", (t.source_key for t in tracks))

    def finish(self) -> None:
        """Write the frame table; called when the video's ``with`` block ends."""
        if not self._frames:
            raise ValueError(f"video {self._group.attrs['video_id']!r} has no frames")
        frames = self._group.create_group(schema.FRAMES)
        frames.create_dataset(
            "source_frame", data=np.array([f.source_frame for f in self._frames], np.int64)
        )
        write_string_list(frames, "stem", (f.stem for f in self._frames))
        frames.create_dataset(
            "annotated", data=np.array([f.annotated for f in self._frames], np.uint8)
        )
        if any(f.meta for f in self._frames):
            write_string_list(frames, "meta", (schema.dumps_meta(f.meta) for f in self._frames))
        if self._images is not None and self._images.shape[0] < len(self._frames):
            self._images.resize(len(self._frames), axis=0)


class VPSWriter:
    """Writes a unified file video by video; the file appears under its name only when complete.

    Use as a context manager. If the block raises, the partial file is deleted.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        info: schema.FileInfo,
        categories: Iterable[schema.Category],
        protocol: schema.Protocol | None = None,
        categories_source_json: str | None = None,
        compression: str | None = DEFAULT_COMPRESSION,
        compression_opts: int | None = DEFAULT_COMPRESSION_OPTS,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"{self.path} exists; pass overwrite=True (CLI: --force)")
        if info.kind not in schema.KINDS:
            raise ValueError(f"kind must be one of {schema.KINDS}, got {info.kind!r}")
        if info.kind == schema.KIND_GROUNDTRUTH and protocol is None:
            raise ValueError("a ground-truth file needs an evaluation protocol")
        if info.tube_identity not in schema.TUBE_IDENTITIES:
            raise ValueError(f"tube_identity must be one of {schema.TUBE_IDENTITIES}")
        if compression in ("lzf", None):
            compression_opts = None
        self.info = info
        self._compression = compression
        self._compression_opts = compression_opts
        self._tmp = temporary_path(self.path)
        self._file: h5py.File | None = None
        self._stage: contextlib.ExitStack | None = None
        self._video_ids: list[str] = []
        self._hasher = ContentHasher()
        self._open_video: VideoWriter | None = None
        self._categories = list(categories)
        self._protocol = protocol
        self._categories_source_json = categories_source_json

    def __enter__(self) -> VPSWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.ExitStack() as stage:  # unwound here only if __enter__ fails
            stage.enter_context(staged_file(self.path, self._tmp))
            stage.callback(self._close_file)  # before the rename (or removal)
            self._file = h5py.File(self._tmp, "w")
            self._write_categories()
            if self._protocol is not None:
                write_protocol(self._file, self._protocol)
            self._file.create_group(schema.VIDEOS)
            self._stage = stage.pop_all()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        stage, self._stage = self._stage, None
        if exc_type is not None:
            with contextlib.suppress(Exception):  # the block's error is the one to report
                self._close_file()
            stage.__exit__(exc_type, exc, tb)  # the partial file is removed
            return
        with stage:  # the file closed, then renamed into place (removed if anything fails)
            write_string_list(self._file, schema.VIDEO_IDS, self._video_ids)
            self._write_root_attrs()

    def _close_file(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()

    @contextlib.contextmanager
    def video(
        self, video_id: str, height: int, width: int, meta: dict | None = None
    ) -> Iterator[VideoWriter]:
        """Open a video for appending frames; its frame table is written when the block ends."""
        if self._file is None:
            raise RuntimeError("use VPSWriter as a context manager")
        raise_if_terminated()  # a SIGTERM lost in a finalizer stops the writing at the next video
        if self._open_video is not None:
            raise RuntimeError("finish the previous video before starting another")
        video_id = str(video_id)
        if video_id in self._video_ids:
            raise ValueError(f"duplicate video id {video_id!r}")
        if "/" in video_id or not video_id:
            raise ValueError(f"invalid video id {video_id!r}: must be non-empty without '/'")
        group = self._file[schema.VIDEOS].create_group(video_id)
        group.attrs["video_id"] = video_id
        group.attrs["height"] = int(height)
        group.attrs["width"] = int(width)
        group.attrs["meta"] = schema.dumps_meta(meta)
        self._hasher.add_video(video_id)
        writer = VideoWriter(
            group, height, width, self._compression, self._compression_opts, self._hasher
        )
        self._open_video = writer
        try:
            yield writer
            writer.finish()
        finally:
            self._open_video = None
        self._video_ids.append(video_id)

    def _write_categories(self) -> None:
        cats = sorted(self._categories, key=lambda c: c.id)
        if len({c.id for c in cats}) != len(cats):
            raise ValueError("category ids must be unique")
        group = self._file.create_group(schema.CATEGORIES)
        group.create_dataset("id", data=np.array([c.id for c in cats], np.int32))
        write_string_list(group, "name", (c.name for c in cats))
        write_string_list(group, "supercategory", (c.supercategory for c in cats))
        group.create_dataset("isthing", data=np.array([bool(c.isthing) for c in cats], np.uint8))
        group.create_dataset(
            "color", data=np.array([c.color for c in cats], np.uint8).reshape(len(cats), 3)
        )
        group.create_dataset("source_id", data=np.array([c.source_id for c in cats], np.int32))
        if self._categories_source_json is not None:
            group.attrs["source_json"] = self._categories_source_json

    def _write_root_attrs(self) -> None:
        info = dataclasses.replace(
            self.info,
            tool_version=self.info.tool_version or __version__,
            created=self.info.created
            or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            content_id=self._hasher.hexdigest(),
        )
        attrs = self._file.attrs
        for key in (
            "format",
            "format_version",
            "kind",
            "dataset",
            "split",
            "label_divisor",
            "ignore_label",
            "source",
            "tool_version",
            "created",
            "content_id",
        ):
            attrs[key] = getattr(info, key)
        if info.predicts is not None:
            attrs["gt_dataset"] = info.predicts.dataset
            attrs["gt_split"] = info.predicts.split
            attrs["gt_file"] = info.predicts.file
            attrs["gt_content_id"] = info.predicts.content_id
        if info.is_prediction:
            attrs["tube_identity"] = info.tube_identity


def write_protocol(file: h5py.File, protocol: schema.Protocol) -> None:
    """Store the evaluation protocol as attributes of the ``/protocol`` group."""
    group = file.require_group(schema.PROTOCOL)
    group.attrs["vpq_window_sizes"] = np.array(protocol.vpq_window_sizes, np.int32)
    group.attrs["vpq_k"] = np.array(protocol.vpq_k, np.int32)
    # Legacy attribute, always "annotated_frames" (the truth): earlier vpsbench readers need it.
    group.attrs["vpq_window_unit"] = schema.WINDOW_UNIT_ANNOTATED
    group.attrs["min_tube_area"] = np.int64(protocol.min_tube_area)
    group.attrs["excluded_category_ids"] = np.array(protocol.excluded_category_ids, np.int32)
    group.attrs["vc_clip_lengths"] = np.array(protocol.vc_clip_lengths, np.int32)
    group.attrs["name"] = protocol.name
    group.attrs["description"] = protocol.description
    if protocol.stq_rule != schema.STQ_RULE_DEEPLAB2:  # absent means the default: old files
        group.attrs["stq_rule"] = protocol.stq_rule
