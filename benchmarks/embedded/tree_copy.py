"""`make run` in a copy of the source tree, so that editing its handlers never touches the repository.

Used by the save-to-served benchmark and the hot-reload tests. The copy holds what the stack reads
(embedded_stack, scripts, functions, shared, terraform, requirements, and pyproject.toml, whose version
Terraform reads); the slow caches that are only
ever added to are linked, not copied: the layer's pip site (build/.pip-cache) and the python3.12
runtime venv (.local/runtimes).

    tree = copy_tree(tmp / "tree")
    with CopyRun(tree) as run:          # python -m embedded_stack in the copy, ready on entry
        (tree / "functions/get_item/handler.py").write_text(...)
        record = run.wait_reload(0)     # the first line of <copy>/.local/logs/reloads.jsonl
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.sandbox import REPO

COPIED = ("embedded_stack", "scripts", "functions", "shared", "terraform", "requirements")
COPIED_FILES = ("pyproject.toml",)  # the release version Terraform reads (terraform/main.tf)
_IGNORED = shutil.ignore_patterns(
    "__pycache__", ".terraform", "*.tfstate*", "zz_*", "*.lock*", ".pytest_cache"
)


def copy_tree(dest: Path) -> Path:
    """A copy of the tree `make run` deploys from, with the repository's caches linked; returns ``dest``."""
    from embedded_stack.lambda_runtime import ensure_runtime  # noqa: PLC0415 - builds the shared venv once

    ensure_runtime()
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        shutil.copytree(REPO / name, dest / name, ignore=_IGNORED)
    for name in COPIED_FILES:
        shutil.copy2(REPO / name, dest / name)
    pip_cache = REPO / "build" / ".pip-cache"
    pip_cache.mkdir(parents=True, exist_ok=True)
    (dest / "build").mkdir()
    (dest / "build" / ".pip-cache").symlink_to(pip_cache, target_is_directory=True)
    (dest / ".local").mkdir()
    (dest / ".local" / "runtimes").symlink_to(REPO / ".local" / "runtimes", target_is_directory=True)
    return dest


class CopyRun:
    """`python -m embedded_stack` in a copied tree (its own ports and state), stopped like Ctrl-C."""

    def __init__(self, tree: Path) -> None:
        self.tree = tree
        self.state_dir = tree / ".local"
        self.log_path = tree / "make-run.log"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 900.0) -> dict[str, Any]:
        """Start and wait for the ready file; the stack.json document."""
        ready = self.tree / "ready.json"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EMBEDDED_", "AWS_"))}
        env.update({"EMBEDDED_API_PORT": "0", "EMBEDDED_AWS_PORT": "0", "PYTHONUNBUFFERED": "1"})
        env["PYTHONPATH"] = str(self.tree)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and package
                [sys.executable, "-m", "embedded_stack", "--ready-file", str(ready)],
                cwd=self.tree,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout_s
        while not ready.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the stack in {self.tree} did not start:\n{self.output()[-4000:]}")
            time.sleep(0.5)
        self.info: dict[str, Any] = json.loads(ready.read_text())
        return self.info

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def reloads(self) -> list[dict[str, Any]]:
        path = self.state_dir / "logs" / "reloads.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def wait_reload(self, after: int, timeout_s: float = 120.0) -> dict[str, Any]:
        """The first deploy recorded after the first ``after`` ones (every batch of saves records one)."""
        deadline = time.monotonic() + timeout_s
        while True:
            records = self.reloads()
            if len(records) > after:
                return records[after]
            if not self.running() or time.monotonic() > deadline:
                raise RuntimeError(
                    f"no deploy after {after} within {timeout_s:.0f} s:\n{self.output()[-3000:]}"
                )
            time.sleep(0.1)

    def reload_lines(self) -> list[str]:
        return [line for line in self.output().splitlines() if line.startswith("[reload] ")]

    def banner_exports(self) -> dict[str, str]:
        """The variables the banner's `export` line sets (how it says to point the AWS CLI and boto3)."""
        line = next(line for line in self.output().splitlines() if line.strip().startswith("export AWS_"))
        return dict(re.findall(r"(AWS_[A-Z_]+)=(\S+)", line))

    def stop(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            return
        os.killpg(self._proc.pid, signal.SIGINT)
        try:
            self._proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=30)

    def __enter__(self) -> CopyRun:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
