"""Only real results are ranked: a GT that is not a table's official GT is refused or kept in a
custom table, unknown official digests show "GT not verified", entries go into the user's
registry (never the package), and a dirty checkout is recorded and shown."""

from __future__ import annotations

import json
import shutil

import pytest
from lb_fixtures import make_synth, no_user_registry, published_entry, snapshot, synth, write_entry  # noqa: F401 (fixtures)

import vpsbench_leaderboard.registry as registry_module
import vpsbench_leaderboard.splits as splits_module
import vpsbench_leaderboard.submit as submit_module
from vpsbench.cli import main
from vpsbench_leaderboard.registry import SHIPPED_REGISTRY, load_entries
from vpsbench_leaderboard.render import build_site, render_markdown
from vpsbench_leaderboard.schema import EntryError, validate_entry
from vpsbench_leaderboard.splits import (
    SYNTH_HARD_VAL_COMMAND,
    SYNTH_VAL_COMMAND,
    gt_digest,
    official_splits,
)
from vpsbench_leaderboard.tables import build_tables

ERROR = "vpsbench leaderboard: error: "


@pytest.fixture
def registry(tmp_path):
    root = tmp_path / "registry"
    root.mkdir()
    return root


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    """The shipped registry replaced by a copy, so no test can write into the real one."""
    root = tmp_path / "site-packages" / "leaderboard" / "entries"
    shutil.copytree(SHIPPED_REGISTRY, root)
    monkeypatch.setattr(registry_module, "SHIPPED_REGISTRY", root)
    return root


def official_synth_val(monkeypatch, gt, **digests) -> None:
    """Pretend the official synth val GT is ``gt`` (or has the given digests)."""
    digest = gt_digest(gt)
    row = {
        "dataset": "synth",
        "split": "val",
        "content_id": digests.get("content_id", digest.content_id),
        "labels_digest": digests.get("labels_digest", digest.labels_digest),
    }
    rows = [r for r in splits_module.SPLITS if (r["dataset"], r["split"]) != ("synth", "val")]
    monkeypatch.setattr(splits_module, "SPLITS", [*rows, row])


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def score(capsys, synth, registry, *options):
    argv = ["leaderboard", "score", synth["pred"], "--gt", synth["gt"], "--method", "MyNet"]
    return run(capsys, *argv, "--registry", registry, *options)


# --- official digests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "split"), [(SYNTH_VAL_COMMAND, "val"), (SYNTH_HARD_VAL_COMMAND, "val-hard")]
)
def test_the_documented_command_gives_the_recorded_synthetic_digest(
    tmp_path, capsys, command, split
):
    """The synth digests in leaderboard/splits.py are those of the documented commands
    (--no-images: images are not part of either digest, and skipping them is faster)."""
    argv = command.split()[1:]
    out = tmp_path / "synth_val.h5"
    argv[argv.index("synth_val.h5")] = str(out)
    assert main([*argv, "--no-images"]) == 0
    capsys.readouterr()
    official = official_splits()[("synth", split)]
    digest = gt_digest(out)
    assert (digest.content_id, digest.labels_digest) == (
        official.content_id,
        official.labels_digest,
    )
    # ... and the shipped reproduced synth entries were scored on that GT
    entries = [e for e in load_entries() if (e["dataset"], e["split"]) == ("synth", split)]
    assert entries or split != "val"
    assert {e["source"]["gt"]["labels_digest"] for e in entries} <= {official.labels_digest}
    code, printed, _ = run(capsys, "leaderboard", "digest", out)
    assert code == 0 and printed.startswith(f"synth {split}: the official GT of this table")
    assert json.loads(printed.splitlines()[1])["labels_digest"] == official.labels_digest


def test_real_datasets_have_no_recorded_digest_yet():
    splits = official_splits()
    assert splits[("synth", "val")].digest_known
    unknown = {key for key, split in splits.items() if not split.digest_known}
    assert ("cityscapes_vps", "val") in unknown and ("viper", "val") in unknown
    # every table of the shipped registry is an official one
    assert {(e["dataset"], e["split"]) for e in load_entries()} <= set(splits)


def test_labels_digest_sees_label_changes_that_content_id_does_not(synth, tmp_path):
    import h5py

    copy = tmp_path / "edited.h5"
    shutil.copy(synth["gt"], copy)
    with h5py.File(copy, "r+") as f:
        video = next(iter(f["videos"].values()))
        video["panoptic"][0, 0, 0] += 1
    before, after = gt_digest(synth["gt"]), gt_digest(copy)
    assert before.content_id == after.content_id
    assert before.labels_digest != after.labels_digest


