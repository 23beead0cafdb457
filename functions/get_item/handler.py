"""GET /items/{id}: one item of the calling partner (404 if absent or another partner's)."""

from __future__ import annotations

from typing import Any

from apikit import items, tracing  # noqa: F401  (tracing: X-Ray for every AWS call)
from apikit.http import Request, endpoint, etag, response


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """Read the item; its version is also the ETag for a later If-Match."""
    item = items.get(request.partner, request.item_id())
    return response(200, item, etag(item["version"]))
