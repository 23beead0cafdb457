"""DELETE /items/{id}: 204, or 404 if absent or another partner's."""

from __future__ import annotations

from typing import Any

from apikit import items, tracing  # noqa: F401  (tracing: X-Ray for every AWS call)
from apikit.http import Request, endpoint, response


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """Conditional delete: a missing item is reported, not silently accepted."""
    items.delete(request.partner, request.item_id())
    return response(204)
