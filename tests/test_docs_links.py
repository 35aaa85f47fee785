"""Every relative link in the repository's Markdown points to a file that exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def markdown_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    return [ROOT / name for name in listed] or sorted(ROOT.glob("**/*.md"))


def test_relative_links_resolve():
    broken = []
    for doc in markdown_files():
        for target in LINK.findall(doc.read_text("utf-8")):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue  # a URL, mailto: or an anchor in the same file
            path = target.split("#", 1)[0]
            if path and not (doc.parent / path).exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target}")
    assert broken == []


def test_no_citation_of_notes_the_repository_does_not_contain():
    """Facts are cited from public sources or the repository's own docs, never from the
    maintainers' private notes (datasets.md, metrics.md, vpsnet.md are not shipped)."""
    private = re.compile(r"(?<![\w/])(datasets|metrics|vpsnet)\.md\b")
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    offenders = []
    for name in listed:
        if not name.endswith((".py", ".md", ".cfg", ".toml", ".sh")):
            continue
        path = ROOT / name
        if path.resolve() == Path(__file__).resolve() or not path.is_file():
            continue
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if private.search(line):
                offenders.append(f"{name}:{number}: {line.strip()[:80]}")
    assert offenders == []
