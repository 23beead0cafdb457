"""Checkov over the Terraform (root, bootstrap, modules), offline, from its own virtual environment.

Checkov gets a venv of its own (`.venv-checkov`, created on first use from PyPI) because its
bc-python-hcl2 clashes with other tools' python-hcl2. It scans a private copy of terraform/, so an
endpoint override that a running `make run` wrote (test credentials) is never read. Used by the
pre-commit hook and by tests/terraform/test_checkov.py (which also holds every skip to its reason).

    python scripts/checkov.py      # exit 1 and list the failed checks, if any
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHECKOV_VERSION = "3.3.30"
VENV = ROOT / ".venv-checkov"


def executable() -> str:
    """The pinned checkov, installed into VENV when missing."""
    exe = VENV / "bin" / "checkov"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, f"checkov=={CHECKOV_VERSION}"], check=True)
    return str(exe)


def scan(root: Path) -> list[dict[str, Any]]:
    """Checkov's JSON report (one entry per framework) for the Terraform under root."""
    args = [
        "-d",
        str(root),
        "--framework",
        "terraform",
        "--skip-download",
        "--quiet",
        "--compact",
        "-o",
        "json",
    ]
    proc = subprocess.run([executable(), *args], capture_output=True, text=True, check=False)
    report = json.loads(proc.stdout)
    return report if isinstance(report, list) else [report]


def failed(reports: list[dict[str, Any]]) -> list[str]:
    return [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for r in reports
        for c in r.get("results", {}).get("failed_checks", [])
    ]


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from scripts import tf

    with tempfile.TemporaryDirectory(prefix="checkov-") as tmp:
        problems = failed(scan(tf.private_root(Path(tmp))))
    if problems:
        print("checkov failed checks:", *problems, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
