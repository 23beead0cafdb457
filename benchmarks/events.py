"""API Gateway REST proxy events (format 1.0), as the gateway hands them to a Lambda function."""

import json
import uuid
from typing import Any

PARTNER = "bench-partner"


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
    """A proxy event with the partner's API key id in requestContext.identity, where the gateway puts it."""
    all_headers = {"Host": "bench.execute-api.us-east-1.amazonaws.com", **(headers or {})}
    if body is not None:
        all_headers.setdefault("Content-Type", "application/json")
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {k: [v] for k, v in all_headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "body": None if body is None else json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "resourceId": "bench",
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/bench{path}",
            "stage": "bench",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": "25/Nov/2026:12:00:00 +0000",
            "requestTimeEpoch": 1795608000000,
            "identity": {
                "sourceIp": "127.0.0.1",
                "userAgent": "benchmarks",
                "apiKey": "bench-key-value",
                "apiKeyId": partner,
            },
        },
    }


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
