"""The product description and the public contract live in the repository, and links to them work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
DOCUMENTS = [ROOT / "README.md", ROOT / "ARCHITECTURE.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_reaches_a_file_of_the_repository(document: Path) -> None:
    text = document.read_text()
    assert "shared/docs" not in text
    for target in LINK.findall(text):
        if "://" in target or target.startswith("mailto:"):
            continue
        resolved = (document.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{document.name} links outside the repository: {target}"
        assert resolved.exists(), f"{document.name} links to a missing file: {target}"


def test_readme_links_the_product_and_the_contract() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in ("docs/PRODUCT.md", "docs/API.md", "docs/PHASE-MODEL.md"):
        assert f"]({name})" in readme
