"""Build the REST API Lambda-proxy event (payload format 1.0) exactly as API Gateway sends it."""

from __future__ import annotations

import base64
import fnmatch
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from embedded_stack.apigateway.controlplane import ApiKey, Method, Snapshot


@dataclass(frozen=True)
class IncomingRequest:
    """What the HTTP server received, before any API Gateway processing."""

    http_method: str
    path: str  # as received (percent-encoded); stage-relative once dispatched, e.g. /items/abc
    query_string: str
    headers: list[tuple[str, str]]  # in arrival order, original case
    body: bytes
    source_ip: str
    protocol: str
    host: str
    oversized: bool = False  # the body passed the payload limit and was not read


@dataclass(frozen=True)
class RequestIds:
    """Identifiers API Gateway assigns to each request."""

    request_id: str
    extended_request_id: str
    trace_id: str
    received_at: datetime


def _multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway's single-value map keeps the last value; the multi-value map keeps all."""
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def query_pairs(query_string: str) -> list[tuple[str, str]]:
    """Decoded query parameters in order; ``?a`` gives ``a=""`` as API Gateway does."""
    return parse_qsl(query_string, keep_blank_values=True)


def is_binary(content_type: str | None, body: bytes, binary_media_types: tuple[str, ...]) -> bool:
    """Whether the body goes to Lambda base64-encoded: a binary media type, or bytes that are not text."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type and any(fnmatch.fnmatch(media_type, t.lower()) for t in binary_media_types):
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def build_event(
    snapshot: Snapshot,
    method: Method,
    *,
    path_params: dict[str, str],
    request: IncomingRequest,
    ids: RequestIds,
    api_key: ApiKey | None,
) -> dict[str, Any]:
    """The proxy event for one request; keys and nulls as in API Gateway's documented example."""
    headers, multi_headers = _multi(request.headers)
    query, multi_query = _multi(query_pairs(request.query_string))
    content_type = next((v for k, v in request.headers if k.lower() == "content-type"), None)
    body: str | None = None
    encoded = False
    if request.body:
        encoded = is_binary(content_type, request.body, snapshot.binary_media_types)
        body = base64.b64encode(request.body).decode("ascii") if encoded else request.body.decode("utf-8")
    epoch_ms = int(ids.received_at.timestamp() * 1000)
    user_agent = next((v for k, v in request.headers if k.lower() == "user-agent"), None)
    domain = request.host.split(":", 1)[0] if request.host else "127.0.0.1"
    return {
        "resource": method.resource_path,
        "path": unquote(request.path),
        "httpMethod": request.http_method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_params or None,
        "stageVariables": snapshot.stage_variables or None,
        "requestContext": {
            "resourceId": method.resource_id,
            "resourcePath": method.resource_path,
            "httpMethod": request.http_method,
            "extendedRequestId": ids.extended_request_id,
            "requestTime": ids.received_at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{snapshot.stage}{unquote(request.path)}",
            "accountId": snapshot.account_id,
            "protocol": request.protocol,
            "stage": snapshot.stage,
            "domainPrefix": domain.split(".", 1)[0],
            "requestTimeEpoch": epoch_ms,
            "requestId": ids.request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": user_agent,
                "user": None,
                "apiKey": api_key.value if api_key else None,
                "apiKeyId": api_key.id if api_key else None,
                "clientCert": None,
            },
            "domainName": domain,
            "deploymentId": snapshot.deployment_id,
            "apiId": snapshot.api_id,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }
