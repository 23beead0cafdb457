"""PUT /webhook: register or replace the calling partner's endpoint; the answer holds a fresh secret.

The URL is checked here (https, public addresses after DNS resolution) and again before every
delivery. Every PUT rotates the signing secret: the old one stops signing at once.
"""

from __future__ import annotations

from typing import Any

from apikit import tracing, validation, webhook_urls, webhooks  # noqa: F401  (tracing: X-Ray)
from apikit.errors import BadRequest, field_error
from apikit.http import Request, endpoint, response


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """201 with the registration and its secret when new, 200 when it replaced one."""
    request.query_params(allowed=())
    body = validation.validate("webhook_put", request.json_body())
    try:
        webhook_urls.check(body["url"], allow_loopback_http=webhooks.allow_loopback_http())
    except webhook_urls.UnsafeUrl as exc:
        raise BadRequest("invalid webhook url", errors=[field_error("url", str(exc))]) from exc
    registration, replaced = webhooks.put(request.partner, body["url"])
    return response(200 if replaced else 201, registration, {"Cache-Control": "no-store"})
