"""Unified HDF5 -> the official Cityscapes-VPS layouts.

A ground-truth file becomes the prepared state: ``{split}/panoptic_video/*.png`` RGB ids,
``panoptic_gt_{split}_city_vps.json``, every frame's image in ``{split}/img_all/`` and the
annotated frames' also in ``{split}/img/``, as PNG (stored PNG bytes as they are, JPEG decoded
and re-encoded losslessly). The converter reads frames back only through those names, so every
frame is first checked to come back as it is; what would not is refused, never dropped.
A prediction file becomes a submission: ``pred.json`` + ``pan_pred/``
(optionally ``submission.zip``). Stuff segments use their category colour as id; each thing
keeps the colour it had in the release when that is known (track source key ``rgb:<id>``), else
gets a deterministic colour near its category colour, unique over the split.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from vpsbench.format import VPSFile
from vpsbench.format.reader import Video
from vpsbench.io.submission import id_to_rgb, rgb_to_id, write_submission
from vpsbench_converters.cityscapes_vps import (
    NAME_RE,
    FrameName,
    dense_file_name,
    dense_stem,
    frame_numbering,
    snippet_window,
)
from vpsbench_converters.common import ConversionError, export_file

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class ColourAllocator:
    """Unique segment colour ids for a split: category colours for stuff, nearby ones for things."""

    def __init__(self, category_colours: dict[int, tuple[int, int, int]]) -> None:
        self.base = {
            c: rgb_to_id(np.array(rgb, np.uint8)).item() for c, rgb in category_colours.items()
        }
        self.used = set(self.base.values()) | {0}

    def thing(self, category: int, preferred: int | None) -> int:
        """A colour id for a new thing: the preferred one if free, else the nearest free offset."""
        if preferred is not None and preferred not in self.used:
            self.used.add(preferred)
            return preferred
        base = np.array(id_to_rgb(np.array(self.base[category])), np.int64)
        for radius in range(1, 256):
            for delta in offsets(radius):
                rgb = np.clip(base + delta, 0, 255)
                candidate = int(rgb[0] + 256 * rgb[1] + 65536 * rgb[2])
                if candidate not in self.used:
                    self.used.add(candidate)
                    return candidate
        raise ValueError(f"no free colour left near category {category}")


def offsets(radius: int) -> list[np.ndarray]:
    """Integer RGB offsets on the surface of the cube of the given radius, in a fixed order."""
    r = range(-radius, radius + 1)
    return [
        np.array(d)
        for d in ((a, b, c) for a in r for b in r for c in r)
        if max(map(abs, d)) == radius
    ]


@dataclass(frozen=True)
class FramePlace:
    """Where the release keeps one frame: ``img/`` (key frames), ``img_all/``, ``panoptic_video/``.

    ``needs_image``: the image is the only thing that carries the frame into the layout.
    """

    index: int
    stem: str
    img: str | None
    cityscapes: tuple[str, str, int]  # city, sequence, frame: the img_all/ name
    label: str | None
    needs_image: bool

    @property
    def img_all(self) -> str:
        return dense_file_name(*self.cityscapes)


@dataclass(frozen=True)
class VideoPlace:
    """A video's frames in the layout and the snippet of ``img_all/`` the converter reads for it."""

    video_id: str
    snippet: tuple[str, str]  # city, sequence
    window: tuple[int, int]
    frames: tuple[FramePlace, ...]
    has_images: bool

    def img_all_frames(self) -> list[FramePlace]:
        """The frames whose image this video writes to img_all/."""
        return list(self.frames) if self.has_images else []


def own_name(meta: dict, keys: tuple[str, ...], stem: str) -> str | None:
    """A file name recorded in the frame meta, if it is this frame's release name."""
    for key in keys:
        name = str(meta.get(key) or "")
        if name.startswith(f"{stem}_") and name.endswith(".png"):
            return name
    return None


def label_file_name(meta: dict, stem: str) -> str:
    """The panoptic_video PNG name: as converted from, else derived from the image suffix."""
    name = own_name(meta, ("panoptic_file", "cls_file"), stem)
    if name:
        return name
    original = str(meta.get("image_file") or "").endswith("_leftImg8bit.png")
    return f"{stem}_{'gtFine_color' if original else 'final_mask'}.png"


def image_file_name(meta: dict, stem: str) -> str:
    """The img/ name: as converted from, else the release's name for a new frame."""
    return own_name(meta, ("image_file",), stem) or f"{stem}_newImg8bit.png"


def refusal(video: Video, index: int, why: str) -> ConversionError:
    """The one-line error for a frame the layout cannot carry as it is."""
    return ConversionError(
        f"cannot export video {video.video_id} frame {video.stems[index]} to the Cityscapes-VPS "
        f"layout: {why}"
    )


def key_frames(video: Video, images_only: bool) -> list[int]:
    """The frames the release keeps in img/: the annotated ones; in a split without labels
    (test), every frame not read from img_all/."""
    if images_only:
        return [i for i, meta in enumerate(video.frame_meta) if not meta.get("dense")]
    return video.annotated_indices.tolist()


