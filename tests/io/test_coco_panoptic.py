"""Image PQ on COCO-panoptic files: the fast path against a literal panopticapi procedure,
hand-computed cases, invariances and the one-line refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import literal_panopticapi
import numpy as np
import pytest
from coco_fixtures import CocoCase, CocoImage, category, random_case, write_png
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from vpsbench.io.coco_panoptic import CocoPanopticError, pq_compute

ROAD, PERSON, CAR = 7, 24, 26
CATEGORIES = [category(ROAD, False, "road"), category(PERSON, True), category(CAR, True)]


def score(case: CocoCase, root: Path, **kw) -> dict:
    gt_json, gt_dir, pred_json, pred_dir = case.write(root)
    return pq_compute(gt_json, pred_json, gt_dir, pred_dir, **kw)


def literal(case: CocoCase, root: Path) -> dict:
    gt_json, gt_dir, pred_json, pred_dir = case.write(root)
    return literal_panopticapi.pq_compute(gt_json, pred_json, gt_dir, pred_dir)


def assert_close(got, want, tol=1e-12):
    if isinstance(want, dict):
        assert list(got) == list(want)  # same keys, same order
        for key in want:
            assert_close(got[key], want[key], tol)
    elif want is None or isinstance(want, int):  # n, or a group with no class
        assert got == want
    else:
        assert got == pytest.approx(want, abs=tol, rel=0)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans())
def test_fast_path_equals_the_literal_procedure(tmp_path_factory, seed, quirks):
    root = tmp_path_factory.mktemp("case")
    case = random_case(seed, quirks)
    got = score(case, root)
    assert_close(got, literal(case, root))
    for name in ("All", "Things", "Stuff"):
        assert isinstance(got[name]["n"], int)


def two_images() -> CocoCase:
    """Image 1: road left, car right; the prediction moves 2 car pixels to road (road IoU 8/10,
    car 6/8). Image 2: void top row, a person crowd below it, road; a predicted person on the
    void and the crowd is ignored, a 1-pixel predicted car on the road is an FP."""
    gt1 = np.full((4, 4), 100)
    gt1[:, 2:] = 200
    pred1 = np.where(gt1 == 100, 5, 6)
    pred1[0, 2:] = 5
    gt2 = np.full((4, 4), 100)
    gt2[0] = 0
    gt2[1] = 300
    pred2 = np.full((4, 4), 11)
    pred2[:2] = 12
    pred2[3, 3] = 13
    return CocoCase(
        CATEGORIES,
        [
            CocoImage(1, "a.png", gt1, [{"id": 100, "category_id": ROAD},
                                        {"id": 200, "category_id": CAR}]),
            CocoImage(2, "b.png", gt2, [{"id": 100, "category_id": ROAD},
                                        {"id": 300, "category_id": PERSON, "iscrowd": 1}]),
        ],
        [
            CocoImage(2, "b.png", pred2, [{"id": 11, "category_id": ROAD},
                                          {"id": 12, "category_id": PERSON},
                                          {"id": 13, "category_id": CAR}]),
            CocoImage(1, "a.png", pred1, [{"id": 5, "category_id": ROAD},
                                          {"id": 6, "category_id": CAR}]),
        ],
    )  # fmt: skip


def test_hand_computed_case(tmp_path):
    got = score(two_images(), tmp_path)
    road = {"pq": (0.8 + 7 / 8) / 2, "sq": (0.8 + 7 / 8) / 2, "rq": 1.0}
    car = {"pq": 0.75 / 1.5, "sq": 0.75, "rq": 1 / 1.5}
    want = {
        "All": {
            "pq": (road["pq"] + car["pq"]) / 2,
            "sq": (road["sq"] + car["sq"]) / 2,
            "rq": (1 + 2 / 3) / 2,
            "n": 2,
        },
        # person: crowd never missed, its prediction ignored: no count, 0.0 and not in n
        "per_class": {ROAD: road, PERSON: {"pq": 0.0, "sq": 0.0, "rq": 0.0}, CAR: car},
        "Things": {**car, "n": 1},
        "Stuff": {**road, "n": 1},
    }
    assert_close(got, want, tol=1e-15)
    assert_close(literal(two_images(), tmp_path / "literal"), want, tol=1e-15)


@pytest.mark.parametrize("last_listed, fp", [(301, 0), (302, 1)])
def test_only_the_last_listed_crowd_segment_of_a_category_ignores_predictions(
    tmp_path, last_listed, fp
):
    gt = np.full((3, 4), 100)
    gt[0], gt[1] = 301, 302
    pred = np.full((3, 4), 5)
    pred[0] = 6  # a person exactly on crowd segment 301
    crowd = [{"id": i, "category_id": PERSON, "iscrowd": 1} for i in (301, 302)]
    crowd.sort(key=lambda s: s["id"] == last_listed)  # last_listed goes last
    case = CocoCase(
        CATEGORIES,
        [CocoImage(1, "a.png", gt, [{"id": 100, "category_id": ROAD}, *crowd])],
        [CocoImage(1, "a.png", pred, [{"id": 5, "category_id": ROAD},
                                      {"id": 6, "category_id": PERSON}])],
    )  # fmt: skip
    got = score(case, tmp_path)
    assert got["Things"]["n"] == fp
    assert got["per_class"][PERSON]["pq"] == 0.0
    assert_close(got, literal(case, tmp_path / "literal"))


@pytest.mark.parametrize("area, tp", [(None, 1), (8, 1), (12, 1), (20, 0)])
def test_gt_areas_come_from_the_json(tmp_path, area, tp):
    gt = np.full((4, 4), 100)
    gt[:, 2:] = 200
    pred = np.where(gt == 100, 5, 6)
    car = {"id": 200, "category_id": CAR} | ({} if area is None else {"area": area})
    case = CocoCase(
        CATEGORIES,
        [CocoImage(1, "a.png", gt, [{"id": 100, "category_id": ROAD}, car])],
        [CocoImage(1, "a.png", pred, [{"id": 5, "category_id": ROAD},
                                      {"id": 6, "category_id": CAR}])],
    )  # fmt: skip
    got = score(case, tmp_path)
    union = 8 if area is None else area
    want_pq = 8 / union if tp else 0.0  # IoU 8/20 < 0.5: one FN and one FP
    assert got["per_class"][CAR]["pq"] == pytest.approx(want_pq)
    assert got["per_class"][CAR]["rq"] == (1.0 if tp else 0.0)
    assert_close(got, literal(case, tmp_path / "literal"))


def test_a_listed_gt_segment_without_pixels_is_a_false_negative(tmp_path):
    gt = np.full((2, 2), 100)
    case = CocoCase(
        CATEGORIES,
        [CocoImage(1, "a.png", gt, [{"id": 100, "category_id": ROAD},
                                    {"id": 200, "category_id": CAR, "area": 3}])],
        [CocoImage(1, "a.png", np.full((2, 2), 5), [{"id": 5, "category_id": ROAD}])],
    )  # fmt: skip
    got = score(case, tmp_path)
    assert got["per_class"][CAR] == {"pq": 0.0, "sq": 0.0, "rq": 0.0}
    assert got["Things"]["n"] == 1  # counted: FN = 1
    assert got["All"]["pq"] == pytest.approx(0.5)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_a_perfect_prediction_scores_one(tmp_path_factory, seed):
    case = random_case(seed)
    # The prediction is the GT with crowd pixels left unlabelled.
    pred = []
    for image in case.gt:
        crowd = [s["id"] for s in image.segments if s["iscrowd"]]
        ids = np.where(np.isin(image.ids, crowd), 0, image.ids)
        segments = [
            {"id": s["id"], "category_id": s["category_id"]}
            for s in image.segments
            if not s["iscrowd"]
        ]
        pred.append(CocoImage(image.image_id, image.file_name, ids, segments))
    got = score(CocoCase(case.categories, case.gt, pred), tmp_path_factory.mktemp("perfect"))
    for name in ("All", "Things", "Stuff"):
        group = got[name]
        if group["n"]:
            assert (group["pq"], group["sq"], group["rq"]) == (1.0, 1.0, 1.0)
        else:
            assert group["pq"] is None
    assert {v["pq"] for v in got["per_class"].values()} <= {0.0, 1.0}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_permuting_segment_ids_changes_nothing(tmp_path_factory, seed, perm_seed):
    case = random_case(seed, quirks=True)
    rng = np.random.default_rng(perm_seed)

    def permuted(image: CocoImage) -> CocoImage:
        old = sorted({int(v) for v in np.unique(image.ids)} | {s["id"] for s in image.segments})
        old = [v for v in old if v != 0]
        new = rng.choice(np.arange(1, 1 << 24), size=len(old), replace=False).tolist()
        table = dict(zip(old, new, strict=True))
        ids = np.vectorize(lambda v: table.get(int(v), 0))(image.ids)
        segments = [{**s, "id": table[s["id"]]} for s in image.segments]
        return CocoImage(image.image_id, image.file_name, ids, segments)

    before = score(case, tmp_path_factory.mktemp("before"))
    shuffled = CocoCase(case.categories, [permuted(i) for i in case.gt],
                        [permuted(i) for i in case.pred])  # fmt: skip
    after = score(shuffled, tmp_path_factory.mktemp("after"))
    assert after == before


def test_workers_give_the_same_result(tmp_path):
    case = random_case(7, quirks=True, images=6)
    assert score(case, tmp_path, workers=2) == score(case, tmp_path / "one", workers=1)


def test_folders_default_to_the_json_path_without_json(tmp_path):
    gt_json, _, pred_json, _ = two_images().write(tmp_path)  # gt.json + gt/, pred.json + pred/
    assert pq_compute(gt_json, pred_json) == score(two_images(), tmp_path / "explicit")


# --- refusals: one line, naming what is wrong and how to fix it ---------------------------


def written(tmp_path) -> tuple[Path, Path, Path, Path]:
    return two_images().write(tmp_path)


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def refused(paths, match: str) -> str:
    gt_json, gt_dir, pred_json, pred_dir = paths
    with pytest.raises(CocoPanopticError, match=match) as info:
        pq_compute(gt_json, pred_json, gt_dir, pred_dir)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_refuses_a_missing_png(tmp_path):
    paths = written(tmp_path)
    (paths[3] / "a.png").unlink()
    message = refused(paths, r"image 1: prediction PNG .*a.png does not exist")
    assert "file_name" in message
    paths = written(tmp_path / "gt")
    (paths[1] / "b.png").unlink()
    refused(paths, r"image 2: GT PNG .*b.png does not exist")


def test_refuses_a_png_id_not_in_the_prediction_json(tmp_path):
    paths = written(tmp_path)
    edit_json(paths[2], lambda d: d["annotations"][0]["segments_info"].pop(2))
    refused(
        paths,
        r"image 2: segment id 13 is in the prediction PNG b.png but not in its segments_info; "
        r"list it with its category_id, or paint its pixels 0",
    )


def test_refuses_a_listed_id_not_in_the_prediction_png(tmp_path):
    paths = written(tmp_path)
    edit_json(
        paths[2],
        lambda d: d["annotations"][1]["segments_info"].append({"id": 99, "category_id": ROAD}),
    )
    refused(
        paths,
        r"image 1: segment id 99 is in the prediction's segments_info but not in its PNG a.png; "
        r"remove it",
    )


def test_refuses_an_unknown_predicted_category(tmp_path):
    paths = written(tmp_path)
    edit_json(paths[2], lambda d: d["annotations"][0]["segments_info"][2].update(category_id=5))
    refused(
        paths,
        r"pred.json: annotations\[0\] \(image 2\) segments_info\[2\]: segment 13 has "
        r"category_id 5, which is not in the categories of gt.json",
    )


def test_refuses_a_gt_image_without_prediction(tmp_path):
    paths = written(tmp_path)
    edit_json(paths[2], lambda d: d["annotations"].pop(0))
    refused(paths, r"no prediction for image 2 in pred.json")


def test_predictions_of_other_images_are_not_scored(tmp_path):
    paths = written(tmp_path)
    before = pq_compute(paths[0], paths[2], paths[1], paths[3])
    extra = {"segments_info": [], "file_name": "zz.png", "image_id": 77}
    edit_json(paths[2], lambda d: d["annotations"].append(extra))
    assert pq_compute(paths[0], paths[2], paths[1], paths[3]) == before


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda d: d["annotations"][0]["segments_info"][0].update(id=0), "id 0 is listed"),
        (lambda d: d["annotations"][0]["segments_info"][1].update(id=11), "listed twice"),
        (lambda d: d["annotations"][0]["segments_info"][0].update(id="11"), "is a string"),
        (lambda d: d["annotations"][1].update(image_id=2), "image 2 is predicted twice"),
        (lambda d: d["annotations"][0].pop("file_name"), "file_name"),
        (lambda d: d["annotations"][0].update(file_name="../b.png"), "leaves the PNG folder"),
    ],
)
def test_refuses_malformed_prediction_annotations(tmp_path, change, match):
    paths = written(tmp_path)
    edit_json(paths[2], change)
    refused(paths, match)


@pytest.mark.parametrize(
    "change, match",
    [
        (lambda d: d.pop("categories"), 'no "categories" list'),
        (lambda d: d["categories"].append(dict(d["categories"][0])), "listed twice"),
        (lambda d: d["categories"][0].update(isthing=2), "isthing is 2"),
        (lambda d: d["annotations"][1]["segments_info"][1].update(iscrowd=3), "iscrowd is 3"),
        (lambda d: d["annotations"][0]["segments_info"][0].update(area="8"), "area is"),
        (lambda d: d["annotations"].append(d["annotations"][0]), "image 1 is annotated twice"),
    ],
)
def test_refuses_malformed_gt(tmp_path, change, match):
    paths = written(tmp_path)
    edit_json(paths[0], change)
    refused(paths, match)


def test_refuses_pngs_that_are_not_8_bit_rgb_or_differ_in_size(tmp_path):
    paths = written(tmp_path)
    rgb = np.asarray(Image.open(paths[3] / "a.png"))
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])).save(
        paths[3] / "a.png"
    )
    refused(paths, r"prediction PNG .*a.png is a 8-bit RGBA PNG; segment ids are R \+ 256 G")
    write_png(paths[3] / "a.png", np.full((4, 5), 5))
    refused(paths, r"image 1: prediction a.png is 5x4, GT a.png is 4x4")
    (paths[3] / "a.png").write_bytes(b"\xff\xd8\xff not a png")
    refused(paths, r"a.png is not a PNG file")


def test_refuses_missing_files_and_folders(tmp_path):
    gt_json, gt_dir, pred_json, pred_dir = written(tmp_path)
    with pytest.raises(CocoPanopticError, match=r"prediction folder .* does not exist"):
        pq_compute(gt_json, pred_json, gt_dir, tmp_path / "nope")
    with pytest.raises(CocoPanopticError, match=r"GT JSON .*nope\.json: no such file"):
        pq_compute(tmp_path / "nope.json", pred_json, gt_dir, pred_dir)
    shutil.rmtree(gt_dir)
    with pytest.raises(CocoPanopticError, match=r"GT folder .* does not exist"):
        pq_compute(gt_json, pred_json, gt_dir, pred_dir)
    pred_json.write_text("{not json")
    with pytest.raises(CocoPanopticError, match="is not valid JSON"):
        pq_compute(gt_json, pred_json, gt_dir, pred_dir)
