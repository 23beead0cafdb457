"""HTTP responses: the function's proxy response mapped as API Gateway maps it, and gateway errors.

A gateway error (403, 429, 400, 413, 5xx) is rendered from the API's gateway responses when the
control plane defines one for its type (or DEFAULT_4XX / DEFAULT_5XX), otherwise from API
Gateway's built-in defaults: ``{"message": "..."}`` with ``x-amzn-ErrorType``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from embedded_stack.apigateway.controlplane import GatewayResponse

_PROXY_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


@dataclass
class HttpResponse:
    """Status, headers in order (repeats allowed) and body bytes."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class GatewayErrorType:
    """A gateway response type with its default status, message and error type header.

    ``message`` None renders as JSON null (``$context.error.messageString`` is ``null``), as
    API Gateway answers authorizer configuration errors; ``body_key`` is the key of the built-in
    body (API Gateway's authorizer denials say ``Message``).
    """

    name: str
    status: int
    message: str | None
    error_type: str
    body_key: str = "message"


MISSING_AUTHENTICATION_TOKEN = GatewayErrorType(
    "MISSING_AUTHENTICATION_TOKEN", 403, "Missing Authentication Token", "MissingAuthenticationTokenException"
)
INVALID_API_KEY = GatewayErrorType("INVALID_API_KEY", 403, "Forbidden", "ForbiddenException")
THROTTLED = GatewayErrorType("THROTTLED", 429, "Too Many Requests", "TooManyRequestsException")
QUOTA_EXCEEDED = GatewayErrorType("QUOTA_EXCEEDED", 429, "Limit Exceeded", "LimitExceededException")
BAD_REQUEST_BODY = GatewayErrorType("BAD_REQUEST_BODY", 400, "Invalid request body", "BadRequestException")
BAD_REQUEST_PARAMETERS = GatewayErrorType(
    "BAD_REQUEST_PARAMETERS", 400, "Missing required request parameters", "BadRequestException"
)
REQUEST_TOO_LARGE = GatewayErrorType("REQUEST_TOO_LARGE", 413, "Request Too Long", "RequestTooLargeException")
INTEGRATION_TIMEOUT = GatewayErrorType(
    "INTEGRATION_TIMEOUT", 504, "Endpoint request timed out", "InternalServerErrorException"
)
# A function error or a malformed proxy response: API Gateway answers 502 with this generic body.
BAD_GATEWAY = GatewayErrorType("DEFAULT_5XX", 502, "Internal server error", "InternalServerErrorException")
# The integration could not be invoked at all (e.g. Lambda throttled it): a 500.
INTEGRATION_ERROR = GatewayErrorType(
    "DEFAULT_5XX", 500, "Internal server error", "InternalServerErrorException"
)
# Lambda authorizers: an identity source missing or empty, or the function raised "Unauthorized".
UNAUTHORIZED = GatewayErrorType("UNAUTHORIZED", 401, "Unauthorized", "UnauthorizedException")
# The authorizer's policy does not allow the method ARN (implicit) or denies it (explicit).
ACCESS_DENIED = GatewayErrorType(
    "ACCESS_DENIED", 403, "User is not authorized to access this resource", "AccessDeniedException", "Message"
)
EXPLICIT_DENY_MESSAGE = "User is not authorized to access this resource with an explicit deny"
# The authorizer failed, timed out or answered something that is not a valid authorizer output.
AUTHORIZER_CONFIGURATION_ERROR = GatewayErrorType(
    "AUTHORIZER_CONFIGURATION_ERROR", 500, None, "AuthorizerConfigurationException"
)


class Rejected(Exception):
    """A gateway error: which gateway response type, and its message and validation details."""

    def __init__(self, kind: GatewayErrorType, message: str | None = None, details: str = "") -> None:
        super().__init__(kind.name)
        self.kind = kind
        self.message = message
        self.details = details


class MalformedResponse(ValueError):
    """The function returned something API Gateway would call a malformed Lambda proxy response."""


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedResponse(f"header value {value!r} is not a string")


def map_proxy_response(payload: Any) -> HttpResponse:
    """The HTTP response a proxy result describes; raises MalformedResponse as API Gateway would 502."""
    if not isinstance(payload, dict):
        raise MalformedResponse("the function result is not a JSON object")
    unknown = set(payload) - _PROXY_KEYS
    if unknown:
        raise MalformedResponse(f"unexpected keys {sorted(unknown)}")
    status = payload.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status!r} is not an HTTP status code")
    return HttpResponse(status=status, headers=_proxy_headers(payload), body=_proxy_body(payload))


