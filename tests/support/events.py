"""API Gateway REST proxy events (payload format 1.0), shaped like the real ones, for unit tests."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

PARTNER_A = "a1b2c3d4e5"
PARTNER_B = "z9y8x7w6v5"


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
    base64_body: bool = False,
    content_type: str | None = "application/json",
) -> dict[str, Any]:
    """A REST proxy event as API Gateway sends it after API key authentication."""
    path = resource
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    hdrs = {
        "Accept": "application/json",
        "Host": "abc123.execute-api.eu-west-1.amazonaws.com",
        "User-Agent": "pytest",
        "X-Amzn-Trace-Id": "Root=1-5f84c7a9-0e5b1e2c3d4e5f6a7b8c9d0e",
        "x-api-key": "secret-api-key-value-never-logged",
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if content_type is not None and (body is not None or raw_body is not None):
        hdrs["Content-Type"] = content_type
    hdrs.update(headers or {})
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    if base64_body and text is not None:
        text = base64.b64encode(text.encode("utf-8")).decode("ascii")
    identity: dict[str, Any] = {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": "203.0.113.7",
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": "pytest",
        "user": None,
        "apiKey": "secret-api-key-value-never-logged",
        "apiKeyId": partner,
    }
    if partner is None:
        del identity["apiKeyId"]
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": hdrs,
        "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": path_params or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "abc123",
            "resourcePath": resource,
            "httpMethod": method,
            "extendedRequestId": "Ab1CdEfGhIjKlM=",
            "requestTime": "25/Nov/2026:12:00:00 +0000",
            "path": f"/test{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "test",
            "domainPrefix": "abc123",
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": identity,
            "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "apiId": "abc123",
        },
        "body": text,
        "isBase64Encoded": base64_body,
    }


def body_of(response: dict[str, Any]) -> Any:
    """The decoded JSON body of a proxy response (None when empty)."""
    return json.loads(response["body"]) if response["body"] else None
