"""pre-commit's hooks are all local (offline) and pass on the whole tree: this runs pre-commit itself
over every tracked file, so the configuration cannot rot. The Checkov hook runs scripts/checkov.py,
which tests/terraform/test_checkov.py already runs; it is skipped here to pay for it once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / ".pre-commit-config.yaml"


def _hooks() -> dict[str, dict[str, object]]:
    repos = yaml.safe_load(CONFIG.read_text())["repos"]
    return {h["id"]: {**h, "repo": r["repo"]} for r in repos for h in r["hooks"]}


def test_hooks_are_local_and_cover_every_check() -> None:
    hooks = _hooks()
    assert {h["repo"] for h in hooks.values()} == {"local"}, "remote hooks need the network"
    assert {h["language"] for h in hooks.values()} == {"system"}, "no environment for pre-commit to download"
    assert set(hooks) == {
        "ruff-check",
        "ruff-format",
        "terraform-fmt",
        "terraform-docs",
        "checkov",
        "actionlint",
    }
    assert hooks["checkov"]["entry"] == ".venv/bin/python scripts/checkov.py"


def test_pre_commit_run_all_files_passes(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "pre-commit"
    if not exe.exists():
        pytest.skip("PRE-COMMIT SKIPPED: pre-commit is not installed (pip install -r requirements/dev.txt)")
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("PRE-COMMIT SKIPPED: not a git checkout (pre-commit runs over tracked files)")
    if shutil.which("terraform") is None:
        pytest.skip("PRE-COMMIT SKIPPED: terraform is not on PATH (the terraform fmt hook needs it)")
    if not (ROOT / ".venv" / "bin" / "ruff").exists():
        pytest.skip("PRE-COMMIT SKIPPED: hooks run .venv's tools: make venv")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path), "SKIP": "checkov"}
    proc = subprocess.run(
        [str(exe), "run", "--all-files", "--show-diff-on-failure", "--color=never"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    for hook in ("ruff check", "terraform fmt", "actionlint"):
        assert hook in proc.stdout
