"""Checks a change must pass before it is deployed: it compiles, and each function it touches imports.

Both run under the interpreter functions run on (python3.12, as Lambda). The import check is a real
init phase: a worker process started as the runner starts one (the function's environment, its code,
its layers in Lambda's order) that imports the handler and stops. What fails is reported and not
deployed, so the last good code keeps serving.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from embedded_stack.lambda_runtime import Runner
from embedded_stack.lambda_runtime.deployment import Deployment
from embedded_stack.lambda_runtime.logs import LogSink
from embedded_stack.lambda_runtime.runner import INIT_TIMEOUT_S
from embedded_stack.lambda_runtime.workers import Worker, WorkerGone, WorkerTimeout, lambda_environment

# Reads [path, ...] as JSON on stdin; prints one JSON object per file that does not compile.
_COMPILE = """
import json, sys
for path in json.load(sys.stdin):
    try:
        with open(path, "rb") as handle:
            compile(handle.read(), path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        print(json.dumps({"path": path, "line": exc.lineno, "column": exc.offset, "type": type(exc).__name__,
                          "message": exc.msg, "text": (exc.text or "").rstrip("\\n")}))
    except (OSError, ValueError) as exc:
        print(json.dumps({"path": path, "line": None, "column": None, "type": type(exc).__name__,
                          "message": str(exc), "text": ""}))
"""


@dataclasses.dataclass(frozen=True)
class Failure:
    """Why something cannot be deployed: where, and the error as the runtime would report it."""

    where: str  # a repo-relative path, or a function's name
    error_type: str
    message: str
    detail: tuple[str, ...] = ()  # source line and caret, or the traceback

    def lines(self) -> list[str]:
        return [f"{self.where}: {self.error_type}: {self.message}", *self.detail]

    def shown(self, where: str, paths: dict[str, str]) -> Failure:
        """The same failure named ``where``, its traceback cut to the frames of our code (functions/,
        shared/), with the unpacked code's paths shown as the repository's."""
        frames: list[list[str]] = []
        for line in self.detail:
            text = line
            for unpacked, repo in paths.items():
                text = text.replace(unpacked, repo)
            if text.startswith('  File "') or not frames:
                frames.append([])
            frames[-1].append(text)
        ours = [f for f in frames if f[0].startswith(tuple(f'  File "{repo}' for repo in paths.values()))]
        detail = tuple(line for frame in ours or frames for line in frame)
        return dataclasses.replace(self, where=where, detail=detail)


def compile_sources(python: str, sources: Iterable[Path], root: Path) -> dict[Path, Failure]:
    """Compile each source file with the runtime's interpreter; the ones that fail, with line and caret."""
    paths = sorted(str(p) for p in sources if p.exists())
    if not paths:
        return {}
    done = subprocess.run(
        [python, "-I", "-S", "-c", _COMPILE],
        input=json.dumps(paths),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the compile check could not run under {python}: {done.stderr.strip()}")
    failures: dict[Path, Failure] = {}
    for line in done.stdout.splitlines():
        found: dict[str, Any] = json.loads(line)
        path = Path(found["path"])
        where = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        if found["line"]:
            where += f":{found['line']}" + (f":{found['column']}" if found["column"] else "")
        detail: tuple[str, ...] = ()
        if found["text"]:
            text = found["text"].expandtabs()
            stripped = text.lstrip()
            caret = max((found["column"] or 1) - 1 - (len(text) - len(stripped)), 0)
            detail = (f"    {stripped}", f"    {' ' * caret}^")
        failures[path] = Failure(where, found["type"], found["message"], detail)
    return failures


class _Captured(LogSink):
    """What a checking worker prints, kept in memory (a check is no invocation: no function log)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, function_name: str, line: str) -> None:
        self.lines.append(line.rstrip("\n"))

    def close(self) -> None:
        pass


def import_check(runner: Runner, deployment: Deployment) -> Failure | None:
    """Run ``deployment``'s init phase (import the handler) in a fresh worker; None when it is ready."""
    sink = _Captured()
    env = lambda_environment(deployment, runner.region, runner.endpoint_url)
    worker = Worker(deployment, runner.python, env, sink)
    try:
        ready = worker.wait_ready(INIT_TIMEOUT_S)
    except WorkerTimeout:
        return Failure(deployment.function_name, "Sandbox.Timedout", f"init took over {INIT_TIMEOUT_S:.0f} s")
    except WorkerGone:
        tail = tuple(sink.lines[-8:])
        return Failure(deployment.function_name, "Runtime.ExitError", "the runtime exited during init", tail)
    finally:
        worker.kill()
    if ready.get("type") == "ready":
        return None
    error = ready.get("error") or {}
    frames = [frame for frame in error.get("stackTrace") or [] if '"<frozen ' not in frame]  # importlib's
    trace = tuple(line.rstrip("\n") for frame in frames for line in frame.splitlines())
    return Failure(
        deployment.function_name,
        error.get("errorType", "Runtime.Unknown"),
        error.get("errorMessage", "init failed"),
        trace,
    )


def import_checks(runner: Runner, deployments: list[Deployment], workers: int = 2) -> dict[str, Failure]:
    """``import_check`` for many functions, a few at a time; the failures by function name."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(pool.map(lambda d: import_check(runner, d), deployments))
    return {d.function_name: f for d, f in zip(deployments, results, strict=True) if f is not None}


def with_code(deployment: Deployment, *, code_dir: Path | None, layer_paths: list[str] | None) -> Deployment:
    """The deployment as it would be with new code and/or new layer paths (what the check imports)."""
    changes: dict[str, Any] = {"version": "check"}
    if code_dir is not None:
        changes["code_dir"] = str(code_dir)
    if layer_paths is not None:
        changes["layer_paths"] = tuple(layer_paths)
    return dataclasses.replace(deployment, **changes)
