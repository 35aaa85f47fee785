"""A detectron2-style video panoptic evaluator (``reset`` / ``process`` / ``evaluate``) built on
``vpsbench.Evaluator``, with no detectron2 dependency (docs/LIBRARY.md).

detectron2's ``inference_on_dataset`` calls ``reset()`` once, ``process(inputs, outputs)`` per
batch and ``evaluate()`` at the end, on every process of a distributed run. Here one input is
one annotated frame::

    inputs[i]  = {"video_id": "0005", "frame_index": 3, "panoptic": gt}   # gt: (H, W) ints
    outputs[i] = {"panoptic_seg": (segment_ids, segments_info)}

``gt`` is ``category * label_divisor + instance`` (void = ``ignore_label * label_divisor``);
``segment_ids`` is the (H, W) map of segment ids (0 = no segment) and ``segments_info`` lists
``{"id", "category_id"}`` plus ``"track_id"`` for tracked things, as panoptic heads return it.
Tensors are accepted (anything with ``.cpu()`` / ``__array__``). Each process must see whole
videos, in frame order (shard the dataset by video, as VPS loaders do); ``evaluate()`` gathers
the evaluators with ``gather`` (e.g. ``detectron2.utils.comm.gather``) and merges them.

Run it: ``python examples/detectron2_style_evaluator.py`` scores a tiny fake loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import vpsbench


def to_numpy(array: Any) -> np.ndarray:
    """A numpy array from a numpy array or a (CUDA or CPU) tensor."""
    if hasattr(array, "cpu"):  # torch.Tensor, without importing torch
        array = array.cpu()
    return np.asarray(array)


def segments_to_panoptic(
    segment_ids: np.ndarray, segments_info: Sequence[dict], label_divisor: int, void: int
) -> np.ndarray:
    """A detectron2 panoptic output as a vpsbench panoptic map: each segment becomes
    ``category * label_divisor + track id`` (0 for stuff), id 0 becomes void."""
    out = np.full(segment_ids.shape, void, np.int64)
    for segment in segments_info:
        instance = int(segment.get("track_id", 0) or 0)
        out[segment_ids == segment["id"]] = segment["category_id"] * label_divisor + instance
    return out


class VPSEvaluator:
    """``DatasetEvaluator``-shaped adapter: ``reset``, ``process(inputs, outputs)``,
    ``evaluate() -> {"panoptic_seg": {...}}``; ``options`` go to ``vpsbench.Evaluator``."""

    def __init__(
        self,
        protocol: str = "cityscapes_vps_official",
        gather: Callable[[Any], list] | None = None,
        **options: Any,
    ) -> None:
        self._protocol = protocol
        self._options = options
        # detectron2.utils.comm.gather returns every rank's object on rank 0 (else []).
        self._gather = gather or (lambda evaluator: [evaluator])
        self.reset()

    def reset(self) -> None:
        """Start a new evaluation (detectron2 calls it before the first batch)."""
        self._evaluator = vpsbench.Evaluator(self._protocol, **self._options)
        self._last_frame: dict[str, int] = {}

    def process(self, inputs: Sequence[dict], outputs: Sequence[dict]) -> None:
        """Add one batch of frames: each is reduced to its statistics at once, maps not kept."""
        space = self._evaluator.space
        for sample, output in zip(inputs, outputs, strict=True):
            video_id = str(sample["video_id"])
            index = int(sample["frame_index"])
            if index <= self._last_frame.get(video_id, -1):
                raise ValueError(
                    f"video {video_id}: frame {index} came after frame "
                    f"{self._last_frame[video_id]}; feed each video's frames in order"
                )
            self._last_frame[video_id] = index
            segment_ids, segments_info = output["panoptic_seg"]
            pred = segments_to_panoptic(
                to_numpy(segment_ids), segments_info, space.label_divisor, space.void
            )
            gt = to_numpy(sample["panoptic"])
            self._evaluator.add_frame(video_id, gt, pred, stem=str(index))

    def evaluate(self) -> dict | None:
        """The headline scores (rank 0 of a distributed run; None on the other ranks)."""
        evaluators = self._gather(self._evaluator)
        if not evaluators:
            return None
        merged = vpsbench.Evaluator(self._protocol, **self._options)
        for evaluator in evaluators:
            merged.merge(evaluator)
        summary = merged.result().summary
        # detectron2 logs {task: {name: number}}; the metrics not selected are left out.
        headline = {"VPQ": ("vpq", "all"), "PQ": ("pq", "all"), "STQ": ("stq", "stq")}
        scores = {
            name: summary[metric][key]
            for name, (metric, key) in headline.items()
            if metric in summary
        }
        return {"panoptic_seg": scores}


def fake_loop(evaluator: VPSEvaluator, videos: int = 2, frames: int = 4) -> dict | None:
    """Run ``evaluator`` as ``inference_on_dataset`` would, on made-up frames and outputs."""
    evaluator.reset()
    for v in range(videos):
        for t in range(frames):
            gt = np.zeros((32, 64), np.int32)  # road
            gt[:10] = 10 * 1000  # sky
            gt[14:24, 4 + 4 * t : 20 + 4 * t] = 13 * 1000 + 1  # car, track 1
            ids = np.where(gt == 0, 1, np.where(gt == 10_000, 2, 3))
            ids[14:24, 18 + 4 * t : 20 + 4 * t] = 1  # the prediction misses the car's front
            info = [
                {"id": 1, "category_id": 0, "isthing": False},
                {"id": 2, "category_id": 10, "isthing": False},
                {"id": 3, "category_id": 13, "isthing": True, "track_id": 7},
            ]
            sample = {"video_id": f"video{v}", "frame_index": t, "panoptic": gt}
            evaluator.process([sample], [{"panoptic_seg": (ids, info)}])
    return evaluator.evaluate()


if __name__ == "__main__":
    print(fake_loop(VPSEvaluator(metrics="vpq,pq,stq")))
