"""The Cityscapes-VPS category table as shipped (mcahny/vps city_default.py), quirks included."""

from __future__ import annotations

import json

import numpy as np

from vpsbench.datasets import cityscapes_vps
from vpsbench.io.submission import rgb_to_id


def test_19_classes_11_stuff_8_things_with_source_quirks():
    cats = {c.id: c for c in cityscapes_vps.CATEGORIES}
    assert sorted(cats) == list(range(19))
    assert [cats[i].isthing for i in range(19)] == [False] * 11 + [True] * 8
    assert cats[8].name == "vegitation"
    assert cats[7].source_id == 21 and cats[8].source_id == 21  # traffic sign's ori_id bug
    assert cityscapes_vps.PROTOCOL.vpq_k == (0, 5, 10, 15)


def test_stuff_segment_ids_are_colour_ids():
    cats = {c.id: c for c in cityscapes_vps.CATEGORIES}
    assert rgb_to_id(np.array(cats[0].color, np.uint8)).item() == 8405120
    assert rgb_to_id(np.array(cats[7].color, np.uint8)).item() == 56540


def test_category_json_key_order_and_values():
    text = cityscapes_vps.category_json()
    data = json.loads(text)
    assert list(data[0]) == [
        "id", "name", "supercategory", "isthing", "instance_eval", "trainid", "ori_id", "color"
    ]  # fmt: skip
    assert data[13] == {
        "id": 13, "name": "car", "supercategory": "vehicle", "isthing": 1, "instance_eval": 1,
        "trainid": 13, "ori_id": 26, "color": [0, 0, 142],
    }  # fmt: skip
    assert '"name": "road", ' in text  # default separators
