"""Reader objects print as one short line, never with their label maps or image bytes."""

from __future__ import annotations

from vpsbench.format import VPSFile


def test_frame_repr_is_short_and_names_sizes_only(toy_gt):
    with VPSFile(toy_gt) as f:
        video = f.video("0001")
        annotated = video.frame(video.annotated_indices[0])
        image_only = video.frame(0)
    text = repr(annotated)
    assert "\n" not in text and len(text) < 200
    assert text == (
        f"Frame('0001', index=1, stem='0001_0001', source_frame=105, annotated=True, "
        f"panoptic=int32[6, 8], image=<{len(annotated.image_bytes)} bytes>)"
    )
    assert "panoptic=None" in repr(image_only) and "annotated=False" in repr(image_only)
    assert str(annotated) == text  # print(frame) shows the same line
