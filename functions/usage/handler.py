"""GET /usage: the calling key's plan, throttle and quota (limit, period, used, remaining, resets at).

Any scope may call it. The key and its plan come from the authorizer's context; the figures from
API Gateway (apikit.usage, cached per container and read at a bounded rate).
"""

from __future__ import annotations

from typing import Any

from apikit import tracing, usage  # noqa: F401  (tracing: X-Ray for every AWS call)
from apikit.errors import Forbidden
from apikit.http import Request, endpoint, response


@endpoint
def handler(request: Request) -> dict[str, Any]:
    """Take no parameters; answer for the key that called."""
    request.query_params(allowed=())
    caller = request.caller
    if caller is None or caller.api_key_id is None or caller.usage_plan_id is None:
        raise Forbidden("Forbidden")
    report = usage.report(caller.usage_plan_id, caller.api_key_id)
    return response(
        200, {"partner": caller.partner, "key": {"name": caller.key_name, "scope": caller.scope}, **report}
    )
