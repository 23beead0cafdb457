"""`make help` lists every target with its one-line description (the `## target: ...` comment above
it), so a target nobody can discover cannot be added."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text()


def _targets() -> set[str]:
    return set(re.findall(r"^([a-z][a-z-]*):(?!=)", MAKEFILE, re.MULTILINE))


def test_every_target_is_phony_and_described() -> None:
    phony = set(re.search(r"^\.PHONY:(.*)$", MAKEFILE, re.MULTILINE).group(1).split())
    described = set(re.findall(r"^## ([a-z-]+): \S", MAKEFILE, re.MULTILINE))
    assert _targets() == phony, f"targets {sorted(_targets())} vs .PHONY {sorted(phony)}"
    assert _targets() == described, f"undescribed: {sorted(_targets() - described)}"
    for target in _targets():
        assert re.search(rf"^## {target}: .*\n{target}:", MAKEFILE, re.MULTILINE), (
            f"## {target}: must sit above it"
        )


def test_make_help_lists_every_target() -> None:
    if shutil.which("make") is None:
        pytest.skip("MAKE SKIPPED: no make on PATH")
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    listed = {line.split()[0] for line in out.splitlines() if line.strip()}
    assert listed == _targets()
    assert all(len(line.split(maxsplit=1)) == 2 for line in out.splitlines() if line.strip()), out
