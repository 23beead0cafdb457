"""GetUsage on the moto control plane, answered from the embedded API Gateway's own counters.

moto stores usage plans but has no data plane, so it cannot know usage (GetUsage answers "Not yet
implemented"). This module adds the operation, ``GET /usageplans/{id}/usage``, to moto's API
Gateway as AWS defines it: ``startDate`` and ``endDate`` (yyyy-MM-dd, required, UTC days),
optional ``keyId``, and position paging over keys (``limit`` 1-500, default 25). The plan and its
keys come from moto; the daily ``[used, remaining]`` figures come from the provider the stack
registers with ``set_provider``: the gateway serving the stage (same process). Keys with no request
counted in the range are left out, and with no provider (no gateway running) nothing was used.

Like every patch here it checks the moto internals it relies on and fails loudly when an upgrade
changed them (or when moto starts implementing GetUsage itself).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from datetime import date
from typing import Any, Protocol

from embedded_stack.moto_server.internals import require, source_has

USAGE_PATH = "{0}/usageplans/(?P<usage_plan_id>[^/]+)/usage$"
DEFAULT_LIMIT = 25
MAX_LIMIT = 500
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class UsageProvider(Protocol):
    """What answers for usage: ``embedded_stack.apigateway.Gateway.usage``."""

    def __call__(
        self,
        usage_plan_id: str,
        *,
        api_stages: list[tuple[str, str]],
        quota: dict[str, Any] | None,
        key_ids: list[str],
        start: date,
        end: date,
    ) -> dict[str, list[list[int]]]:
        """``{keyId: [[used, remaining], ...one per day...]}`` for keys used in the range."""
        ...


_lock = threading.Lock()
_provider: UsageProvider | None = None
_installed = False


def set_provider(provider: UsageProvider | None) -> None:
    """Answer GetUsage from ``provider`` (None: no data plane, nothing used)."""
    global _provider  # noqa: PLW0603 - one control plane per process
    with _lock:
        _provider = provider


def _one(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name) or []
    return values[0] if values else None


def _date(query: dict[str, list[str]], name: str) -> date:
    from moto.apigateway.exceptions import BadRequestException

    raw = _one(query, name)
    if raw is None:
        raise BadRequestException(f"{name} is required")
    try:
        if not _DATE.match(raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequestException(f"Invalid {name} {raw!r}: expected a date yyyy-MM-dd") from None


def _int_param(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    from moto.apigateway.exceptions import BadRequestException

    raw = _one(query, name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadRequestException(f"Invalid {name} {raw!r}: expected an integer from {low} to {high}")
    return int(raw)


def _get_usage(self: Any) -> str:
    """``APIGatewayResponse.get_usage``: GetUsage's response, ``values`` being the daily logs by key."""
    from moto.apigateway.exceptions import BadRequestException

    plan_id = self.path.split("/")[2]
    plan = self.backend.get_usage_plan(plan_id)  # NotFoundException for an unknown plan
    query = self.querystring
    start, end = _date(query, "startDate"), _date(query, "endDate")
    if end < start:
        raise BadRequestException("The endDate must not be before the startDate")
    limit = _int_param(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    key_filter = _one(query, "keyId")
    key_ids = sorted(k.id for k in self.backend.get_usage_plan_keys(plan_id))
    if key_filter is not None:
        key_ids = [k for k in key_ids if k == key_filter]
    with _lock:
        provider = _provider
    values: dict[str, list[list[int]]] = {}
    if provider is not None:
        values = provider(
            plan_id,
            api_stages=[(s.get("apiId"), s.get("stage")) for s in plan.api_stages],
            quota=dict(plan.quota) if plan.quota else None,
            key_ids=key_ids,
            start=start,
            end=end,
        )
    used = sorted(values)
    offset = _int_param(query, "position", 0, 0, len(used))
    page = used[offset : offset + limit]
    body: dict[str, Any] = {
        "usagePlanId": plan_id,
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
        "values": {key: values[key] for key in page},
    }
    if offset + limit < len(used):
        body["position"] = str(offset + limit)
    return json.dumps(body)


def install() -> None:
    """Add GetUsage to moto's API Gateway once per process, before the server's first request."""
    global _installed  # noqa: PLW0603 - patches are process-wide by nature
    from moto.apigateway import urls as apigw_urls
    from moto.apigateway.models import APIGatewayBackend, UsagePlan
    from moto.apigateway.responses import APIGatewayResponse

    with _lock:
        if _installed:
            return
        url_paths = getattr(apigw_urls, "url_paths", None)
        require(isinstance(url_paths, dict), "moto.apigateway.urls.url_paths is not a dict any more")
        assert isinstance(url_paths, dict)
        require(
            not hasattr(APIGatewayResponse, "get_usage") and USAGE_PATH not in url_paths,
            "moto now implements GetUsage itself; drop embedded_stack/moto_server/usage.py or adapt it",
        )
        require(
            all(
                callable(getattr(APIGatewayBackend, m, None))
                for m in ("get_usage_plan", "get_usage_plan_keys")
            ),
            "APIGatewayBackend lost get_usage_plan / get_usage_plan_keys",
        )
        require(
            source_has(UsagePlan.__init__, "self.api_stages", "self.quota"),
            "UsagePlan no longer keeps api_stages and quota",
        )
        dispatch: Callable[..., Any] = APIGatewayResponse.dispatch
        url_paths[USAGE_PATH] = dispatch
        APIGatewayResponse.get_usage = _get_usage  # type: ignore[attr-defined]
        _installed = True
