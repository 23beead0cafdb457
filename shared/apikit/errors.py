"""Errors that map to HTTP responses; raised anywhere in the layer, rendered once by ``http``."""

from __future__ import annotations

import random
from typing import Any

from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import HTTPClientError


class ApiError(Exception):
    """A client-facing error: an HTTP status, a message, optional per-field errors and headers."""

    status = 400

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.errors = errors or []
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body: ``{"message": ..., "errors": [...]}`` (errors only when there are some)."""
        out: dict[str, Any] = {"message": self.message}
        if self.errors:
            out["errors"] = self.errors
        return out


def field_error(field: str, reason: str) -> dict[str, str]:
    """One entry of an error body's ``errors`` list."""
    return {"field": field, "reason": reason}


class BadRequest(ApiError):
    status = 400


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    status = 409


class PreconditionFailed(ApiError):
    status = 412


class PayloadTooLarge(ApiError):
    status = 413


class UnsupportedMediaType(ApiError):
    status = 415


class Unprocessable(ApiError):
    status = 422


def retry_after() -> str:
    """``Retry-After`` seconds with jitter (1-3), so that clients told to wait do not return in step."""
    return str(random.randint(1, 3))


class ServiceUnavailable(ApiError):
    """DynamoDB refused work after our retries; the client should retry after ``Retry-After`` seconds."""

    status = 503

    def __init__(
        self, message: str = "service busy, retry later", body: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, headers={"Retry-After": retry_after()})
        self.extra = body or {}

    def body(self) -> dict[str, Any]:
        return {**super().body(), **self.extra}


class DeadlineExceeded(ServiceUnavailable):
    """The request's deadline leaves no time for another AWS call (see ``apikit.retry``)."""

    def __init__(self) -> None:
        super().__init__("the request ran out of time, retry later")


THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "Throttling",
        "TooManyRequestsException",  # API Gateway's control plane
    }
)
TRANSIENT_CODES = THROTTLING_CODES | {"InternalServerError", "ServiceUnavailable"}


# DynamoDB's answer to a value it cannot store (number range or precision, nesting, item size...).
# Our validation keeps AWS's documented limits, so reaching this is a gap in it: a 400, never a 500.
VALIDATION_CODES = frozenset({"ValidationException"})


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("" for anything else)."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def from_client_error(exc: BaseException) -> ApiError | None:
    """Map an AWS error that survived the retry policy to what the client should see, or None (a bug).

    Throttling and server errors, timeouts and connection failures -> 503 with ``Retry-After``;
    DynamoDB rejecting a value of the request -> 400 (without its message, which may echo data).
    """
    if isinstance(exc, HTTPClientError | BotocoreConnectionError):
        return ServiceUnavailable()
    code = error_code(exc)
    if code in TRANSIENT_CODES:
        return ServiceUnavailable()
    if code in VALIDATION_CODES:
        return BadRequest("the request holds a value the database cannot store")
    return None
