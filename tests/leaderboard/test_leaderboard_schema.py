"""Entry schema and registry: the seeds load, invalid entries are refused with clear messages."""

from __future__ import annotations

import json
import re

import pytest
from lb_fixtures import PUBLISHED, published_entry, write_entry

from vpsbench_leaderboard.registry import (
    DEFAULT_REGISTRY,
    RegistryError,
    add_entry,
    list_entries,
    load_entries,
    read_entry,
)
from vpsbench_leaderboard.schema import EntryError, entry_problems, slug, validate_entry


def test_seed_registry_is_valid_and_keeps_the_published_statuses():
    entries = load_entries(DEFAULT_REGISTRY)
    assert len(entries) >= 31
    by_id = {e["id"]: e for e in entries}
    vpsnet = by_id["vpsnet-fusetrack-cityscapes-vps-val"]
    assert vpsnet["verified"] is False and vpsnet["source"]["status"] == "unverified"
    assert vpsnet["metrics"]["vpq"]["k"]["15"] == {"all": 52.8, "things": 35.8, "stuff": 65.3}
    assert vpsnet["metrics"]["vpq"]["all"] == 57.5
    dvis = by_id["dvis-offline-swin-l-720p-vipseg-val"]
    assert dvis["verified"] is True and dvis["metrics"]["vpq"]["things"] == 59.9
    assert by_id["vip-deeplab-cityscapes-vps-val"]["source"]["status"] == "secondary"
    published = [e for e in entries if e["source"]["type"] == "published"]
    # verified exactly where the number was read from the primary source ([V-src])
    assert all(e["verified"] == (e["source"]["status"] == "primary") for e in published)


def test_list_filters_by_dataset_and_split():
    entries = list_entries(DEFAULT_REGISTRY, dataset="cityscapes_vps", split="test")
    assert {e["method"] for e in entries} == {"VPSNet-FuseTrack", "Slot-VPS", "ViP-DeepLab"}


def test_valid_entry_passes():
    assert validate_entry(published_entry()) == PUBLISHED


def nested(path: str, value):
    """The valid entry with one nested field (dotted path) set; value ... deletes it."""
    entry = published_entry()
    *parents, last = path.split(".")
    target = entry
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return entry


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("method", ..., 'entry: missing "method"'),
        ("methdo", "x", "entry: unknown keys ['methdo']"),
        ("schema", 2, "schema: expected 1"),
        ("id", "Has Spaces", "id: 'Has Spaces' must match"),
        ("dataset", "../etc", "dataset: '../etc' must be lower-case"),
        ("verified", "yes", "verified: expected true or false"),
        ("metrics.vpq.all", 101.0, "metrics.vpq.all: 101.0 is outside [0.0, 100.0]"),
        ("metrics.vpq.all", "57", "metrics.vpq.all: expected a number or null, got a string"),
        ("metrics.vpq.all", True, "metrics.vpq.all: expected a number or null, got a boolean"),
        ("metrics.vpq.k.0.thing", 1.0, "metrics.vpq.k.0: unknown keys ['thing']"),
        ("metrics.vpq.k.x", {"all": 1.0}, "metrics.vpq.k: k label 'x' is not"),
        ("metrics.map", {"all": 1.0}, "metrics: unknown keys ['map']"),
        ("metrics.idsw", {"idsw": -1}, "metrics.idsw.idsw: expected a non-negative integer"),
        ("source.url", "javascript:alert(1)", "source.url: 'javascript:alert(1)' is not an http"),
        ("source.status", "probably", "source.status: expected one of"),
        ("source.type", "rumour", 'source: expected an object with "type"'),
        ("notes", "bad\x07bell", "notes: contains control characters"),
    ],
)
def test_invalid_entries_name_the_field(path, value, message):
    with pytest.raises(EntryError, match="invalid leaderboard entry") as err:
        validate_entry(nested(path, value))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_verified_needs_the_primary_source():
    entry = nested("source.status", "secondary")
    assert entry_problems(entry) == [
        'verified: true needs source.status "primary" (read from the source)'
    ]
    entry["verified"] = False
    assert entry_problems(entry) == []


def test_an_entry_needs_a_score():
    entry = published_entry(metrics={"vpq": {"all": None}})
    assert entry_problems(entry) == ["metrics: no score at all; give at least one number"]


def test_reproduced_source_fields_are_checked():
    source = {
        "type": "reproduced",
        "vpsbench_version": "0.1.0",
        "command": "vpsbench leaderboard score x.h5 --gt gt.h5 --method M",
        "seed": "one",
        "commit": None,
        "date": "yesterday",
        "hardware": "cpu",
    }
    problems = entry_problems(published_entry(source=source))
    assert "source.seed: expected an integer or null, got a string" in problems
    assert "source.date: expected an ISO 8601 date, got 'yesterday'" in problems
    source.update(seed=3, date="2024-05-01T10:00:00+00:00")
    assert entry_problems(published_entry(source=source)) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"schema": 1, "schema": 1}', "duplicate keys ['schema']"),
        ('{"x": NaN}', "NaN is not a valid JSON number"),
        ("{not json", "not valid JSON"),
    ],
)
def test_strict_json(tmp_path, text, message):
    (tmp_path / "e.json").write_text(text)
    with pytest.raises(EntryError, match=re.escape(message)):
        read_entry(tmp_path / "e.json")


def test_registry_file_must_be_named_after_its_id(tmp_path):
    write_entry(tmp_path / "other-name.json", published_entry())
    with pytest.raises(EntryError, match="must be named after its id"):
        load_entries(tmp_path)


def test_add_refuses_an_existing_id_unless_replacing(tmp_path):
    path = add_entry(published_entry(), tmp_path)
    assert path.name == "toynet-cityscapes-vps-val.json"
    assert json.loads(path.read_text()) == PUBLISHED
    with pytest.raises(RegistryError, match="exists"):
        add_entry(published_entry(notes="changed"), tmp_path)
    add_entry(published_entry(notes="changed"), tmp_path, replace=True)
    assert load_entries(tmp_path)[0]["notes"] == "changed"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_slug():
    assert slug("DVIS++", "online, R50", "vipseg", "val") == "dvispp-online-r50-vipseg-val"
    assert slug("VPSNet-FuseTrack", None, "cityscapes_vps") == "vpsnet-fusetrack-cityscapes-vps"
