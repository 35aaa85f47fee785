"""Lazy, process-safe reader of unified vpsbench HDF5 files."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import h5py
import numpy as np

from vpsbench.format import deflate, schema


class FormatError(ValueError):
    """The file is not a readable unified vpsbench file."""


def is_plain_deflate_by_frame(dataset: h5py.Dataset) -> bool:
    """Whether each row of a (T, H, W) int32 dataset is one chunk with deflate as its only
    filter: the layout the writer makes, whose chunks ``read_label_row`` inflates itself."""
    return (
        dataset.ndim == 3
        and dataset.dtype == np.dtype("<i4")
        and dataset.chunks == (1, *dataset.shape[1:])
        and dataset.compression == "gzip"
        and dataset.id.get_create_plist().get_nfilters() == 1
    )


def read_label_row(
    dataset: h5py.Dataset, row: int, plain_deflate: bool, writable: bool = True
) -> np.ndarray:
    """Row ``row`` of a label-map dataset. On the writer's layout the chunk is read raw and
    inflated with ``deflate`` (ISA-L: ~3x faster than HDF5's filter on a 1024x2048 map).

    ``writable=False`` may return a read-only view of the inflated bytes, saving a copy of the
    map (about a third of the read time of a 1024x2048 map); h5py's reads are writable.
    """
    if plain_deflate and 0 <= row < dataset.shape[0]:
        mask, chunk = dataset.id.read_direct_chunk((row, 0, 0))
        if mask == 0:  # the filter was applied to this chunk
            flat = np.frombuffer(deflate.decompress(chunk), "<i4")
            if flat.size == dataset.shape[1] * dataset.shape[2]:
                plane = flat.reshape(dataset.shape[1:])
                return plane.copy() if writable else plane
    return dataset[row]


def read_label_row_blocks(
    dataset: h5py.Dataset, row: int, plain_deflate: bool, block_pixels: int
) -> Iterator[np.ndarray]:
    """Row ``row`` of a label-map dataset as consecutive flat int32 pieces in raster order
    (read-only; ``block_pixels`` each, the last may be shorter). On the writer's layout the
    chunk is inflated piece by piece; otherwise the row is read whole and cut."""
    pixels = dataset.shape[1] * dataset.shape[2]
    if plain_deflate and 0 <= row < dataset.shape[0]:
        mask, chunk = dataset.id.read_direct_chunk((row, 0, 0))
        if mask == 0:
            done = 0
            for piece in deflate.decompress_blocks(chunk, 4 * block_pixels):
                block = np.frombuffer(piece, "<i4")
                done += block.size
                if done > pixels:
                    break
                yield block
            if done != pixels:
                raise ValueError(f"label map row {row}: the chunk holds {done} of {pixels} pixels")
            return
    flat = dataset[row].ravel()
    for start in range(0, flat.size, block_pixels):
        yield flat[start : start + block_pixels]


def read_strings(dataset: h5py.Dataset) -> list[str]:
    """Read a 1-D UTF-8 string dataset as Python strings."""
    return [s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in dataset[()]]


def attr_str(attrs: h5py.AttributeManager, key: str, default: str = "") -> str:
    value = attrs.get(key, default)
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def read_file_info(file: h5py.File) -> schema.FileInfo:
    """Root attributes as a ``FileInfo``; raises ``FormatError`` if the file is not ours."""
    attrs = file.attrs
    if attr_str(attrs, "format") != schema.FORMAT_NAME:
        raise FormatError(
            f"{file.filename}: not a vpsbench file (root attribute format="
            f"{attr_str(attrs, 'format', '<missing>')!r}, expected {schema.FORMAT_NAME!r})"
        )
    predicts = None
    if "gt_content_id" in attrs:
        predicts = schema.GroundTruthRef(
            dataset=attr_str(attrs, "gt_dataset"),
            split=attr_str(attrs, "gt_split"),
            file=attr_str(attrs, "gt_file"),
            content_id=attr_str(attrs, "gt_content_id"),
        )
    return schema.FileInfo(
        kind=attr_str(attrs, "kind"),
        dataset=attr_str(attrs, "dataset"),
        split=attr_str(attrs, "split"),
        label_divisor=int(attrs.get("label_divisor", schema.DEFAULT_LABEL_DIVISOR)),
        ignore_label=int(attrs.get("ignore_label", schema.DEFAULT_IGNORE_LABEL)),
        source=attr_str(attrs, "source"),
        tool_version=attr_str(attrs, "tool_version"),
        created=attr_str(attrs, "created"),
        content_id=attr_str(attrs, "content_id"),
        predicts=predicts,
        tube_identity=attr_str(attrs, "tube_identity", schema.TUBE_IDENTITY_PANOPTIC),
        format=attr_str(attrs, "format"),
        format_version=attr_str(attrs, "format_version"),
    )


def read_categories(file: h5py.File) -> list[schema.Category]:
    """The category table, ordered by id."""
    group = file[schema.CATEGORIES]
    ids = group["id"][()]
    names = read_strings(group["name"])
    supers = read_strings(group["supercategory"])
    isthing = group["isthing"][()]
    colors = group["color"][()]
    source_ids = group["source_id"][()]
    return [
        schema.Category(
            id=int(ids[i]),
            name=names[i],
            isthing=bool(isthing[i]),
            color=tuple(int(c) for c in colors[i]),
            source_id=int(source_ids[i]),
            supercategory=supers[i],
        )
        for i in range(len(ids))
    ]


def read_protocol(file: h5py.File) -> schema.Protocol | None:
    """The evaluation protocol, or None if the file has none (allowed for predictions)."""
    if schema.PROTOCOL not in file:
        return None
    attrs = file[schema.PROTOCOL].attrs
    dataset = attr_str(file.attrs, "dataset")
    # The legacy attribute vpq_window_unit is not read: windows always counted annotated frames.
    if "vc_clip_lengths" in attrs:
        vc = tuple(int(x) for x in attrs["vc_clip_lengths"])
    else:
        vc = legacy_vc_clip_lengths(dataset)
    protocol = schema.Protocol(
        vpq_window_sizes=tuple(int(x) for x in attrs["vpq_window_sizes"]),
        vpq_k=tuple(int(x) for x in attrs["vpq_k"]),
        min_tube_area=int(attrs["min_tube_area"]),
        excluded_category_ids=tuple(int(x) for x in attrs["excluded_category_ids"]),
        vc_clip_lengths=vc,
        name=attr_str(attrs, "name", schema.CUSTOM_PROTOCOL),
        description=attr_str(attrs, "description", ""),
        stq_rule=attr_str(attrs, "stq_rule", schema.STQ_RULE_DEEPLAB2),
    )
    return protocol if "name" in attrs else legacy_protocol_name(protocol, dataset)


def dataset_default_protocol(dataset: str) -> schema.Protocol | None:
    """The registered default protocol of a dataset name, if vpsbench knows the dataset."""
    from vpsbench.datasets import DATASETS  # the registry imports the format, not vice versa

    known = DATASETS.get(dataset)
    return known.protocol if known else None


def legacy_vc_clip_lengths(dataset: str) -> tuple[int, ...]:
    """VC clip lengths of a file written before /protocol recorded them: its dataset's."""
    # Those files were scored with VC_8/VC_16, which have no clip in 6-frame Cityscapes-VPS
    # (and synthetic) videos; their dataset's current protocol is the useful default.
    default = dataset_default_protocol(dataset)
    return default.vc_clip_lengths if default else schema.DEFAULT_VC_CLIP_LENGTHS


def legacy_protocol_name(protocol: schema.Protocol, dataset: str) -> schema.Protocol:
    """A protocol stored before protocols had names: its dataset's default protocol when the
    values are that protocol's, else ``custom``."""
    default = dataset_default_protocol(dataset)
    if default and replace(protocol, name=default.name, description=default.description) == (
        default
    ):
        return default
    return protocol


def decode_image(data: bytes) -> np.ndarray:
    """Decode PNG/JPEG bytes to an array with PIL (H×W or H×W×C, dtype as stored)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img)


@dataclass(frozen=True)
class Frame:
    """One frame of a video, with its label map and encoded image when present."""

    video_id: str
    index: int
    source_frame: int
    stem: str
    annotated: bool
    panoptic: np.ndarray | None
    image_bytes: bytes | None

    def __repr__(self) -> str:
        """One line: the map's shape and the image's size, never their contents."""
        pan = self.panoptic
        pan = "None" if pan is None else f"{pan.dtype}{list(pan.shape)}"
        image = "None" if self.image_bytes is None else f"<{len(self.image_bytes)} bytes>"
        return (
            f"Frame({self.video_id!r}, index={self.index}, stem={self.stem!r}, "
            f"source_frame={self.source_frame}, annotated={self.annotated}, panoptic={pan}, "
            f"image={image})"
        )


def _recording(pieces: Iterator[np.ndarray], into: list[np.ndarray]) -> Iterator[np.ndarray]:
    """``pieces``, the first also appended to ``into`` before it is given: a reader that
    stops after it can still make the whole map from it and the rest (``_whole_map``)."""
    for index, piece in enumerate(pieces):
        if index == 0:
            into.append(piece)
        yield piece


def _whole_map(
    first: list[np.ndarray], rest: Iterator[np.ndarray], shape: tuple
) -> np.ndarray | None:
    """The map of ``_recording``'s first piece and the pieces not read yet; None if pieces
    after the first were read (they were not kept)."""
    pieces = [*first, *rest]
    if sum(p.size for p in pieces) != shape[0] * shape[1]:
        return None
    return np.concatenate(pieces).reshape(shape)


class StoredLabelMap:
    """One stored label map, read when used: whole (``np.asarray``) or in consecutive flat
    pieces (``blocks``), which the scorer compares piece by piece while they are in cache.
    A reader of the pieces that stops after the first leaves the map to be made of the first
    piece and the rest, so that it is inflated once."""

    def __init__(self, video: Video, row: int) -> None:
        self._video = video
        self._row = int(row)
        self.shape = (video.height, video.width)
        self.dtype = video.panoptic_dtype
        self._pieces: list[np.ndarray] = []
        self._rest: Iterator[np.ndarray] | None = None
        self._full: np.ndarray | None = None

    def blocks(self, block_pixels: int) -> Iterator[np.ndarray]:
        """The map as read-only flat pieces of ``block_pixels`` pixels (once per map)."""
        if self._rest is not None:
            raise RuntimeError("the pieces of a stored map can be read once")
        self._rest = self._video.panoptic_row_blocks(self._row, block_pixels)
        return _recording(self._rest, self._pieces)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        if self._full is None:
            if self._rest is not None:
                self._full = _whole_map(self._pieces, self._rest, self.shape)
            if self._full is None:
                self._full = self._video.panoptic_row(self._row, writable=False)
        full = self._full
        return full if dtype is None else full.astype(dtype, copy=False)


class Video:
    """Lazy view of one video group: nothing but the frame table is read until asked."""

    def __init__(self, group: h5py.Group) -> None:
        self._group = group
        self.video_id = attr_str(group.attrs, "video_id")
        self.height = int(group.attrs["height"])
        self.width = int(group.attrs["width"])

    def __repr__(self) -> str:
        return f"Video({self.video_id!r}, frames={self.num_frames}, annotated={self.num_annotated})"

    @cached_property
    def meta(self) -> dict:
        return json.loads(attr_str(self._group.attrs, "meta", "{}") or "{}")

    @cached_property
    def source_frames(self) -> np.ndarray:
        return self._group[schema.FRAMES]["source_frame"][()]

    @cached_property
    def stems(self) -> list[str]:
        return read_strings(self._group[schema.FRAMES]["stem"])

    @cached_property
    def annotated(self) -> np.ndarray:
        return self._group[schema.FRAMES]["annotated"][()].astype(bool)

    @cached_property
    def frame_meta(self) -> list[dict]:
        frames = self._group[schema.FRAMES]
        if "meta" not in frames:
            return [{} for _ in range(self.num_frames)]
        return [json.loads(m) for m in read_strings(frames["meta"])]

    @cached_property
    def annotated_indices(self) -> np.ndarray:
        """Frame indices that carry a panoptic map, in temporal order."""
        return np.flatnonzero(self.annotated)

    @cached_property
    def _label_rows(self) -> dict[int, int]:
        return {int(f): row for row, f in enumerate(self.annotated_indices)}

    @property
    def num_frames(self) -> int:
        return len(self.source_frames)

    @property
    def num_annotated(self) -> int:
        return len(self.annotated_indices)

    @property
    def has_images(self) -> bool:
        return schema.IMAGES in self._group

    def frame_index(self, stem: str) -> int:
        """Index of the frame with this source stem."""
        try:
            return self.stems.index(stem)
        except ValueError:
            raise KeyError(f"video {self.video_id!r} has no frame {stem!r}") from None

    def panoptic(self, index: int, writable: bool = True) -> np.ndarray:
        """The int32 panoptic map of frame ``index``; KeyError if it is not annotated.
        ``writable=False``: possibly a read-only array, one copy cheaper (for scoring)."""
        row = self._label_rows.get(int(index))
        if row is None:
            raise KeyError(f"frame {index} of video {self.video_id!r} is not annotated")
        return self.panoptic_row(row, writable)

    def panoptic_row(self, row: int, writable: bool = True) -> np.ndarray:
        """The map of the ``row``-th annotated frame (``writable`` as in ``panoptic``)."""
        return read_label_row(self._panoptic, int(row), self._plain_deflate, writable)

    def stored_map(self, index: int) -> StoredLabelMap:
        """Frame ``index``'s map, read only when used (``StoredLabelMap``); KeyError if it is
        not annotated."""
        row = self._label_rows.get(int(index))
        if row is None:
            raise KeyError(f"frame {index} of video {self.video_id!r} is not annotated")
        return StoredLabelMap(self, row)

    @property
    def panoptic_dtype(self) -> np.dtype:
        """The stored dtype of the label maps (int32 as the writer stores them)."""
        return self._panoptic.dtype

    @property
    def stores_maps_in_blocks(self) -> bool:
        """Whether the maps are on the writer's layout, which ``panoptic_row_blocks`` inflates
        piece by piece (else it reads each row whole and cuts it)."""
        return schema.PANOPTIC in self._group and self._plain_deflate

    def panoptic_row_blocks(self, row: int, block_pixels: int) -> Iterator[np.ndarray]:
        """The map of the ``row``-th annotated frame as consecutive flat pieces of
        ``block_pixels`` pixels (``read_label_row_blocks``)."""
        return read_label_row_blocks(self._panoptic, int(row), self._plain_deflate, block_pixels)

    @cached_property
    def _panoptic(self) -> h5py.Dataset:
        return self._group[schema.PANOPTIC]

    @cached_property
    def _plain_deflate(self) -> bool:
        return is_plain_deflate_by_frame(self._panoptic)

    def load_panoptic(self) -> np.ndarray:
        """All annotated maps of the video as one (A, H, W) array (reads the whole video)."""
        if schema.PANOPTIC not in self._group:
            return np.zeros((0, self.height, self.width), np.int32)
        return self._group[schema.PANOPTIC][()]

    def image_bytes(self, index: int) -> bytes | None:
        """The original encoded image of frame ``index``, or None if the file has none."""
        if not self.has_images:
            return None
        data = self._group[schema.IMAGES][int(index)]
        return data.tobytes() if len(data) else None

    def image(self, index: int) -> np.ndarray:
        """The decoded image of frame ``index``."""
        data = self.image_bytes(index)
        if data is None:
            raise KeyError(f"frame {index} of video {self.video_id!r} has no image")
        return decode_image(data)

    def tracks(self) -> list[schema.Track]:
        """The video's object table (empty if the file does not record one)."""
        if schema.TRACKS not in self._group:
            return []
        group = self._group[schema.TRACKS]
        keys = read_strings(group["source_key"])
        return [
            schema.Track(int(i), int(c), k)
            for i, c, k in zip(
                group["instance_id"][()], group["category_id"][()], keys, strict=True
            )
        ]

    def frame(self, index: int, with_image: bool = True) -> Frame:
        """Everything stored for frame ``index``."""
        index = int(index)
        if not 0 <= index < self.num_frames:
            raise IndexError(f"video {self.video_id!r} has {self.num_frames} frames, no {index}")
        annotated = bool(self.annotated[index])
        return Frame(
            video_id=self.video_id,
            index=index,
            source_frame=int(self.source_frames[index]),
            stem=self.stems[index],
            annotated=annotated,
            panoptic=self.panoptic(index) if annotated else None,
            image_bytes=self.image_bytes(index) if with_image else None,
        )

    def __iter__(self) -> Iterator[Frame]:
        for i in range(self.num_frames):
            yield self.frame(i)


class VPSFile:
    """Reader of a unified file: lazy, random access by (video, frame), picklable.

    The HDF5 handle is opened on first use in each process, so one ``VPSFile`` can be handed to
    DataLoader workers (fork or spawn) and each worker reads through its own handle.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file")
        self._file: h5py.File | None = None
        self._pid: int | None = None
        self._videos: dict[str, Video] = {}
        self.info = read_file_info(self.h5)

    @property
    def h5(self) -> h5py.File:
        """The underlying h5py file, (re)opened for the current process."""
        if self._file is None or self._pid != os.getpid():
            try:
                self._file = h5py.File(self.path, "r")
            except OSError as err:
                raise FormatError(f"{self.path}: cannot be read as HDF5 ({err})") from err
            self._pid = os.getpid()
            self._videos = {}
        return self._file

    def close(self) -> None:
        if self._file is not None and self._pid == os.getpid():
            self._file.close()
        self._file = None
        self._videos = {}

    def __enter__(self) -> VPSFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __getstate__(self) -> dict:
        return {"path": self.path, "info": self.info}

    def __setstate__(self, state: dict) -> None:
        self.path = state["path"]
        self.info = state["info"]
        self._file, self._pid, self._videos = None, None, {}

    def __repr__(self) -> str:
        return (
            f"VPSFile({str(self.path)!r}, {self.info.kind}, dataset={self.info.dataset!r}, "
            f"split={self.info.split!r}, videos={len(self.video_ids)})"
        )

    @cached_property
    def categories(self) -> list[schema.Category]:
        return read_categories(self.h5)

    @cached_property
    def categories_source_json(self) -> str | None:
        value = self.h5[schema.CATEGORIES].attrs.get("source_json")
        return value.decode() if isinstance(value, bytes) else value

    @cached_property
    def protocol(self) -> schema.Protocol | None:
        return read_protocol(self.h5)

    @cached_property
    def video_ids(self) -> list[str]:
        return read_strings(self.h5[schema.VIDEO_IDS])

    def video(self, video_id: str) -> Video:
        """The video with this id."""
        handle = self.h5
        if video_id not in self._videos:
            videos = handle[schema.VIDEOS]
            if video_id not in videos:
                raise KeyError(f"{self.path.name} has no video {video_id!r}")
            self._videos[video_id] = Video(videos[video_id])
        return self._videos[video_id]

    def frame(self, video_id: str, index: int, with_image: bool = True) -> Frame:
        """Random access to one frame."""
        return self.video(video_id).frame(index, with_image=with_image)

    def __iter__(self) -> Iterator[Video]:
        for vid in self.video_ids:
            yield self.video(vid)

    def __len__(self) -> int:
        return len(self.video_ids)

    def label_spacing(self) -> tuple[int, ...]:
        """Distinct gaps, in source frames, between consecutive annotated frames of a video.

        ``(5,)`` for Cityscapes-VPS, ``(10,)`` for the public VIPER labels; empty when no video
        has two annotated frames. A VPQ window of n annotated frames spans (n-1)*gap+1 frames.
        """
        gaps: set[int] = set()
        for video in self:
            gaps.update(np.diff(video.source_frames[video.annotated_indices]).tolist())
        return tuple(sorted(int(g) for g in gaps))

    def num_frames(self) -> tuple[int, int]:
        """(all frames, annotated frames) over the whole file."""
        total = annotated = 0
        for video in self:
            total += video.num_frames
            annotated += video.num_annotated
        return total, annotated


def open_file(path: str | os.PathLike) -> VPSFile:
    """Open a unified file for reading (use as a context manager)."""
    return VPSFile(path)
