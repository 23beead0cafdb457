"""PATCH /items/{id}: update name/info with optimistic locking (If-Match: <version>)."""

from __future__ import annotations

from typing import Any

from apikit import items, tracing  # noqa: F401  (tracing: X-Ray for every AWS call)
from apikit.http import Request, endpoint, etag, response
from apikit.validation import validate


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """One conditional UpdateItem; 404 absent, 412 version mismatch, 200 with version + 1."""
    item_id = request.item_id()
    version = request.if_match()
    changes = validate("item_patch", request.json_body())
    item = items.update(request.partner, item_id, changes, version)
    return response(200, item, etag(item["version"]))
