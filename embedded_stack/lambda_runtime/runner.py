"""The Lambda runner: runs deployed function code in worker processes, as the Lambda service would.

Public API (the gateway and the stream pollers call this; thread-safe):

    runner = Runner(endpoint_url, region)
    result = runner.invoke("get_item", "live", event)   # name, ARN or qualified ARN accepted
    result.status in ("ok", "error", "timeout", "throttled")
    runner.close()

``InvokeResult.payload`` is the handler's JSON return value when ``ok``; otherwise Lambda's error
object ``{"errorMessage", "errorType", "stackTrace"?}``. ``function_error`` mirrors Lambda's
``X-Amz-Function-Error`` header: "Unhandled" for handler errors, init errors, crashes and
timeouts (status "error"/"timeout"); None for errors of the Lambda service itself, where Invoke
would raise instead: throttles (status "throttled", TooManyRequestsException, HTTP 429),
ResourceNotFoundException and RequestTooLargeException (status "error").

Everything about a function comes from the control plane at the moto endpoint: GetFunction (code
location, CodeSha256, handler, environment, timeout, memory, layers), GetLayerVersionByArn and
GetFunctionConcurrency. The only thing Lambda code learns about the emulator is AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import io
import json
import os
import secrets
import select
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from scripts.lambda_python import LAMBDA_RUNTIME, find_lambda_python

Status = Literal["ok", "error", "timeout", "throttled"]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = REPO_ROOT / ".local"
WORKER_SCRIPT = Path(__file__).with_name("worker.py")

INIT_TIMEOUT_S = 10.0  # Lambda's init phase limit for on-demand functions
MAX_SYNC_PAYLOAD = 6 * 1024 * 1024  # RequestResponse request and response limit
UNRESERVED_CAP_ENV = "EMBEDDED_LAMBDA_CONCURRENCY"
DEFAULT_UNRESERVED_CAP = 10
IDLE_ENV = "EMBEDDED_LAMBDA_IDLE_S"
DEFAULT_IDLE_S = 300.0  # a warm worker unused this long is stopped (Lambda reclaims idle environments)
CONFIG_TTL_S = 2.0  # how long a resolved configuration is trusted before re-reading the control plane
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "ASIAEMBEDDEDLAMBDA00",
    "AWS_SECRET_ACCESS_KEY": "embedded-lambda-secret-not-a-real-key",
    "AWS_SESSION_TOKEN": "embedded-lambda-session-token",
}


@dataclass(frozen=True)
class InvokeResult:
    """Outcome of one synchronous (RequestResponse) invocation."""

    ok: bool
    payload: Any
    error_type: str | None
    duration_ms: float
    status: Status
    function_error: str | None = None
    request_id: str = ""


class RunnerError(RuntimeError):
    """The runner cannot run a function at all (bad deployment, missing interpreter...)."""


# --------------------------------------------------------------------------- interpreter


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


# --------------------------------------------------------------------------- logs


class LogSink:
    """Each worker's output, labelled with its function: to the console and .local/logs/<fn>.log."""

    def __init__(self, log_dir: Path, console: IO[str] | None) -> None:
        self._dir = log_dir
        self._console = console
        self._lock = threading.Lock()
        self._files: dict[str, IO[str]] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def write(self, function_name: str, line: str) -> None:
        line = line.rstrip("\n")
        with self._lock:
            handle = self._files.get(function_name)
            if handle is None:
                handle = open(self._dir / f"{function_name}.log", "a", buffering=1)  # noqa: SIM115
                self._files[function_name] = handle
            handle.write(line + "\n")
            if self._console is not None:
                self._console.write(f"[{function_name}] {line}\n")
                self._console.flush()

    def close(self) -> None:
        with self._lock:
            for handle in self._files.values():
                handle.close()
            self._files.clear()


# --------------------------------------------------------------------------- deployments


@dataclass(frozen=True)
class Deployment:
    """One function version as deployed: what a worker needs to start."""

    function_name: str
    version: str
    function_arn: str  # unqualified
    handler: str
    runtime: str
    timeout_s: float
    memory_mb: int
    environment: tuple[tuple[str, str], ...]
    code_dir: str
    layer_paths: tuple[str, ...]
    tracing_active: bool


def split_function_ref(function_name: str, qualifier: str | None) -> tuple[str, str | None]:
    """Accept a name, a partial ARN or a (qualified) ARN, as Lambda's Invoke does."""
    if function_name.startswith("arn:"):
        parts = function_name.split(":")
        # arn:aws:lambda:region:account:function:name[:qualifier]
        name = parts[6]
        arn_qualifier = parts[7] if len(parts) > 7 else None
        if qualifier and arn_qualifier and qualifier != arn_qualifier:
            raise ValueError("The derived qualifier from the function name does not match the qualifier")
        return name, qualifier or arn_qualifier
    if ":" in function_name:
        name, arn_qualifier = function_name.split(":", 1)
        return name, qualifier or arn_qualifier
    return function_name, qualifier


