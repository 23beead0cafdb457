"""In-worker bootstrap: what the Lambda Python runtime does inside one execution environment.

Run by the runner as ``<python3.12> -I -u worker.py <fd_in> <fd_out> [<path> ...]``. Standard
library only: it runs in the Lambda runtime's interpreter, not in the project's virtualenv. The
protocol travels over two dedicated pipes (4-byte big-endian length + JSON), so the handler's
stdout and stderr stay free for its logs, as in Lambda.

Messages: worker -> ``{"type": "ready"}`` or ``{"type": "init_error", "error": {...}}`` once;
runner -> ``{"type": "invoke", "request_id", "payload", "deadline_ms", "invoked_function_arn",
"trace_id"}``; worker -> ``{"type": "result", "ok": bool, "payload" | "error"}``.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import struct
import sys
import time
import traceback
from typing import Any

_HEADER = struct.Struct(">I")


def read_message(fd: int) -> dict[str, Any] | None:
    """One framed message, or None at end of stream."""
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        return None
    body = _read_exact(fd, _HEADER.unpack(header)[0])
    if body is None:
        return None
    return json.loads(body)


def write_message(fd: int, message: dict[str, Any]) -> None:
    raw = message.pop("payload_json", None)
    body = json.dumps(message, separators=(",", ":")).encode()
    if raw is not None:
        body = body[:-1] + b',"payload":' + raw.encode() + b"}"
    data = _HEADER.pack(len(body)) + body
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks = []
    remaining = size
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


class LambdaContext:
    """The context object the Python runtime passes to handlers (same attribute names and types)."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        # A string in the real runtime too (it comes from the environment).
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},function_version={self.function_version}])"
        )


def _error(exc: BaseException, error_type: str | None = None, message: str | None = None) -> dict[str, Any]:
    """Lambda's error object for an exception (stackTrace as the runtime formats it)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": message if message is not None else str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_list(frames),
    }


def _log_error(error: dict[str, Any]) -> None:
    lines = "".join(error.get("stackTrace") or [])
    sys.stderr.write(f"[ERROR] {error['errorType']}: {error['errorMessage']}\nTraceback:\n{lines}")
    sys.stderr.flush()


def _load_handler() -> Any:
    """Import ``module.function`` from $_HANDLER, reporting failures with the runtime's error types."""
    spec = os.environ.get("_HANDLER", "")
    module_name, _, function_name = spec.rpartition(".")
    if not module_name or not function_name:
        raise _InitError(
            {
                "errorMessage": f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1)",
                "errorType": "Runtime.MalformedHandlerName",
                "stackTrace": [],
            }
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise _InitError(
            _error(exc, "Runtime.ImportModuleError", f"Unable to import module '{module_name}': {exc}")
        ) from exc
    except Exception as exc:
        raise _InitError(_error(exc)) from exc
    try:
        return getattr(module, function_name)
    except AttributeError as exc:
        raise _InitError(
            _error(
                exc,
                "Runtime.HandlerNotFound",
                f"Handler '{function_name}' missing on module '{module_name}'",
            )
        ) from exc


class _InitError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


def _decimal_default(obj: Any) -> Any:
    """The runtime's marshaller turns Decimal into a number; anything else unknown is an error."""
    if isinstance(obj, decimal.Decimal):
        return float(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _invoke(handler: Any, message: dict[str, Any]) -> dict[str, Any]:
    request_id = message["request_id"]
    os.environ["_X_AMZN_TRACE_ID"] = message.get("trace_id") or ""
    context = LambdaContext(request_id, message["invoked_function_arn"], message["deadline_ms"])
    try:
        result = handler(message["payload"], context)
    except Exception as exc:
        error = _error(exc)
        error["requestId"] = request_id
        _log_error(error)
        return {"type": "result", "ok": False, "error": error}
    try:
        raw = json.dumps(result, default=_decimal_default)
    except (TypeError, ValueError) as exc:
        error = {
            "errorMessage": f"Unable to marshal response: {exc}",
            "errorType": "Runtime.MarshalError",
            "requestId": request_id,
            "stackTrace": [],
        }
        _log_error(error)
        return {"type": "result", "ok": False, "error": error}
    # Already serialised as Lambda would; framed without a second encode.
    return {"type": "result", "ok": True, "payload_json": raw}


def main(argv: list[str]) -> int:
    fd_in, fd_out = int(argv[1]), int(argv[2])
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    # Lambda's order: the function's code, then each layer's python dirs, then the runtime's packages.
    sys.path[:0] = [task_root, *argv[3:]]
    os.chdir(task_root)
    try:
        handler = _load_handler()
    except _InitError as exc:
        _log_error(exc.error)
        write_message(fd_out, {"type": "init_error", "error": exc.error})
        return 1
    write_message(fd_out, {"type": "ready"})
    while True:
        message = read_message(fd_in)
        if message is None or message.get("type") != "invoke":
            return 0
        reply = _invoke(handler, message)
        sys.stdout.flush()
        sys.stderr.flush()
        write_message(fd_out, reply)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
