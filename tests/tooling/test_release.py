"""One version: pyproject.toml's is the newest release in CHANGELOG.md, whose Unreleased section
collects changes until the next one (Terraform reads the same value: the `version` output)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_version_is_the_newest_changelog_release() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    changelog = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, re.MULTILINE)
    assert headings[0] == "Unreleased", "changes collect under ## [Unreleased] first"
    released = [h for h in headings if h != "Unreleased"]
    assert released and released[0] == version, (
        f"pyproject.toml {version}, CHANGELOG.md's newest {released[:1]}"
    )
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