class CodeCache:
    """Zips downloaded from the control plane, checked against CodeSha256, extracted once per sha."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = threading.Lock()
        root.mkdir(parents=True, exist_ok=True)

    def extract(self, location: str, code_sha256: str) -> Path:
        key = base64.b64decode(code_sha256).hex()
        target = self._root / key
        with self._lock:
            if target.is_dir():
                return target
            with urllib.request.urlopen(location, timeout=30) as response:  # noqa: S310 - the moto endpoint
                data = response.read()
            actual = base64.b64encode(hashlib.sha256(data).digest()).decode()
            if actual != code_sha256:
                raise RunnerError(
                    f"code at {location} has sha256 {actual}, deployed CodeSha256 is {code_sha256}"
                )
            staging = self._root / f".{key}.{os.getpid()}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.infolist():
                    dest = (staging / member.filename).resolve()
                    if not str(dest).startswith(str(staging.resolve())):
                        raise RunnerError(f"zip entry escapes the code directory: {member.filename}")
                archive.extractall(staging)  # entries checked above
            os.replace(staging, target)
            return target


# --------------------------------------------------------------------------- workers


class _WorkerGone(Exception):
    pass


class _WorkerTimeout(Exception):
    pass


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
            raise _WorkerGone from exc
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
                raise _WorkerTimeout
            ready, _, _ = select.select([self._from_worker], [], [], wait)
            if not ready:
                raise _WorkerTimeout
            chunk = os.read(self._from_worker, min(remaining, 1 << 20))
            if not chunk:
                raise _WorkerGone
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def exit_code(self) -> int | None:
        try:
            return self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, 9)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        for fd in (self._to_worker, self._from_worker):
            with contextlib.suppress(OSError):
                os.close(fd)
        for pump in self._pumps:
            pump.join(timeout=1.0)


@dataclass(frozen=True)
class _Limit:
    value: int
    reserved: bool


@dataclass
class _Call:
    """One invocation in progress, and how its outcome is reported."""

    started: float
    request_id: str
    payload: Any
    trace_id: str | None
    qualifier: str | None = None
    deployment: Deployment = field(default=None)  # type: ignore[assignment] - set once resolved
    timeout_s: float = 0.0

    def result(self, ok: bool, payload: Any, status: Status) -> InvokeResult:
        return InvokeResult(
            ok=ok,
            payload=payload,
            error_type=None if ok else (payload or {}).get("errorType"),
            duration_ms=(time.monotonic() - self.started) * 1000,
            status=status,
            function_error=None if ok else "Unhandled",
            request_id=self.request_id,
        )

    def function_error(self, error_type: str, message: str, status: Status = "error") -> InvokeResult:
        """A failure inside the execution environment: Invoke returns 200 + X-Amz-Function-Error."""
        return self.result(False, {"errorMessage": message, "errorType": error_type}, status)

    def service_error(self, code: str, message: str) -> InvokeResult:
        """A failure of the Lambda service itself: Invoke would raise ``code``."""
        return InvokeResult(
            ok=False,
            payload={"errorMessage": message, "errorType": code},
            error_type=code,
            duration_ms=(time.monotonic() - self.started) * 1000,
            status="error",
            request_id=self.request_id,
        )

    def throttled(self, reserved: bool) -> InvokeResult:
        reason = (
            "ReservedFunctionConcurrentInvocationLimitExceeded"
            if reserved
            else "ConcurrentInvocationLimitExceeded"
        )
        return InvokeResult(
            ok=False,
            payload={
                "errorMessage": "Rate Exceeded.",
                "errorType": "TooManyRequestsException",
                "Reason": reason,
            },
            error_type="TooManyRequestsException",
            duration_ms=(time.monotonic() - self.started) * 1000,
            status="throttled",
            request_id=self.request_id,
        )


@dataclass
class _Pool:
    """Per-function concurrency accounting and warm workers (reserved concurrency is per function)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    in_flight: int = 0
    idle: list[Worker] = field(default_factory=list)


