"""The page in a real browser: Debian's chromium, headless. The DOM shows the expected rows,
clicking a column header (through the page's ``#sort=`` link) reorders them, and a screenshot
is saved as a test artifact (in the test's tmp_path, and copied to $VPSBENCH_ARTIFACTS when
set). Skipped only where chromium is absent."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from vpsbench_leaderboard.registry import DEFAULT_REGISTRY, load_entries
from vpsbench_leaderboard.render import build_site

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is absent (Debian: apt-get install chromium)"
)
TABLE = "lb-cityscapes_vps-val"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    build_site(load_entries(DEFAULT_REGISTRY), out)
    return out


def chromium(profile: Path, *args: str) -> str:
    """Run headless chromium once; its stdout (the DOM with --dump-dom)."""
    command = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        f"--user-data-dir={profile}",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=90, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


class Rows(HTMLParser):
    """Entry ids of one table's rows in DOM order, and its headers' aria-sort states."""

    def __init__(self, table: str) -> None:
        super().__init__()
        self.target, self.inside = table, False
        self.ids: list[str] = []
        self.sort: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.inside = attrs.get("id") == self.target
        elif self.inside and tag == "tr" and "data-id" in attrs:
            self.ids.append(attrs["data-id"])
        elif self.inside and tag == "th":
            self.sort[attrs["data-key"]] = attrs["aria-sort"]


def rendered(site: Path, profile: Path, fragment: str = "") -> Rows:
    dom = chromium(profile, "--dump-dom", (site / "index.html").as_uri() + fragment)
    rows = Rows(TABLE)
    rows.feed(dom)
    return rows


def test_rows_render_and_sorting_reorders_them(site, tmp_path):
    ranked = rendered(site, tmp_path / "profile")
    assert ranked.ids == [
        "slot-vps-cityscapes-vps-val",  # VPQ 63.7
        "vpsnet-fusetrack-cityscapes-vps-val",  # VPQ 57.5
        "vip-deeplab-cityscapes-vps-val",  # no mean VPQ: last
    ]
    assert ranked.sort["vpq"] == "descending"
    by_k0 = rendered(site, tmp_path / "profile", f"#sort={TABLE}:k0")
    assert by_k0.ids == [
        "vip-deeplab-cityscapes-vps-val",  # k=0 70.4
        "vpsnet-fusetrack-cityscapes-vps-val",  # k=0 65.0
        "slot-vps-cityscapes-vps-val",  # no k=0: last
    ]
    assert by_k0.sort["k0"] == "descending" and by_k0.sort["vpq"] == "none"
    by_method = rendered(site, tmp_path / "profile", f"#sort={TABLE}:method:descending")
    assert by_method.ids == [  # Z to A
        "vpsnet-fusetrack-cityscapes-vps-val",
        "vip-deeplab-cityscapes-vps-val",
        "slot-vps-cityscapes-vps-val",
    ]
    assert by_method.sort["method"] == "descending"


def test_screenshot(site, tmp_path):
    shot = tmp_path / "leaderboard.png"
    chromium(
        tmp_path / "profile",
        "--hide-scrollbars",
        "--window-size=1280,1600",
        f"--screenshot={shot}",
        (site / "index.html").as_uri(),
    )
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000
    artifacts = os.environ.get("VPSBENCH_ARTIFACTS")  # CI can collect it from there
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(artifacts) / shot.name)
    print(f"screenshot: {shot}")
