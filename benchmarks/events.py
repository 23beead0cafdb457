"""API Gateway REST proxy events (format 1.0) for the benchmarks, from the gateway's own builder."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from embedded_stack.apigateway import rest_proxy_event

PARTNER = "bench-partner"
DOMAIN = "bench.execute-api.us-east-1.amazonaws.com"


def rest_event(
    method: str,
    resource: str,
    path: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    partner: str = PARTNER,
) -> dict[str, Any]:
    """A proxy event as API Gateway sends it behind the API key authorizer: the partner in
    requestContext.authorizer (the authorizer's context), the key in requestContext.identity."""
    all_headers = {"Host": DOMAIN, **(headers or {})}
    if body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    request_id = str(uuid.uuid4())
    event = rest_proxy_event(
        http_method=method,
        resource_path=resource,
        resource_id="bench",
        path=path,
        path_parameters=path_parameters,
        headers=all_headers.items(),
        query=(query or {}).items(),
        body=b"" if body is None else json.dumps(body).encode(),
        base64_encoded=False,
        stage="bench",
        stage_variables=None,
        api_id="bench",
        account_id="123456789012",
        deployment_id="bench",
        domain_name=DOMAIN,
        protocol="HTTP/1.1",
        request_id=request_id,
        extended_request_id=request_id,
        received_at=datetime.now(UTC),  # the worker restamps requestTimeEpoch per invocation
        source_ip="127.0.0.1",
        user_agent="benchmarks",
        api_key="bench-key-value",
        api_key_id="benchkeyid",
    )
    event["requestContext"]["authorizer"] = {
        "partner": partner,
        "scope": "read-write",
        "keyName": "primary",
        "apiKeyId": "benchkeyid",
        "usagePlanId": "benchplan",
        "principalId": partner,
        "integrationLatency": 0,
    }
    return event


def new_item(user_id: str = "bench-user", index: int = 0) -> dict[str, Any]:
    """A valid item_create body (no id: the server generates it)."""
    return {
        "userId": user_id,
        "name": f"benchmark item {index}",
        "info": {"index": index, "tags": ["a", "b"]},
    }


def item_path(item_id: str) -> tuple[str, str, dict[str, str]]:
    """(resource, path, pathParameters) of /items/{id}."""
    return "/items/{id}", f"/items/{item_id}", {"id": item_id}
