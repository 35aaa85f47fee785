"""The VIPER category table matches VPSNet's (ids, order, exclusion, raw mapping).

VPSNet's 23 classes come from mcahny/vps ``tools/dataset/viper.py`` (ids 0-12 stuff, 13-22
things, id 11 mobilebarrier left out of ``pq_average``), the raw ids from VIPER's ``classes.csv``
(srrichter/viper); see docs/CONVERTERS.md, 'VIPER'.
"""

from __future__ import annotations

from vpsbench.datasets import viper


def test_23_classes_stuff_first_then_things():
    cats = viper.CATEGORIES
    assert [c.id for c in cats] == list(range(23))
    assert [c.isthing for c in cats] == [False] * 13 + [True] * 10
    assert cats[11].name == "mobilebarrier"
    assert viper.PROTOCOL.excluded_category_ids == (11,)
    assert viper.PROTOCOL.min_tube_area == 1024


def test_raw_ids_and_colours_as_documented():
    by_id = {c.id: c for c in viper.CATEGORIES}
    assert (by_id[0].name, by_id[0].source_id, by_id[0].color) == ("sky", 2, (70, 130, 180))
    assert (by_id[13].name, by_id[13].source_id) == ("trafficlight", 13)
    assert (by_id[20].name, by_id[20].color) == ("van", (0, 80, 100))
    assert (by_id[22].name, by_id[22].source_id) == ("truck", 27)


def test_unevaluated_raw_classes_become_void():
    table = viper.raw_to_vps_table()
    for raw in (0, 1, 5, 21, 22, 28, 29, 30, 31, 200):
        assert table[raw] == 255
    assert table[24] == 19  # car
    assert sorted(c.source_id for c in viper.CATEGORIES if c.isthing) == [
        13,
        16,
        17,
        19,
        20,
        23,
        24,
        25,
        26,
        27,
    ]
