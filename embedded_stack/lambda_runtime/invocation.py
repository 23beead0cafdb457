"""One synchronous invocation: its state while it runs, and the shapes of its outcome.

``InvokeResult.payload`` is the handler's JSON return value when ``ok``; otherwise Lambda's error
object ``{"errorMessage", "errorType", "stackTrace"?}``. ``function_error`` mirrors Lambda's
``X-Amz-Function-Error`` header: "Unhandled" for handler errors, init errors, crashes and
timeouts (status "error"/"timeout"); None for errors of the Lambda service itself, where Invoke
would raise instead: throttles (status "throttled", TooManyRequestsException, HTTP 429),
ResourceNotFoundException and RequestTooLargeException (status "error").
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from embedded_stack.lambda_runtime.deployment import Deployment

Status = Literal["ok", "error", "timeout", "throttled"]

MAX_SYNC_PAYLOAD = 6 * 1024 * 1024  # RequestResponse request and response limit


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


@dataclass
class Call:
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
