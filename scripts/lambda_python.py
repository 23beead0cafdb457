"""Find the interpreter that matches the Lambda runtime (python3.12), for workers, builds and benchmarks.

Lambda runs our code on CPython 3.12; the embedded stack runs it on the same version when the machine
has one, the build compiles the layer's bytecode with it, and the benchmarks measure with it.
"""

from __future__ import annotations

import glob
import os
import shutil

LAMBDA_RUNTIME = "python3.12"


def find_lambda_python(runtime: str = LAMBDA_RUNTIME) -> str | None:
    """$LAMBDA_PYTHON, else python3.12 on PATH (not a pyenv shim), else pyenv's binary, else a shim."""
    explicit = os.environ.get("LAMBDA_PYTHON", "").strip()
    if explicit:
        return explicit
    version = runtime.removeprefix("python")
    on_path = shutil.which(f"python{version}")
    pyenv = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")))
    # A pyenv shim on PATH costs a shell start per call; prefer the binary behind it.
    if on_path and "/.pyenv/shims/" not in on_path:
        return on_path
    if pyenv:
        return pyenv[-1]
    return on_path
