"""GET /webhook: the calling partner's registration, without its secret (any key scope)."""

from __future__ import annotations

from typing import Any

from apikit import tracing, webhooks  # noqa: F401  (tracing: X-Ray for every AWS call)
from apikit.http import Request, endpoint, response


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """200 with url and times, 404 when none is registered."""
    request.query_params(allowed=())
    return response(200, webhooks.get(request.partner))