def key_frame_name(video: Video, index: int) -> FrameName:
    """The release name of a key frame; its stem must be the image id the converter reads."""
    stem, source = video.stems[index], int(video.source_frames[index])
    match = NAME_RE.match(f"{stem}.png")
    name = FrameName(*match.groups()[:4], int(match[5]), "") if match else None
    if not name or name.stem != stem or name.video != video.video_id or name.frame != source:
        why = (
            "its stem is not an image id VVVV_FFFF_city_SSSSSS_FFFFFF with VVVV the video id "
            f"{video.video_id} and FFFFFF its source frame {source}"
        )
        raise refusal(video, index, why)
    return name


def place_video(video: Video, images_only: bool) -> VideoPlace:
    """Where each frame of a video goes, checked to be read back as it is (else refused)."""
    keys = key_frames(video, images_only)
    if not keys:
        what = "key frame (img/)" if images_only else "annotated frame"
        raise ConversionError(
            f"cannot export video {video.video_id} to the Cityscapes-VPS layout: it has no "
            f"{what}, and the layout keeps a video only through those"
        )
    names = {i: key_frame_name(video, i) for i in keys}
    prefixes: dict[str, int] = {}
    for i, name in names.items():
        if prefixes.setdefault(name.prefix, i) != i:
            other = video.stems[prefixes[name.prefix]]
            raise refusal(video, i, f"frame {other} has the same VVVV_FFFF_ prefix")
    first = min(names.values(), key=lambda n: n.prefix)  # the converter's first frame
    numbering = frame_numbering(names.values())
    window = snippet_window(n.frame for n in names.values())
    frames = [place_key_frame(video, i, names[i], images_only) if i in names else
              place_dense_frame(video, i, first, numbering, window)
              for i in range(video.num_frames)]  # fmt: skip
    return VideoPlace(
        video.video_id, (first.city, first.seq), window, tuple(frames), video.has_images
    )


def place_key_frame(video: Video, index: int, name: FrameName, images_only: bool) -> FramePlace:
    """An annotated (or, without labels, img/) frame: img/ and img_all/ image, label map."""
    meta, stem = video.frame_meta[index], video.stems[index]
    if images_only and not video.has_images:
        why = "a split without labels keeps frames only as images, and the file has none"
        raise refusal(video, index, why)
    label = label_file_name(meta, stem) if video.annotated[index] else None
    cityscapes = (name.city, name.seq, name.frame)
    return FramePlace(index, stem, image_file_name(meta, stem), cityscapes, label, images_only)


def place_dense_frame(
    video: Video, index: int, first: FrameName, numbering: int | None, window: tuple[int, int]
) -> FramePlace:
    """An unannotated frame: only its img_all/ image, named by city, sequence and frame."""
    source = int(video.source_frames[index])
    lo, hi = window
    if not lo <= source <= hi:
        why = (
            f"the converter reads img_all/ frames {lo}..{hi} of this snippet only (4 before the "
            f"first annotated frame to the last), not frame {source}"
        )
        raise refusal(video, index, why)
    expected = dense_stem(first, source, numbering)
    if expected != video.stems[index]:
        why = f"the converter would name this img_all/ frame {expected}"
        raise refusal(video, index, why)
    if not video.has_images:
        why = "it is not annotated and has no image, and the layout keeps it only as an image"
        raise refusal(video, index, why)
    cityscapes = (first.city, first.seq, source)
    return FramePlace(index, video.stems[index], None, cityscapes, None, True)


def place_split(gt: VPSFile) -> list[VideoPlace]:
    """Where every frame goes; refuses (before anything is written) whatever would not come back."""
    if gt.video_ids != sorted(gt.video_ids):
        raise ConversionError(
            "cannot export to the Cityscapes-VPS layout: the videos are not in ascending id order "
            f"({', '.join(gt.video_ids[:5])}, ...), and the converter reads them back sorted"
        )
    images_only = not any(video.num_annotated for video in gt)
    videos = [place_video(video, images_only) for video in gt]
    check_snippets(videos)
    return videos


def check_snippets(videos: list[VideoPlace]) -> None:
    """Refuse an img_all/ image that the converter would add to another video's snippet."""
    owners: dict[tuple[str, str], dict[int, str]] = {}
    for video in videos:
        for frame in video.img_all_frames():
            city, seq, number = frame.cityscapes
            owners.setdefault((city, seq), {}).setdefault(number, f"{video.video_id}/{frame.stem}")
    for video in videos:
        own = {frame.cityscapes[2] for frame in video.img_all_frames()}
        lo, hi = video.window
        for number, owner in sorted(owners.get(video.snippet, {}).items()):
            if lo <= number <= hi and number not in own:
                raise ConversionError(
                    f"cannot export video {video.video_id} to the Cityscapes-VPS layout: the "
                    f"img_all/ image {dense_file_name(*video.snippet, number)} of {owner} lies in "
                    "its snippet, and the converter would add it to this video"
                )