def _proxy_headers(payload: dict[str, Any]) -> list[tuple[str, str]]:
    headers_raw = payload.get("headers")
    multi_raw = payload.get("multiValueHeaders")
    headers_raw = {} if headers_raw is None else headers_raw
    multi_raw = {} if multi_raw is None else multi_raw
    if not isinstance(headers_raw, dict) or not isinstance(multi_raw, dict):
        raise MalformedResponse("headers and multiValueHeaders must be objects")
    headers: list[tuple[str, str]] = []
    for name, values in multi_raw.items():
        if not isinstance(values, list):
            raise MalformedResponse(f"multiValueHeaders[{name!r}] is not a list")
        headers.extend((str(name), _header_value(v)) for v in values)
    multi_names = {str(n).lower() for n in multi_raw}
    for name, value in headers_raw.items():
        # Documented merge: a header given in both maps keeps the multi-value entries only.
        if str(name).lower() not in multi_names:
            headers.append((str(name), _header_value(value)))
    return headers


def _proxy_body(payload: dict[str, Any]) -> bytes:
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResponse("body must be a string or null")
    encoded = payload.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        raise MalformedResponse("isBase64Encoded must be a boolean")
    if body is None:
        return b""
    if not encoded:
        return body.encode("utf-8")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedResponse(f"body is not valid base64: {exc}") from exc


# $context.x / $stageVariables.x, or ${...}; a brace is only consumed when it opens the variable.
_NAME = r"(?:context|stageVariables)(?:\.[A-Za-z0-9_]+)+"
_VARIABLE = re.compile(rf"\$\{{({_NAME})\}}|\$({_NAME})")
_HEADER_PARAM = "gatewayresponse.header."


def render_gateway_error(
    kind: GatewayErrorType,
    customised: Mapping[str, GatewayResponse],
    *,
    context: Mapping[str, str],
    request_headers: Mapping[str, str],
    request_query: Mapping[str, str],
    message: str | None = None,
    validation_errors: str = "",
    stage_variables: Mapping[str, str] | None = None,
) -> HttpResponse:
    """The response for a gateway error, customised by the API's gateway responses if it has any.

    A gateway response template is not Velocity: API Gateway substitutes ``$context.*`` and
    ``$stageVariables.*`` as plain text and escapes nothing. ``$context.error.messageString`` is the
    message between double quotes, unescaped ("the quoted value of $context.error.message"; ``null``
    when there is none, as for authorizer configuration errors), and
    ``$context.error.validationErrorString`` the validator's messages as they are, quotes included, so
    a template that puts it between quotes is invalid JSON on AWS and here alike. Unknown variables
    render empty.
    """
    text = message or kind.message
    fallback = "DEFAULT_4XX" if kind.status < 500 else "DEFAULT_5XX"
    custom = customised.get(kind.name) or customised.get(fallback)
    status = kind.status
    if custom is not None and custom.status_code:
        status = int(custom.status_code)
    values = {
        **{f"context.{k}": v for k, v in context.items()},
        **{f"stageVariables.{k}": v for k, v in (stage_variables or {}).items()},
        "context.error.message": text or "",
        # A null message (authorizer configuration errors) is a bare null, as AWS's default
        # template {"message":$context.error.messageString} answers them: {"message":null}.
        "context.error.messageString": "null" if text is None else f'"{text}"',
        "context.error.responseType": kind.name,
        "context.error.validationErrorString": validation_errors,
    }
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", kind.error_type)]
    if custom is not None and custom.templates:
        template = custom.templates.get("application/json") or next(iter(custom.templates.values()))
        body = _VARIABLE.sub(lambda m: values.get(m.group(1) or m.group(2), ""), template)
    else:
        body = json.dumps({kind.body_key: text})
    if custom is not None:
        headers.extend(_response_parameters(custom.parameters, request_headers, request_query))
    return HttpResponse(status=status, headers=headers, body=body.encode("utf-8"))


def _response_parameters(
    parameters: Mapping[str, str], request_headers: Mapping[str, str], request_query: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Headers from ``gatewayresponse.header.X`` mappings: 'static' values or method.request refs."""
    lowered = {k.lower(): v for k, v in request_headers.items()}
    out = []
    for target, source in parameters.items():
        if not target.startswith(_HEADER_PARAM):
            continue
        name = target[len(_HEADER_PARAM) :]
        if len(source) >= 2 and source.startswith("'") and source.endswith("'"):
            out.append((name, source[1:-1]))
        elif source.startswith("method.request.header."):
            value = lowered.get(source.removeprefix("method.request.header.").lower())
            if value is not None:
                out.append((name, value))
        elif source.startswith("method.request.querystring."):
            value = request_query.get(source.removeprefix("method.request.querystring."))
            if value is not None:
                out.append((name, value))
    return out
