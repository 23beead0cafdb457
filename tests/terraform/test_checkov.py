"""Checkov, offline in its own virtual environment (scripts/checkov.py: its bc-python-hcl2 clashes
with other tools)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from scripts import checkov, tf
from tests.terraform.harness import TF_ROOT


@pytest.mark.terraform
@pytest.mark.slow
def test_checkov_has_no_failed_checks(tmp_path: Path) -> None:
    # A private copy: a concurrent `make run` may have an endpoint override (test keys) in terraform/.
    root = tf.private_root(tmp_path)
    try:
        checkov.executable()
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"could not install checkov=={checkov.CHECKOV_VERSION} into {checkov.VENV}: {exc}")
    reports = checkov.scan(root)
    failed = checkov.failed(reports)
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert sum(r["summary"]["passed"] for r in reports) > 50


def test_every_checkov_skip_is_inline_with_a_reason() -> None:
    for path in TF_ROOT.rglob("*.tf"):
        for line in path.read_text().splitlines():
            if "checkov:skip" in line:
                assert re.search(r"#checkov:skip=CKV2?_AWS_\d+:\S.{10,}", line), f"{path}: {line.strip()}"
