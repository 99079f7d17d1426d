"""The documentation stays true for a newcomer: every section the code cites exists, and every
link in README.md and docs/ opens a file of the repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    p
    for d in ("chalicelib", "functions", "devstack", "infra", "bench", "mailproxy_cli", "tests")
    for p in (ROOT / d).rglob("*.py")
] + [ROOT / "app.py"]
CITATION = re.compile(r"docs/api\.md §(\d+(?:\.\d+)?)((?:[,-] ?§?\d+(?:\.\d+)?)*)")


def _sections() -> set[str]:
    headings = re.findall(r"^#{2,3} (\d+(?:\.\d+)?)\.? ", (ROOT / "docs" / "api.md").read_text(), re.M)
    return set(headings)


def test_every_section_the_code_cites_exists() -> None:
    sections = _sections()
    assert {"1", "2", "3.2", "4.6", "5.10", "7.5"} <= sections
    missing = []
    for path in SOURCES:
        for first, rest in CITATION.findall(path.read_text()):
            for cited in [first, *re.findall(r"\d+(?:\.\d+)?", rest)]:
                if cited not in sections:
                    missing.append(f"{path.relative_to(ROOT)}: §{cited}")
    assert not missing, missing


def test_links_in_the_readme_and_docs_open_files_of_the_repository() -> None:
    broken = []
    for doc in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        text = doc.read_text()
        assert "../shared" not in text, f"{doc.name} points outside the repository"
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            if not (doc.parent / target).exists():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert not broken, broken
