"""The stack `make soak` drives: `python -m embedded_stack` in a child process of its own.

A child, not this process: the soak's clients would otherwise share one interpreter lock with the
moto server and the gateway they are measuring. It gets its own state directory and free ports (a
developer's `make run` or an e2e session is left alone) and reads its fault spec from the file the
soak writes. SIGTERM stops it cleanly (it stops every process it started).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 900.0  # terraform apply of the local workspace, on a busy machine


@contextmanager
def child_stack(state_dir: Path, faults_file: Path) -> Iterator[dict[str, Any]]:
    """Start the stack, yield its stack.json document once it serves, stop it on the way out."""
    state_dir.mkdir(parents=True, exist_ok=True)
    ready = state_dir / "soak-ready.json"
    ready.unlink(missing_ok=True)
    env = {
        **os.environ,
        "EMBEDDED_API_PORT": "0",
        "EMBEDDED_AWS_PORT": "0",
        "EMBEDDED_STATE_DIR": str(state_dir),
        "EMBEDDED_FAULTS_FILE": str(faults_file),
        "PYTHONUNBUFFERED": "1",
    }
    log = state_dir / "soak-stack.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-m", "embedded_stack", "--ready-file", str(ready)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not ready.exists():
            if process.poll() is not None:
                raise SystemExit(f"the embedded stack exited with {process.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"the embedded stack was not ready within {READY_TIMEOUT_S:.0f} s; see {log}"
                )
            time.sleep(0.5)
        yield json.loads(ready.read_text())
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
