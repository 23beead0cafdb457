"""The Lambda runner: runs deployed function code in worker processes, as the Lambda service would.

Public API (the gateway and the stream pollers call this; thread-safe):

    runner = Runner(endpoint_url, region)
    result = runner.invoke("get_item", "live", event)   # name, ARN or qualified ARN accepted
    result.status in ("ok", "error", "timeout", "throttled")
    runner.close()

What a result holds is described in ``invocation``. Everything about a function comes from the
control plane at the moto endpoint: GetFunction (code location, CodeSha256, handler, environment,
timeout, memory, layers), GetLayerVersion and GetFunctionConcurrency. The only thing Lambda code
learns about the emulator is AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from embedded_stack.lambda_runtime.deployment import (
    CodeCache,
    Deployment,
    RunnerError,
    read_deployment,
    split_function_ref,
)
from embedded_stack.lambda_runtime.interpreter import DEFAULT_STATE_DIR, ensure_runtime
from embedded_stack.lambda_runtime.invocation import MAX_SYNC_PAYLOAD, Call, InvokeResult
from embedded_stack.lambda_runtime.logs import LogSink
from embedded_stack.lambda_runtime.workers import (
    Pool,
    Worker,
    WorkerGone,
    WorkerTimeout,
    lambda_environment,
)
from embedded_stack.moto_server import faults

log = logging.getLogger("embedded.lambda")

INIT_TIMEOUT_S = 10.0  # Lambda's init phase limit for on-demand functions
UNRESERVED_CAP_ENV = "EMBEDDED_LAMBDA_CONCURRENCY"
DEFAULT_UNRESERVED_CAP = 10
IDLE_ENV = "EMBEDDED_LAMBDA_IDLE_S"
DEFAULT_IDLE_S = 300.0  # a warm worker unused this long is stopped (Lambda reclaims idle environments)
CONFIG_TTL_S = 2.0  # how long a resolved configuration is trusted before re-reading the control plane


@dataclass(frozen=True)
class _Limit:
    value: int
    reserved: bool


class Runner:
    """Invokes functions deployed to the embedded control plane in warm, isolated worker processes."""

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        *,
        state_dir: Path = DEFAULT_STATE_DIR,
        python: str | None = None,
        console: IO[str] | None = sys.stdout,
        unreserved_cap: int | None = None,
        config_ttl_s: float = CONFIG_TTL_S,
    ) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        if python is None:
            python, self.lambda_runtime = ensure_runtime()
        else:
            self.lambda_runtime = True
        self.python = python
        self._client = boto3.client(
            "lambda",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="embedded",
            aws_secret_access_key="embedded",  # noqa: S106 - moto accepts anything
            config=Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=50),
        )
        self._code = CodeCache(state_dir / "cache" / "code")
        self._sink = LogSink(state_dir / "logs", console)
        self._cap = unreserved_cap or int(os.environ.get(UNRESERVED_CAP_ENV, DEFAULT_UNRESERVED_CAP))
        self._ttl = config_ttl_s
        self._idle_s = float(os.environ.get(IDLE_ENV, DEFAULT_IDLE_S))
        self._lock = threading.Lock()
        self._pools: dict[str, Pool] = {}
        self._busy: set[Worker] = set()
        self._resolved: dict[tuple[str, str | None], tuple[float, Deployment, _Limit]] = {}
        self._refreshing: set[tuple[str, str | None]] = set()
        self._epoch = 0  # bumped by invalidate(): loads begun before it are not remembered
        self._closed = False

    # -- control plane -------------------------------------------------------------------

    def _resolve(self, name: str, qualifier: str | None) -> tuple[Deployment, _Limit]:
        """(deployment, concurrency limit) for name:qualifier.

        Read from the control plane on first use; afterwards served from memory and re-read in the
        background once older than the TTL, so that a redeploy is picked up within seconds without
        any invocation waiting on the control plane.
        """
        key = (name, qualifier)
        with self._lock:
            cached = self._resolved.get(key)
            stale = cached is not None and time.monotonic() - cached[0] >= self._ttl
            refresh = stale and key not in self._refreshing
            if refresh:
                self._refreshing.add(key)
        if refresh:
            threading.Thread(target=self._refresh, args=(name, qualifier), daemon=True).start()
        if cached is not None:
            return cached[1], cached[2]
        return self._load(name, qualifier)

    def _refresh(self, name: str, qualifier: str | None) -> None:
        key = (name, qualifier)
        try:
            self._load(name, qualifier)
        except Exception:  # gone or unreadable: the next invocation reads it again and reports why
            with self._lock:
                self._resolved.pop(key, None)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def _load(self, name: str, qualifier: str | None) -> tuple[Deployment, _Limit]:
        key = (name, qualifier)
        now = time.monotonic()
        with self._lock:
            epoch = self._epoch
        deployment = read_deployment(self._client, self._code, name, qualifier)
        reserved = self._client.get_function_concurrency(FunctionName=name).get(
            "ReservedConcurrentExecutions"
        )
        limit = _Limit(int(reserved), True) if reserved is not None else _Limit(self._cap, False)
        with self._lock:
            if epoch == self._epoch:  # not read before an invalidate() that happened meanwhile
                self._resolved[key] = (now, deployment, limit)
        return deployment, limit

    @property
    def code_cache(self) -> CodeCache:
        """Unpacked code by CodeSha256 (the hot reload unpacks a new zip here before deploying it)."""
        return self._code

    def deployment(self, function_name: str, qualifier: str | None = None) -> Deployment:
        """name:qualifier as the control plane has it now (read afresh, and remembered)."""
        return self._load(*split_function_ref(function_name, qualifier))[0]

    def invalidate(self, function_name: str | None = None) -> None:
        """Forget resolved configurations (of one function, or all): the next invocation reads the
        control plane first. Called right after a redeploy, so the very next request runs the new
        code instead of waiting for the TTL."""
        name = split_function_ref(function_name, None)[0] if function_name else None
        with self._lock:
            self._epoch += 1
            for key in [k for k in self._resolved if name is None or k[0] == name]:
                del self._resolved[key]

    def _pool(self, function_name: str) -> Pool:
        with self._lock:
            return self._pools.setdefault(function_name, Pool())

    # -- invoke --------------------------------------------------------------------------

    def invoke(
        self,
        function_name: str,
        qualifier: str | None,
        payload: Any,
        timeout_s: float | None = None,
        trace_id: str | None = None,
    ) -> InvokeResult:
        """Invoke synchronously; never raises for function-side failures (see InvokeResult.status).

        ``timeout_s`` lowers the function's configured timeout for this call (e.g. API Gateway's
        29 s integration limit); it never raises it. ``trace_id`` is an X-Ray trace header to pass
        on (``_X_AMZN_TRACE_ID``); one is generated when absent.
        """
        call = Call(
            started=time.monotonic(), request_id=str(uuid.uuid4()), payload=payload, trace_id=trace_id
        )
        try:
            name, call.qualifier = split_function_ref(function_name, qualifier)
            deployment, limit = self._resolve(name, call.qualifier)
        except ValueError as exc:
            return call.service_error("InvalidParameterValueException", str(exc))
        except ClientError as exc:
            error = exc.response.get("Error", {})
            return call.service_error(error.get("Code", "ServiceException"), error.get("Message", ""))
        except (RunnerError, OSError, zipfile.BadZipFile) as exc:
            # The deployed package cannot be fetched or unpacked: Lambda would fail the invoke itself.
            return call.service_error("ServiceException", f"{type(exc).__name__}: {exc}")
        if len(json.dumps(payload, separators=(",", ":")).encode()) > MAX_SYNC_PAYLOAD:
            return call.service_error(
                "RequestTooLargeException",
                f"Request must be smaller than {MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation",
            )
        call.deployment = deployment
        call.timeout_s = min(deployment.timeout_s, timeout_s) if timeout_s else deployment.timeout_s
        pool = self._pool(deployment.function_name)
        with pool.lock:
            if pool.in_flight >= limit.value:
                return call.throttled(limit.reserved)
            pool.in_flight += 1
            worker = pool.take_idle(deployment, self._idle_s)
        try:
            return self._run(pool, call, worker)
        finally:
            with pool.lock:
                pool.in_flight -= 1

    def _start_worker(self, call: Call) -> Worker | InvokeResult:
        """A cold start: spawn, run the init phase (imports), report init failures as Lambda does."""
        d = call.deployment
        if self._closed:
            return call.service_error("ServiceException", "the runner is shutting down")
        try:
            worker = Worker(d, self.python, lambda_environment(d, self.region, self.endpoint_url), self._sink)
        except OSError as exc:
            return call.service_error("ServiceException", f"cannot start the runtime {self.python}: {exc}")
        self._track(worker, True)
        try:
            ready = worker.wait_ready(INIT_TIMEOUT_S)
        except WorkerTimeout:
            self._discard(worker)
            return call.function_error(
                "Sandbox.Timedout",
                f"RequestId: {call.request_id} Error: Init phase timed out after {INIT_TIMEOUT_S:.2f} s",
                "timeout",
            )
        except WorkerGone:
            return self._gone(worker, call, None)
        if ready.get("type") != "ready":
            self._discard(worker)
            error = ready.get("error") or {"errorMessage": "init failed", "errorType": "Runtime.Unknown"}
            return call.result(False, error, "error")
        return worker

    def _run(self, pool: Pool, call: Call, worker: Worker | None) -> InvokeResult:
        d = call.deployment
        if worker is None:
            started = self._start_worker(call)
            if isinstance(started, InvokeResult):
                return started
            worker = started
        else:
            self._track(worker, True)
        message = {
            "type": "invoke",
            "request_id": call.request_id,
            "payload": call.payload,
            "deadline_ms": int(time.time() * 1000 + call.timeout_s * 1000),
            "invoked_function_arn": d.function_arn + (f":{call.qualifier}" if call.qualifier else ""),
            "trace_id": call.trace_id or _trace_header(d.tracing_active),
        }
        self._sink.write(d.function_name, f"START RequestId: {call.request_id} Version: {d.version}")
        begun = time.monotonic()
        kill_after = faults.worker_kill_delay(d.function_name)
        killer = threading.Timer(kill_after, worker.signal_kill) if kill_after is not None else None
        if killer is not None:
            killer.daemon = True
            killer.start()
        try:
            reply = worker.call(message, call.timeout_s)
        except WorkerTimeout:
            self._discard(worker)
            self._sink.write(
                d.function_name,
                f"{_utc_stamp()} {call.request_id} Task timed out after {call.timeout_s:.2f} seconds",
            )
            self._report(d, call.request_id, time.monotonic() - begun)
            return call.function_error(
                "Sandbox.Timedout",
                f"RequestId: {call.request_id} Error: Task timed out after {call.timeout_s:.2f} seconds",
                "timeout",
            )
        except WorkerGone:
            return self._gone(worker, call, time.monotonic() - begun)
        finally:
            if killer is not None:
                killer.cancel()
        self._report(d, call.request_id, time.monotonic() - begun)
        self._release(pool, worker)
        if not reply.get("ok"):
            return call.result(False, reply.get("error") or {}, "error")
        result = reply.get("payload")
        if len(json.dumps(result).encode()) > MAX_SYNC_PAYLOAD:
            return call.function_error(
                "Function.ResponseSizeTooLarge",
                f"Response payload size exceeded maximum allowed payload size ({MAX_SYNC_PAYLOAD} bytes).",
            )
        return call.result(True, result, "ok")

    def _gone(self, worker: Worker, call: Call, elapsed_s: float | None) -> InvokeResult:
        """The worker process died (a crash, os._exit, SIGKILL): the invocation fails as on Lambda,
        the environment is discarded and the next invocation starts a fresh one. Said in the
        function's log and in the stack's."""
        d = call.deployment
        reason = worker.exit_reason()
        self._discard(worker)
        error = f"RequestId: {call.request_id} Error: Runtime exited with error: {reason}"
        self._sink.write(d.function_name, f"{error}\nRuntime.ExitError")
        log.warning(
            "%s: worker pid %d died (%s) during %s %s; the next invocation starts a fresh worker",
            d.function_name,
            worker.process.pid,
            reason,
            "the init phase of" if elapsed_s is None else "RequestId",
            call.request_id,
        )
        if elapsed_s is not None:
            self._report(d, call.request_id, elapsed_s)
        return call.function_error("Runtime.ExitError", error)

    def _release(self, pool: Pool, worker: Worker) -> None:
        """Back to the warm pool (or stopped, when the runner is closing)."""
        self._track(worker, False)
        worker.last_used = time.monotonic()
        with pool.lock:
            if self._closed:
                threading.Thread(target=worker.kill, daemon=True).start()
            else:
                pool.idle.append(worker)

    def _report(self, d: Deployment, request_id: str, elapsed_s: float) -> None:
        ms = elapsed_s * 1000
        self._sink.write(d.function_name, f"END RequestId: {request_id}")
        self._sink.write(
            d.function_name,
            f"REPORT RequestId: {request_id}\tDuration: {ms:.2f} ms\tBilled Duration: {int(ms) + 1} ms\t"
            f"Memory Size: {d.memory_mb} MB",
        )

    def _track(self, worker: Worker, busy: bool) -> None:
        with self._lock:
            if busy:
                self._busy.add(worker)
            else:
                self._busy.discard(worker)

    def _discard(self, worker: Worker) -> None:
        self._track(worker, False)
        worker.kill()

    # -- lifecycle -----------------------------------------------------------------------

    def in_flight(self, function_name: str) -> int:
        """Invocations of ``function_name`` running now (what reserved concurrency limits)."""
        pool = self._pool(function_name)
        with pool.lock:
            return pool.in_flight

    def worker_pids(self, function_name: str | None = None) -> list[int]:
        """Live worker process ids (tests and diagnostics)."""
        with self._lock:
            workers = list(self._busy) + [w for p in self._pools.values() for w in p.idle]
        return [
            w.process.pid
            for w in workers
            if w.process.poll() is None
            and (function_name is None or w.deployment.function_name == function_name)
        ]

    def close(self) -> None:
        """Stop every worker process (idle and busy)."""
        self._closed = True
        with self._lock:
            workers = list(self._busy)
            for pool in self._pools.values():
                with pool.lock:
                    workers += pool.idle
                    pool.idle = []
            self._busy.clear()
        for worker in workers:
            worker.kill()
        self._sink.close()

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _trace_header(sampled: bool) -> str:
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    return f"Root={root};Parent={secrets.token_hex(8)};Sampled={int(sampled)};Lineage=1:embedded:0"


def _utc_stamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
