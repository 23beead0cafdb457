"""Execution environments: one worker process per warm environment, and the pool each function keeps.

A worker runs worker.py (by path) under the runtime's interpreter with exactly the environment
Lambda would give the function; requests and replies travel over two dedicated pipes, so the
function's stdout and stderr stay free for its logs.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from embedded_stack.lambda_runtime.deployment import Deployment
from embedded_stack.lambda_runtime.logs import LogSink

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIAEMBEDDEDLAMBDA00",
    "AWS_SECRET_ACCESS_KEY": "embedded-lambda-secret-not-a-real-key",
    "AWS_SESSION_TOKEN": "embedded-lambda-session-token",
}


class WorkerGone(Exception):
    """The worker process exited (or closed its pipe) before answering."""


class WorkerTimeout(Exception):
    """The worker did not answer within the time it was given."""


def lambda_environment(d: Deployment, region: str, endpoint_url: str) -> dict[str, str]:
    """Exactly the function's configured variables plus what the Lambda runtime sets."""
    env = dict(d.environment)
    stream = f"{time.strftime('%Y/%m/%d', time.gmtime())}/[{d.version}]{uuid.uuid4().hex}"
    env.update(
        {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": d.code_dir,
            "LAMBDA_RUNTIME_DIR": str(WORKER_SCRIPT.parent),
            "_HANDLER": d.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{d.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": d.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": d.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(d.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{d.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "AWS_ENDPOINT_URL": endpoint_url,
            **FAKE_CREDENTIALS,
        }
    )
    env.setdefault("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR")
    return env


class Worker:
    """One execution environment: a process running worker.py for one function version."""

    def __init__(self, deployment: Deployment, python: str, env: dict[str, str], sink: LogSink) -> None:
        self.deployment = deployment
        self.last_used = time.monotonic()
        self._sink = sink
        to_worker_r, self._to_worker = os.pipe()
        self._from_worker, from_worker_w = os.pipe()
        self.process = subprocess.Popen(
            [
                python,
                "-I",
                "-u",
                str(WORKER_SCRIPT),
                str(to_worker_r),
                str(from_worker_w),
                *deployment.layer_paths,
            ],
            env=env,
            cwd=deployment.code_dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=(to_worker_r, from_worker_w),
            start_new_session=True,  # Ctrl-C reaches the stack, which then stops its workers
        )
        os.close(to_worker_r)
        os.close(from_worker_w)
        self._pumps = [
            threading.Thread(target=self._pump, args=(stream,), daemon=True)
            for stream in (self.process.stdout, self.process.stderr)
        ]
        for pump in self._pumps:
            pump.start()

    def _pump(self, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        for raw in iter(stream.readline, b""):
            self._sink.write(self.deployment.function_name, raw.decode("utf-8", "replace"))
        stream.close()

    def wait_ready(self, timeout_s: float) -> dict[str, Any]:
        return self._receive(timeout_s)

    def call(self, message: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        body = json.dumps(message, separators=(",", ":")).encode()
        try:
            self._write(len(body).to_bytes(4, "big") + body)
        except OSError as exc:
            raise WorkerGone from exc
        return self._receive(timeout_s)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._to_worker, view) :]

    def _receive(self, timeout_s: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        header = self._read(4, deadline)
        return json.loads(self._read(int.from_bytes(header, "big"), deadline))

    def _read(self, size: int, deadline: float) -> bytes:
        chunks: list[bytes] = []
        remaining = size
        while remaining:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise WorkerTimeout
            ready, _, _ = select.select([self._from_worker], [], [], wait)
            if not ready:
                raise WorkerTimeout
            chunk = os.read(self._from_worker, min(remaining, 1 << 20))
            if not chunk:
                raise WorkerGone
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def exit_code(self) -> int | None:
        try:
            return self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return None

    def exit_reason(self) -> str:
        """As Lambda words it: ``exit status 3``, or ``signal: killed`` when SIGKILL ended it."""
        code = self.exit_code()
        if code is None:
            return "exit status unknown"
        if code < 0:
            name = signal.strsignal(-code) or f"signal {-code}"
            return f"signal: {name.lower()}"
        return f"exit status {code}"

    def signal_kill(self) -> None:
        """SIGKILL the process group only (the caller waiting on the pipe sees the worker gone)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def kill(self) -> None:
        self.signal_kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        for fd in (self._to_worker, self._from_worker):
            with contextlib.suppress(OSError):
                os.close(fd)
        for pump in self._pumps:
            pump.join(timeout=1.0)


@dataclass
class Pool:
    """Per-function concurrency accounting and warm workers (reserved concurrency is per function)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    idle: list[Worker] = field(default_factory=list)

    def take_idle(self, deployment: Deployment, idle_s: float) -> Worker | None:
        """The most recently used warm worker of this deployment (as Lambda reuses environments).

        Workers of older deployments, dead ones and ones idle longer than ``idle_s`` are retired, so a
        burst of concurrency does not leave processes around for the rest of the session. The caller
        holds ``lock``.
        """
        found = None
        keep = []
        now = time.monotonic()
        for worker in reversed(self.idle):  # most recently released first
            usable = worker.process.poll() is None and worker.deployment == deployment
            if usable and found is None:
                found = worker
            elif usable and now - worker.last_used < idle_s:
                keep.append(worker)
            else:
                threading.Thread(target=worker.kill, daemon=True).start()
        self.idle = list(reversed(keep))
        return found
