"""POST /items: create an item (201), idempotent with an Idempotency-Key header."""

from __future__ import annotations

from typing import Any

from apikit import idempotency, items, tracing  # noqa: F401  (tracing: X-Ray for every AWS call)
from apikit.http import Request, endpoint, etag, response
from apikit.validation import validate


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """Validate, then a conditional put (or one transaction with the idempotency record)."""
    body = validate("item_create", request.json_body())
    key = request.header("idempotency-key")
    if key is None:
        item = items.create(request.partner, body)
        return response(201, item, etag(item["version"]))
    deadline = request.deadline()
    status, item, replayed = idempotency.create(request.partner, idempotency.check_key(key), body, deadline)
    headers = etag(item["version"])
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return response(status, item, headers)
