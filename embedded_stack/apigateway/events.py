"""API Gateway REST proxy events (payload format 1.0): the one builder of them in the project.

The gateway calls ``rest_proxy_event`` with what it read from the control plane and the request;
the unit tests (tests/support/events.py) and the benchmarks (benchmarks/events.py) call it with
fixed values. Plain values in, the event out: keys, their order and nulls as in the example event
AWS documents for the Lambda proxy integration, plus what API Gateway adds for API keys
(``identity.apiKey``, ``identity.apiKeyId``), ``identity.clientCert``, ``deploymentId`` and, behind
a Lambda authorizer, ``requestContext.authorizer`` (its context, ``principalId``,
``integrationLatency``). ``rest_authorizer_event`` derives a REQUEST authorizer's input from it.
"""

from __future__ import annotations

import base64
import fnmatch
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any


def _multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway's single-value map keeps the last value; the multi-value map keeps all."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    if not single:
        return None, None
    return single, multi


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


def rest_proxy_event(
    *,
    http_method: str,
    resource_path: str,
    resource_id: str,
    path: str,
    path_parameters: Mapping[str, str] | None,
    headers: Iterable[tuple[str, str]],
    query: Iterable[tuple[str, str]],
    body: bytes,
    base64_encoded: bool,
    stage: str,
    stage_variables: Mapping[str, str] | None,
    api_id: str,
    account_id: str,
    deployment_id: str,
    domain_name: str,
    protocol: str,
    request_id: str,
    extended_request_id: str,
    received_at: datetime,
    source_ip: str,
    user_agent: str | None,
    api_key: str | None,
    api_key_id: str | None,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The proxy event API Gateway sends for one request.

    ``path`` is stage-relative and decoded; ``headers`` and ``query`` are (name, value) pairs in
    arrival order (repeats kept); ``body`` is the payload as received (empty: none, sent as null),
    passed base64-encoded when ``base64_encoded`` (see ``is_binary``). ``authorizer`` is what a
    Lambda authorizer gave (``authorizer_context``); without one the key is absent, as in AWS.
    """
    single_headers, multi_headers = _multi(headers)
    single_query, multi_query = _multi(query)
    encoded = bool(body) and base64_encoded
    text: str | None = None
    if body:
        text = base64.b64encode(body).decode("ascii") if encoded else body.decode("utf-8")
    event: dict[str, Any] = {
        "resource": resource_path,
        "path": path,
        "httpMethod": http_method,
        "headers": single_headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": single_query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": dict(stage_variables) if stage_variables else None,
        "requestContext": {
            "resourceId": resource_id,
            "resourcePath": resource_path,
            "httpMethod": http_method,
            "extendedRequestId": extended_request_id,
            "requestTime": received_at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{path}",
            "accountId": account_id,
            "protocol": protocol,
            "stage": stage,
            "domainPrefix": domain_name.split(".", 1)[0],
            "requestTimeEpoch": int(received_at.timestamp() * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": user_agent,
                "user": None,
                "apiKey": api_key,
                "apiKeyId": api_key_id,
                "clientCert": None,
            },
            "domainName": domain_name,
            "deploymentId": deployment_id,
            "apiId": api_id,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }
    if authorizer is not None:
        event["requestContext"]["authorizer"] = dict(authorizer)
    return event


def authorizer_context(
    principal_id: str, context: Mapping[str, str | None], integration_latency_ms: int
) -> dict[str, Any]:
    """``requestContext.authorizer`` behind a Lambda authorizer: its context values (already
    stringified, as API Gateway passes them), ``principalId`` and ``integrationLatency`` (ms)."""
    return {**context, "principalId": principal_id, "integrationLatency": integration_latency_ms}


def rest_authorizer_event(method_arn: str, proxy_event: Mapping[str, Any]) -> dict[str, Any]:
    """A REQUEST authorizer's input for the request ``proxy_event`` describes (built before
    authorization): ``type`` and ``methodArn``, then the request's parameters and context, no body."""
    event: dict[str, Any] = {"type": "REQUEST", "methodArn": method_arn}
    event.update((k, v) for k, v in proxy_event.items() if k not in ("body", "isBase64Encoded"))
    context = dict(event["requestContext"])
    context.pop("authorizer", None)
    context["identity"] = dict(context["identity"])
    event["requestContext"] = context
    return event
