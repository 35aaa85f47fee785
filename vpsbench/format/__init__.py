"""The unified vpsbench HDF5 format: schema records, streaming writer, lazy reader, validator.

The full specification is ``docs/FORMAT.md``. Everything in vpsbench (converters, evaluator,
reference model, leaderboard) exchanges data through files written by ``VPSWriter`` and read by
``VPSFile``.
"""

from vpsbench.format.reader import FormatError, Frame, Video, VPSFile, open_file
from vpsbench.format.schema import (
    FORMAT_NAME,
    FORMAT_VERSION,
    KIND_GROUNDTRUTH,
    KIND_PREDICTION,
    Category,
    FileInfo,
    GroundTruthRef,
    Protocol,
    Track,
    decode_panoptic,
    encode_panoptic,
)
from vpsbench.format.writer import VideoWriter, VPSWriter

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "KIND_GROUNDTRUTH",
    "KIND_PREDICTION",
    "Category",
    "FileInfo",
    "FormatError",
    "Frame",
    "GroundTruthRef",
    "Protocol",
    "Track",
    "VPSFile",
    "VPSWriter",
    "Video",
    "VideoWriter",
    "decode_panoptic",
    "encode_panoptic",
    "open_file",
]