# --- scoring ----------------------------------------------------------------------------------


def test_a_gt_that_is_not_the_official_one_is_refused(capsys, synth, registry):
    before = snapshot(registry)
    code, out, err = score(capsys, synth, registry)
    assert code == 2 and out == ""
    line = err.splitlines()[0]
    assert line.startswith(ERROR + "the GT (content_id ")
    assert "is not the official synth val GT" in line and "--split val-custom" in line
    assert snapshot(registry) == before == {}
    # naming the official table explicitly changes nothing
    assert score(capsys, synth, registry, "--split", "val")[0] == 2
    assert snapshot(registry) == {}


def test_labels_alone_differing_is_refused(capsys, monkeypatch, synth, registry):
    official_synth_val(monkeypatch, synth["gt"], labels_digest="0" * 64)
    code, _, err = score(capsys, synth, registry)
    assert code == 2 and "is not the official synth val GT" in err.splitlines()[0]
    assert snapshot(registry) == {}


def test_the_official_gt_is_verified(capsys, monkeypatch, synth, registry):
    official_synth_val(monkeypatch, synth["gt"])
    code, out, err = score(capsys, synth, registry)
    assert code == 0, err
    assert out.rstrip().endswith("synth-val-reproduced.json")
    (entry,) = load_entries(registry)
    assert entry["verified"] is True and entry["split"] == "val"
    assert entry["source"]["gt"]["labels_digest"] == gt_digest(synth["gt"]).labels_digest
    (table,) = build_tables([entry], {entry["id"]})
    assert table.official and table.rows[0].badge == "reproduced" and table.rows[0].verified


def test_a_custom_split_is_accepted_shown_apart_and_never_verified(
    capsys, synth, registry, tmp_path
):
    code, out, err = score(capsys, synth, registry, "--split", "val-custom")
    assert code == 0, err
    assert out.rstrip().endswith("(not verified: GT not official)")
    (entry,) = load_entries(registry)
    assert entry["verified"] is False and entry["split"] == "val-custom"
    assert entry["source"]["gt"]["split"] == "val"
    assert "--split val-custom" in entry["source"]["command"]

    entries = [published_entry(), entry]
    tables = build_tables(entries)
    assert [t.official for t in tables] == [True, False]  # custom tables come last
    custom = tables[-1]
    assert custom.title == "vpsbench synthetic · val-custom (custom, not verified)"
    assert custom.rows[0].badge == "reproduced, custom GT" and not custom.rows[0].verified
    markdown = render_markdown(tables)
    assert markdown.index("**Custom tables:") < markdown.index("## vpsbench synthetic · val-custom")
    assert markdown.index("## Cityscapes-VPS · val") < markdown.index("**Custom tables:")
    build_site(entries, tmp_path / "site")
    html = (tmp_path / "site" / "index.html").read_text()
    assert html.index('id="custom-tables"') < html.index('class="custom"')
    assert f'data-id="{entry["id"]}" data-verified="false"' in html

    # the list command shows it apart too
    code, out, _ = run(capsys, "leaderboard", "list", "--registry", registry)
    assert code == 0
    assert out.index("vpsbench synthetic · val-custom") > out.index("vpsbench synthetic · val ")
    assert "reproduced, custom GT · your registry" in out


def test_an_official_split_without_a_digest_shows_gt_not_verified(
    capsys, monkeypatch, synth, registry
):
    official_synth_val(monkeypatch, synth["gt"], content_id=None, labels_digest=None)
    code, _, err = score(capsys, synth, registry)
    assert code == 0, err
    (entry,) = load_entries(registry)
    assert entry["verified"] is False and entry["split"] == "val"
    (table,) = build_tables([entry])
    assert table.official and not table.digest_known
    assert table.rows[0].badge == "reproduced, GT not verified" and not table.rows[0].verified
    assert "GT not verified" in table.gt_note
    assert "*The official GT digest of this split is not recorded" in render_markdown([table])


