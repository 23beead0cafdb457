"""The Lambda runner: runs deployed function code in worker processes, as the Lambda service would.

Public API (the gateway and the stream pollers call this):

    runner = Runner(lambda_client_factory, endpoint_url=..., region=...)
    result = runner.invoke("get_item", "live", event)   # name, ARN or qualified ARN accepted
    result.status in ("ok", "error", "timeout", "throttled")

``InvokeResult.payload`` is the handler's JSON return value when ``ok``; otherwise Lambda's error
object ``{"errorMessage", "errorType", "stackTrace"?}``. ``function_error`` mirrors Lambda's
``X-Amz-Function-Error`` header ("Unhandled" for handler errors and timeouts, None otherwise).
A throttle is not a function error: Lambda's Invoke raises TooManyRequestsException (HTTP 429).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["ok", "error", "timeout", "throttled"]


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


class Runner:
    """Placeholder signature; the implementation lands in the next commit."""

    def invoke(
        self,
        function_name: str,
        qualifier: str | None,
        payload: Any,
        timeout_s: float | None = None,
    ) -> InvokeResult:
        """Invoke synchronously; never raises for function-side failures (see InvokeResult.status)."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop every worker process."""
        raise NotImplementedError
