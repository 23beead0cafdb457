"""API Gateway REST proxy events for the layer and function unit tests, from the gateway's own builder.

``api_event`` fixes what a test does not care about (stage ``test``, one domain) and puts the
partner where API Gateway puts what functions/authorizer returned: its context becomes
``requestContext.authorizer`` (with the ``principalId``), and the key it named as the usage
identifier fills ``identity.apiKey`` / ``identity.apiKeyId``. The request is received now
(``requestTimeEpoch``), as API Gateway stamps it: the layer's deadline counts API Gateway's 29 s
from there.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from embedded_stack.apigateway import rest_proxy_event

PARTNER_A = "a1b2c3d4e5"
PARTNER_B = "z9y8x7w6v5"
API_KEY = "secret-api-key-value-never-logged"
API_KEY_ID = "k1y2i3d4x5"
DOMAIN = "abc123.execute-api.eu-west-1.amazonaws.com"
SOURCE_IP = "203.0.113.7"


class FakeContext:
    """The Lambda context attributes our handlers use."""

    def __init__(self, remaining_ms: int = 10_000, name: str = "test-fn") -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = name
        self.invoked_function_arn = f"arn:aws:lambda:eu-west-1:123456789012:function:{name}:live"
        self.memory_limit_in_mb = 256
        self._end = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


def api_event(
    method: str,
    resource: str,
    *,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
    partner: str | None = PARTNER_A,
    scope: str = "read-write",
    key_name: str = "primary",
    base64_body: bool = False,
    content_type: str | None = "application/json",
    received_at: datetime | None = None,
) -> dict[str, Any]:
    """A REST proxy event as API Gateway sends it after the authorizer allowed the request.

    ``partner=None`` leaves the authorizer's context out (what a misconfigured method would send).
    """
    path = resource
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    hdrs = {
        "Accept": "application/json",
        "Host": DOMAIN,
        "User-Agent": "pytest",
        "X-Amzn-Trace-Id": "Root=1-5f84c7a9-0e5b1e2c3d4e5f6a7b8c9d0e",
        "x-api-key": API_KEY,
        "X-Forwarded-For": SOURCE_IP,
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if content_type is not None and (body is not None or raw_body is not None):
        hdrs["Content-Type"] = content_type
    hdrs.update(headers or {})
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    event = rest_proxy_event(
        http_method=method,
        resource_path=resource,
        resource_id="abc123",
        path=path,
        path_parameters=path_params,
        headers=hdrs.items(),
        query=(query or {}).items(),
        body=b"" if text is None else text.encode("utf-8"),
        base64_encoded=base64_body,
        stage="test",
        stage_variables=None,
        api_id="abc123",
        account_id="123456789012",
        deployment_id="dep123",
        domain_name=DOMAIN,
        protocol="HTTP/1.1",
        request_id=str(uuid.uuid4()),
        extended_request_id="Ab1CdEfGhIjKlM=",
        received_at=received_at or datetime.now(UTC),
        source_ip=SOURCE_IP,
        user_agent="pytest",
        api_key=API_KEY,
        api_key_id=API_KEY_ID,
    )
    if partner is not None:
        event["requestContext"]["authorizer"] = authorizer_context(partner, scope, key_name)
    return event


def authorizer_context(partner: str, scope: str = "read-write", key_name: str = "primary") -> dict[str, Any]:
    """``requestContext.authorizer`` as API Gateway builds it from functions/authorizer's answer:
    its ``context`` (string values), the ``principalId`` and the authorizer's latency."""
    return {
        "partner": partner,
        "scope": scope,
        "keyName": key_name,
        "apiKeyId": API_KEY_ID,
        "usagePlanId": "plan123",
        "principalId": partner,
        "integrationLatency": 12,
    }


def body_of(response: dict[str, Any]) -> Any:
    """The decoded JSON body of a proxy response (None when empty)."""
    return json.loads(response["body"]) if response["body"] else None