def test_entries_on_real_datasets_are_shown_gt_not_verified():
    """Shipped splits: any reproduced row on Cityscapes-VPS val is "GT not verified", even one
    that claims verified (the badge comes from the digests, not from the entry)."""
    (synth_entry,) = [
        e for e in load_entries() if e["id"] == "vpsnet-image-synthetic-tiny-synthetic-val"
    ]
    moved = {**synth_entry, "id": "moved", "dataset": "cityscapes_vps", "split": "val"}
    row = next(r for t in build_tables([moved]) for r in t.rows)
    assert row.badge == "reproduced, GT not verified" and not row.verified
    mismatch = {**synth_entry, "id": "mismatch"}
    mismatch["source"] = {**synth_entry["source"], "gt": {"content_id": "0" * 32}}
    row = next(r for t in build_tables([mismatch]) for r in t.rows)
    assert row.badge == "reproduced, GT not official" and not row.verified


def test_add_refuses_a_verified_claim_without_the_official_gt(capsys, registry, tmp_path):
    (entry,) = [e for e in load_entries() if e["id"] == "vpsnet-image-synthetic-tiny-synthetic-val"]
    entry = {**entry, "id": "claims-verified"}
    entry["source"] = {**entry["source"], "gt": {**entry["source"]["gt"], "content_id": "1" * 32}}
    path = write_entry(tmp_path / "claims.json", entry)
    code, _, err = run(capsys, "leaderboard", "add", path, "--registry", registry)
    assert code == 2 and "verified is true, but its GT" in err.splitlines()[0]
    assert snapshot(registry) == {}


# --- where entries are written ----------------------------------------------------------------


def test_score_without_a_registry_refuses_and_writes_nothing(capsys, synth, shipped):
    before = snapshot(shipped)
    argv = ["leaderboard", "score", synth["pred"], "--gt", synth["gt"], "--method", "MyNet"]
    code, out, err = run(capsys, *argv, "--split", "val-custom")
    assert code == 2 and out == ""
    assert err.splitlines()[0] == ERROR + registry_module.NO_REGISTRY
    assert "--registry DIR or $VPSBENCH_REGISTRY" in err.splitlines()[0]
    assert snapshot(shipped) == before
    entry = write_entry(shipped.parent / "new.json", published_entry(id="new-one"))
    code, _, err = run(capsys, "leaderboard", "add", entry)
    assert code == 2 and err.splitlines()[0] == ERROR + registry_module.NO_REGISTRY
    assert snapshot(shipped) == before


def test_the_installed_package_registry_is_never_written(capsys, synth, shipped):
    """--registry pointing into an installed package (not a checkout) is refused."""
    assert not registry_module.is_checkout()
    before = snapshot(shipped)
    code, _, err = score(capsys, synth, shipped, "--split", "val-custom")
    assert code == 2 and "the installed package's registry" in err.splitlines()[0]
    entry = write_entry(shipped.parent / "new.json", published_entry(id="new-one"))
    code, _, err = run(capsys, "leaderboard", "add", entry, "--registry", shipped)
    assert code == 2 and "the next upgrade deletes" in err.splitlines()[0]
    assert snapshot(shipped) == before


def test_the_registry_variable_is_honoured_and_the_flag_wins(
    capsys, monkeypatch, synth, tmp_path, shipped
):
    env_registry, flag_registry = tmp_path / "env", tmp_path / "flag"
    env_registry.mkdir()
    flag_registry.mkdir()
    monkeypatch.setenv(registry_module.REGISTRY_ENV, str(env_registry))
    argv = ["leaderboard", "score", synth["pred"], "--gt", synth["gt"], "--method", "MyNet"]
    code, out, err = run(capsys, *argv, "--split", "val-custom")
    assert code == 0, err
    assert f"added {env_registry}/" in out
    assert [e["method"] for e in load_entries(env_registry)] == ["MyNet"]
    entry = write_entry(tmp_path / "toy.json", published_entry(id="toy-b"))
    assert run(capsys, "leaderboard", "add", entry, "--registry", flag_registry)[0] == 0
    assert [e["id"] for e in load_entries(flag_registry)] == ["toy-b"]
    assert [e["method"] for e in load_entries(env_registry)] == ["MyNet"]

    # list and build show the shipped entries plus the variable's registry, marked as such
    code, out, _ = run(capsys, "leaderboard", "list")
    assert code == 0 and "MyNet" in out and "VPSNet-FuseTrack" in out
    assert "· your registry" in next(line for line in out.splitlines() if "MyNet" in line)
    code, _, _ = run(capsys, "leaderboard", "build", "--out", tmp_path / "site")
    html = (tmp_path / "site" / "index.html").read_text()
    assert code == 0 and 'data-mine="true"' in html and "your registry</span>" in html
    assert "VPSNet-FuseTrack" in html