def png_bytes(data: bytes, where: str) -> bytes:
    """The image as PNG: PNG bytes as stored, anything else (JPEG) decoded and re-encoded
    losslessly, so that a ``.png`` file holds PNG data with the same pixels."""
    if data.startswith(PNG_SIGNATURE):
        return data
    buf = io.BytesIO()
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.save(buf, format="PNG")
    except (OSError, ValueError) as err:
        raise ConversionError(f"{where}: its image cannot be written as PNG ({err})") from err
    return buf.getvalue()


class ImageWriter:
    """Writes frame images into img/ and img_all/; one img_all/ name never gets two images."""

    def __init__(self, split_dir: Path) -> None:
        self.split_dir = split_dir
        self.img_all: dict[str, tuple[str, bytes]] = {}

    def write(self, video: Video, place: FramePlace) -> None:
        where = f"video {video.video_id} frame {place.stem}"
        data = video.image_bytes(place.index)
        if data is None:
            if place.needs_image:
                raise ConversionError(f"{where}: has no image, the only place the layout keeps it")
            return
        image = png_bytes(data, where)
        digest = hashlib.sha256(image).digest()
        other, seen = self.img_all.setdefault(place.img_all, (where, digest))
        if seen != digest:
            raise ConversionError(
                f"{where}: img_all/{place.img_all} already holds another image ({other})"
            )
        if place.img:
            write_file(self.split_dir / "img" / place.img, image)
        write_file(self.split_dir / "img_all" / place.img_all, image)


def segment_colours(
    pan: np.ndarray,
    gt: VPSFile,
    colours: ColourAllocator,
    thing_colour: dict[int, int],
    preferred: dict[int, int | None],
) -> tuple[np.ndarray, list[dict]]:
    """A frame's colour-id map and its segments_info, ascending by panoptic value."""
    divisor, void = gt.info.label_divisor, gt.info.void_label
    categories = {c.id: c for c in gt.categories}
    values, areas = np.unique(pan, return_counts=True)
    ids, segments = {}, []
    for value, area in zip(values.tolist(), areas.tolist(), strict=True):
        if value == void:
            continue
        category, instance = divmod(value, divisor)
        if categories[category].isthing:
            if value not in thing_colour:
                thing_colour[value] = colours.thing(category, preferred.get(instance))
            ids[value] = thing_colour[value]
        else:
            ids[value] = colours.base[category]
        segments.append({"id": ids[value], "category_id": category,
                         "iscrowd": int(categories[category].isthing and instance == 0),
                         "area": int(area)})  # fmt: skip
    lut = np.array([ids.get(v, 0) for v in values.tolist()], np.uint32)
    return lut[np.searchsorted(values, pan)], segments


def export_groundtruth(gt: VPSFile, out_dir: Path) -> Path:
    """Write a GT file in the prepared Cityscapes-VPS layout under ``out_dir``.

    Every frame is checked first to come back from the layout as it is; one that would not is
    refused with its video and stem, before anything is written.
    """
    split = gt.info.split
    places = place_split(gt)
    colours = ColourAllocator({c.id: c.color for c in gt.categories})
    writer = ImageWriter(out_dir / split)
    images, annotations = [], []
    for video, video_place in zip(gt, places, strict=True):
        thing_colour: dict[int, int] = {}
        preferred = {t.instance_id: parse_rgb_key(t.source_key) for t in video.tracks()}
        for place in video_place.frames:
            writer.write(video, place)
            if place.label is None:
                continue
            id_map, segments = segment_colours(
                video.panoptic(place.index), gt, colours, thing_colour, preferred
            )
            path = out_dir / split / "panoptic_video" / place.label
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(id_to_rgb(id_map)).save(path)
            images.append({"id": place.stem, "width": video.width, "height": video.height,
                           "file_name": place.img})  # fmt: skip
            annotations.append({"image_id": place.stem, "file_name": place.label,
                                "segments_info": segments})  # fmt: skip
    data = {
        "images": images,
        "annotations": annotations,
        "categories": json.loads(gt.categories_source_json or "[]"),
    }
    json_path = out_dir / f"panoptic_gt_{split}_city_vps.json"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data))
    return json_path


def parse_rgb_key(key: str) -> int | None:
    """The colour id recorded for a track converted from panoptic_video, if any."""
    return int(key[4:]) if key.startswith("rgb:") and key[4:].isdigit() else None


def write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def export_cityscapes_vps(
    path: str | Path,
    out_dir: str | Path,
    gt: str | Path | None = None,
    zip_it: bool = False,
    overwrite: bool = False,
) -> Path:
    """Export a unified GT or prediction file to the official Cityscapes-VPS layout, into a new
    or empty ``out_dir`` (``overwrite``: replaced whole), written completely or not at all."""
    return export_file(path, out_dir, gt, zip_it, overwrite, export_groundtruth, write_submission)
