"""The interpreter functions run under: a venv of the Lambda runtime's Python with the boto3 it bundles.

Lambda's python3.12 runtime ships boto3; the venv pins the version requirements/dev.txt pins, so a
function sees the same SDK here as in the tests. Built once under ``<state dir>/runtimes`` and reused.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from pathlib import Path

from scripts.lambda_python import LAMBDA_RUNTIME, find_lambda_python

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = REPO_ROOT / ".local"


def _pins(names: tuple[str, ...]) -> list[str]:
    """Exact pins for ``names`` from requirements/dev.txt (the Lambda runtime bundles boto3)."""
    pins = []
    for line in (REPO_ROOT / "requirements" / "dev.txt").read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if spec.split("==", 1)[0].lower() in names:
            pins.append(spec)
    return pins


def ensure_runtime(state_dir: Path = DEFAULT_STATE_DIR, runtime: str = LAMBDA_RUNTIME) -> tuple[str, bool]:
    """(interpreter, is_lambda_runtime): a small venv of the runtime's Python with pinned boto3.

    Falls back to the host interpreter (loudly) when no python3.12 exists; the caller must then
    build the layer for the host (its wheels are compiled for one Python version).
    """
    base = find_lambda_python(runtime)
    if not base:
        print(
            f"WARNING: no {runtime} interpreter found (set LAMBDA_PYTHON); functions will run on the "
            f"host Python {sys.version.split()[0]}, which is NOT the Lambda runtime",
            file=sys.stderr,
            flush=True,
        )
        return sys.executable, False
    venv = state_dir / "runtimes" / runtime
    pins = _pins(("boto3", "botocore"))
    stamp = venv / ".embedded-pins"
    wanted = "\n".join([base, *pins])
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / f".{runtime}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (stamp.exists() and stamp.read_text() == wanted):
            shutil.rmtree(venv, ignore_errors=True)
            subprocess.run([base, "-m", "venv", str(venv)], check=True)
            subprocess.run(
                [
                    str(venv / "bin" / "python"),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    *pins,
                ],
                check=True,
            )
            stamp.write_text(wanted)
    return str(venv / "bin" / "python"), True
