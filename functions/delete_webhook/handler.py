"""DELETE /webhook: stop deliveries to the calling partner (events still queued are dropped)."""

from __future__ import annotations

from typing import Any

from apikit import tracing, webhooks  # noqa: F401  (tracing: X-Ray for every AWS call)
from apikit.http import Request, endpoint, response


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """204, or 404 when none is registered."""
    request.query_params(allowed=())
    webhooks.delete(request.partner)
    return response(204)
