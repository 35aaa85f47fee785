"""The notes under the console table and in report.md: the protocol a reader cannot see."""

from vpsbench.report.markdown import describe_protocol, notes

OFFICIAL = {
    "name": "cityscapes_vps_official",
    "vpq_window_sizes": [1, 2, 3, 4],
    "vpq_k": [0, 5, 10, 15],
    "min_tube_area": 0,
    "excluded_category_ids": [],
    "vc_clip_lengths": [2, 4, 6],
}


def test_an_official_protocol_is_named_with_its_vc_clips():
    assert describe_protocol(OFFICIAL, with_vc=True) == (
        "protocol cityscapes_vps_official: VC clips of 2, 4 and 6 annotated frames"
    )
    assert describe_protocol(OFFICIAL, with_vc=False) == "protocol cityscapes_vps_official"


def test_a_custom_protocol_says_what_it_sets():
    custom = {**OFFICIAL, "name": "custom", "vc_clip_lengths": [2], "min_tube_area": 1024,
              "excluded_category_ids": [11]}  # fmt: skip
    assert describe_protocol(custom, with_vc=True) == (
        "protocol custom (not a registered protocol): VC clips of 2 annotated frames, GT tubes "
        "of fewer than 1024 pixels in a window neither matched nor missed, category 11 not in "
        "the class means"
    )


def test_the_protocol_note_comes_first_and_only_with_a_protocol():
    summary = {"vpq": {}, "vc": {}, "protocol": OFFICIAL, "inputs": {"label_spacing": [5]}}
    lines = notes(summary)
    assert lines[0].startswith("protocol cityscapes_vps_official: VC clips")
    assert lines[1].startswith("VPQ windows of 1, 2, 3, 4 annotated frames")
    assert not any(line.startswith("protocol") for line in notes({"vpq": {}}))