def test_an_id_in_both_registries_is_an_error(capsys, registry, shipped):
    taken = next(p.stem for p in shipped.glob("*.json"))
    clash = next(e for e in load_entries(shipped) if e["id"] == taken)
    write_entry(registry / f"{taken}.json", clash)
    code, out, err = run(capsys, "leaderboard", "list", "--registry", registry)
    assert code == 2 and out == ""
    line = err.splitlines()[0]
    assert line.startswith(ERROR + f"entry id {taken!r} is in the shipped registry and in yours")
    assert "rename yours" in line


# --- commit and dirty tree --------------------------------------------------------------------


def test_a_dirty_checkout_is_recorded_and_shown(capsys, monkeypatch, synth, registry, tmp_path):
    commit = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setattr(submit_module, "git_commit", lambda: (commit, True))
    assert score(capsys, synth, registry, "--split", "val-custom")[0] == 0
    (entry,) = load_entries(registry)
    assert entry["source"]["commit"] == commit and entry["source"]["dirty"] is True
    (table,) = build_tables([entry])
    row = table.rows[0]
    assert row.dirty and row.source == "vpsbench 0.1.0 @0123456 (dirty tree)"
    assert "(dirty tree)" in render_markdown([table])
    build_site([entry], tmp_path / "site")
    assert 'data-dirty="true"' in (tmp_path / "site" / "index.html").read_text()

    monkeypatch.setattr(submit_module, "git_commit", lambda: (commit, False))
    assert score(capsys, synth, registry, "--split", "val-other")[0] == 0
    clean = next(e for e in load_entries(registry) if e["split"] == "val-other")
    assert clean["source"]["dirty"] is False
    assert not build_tables([clean])[0].rows[0].dirty


def test_the_shipped_reproduced_entries_come_from_clean_commits():
    rows = {r.entry_id: r for t in build_tables(load_entries()) for r in t.rows}
    reproduced = [e for e in load_entries() if e["source"]["type"] == "reproduced"]
    assert reproduced
    for entry in reproduced:
        assert entry["source"]["dirty"] is False, entry["id"]
        assert not entry["source"]["commit"].endswith("-dirty"), entry["id"]
        assert not rows[entry["id"]].dirty
        assert "(dirty tree)" not in rows[entry["id"]].source


def test_a_legacy_dirty_commit_is_shown_as_dirty():
    entry = next(e for e in load_entries() if e["source"]["type"] == "reproduced")
    entry["source"]["commit"] += "-dirty"
    del entry["source"]["dirty"]
    row = build_tables([entry])[0].rows[0]
    assert row.dirty and row.source.endswith("(dirty tree)")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"commit": "not a commit"}, "is not a git commit"),
        ({"dirty": "yes"}, "source.dirty: expected true or false"),
        ({"commit": "0123456-dirty", "dirty": False}, "false, but the commit says -dirty"),
    ],
)
def test_commit_and_dirty_are_checked(change, message):
    (entry,) = [e for e in load_entries() if e["id"] == "vpsnet-image-synthetic-tiny-synthetic-val"]
    entry = {**entry, "source": {**entry["source"], **change}}
    with pytest.raises(EntryError, match=message):
        validate_entry(entry)


def test_git_commit_outside_a_checkout_is_none(monkeypatch, tmp_path):
    """An installed package (here: a copy outside any repository) records no commit."""
    fake = tmp_path / "site-packages" / "leaderboard" / "submit.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("")
    monkeypatch.setattr(submit_module, "__file__", str(fake))
    assert submit_module.git_commit() == (None, False)


def test_a_named_registry_folder_is_created_by_the_first_write(tmp_path):
    from vpsbench_leaderboard.registry import add_entry, check_can_add

    target = tmp_path / "new" / "registry"
    path = check_can_add(target, "some-entry")
    assert path == target / "some-entry.json" and not target.exists()
    entry = published_entry()
    written = add_entry(entry, target)
    assert written == target / f"{entry['id']}.json" and written.is_file()
    (tmp_path / "file").write_text("x")
    with pytest.raises(Exception, match="not a directory"):
        check_can_add(tmp_path / "file", "some-entry")
