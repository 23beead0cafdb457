"""Errors that map to HTTP responses; raised anywhere in the layer, rendered once by ``http``."""

from __future__ import annotations

from typing import Any


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


class ServiceUnavailable(ApiError):
    """DynamoDB refused work after our retries; the client should retry after ``Retry-After`` seconds."""

    status = 503

    def __init__(self, message: str = "service busy, retry later", retry_after: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


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


def from_client_error(exc: Exception) -> ApiError | None:
    """Map a botocore ClientError that survived the retry policy to a 503, or None if it is ours to fix."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = response.get("Error", {}).get("Code", "")
    if code in TRANSIENT_CODES:
        return ServiceUnavailable()
    return None
