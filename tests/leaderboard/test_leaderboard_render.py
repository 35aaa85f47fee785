"""The rendered page and Markdown: tables, escaping, offline assets, plots."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from lb_fixtures import published_entry

from vpsbench_leaderboard.registry import DEFAULT_REGISTRY, load_entries
from vpsbench_leaderboard.render import build_site, render_markdown
from vpsbench_leaderboard.tables import build_tables, fmt


class PageScan(HTMLParser):
    """Rows per table (entry ids in order) and every resource the page would load."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self.table: str | None = None
        self.resources: list[str] = []
        self.script_tags = 0
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.script_tags += tag == "script"
        self.handlers += [name for name in attrs if name.startswith("on")]
        if tag == "table":
            self.table = attrs["id"]
            self.rows[self.table] = []
        elif tag == "tr" and "data-id" in attrs:
            self.rows[self.table].append(attrs["data-id"])
        elif tag in ("img", "script", "link", "iframe") and (attrs.get("src") or attrs.get("href")):
            self.resources.append(attrs.get("src") or attrs.get("href"))


def scan(html: str) -> PageScan:
    page = PageScan()
    page.feed(html)
    return page


def test_site_has_a_table_per_split_with_every_entry(tmp_path):
    entries = load_entries(DEFAULT_REGISTRY)
    written = build_site(entries, tmp_path)
    assert {p.name for p in written} >= {"index.html", "LEADERBOARD.md", "vpq_vs_stq.png"}
    page = scan((tmp_path / "index.html").read_text())
    expected = {}
    for e in entries:
        expected.setdefault(f"lb-{e['dataset']}-{e['split']}", set()).add(e["id"])
    assert {table: set(ids) for table, ids in page.rows.items()} == expected
    # ranked by VPQ: Slot-VPS 63.7, VPSNet-FuseTrack 57.5, then ViP-DeepLab (k=0 only)
    assert page.rows["lb-cityscapes_vps-val"] == [
        "slot-vps-cityscapes-vps-val",
        "vpsnet-fusetrack-cityscapes-vps-val",
        "vip-deeplab-cityscapes-vps-val",
    ]


def test_page_works_offline(tmp_path):
    build_site(load_entries(DEFAULT_REGISTRY), tmp_path)
    html = (tmp_path / "index.html").read_text()
    resources = scan(html).resources
    assert resources and all(re.fullmatch(r"[\w.-]+\.png", r) for r in resources), resources
    assert all(
        (tmp_path / r).is_file() and (tmp_path / r).read_bytes()[:4] == b"\x89PNG"
        for r in resources
    )
    assert "<style>" in html and "<script>" in html and "@import" not in html


def test_untrusted_text_is_escaped(tmp_path):
    evil = published_entry(
        method='<script>alert("x")</script>',
        variant="<img src=x onerror=alert(1)>",
        notes='"><script>alert(2)</script>',
    )
    build_site([evil], tmp_path)
    html = (tmp_path / "index.html").read_text()
    page = scan(html)
    assert page.script_tags == 1 and page.handlers == [] and "x" not in page.resources
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    markdown = (tmp_path / "LEADERBOARD.md").read_text()
    assert "<script>" not in markdown and "<img" not in markdown


def test_markdown_has_the_same_rows():
    tables = build_tables(load_entries(DEFAULT_REGISTRY))
    markdown = render_markdown(tables)
    assert markdown.count("\n## ") == len(tables)
    line = next(x for x in markdown.splitlines() if x.startswith("| VPSNet-FuseTrack [1] |"))
    cells = [c.strip() for c in line.strip("|").split("|")]
    assert cells[2:9] == ["65.0", "57.6", "54.4", "52.8", "57.5", "44.8", "66.7"]
    assert cells[-1] == "unverified (recalled)"
    assert "[Kim, Woo, Lee, Kweon. Video Panoptic Segmentation. CVPR 2…](https://arxiv.org" in line


def test_scores_keep_the_source_precision():
    assert [fmt(v) for v in (57.5, 60.61, 45.63, 70.0, None)] == [
        "57.5",
        "60.61",
        "45.63",
        "70.0",
        "",
    ]


def test_committed_markdown_is_current():
    committed = DEFAULT_REGISTRY.parent / "LEADERBOARD.md"
    current = render_markdown(build_tables(load_entries(DEFAULT_REGISTRY)))
    assert committed.read_text(encoding="utf-8") == current, (
        "leaderboard/LEADERBOARD.md is stale; refresh it with: vpsbench leaderboard build "
        "--out /tmp/site --markdown leaderboard/LEADERBOARD.md"
    )


def test_identical_notes_share_a_number_and_dataset_caveats_show_once():
    entries = [
        published_entry(id=f"m{i}", method=f"M{i}", dataset="vipseg", notes="same")
        for i in range(3)
    ]
    markdown = render_markdown(build_tables(entries))
    assert markdown.count("[1] |") == 3 and "\n1. same\n" in markdown and "2. " not in markdown
    assert markdown.count("STQ computed before 2022-10-28 is invalid") == 1
