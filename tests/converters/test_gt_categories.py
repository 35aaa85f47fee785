"""Both converters refuse a GT segment whose category is not in the file's category table."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cityscapes_fixtures import write_release
from viper_fixtures import write_viper_tree

import vpsbench_converters.viper as viper_converter
from vpsbench.cli import main
from vpsbench_converters.common import ConversionError, check_categories


def test_check_categories_names_frame_and_value():
    pan = np.array([[0, 255_000], [13_001, 40_002]], np.int32)
    with pytest.raises(ConversionError) as err:
        check_categories(pan, np.array([0, 13]), 1000, 255, "0001_0002")
    message = str(err.value)
    assert "'0001_0002'" in message and "40002" in message and "category 40" in message
    assert "\n" not in message
    check_categories(pan[:, :1], np.array([0, 13]), 1000, 255, "ok")  # void and known: fine


def test_cityscapes_vps_segment_of_unknown_category(capsys, tmp_path):
    root = tmp_path / "release"
    write_release(root, raw=False)
    gt_json = root / "panoptic_gt_val_city_vps.json"
    data = json.loads(gt_json.read_text())
    annotation = data["annotations"][2]
    annotation["segments_info"][0]["category_id"] = 30  # not one of the 19 classes
    gt_json.write_text(json.dumps(data))
    out = tmp_path / "o.h5"
    code = main(["convert", "cityscapes-vps", str(root), "--split", "val", "-o", str(out)])
    err = capsys.readouterr().err
    line = err.splitlines()[0]  # the one-line error (a --debug hint may follow)
    assert code == 2 and line.startswith("vpsbench convert: error: frame")
    assert annotation["image_id"] in line and "category 30" in line and "30000" in line
    assert not list(tmp_path.glob("o.h5*"))


def test_viper_segment_of_unknown_category(monkeypatch, tmp_path):
    """Raw VIPER ids always map into the table; a broken mapping is caught, not written."""
    write_viper_tree(tmp_path, sequences=("001",), frames=range(10, 21))
    broken = viper_converter.CLASS_VALUE.copy()
    broken[3] = 99 * 1000  # raw road -> a category that does not exist
    monkeypatch.setattr(viper_converter, "CLASS_VALUE", broken)
    with pytest.raises(ConversionError, match=r"frame '001_00010'.*value 99000.*category 99"):
        viper_converter.convert_viper(tmp_path, "val", tmp_path / "v.h5")
    assert not list(tmp_path.glob("v.h5*"))