# --------------------------------------------------------------------------- the runner


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
        self._state_dir = state_dir
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
        self._pools: dict[str, _Pool] = {}
        self._busy: set[Worker] = set()
        self._resolved: dict[tuple[str, str | None], tuple[float, Deployment, _Limit]] = {}
        self._refreshing: set[tuple[str, str | None]] = set()
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
        kwargs: dict[str, str] = {"FunctionName": name}
        if qualifier:
            kwargs["Qualifier"] = qualifier
        fn = self._client.get_function(**kwargs)
        config = fn["Configuration"]
        code = fn.get("Code") or {}
        if "Location" not in code:
            raise RunnerError(f"{name}: only zip packages can run here (got {code.get('RepositoryType')})")
        code_dir = self._code.extract(code["Location"], config["CodeSha256"])
        layer_paths: list[str] = []
        for layer in config.get("Layers") or []:
            # GetLayerVersionByArn is not implemented by moto; the name/number form is equivalent.
            parts = layer["Arn"].split(":")  # arn:aws:lambda:region:account:layer:name:version
            content = self._client.get_layer_version(LayerName=parts[6], VersionNumber=int(parts[7]))[
                "Content"
            ]
            layer_dir = self._code.extract(content["Location"], content["CodeSha256"])
            runtime = config.get("Runtime") or LAMBDA_RUNTIME
            layer_paths += [
                str(layer_dir / "python" / "lib" / runtime / "site-packages"),
                str(layer_dir / "python"),
            ]
        reserved = self._client.get_function_concurrency(FunctionName=name).get(
            "ReservedConcurrentExecutions"
        )
        deployment = Deployment(
            function_name=config["FunctionName"],
            version=config.get("Version") or "$LATEST",
            function_arn=config["FunctionArn"].split(":function:")[0] + ":function:" + config["FunctionName"],
            handler=config["Handler"],
            runtime=config.get("Runtime") or LAMBDA_RUNTIME,
            timeout_s=float(config.get("Timeout") or 3),
            memory_mb=int(config.get("MemorySize") or 128),
            environment=tuple(sorted(((config.get("Environment") or {}).get("Variables") or {}).items())),
            code_dir=str(code_dir),
            layer_paths=tuple(layer_paths),
            tracing_active=(config.get("TracingConfig") or {}).get("Mode") == "Active",
        )
        limit = _Limit(int(reserved), True) if reserved is not None else _Limit(self._cap, False)
        with self._lock:
            self._resolved[key] = (now, deployment, limit)
        return deployment, limit

    def _pool(self, function_name: str) -> _Pool:
        with self._lock:
            return self._pools.setdefault(function_name, _Pool())

    # -- environment ---------------------------------------------------------------------

    def _environment(self, d: Deployment) -> dict[str, str]:
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
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
                "AWS_ENDPOINT_URL": self.endpoint_url,
                **FAKE_CREDENTIALS,
            }
        )
        env.setdefault("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR")
        return env

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
        call = _Call(
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
            worker = self._take_idle(pool, deployment)
        try:
            return self._run(pool, call, worker)
        finally:
            with pool.lock:
                pool.in_flight -= 1

    def _take_idle(self, pool: _Pool, deployment: Deployment) -> Worker | None:
        """The most recently used warm worker of this deployment (as Lambda reuses environments).

        Workers of older deployments, dead ones and ones idle longer than the idle limit are retired,
        so a burst of concurrency does not leave processes around for the rest of the session.
        """
        found = None
        keep = []
        now = time.monotonic()
        for worker in reversed(pool.idle):  # most recently released first
            usable = worker.process.poll() is None and worker.deployment == deployment
            if usable and found is None:
                found = worker
            elif usable and now - worker.last_used < self._idle_s:
                keep.append(worker)
            else:
                threading.Thread(target=worker.kill, daemon=True).start()
        pool.idle = list(reversed(keep))
        return found

    def _start_worker(self, call: _Call) -> Worker | InvokeResult:
        """A cold start: spawn, run the init phase (imports), report init failures as Lambda does."""
        d = call.deployment
        if self._closed:
            return call.service_error("ServiceException", "the runner is shutting down")
        try:
            worker = Worker(d, self.python, self._environment(d), self._sink)
        except OSError as exc:
            return call.service_error("ServiceException", f"cannot start the runtime {self.python}: {exc}")
        self._track(worker, True)
        try:
            ready = worker.wait_ready(INIT_TIMEOUT_S)
        except _WorkerTimeout:
            self._discard(worker)
            return call.function_error(
                "Sandbox.Timedout",
                f"RequestId: {call.request_id} Error: Init phase timed out after {INIT_TIMEOUT_S:.2f} s",
                "timeout",
            )
        except _WorkerGone:
            code = worker.exit_code()
            self._discard(worker)
            return call.function_error(
                "Runtime.ExitError",
                f"RequestId: {call.request_id} Error: Runtime exited with error: exit status {code}",
            )
        if ready.get("type") != "ready":
            self._discard(worker)
            error = ready.get("error") or {"errorMessage": "init failed", "errorType": "Runtime.Unknown"}
            return call.result(False, error, "error")
        return worker

    def _run(self, pool: _Pool, call: _Call, worker: Worker | None) -> InvokeResult:
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
        try:
            reply = worker.call(message, call.timeout_s)
        except _WorkerTimeout:
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
        except _WorkerGone:
            code = worker.exit_code()
            self._discard(worker)
            self._report(d, call.request_id, time.monotonic() - begun)
            return call.function_error(
                "Runtime.ExitError",
                f"RequestId: {call.request_id} Error: Runtime exited with error: exit status {code}",
            )
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

    def _release(self, pool: _Pool, worker: Worker) -> None:
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


InvokeFn = Callable[[str, str | None, Any], InvokeResult]
