"""Official Cityscapes-VPS submission (``pred.json`` + ``pan_pred/``, or a zip) -> unified file.

The prediction file records ``tube_identity = "instance"``: every thing colour id of a video
becomes one instance id whatever category it has in each frame, so VPQ scores the file with
the tubes the official scorer forms from the submission (docs/FORMAT.md, "Tube identity").
What that encoding cannot keep exact is refused, naming the frame.
"""

from __future__ import annotations

from pathlib import Path

from tqdm import tqdm

from vpsbench.evaluation.predictions import (
    SubmissionPredictions,
    assign_instance_values,
    open_predictions,
)
from vpsbench.format import FileInfo, VPSFile, VPSWriter
from vpsbench.format.schema import TUBE_IDENTITY_INSTANCE


def import_submission(
    submission: str | Path,
    gt_path: str | Path,
    out_path: str | Path,
    progress: bool = False,
    overwrite: bool = False,
) -> Path:
    """Write the submission's maps of every annotated GT frame as a unified prediction file."""
    gt_path = Path(gt_path)
    with VPSFile(gt_path) as gt, open_predictions(submission, gt) as source:
        if not isinstance(source, SubmissionPredictions):
            raise ValueError(f"{Path(submission).name} is a unified file already, not a submission")
        info = FileInfo.prediction_of(
            gt.info,
            gt_path.name,
            f"vpsbench convert submission {Path(submission).name}",
            tube_identity=TUBE_IDENTITY_INSTANCE,
        )
        things = {c.id for c in gt.categories if c.isthing}
        with VPSWriter(
            out_path, info, gt.categories, None, gt.categories_source_json, overwrite=overwrite
        ) as writer:
            videos = [v for v in gt if v.num_annotated > 0]
            for video in tqdm(videos, desc="import submission", unit="video", disable=not progress):
                stems = [video.stems[i] for i in video.annotated_indices]
                frames = [source.frames[video.video_id][stem] for stem in stems]
                tables = [source.segment_categories(f) for f in frames]
                values = assign_instance_values(
                    tables, gt.info.label_divisor, things, f"video {video.video_id}"
                )
                with writer.video(video.video_id, video.height, video.width) as out:
                    for frame, i in zip(frames, video.annotated_indices, strict=True):
                        pan = source.frame_map(frame, values)
                        out.add_frame(frame.stem, int(video.source_frames[i]), pan)
    return Path(out_path)
