"""VIPSeg's category table is the release's panoVIPSeg_categories.json, byte for byte."""

from __future__ import annotations

import hashlib
import json

from vpsbench.datasets import get_dataset, vipseg

# sha256 of panoVIPSeg_categories.json in github.com/VIPSeg-Dataset/VIPSeg-Dataset (HEAD
# 92e1459): the verbatim file, one line, default JSON separators.
OFFICIAL_SHA256 = "1d45670f47a2e12b77f9b88b456c515a081a37fcd6e19479241f5a9daf400d84"


def test_category_json_is_the_shipped_file():
    text = vipseg.category_json()
    assert hashlib.sha256(text.encode()).hexdigest() == OFFICIAL_SHA256
    table = json.loads(text)
    assert [c["id"] for c in table] == list(range(124))
    assert sum(c["isthing"] for c in table) == 58
    assert list(table[0]) == ["id", "name", "isthing", "color"]


def test_categories_and_raw_codes():
    dataset = get_dataset("VIPSeg")
    assert dataset is vipseg.DATASET and dataset.label_divisor == 10000
    by_name = {c.name: c for c in dataset.categories}
    # README: "the category ID of person is 61", i.e. raw code 61, JSON id 60
    assert by_name["person"].id == 60 and by_name["person"].source_id == 61
    assert by_name["person"].isthing and not by_name["ceiling"].isthing
    assert all(c.source_id == c.id + 1 for c in dataset.categories)
    # Playground_slide (stuff) and car (thing) share a colour in the official table.
    assert by_name["Playground_slide"].color == by_name["car"].color == (140, 140, 140)
    assert dataset.protocol.name == "vipseg_official"
    assert dataset.protocol.vpq_window_sizes == (1, 2, 4, 6, 8)
