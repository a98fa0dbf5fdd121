"""Every citation of the project's docs in code and config points at a page and section that exist,
and nothing cites the team's shared pages, which are not in the repository."""

from __future__ import annotations

import re

from tests.builders import ROOT

CITE = re.compile(r"docs/([a-z-]+\.md)(?:\s*§\s*(\d+)(?:\s*[-,]\s*§?\s*(\d+))?)?")


def _sources():
    for base in ("router", "config"):
        for p in (ROOT / base).rglob("*"):
            if p.suffix in (".py", ".yaml") and "migrations" not in p.parts:
                yield p


def test_every_cited_section_exists():
    headings: dict[str, set[str]] = {}
    for page in (ROOT / "docs").glob("*.md"):
        headings[page.name] = set(re.findall(r"^## (\d+)\.", page.read_text(encoding="utf-8"), re.M))
    broken = []
    for p in _sources():
        for m in CITE.finditer(p.read_text(encoding="utf-8")):
            page, *sections = m.groups()
            if page not in headings:
                broken.append(f"{p.relative_to(ROOT)}: {m.group(0)} (no such page)")
            for s in filter(None, sections):
                if s not in headings.get(page, set()):
                    broken.append(f"{p.relative_to(ROOT)}: {m.group(0)} (no section {s})")
    assert broken == []


def test_nothing_cites_pages_outside_the_repository():
    outside = [str(p.relative_to(ROOT)) for p in _sources()
               if re.search(r"\b(DOMAIN|DESIGN|API)\.md", p.read_text(encoding="utf-8"))]
    assert outside == []
