"""A key's usage plan and its use in the current quota period, from API Gateway's own records.

GetUsagePlan gives the throttle and the quota; GetUsage gives, per day of the period, ``[used,
remaining]`` for the key. API Gateway's control plane allows about 10 requests per second per account
for all operations together (deployments included, and it cannot be raised), so answers are cached
per container (plans 300 s, usage 10 s) and each container makes at most ``CALLS_PER_SECOND`` calls
(a token bucket); past that, and with nothing cached, the caller gets 503 with Retry-After. The
function's reserved concurrency (stage files) bounds the number of containers, so the whole route
stays within a known share of the account's budget however often partners poll.

Quotas are per key in API Gateway: ``used`` and ``remaining`` are the calling key's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from apikit import clients, snapstart
from apikit.errors import ServiceUnavailable

clients.preload("apigateway")  # SnapStart: the client is in the snapshot

PLAN_SECONDS = 300.0
USAGE_SECONDS = 10.0
CALLS_PER_SECOND = 2.0
CALLS_BURST = 4.0


@dataclass(frozen=True)
class Period:
    """The quota period that contains a moment: its first day and when the next one starts (UTC)."""

    start: date
    resets_at: datetime


def period_of(period: str, now: datetime) -> Period:
    """DAY from 00:00 UTC, WEEK from Sunday 00:00 UTC, MONTH from the 1st (as API Gateway counts).

    API Gateway's reference once documented a WEEK as starting on Sunday (QuotaSettings.offset 0);
    today it documents no start day, and our stages use DAY.
    """
    today = now.astimezone(UTC).date()
    if period == "DAY":
        start, end = today, today + timedelta(days=1)
    elif period == "WEEK":
        start = today - timedelta(days=(today.weekday() + 1) % 7)
        end = start + timedelta(days=7)
    elif period == "MONTH":
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    else:
        raise ValueError(f"unknown quota period {period!r}")
    return Period(start, datetime(end.year, end.month, end.day, tzinfo=UTC))


class _Budget:
    """A token bucket over control-plane calls: CALLS_PER_SECOND, up to CALLS_BURST at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.refill()

    def refill(self) -> None:
        self._tokens = CALLS_BURST
        self._at = time.monotonic()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(CALLS_BURST, self._tokens + (now - self._at) * CALLS_PER_SECOND)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


_budget = _Budget()
_cache: dict[tuple[str, ...], tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def reset_cache() -> None:
    """Forget cached answers and refill the call budget (tests; a new container starts this way)."""
    with _cache_lock:
        _cache.clear()
    _budget.refill()


# Under SnapStart each restored copy starts with an empty cache and a full call budget timed from its
# own clock, as a new container does (the budget's clock reading taken at init is the snapshot's).
snapstart.after_restore(reset_cache)


def _cached(key: tuple[str, ...], ttl: float, load: Callable[[], Any]) -> Any:
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < ttl:
        return hit[1]
    if not _budget.take():
        raise ServiceUnavailable("usage is read from API Gateway at a bounded rate, retry later")
    value = load()
    with _cache_lock:
        _cache[key] = (now, value)
    return value


def _plan(plan_id: str) -> dict[str, Any]:
    out = clients.client("apigateway").get_usage_plan(usagePlanId=plan_id)
    return {k: out.get(k) for k in ("id", "name", "throttle", "quota")}


def _days(plan_id: str, key_id: str, start: date, today: date) -> tuple[list[list[int]], str]:
    """``[used, remaining]`` per day from ``start`` to ``today`` for the key (all pages), and when
    they were read."""
    read_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    api = clients.client("apigateway")
    kwargs: dict[str, Any] = {
        "usagePlanId": plan_id,
        "keyId": key_id,
        "startDate": start.isoformat(),
        "endDate": today.isoformat(),
        "limit": 500,
    }
    days: list[list[int]] = []
    while True:
        page = api.get_usage(**kwargs)
        items = page.get("items") or {}
        # Indexed by key id; with keyId given the page holds only this key, whatever it is indexed by.
        series = items.get(key_id) or (next(iter(items.values())) if len(items) == 1 else [])
        days += [list(day) for day in series]
        if not page.get("position"):
            return days, read_at
        kwargs["position"] = page["position"]


def report(plan_id: str, key_id: str, now: datetime | None = None) -> dict[str, Any]:
    """The plan's throttle and, for a plan with a quota, the key's use of the current period."""
    now = now or datetime.now(UTC)
    plan = _cached(("plan", plan_id), PLAN_SECONDS, lambda: _plan(plan_id))
    throttle, quota = plan.get("throttle") or None, plan.get("quota") or None
    out: dict[str, Any] = {
        "plan": {"id": plan["id"], "name": plan["name"]},
        "throttle": {"rateLimit": throttle.get("rateLimit"), "burstLimit": throttle.get("burstLimit")}
        if throttle
        else None,
        "quota": None,
    }
    if quota and quota.get("period"):
        period = period_of(quota["period"], now)
        today = now.astimezone(UTC).date()
        days, read_at = _cached(
            ("usage", plan_id, key_id, period.start.isoformat(), today.isoformat()),
            USAGE_SECONDS,
            lambda: _days(plan_id, key_id, period.start, today),
        )
        limit = int(quota.get("limit") or 0)
        used = sum(int(day[0]) for day in days if day)
        remaining = int(days[-1][1]) if days and len(days[-1]) > 1 else max(0, limit - used)
        out["quota"] = {
            "limit": limit,
            "period": quota["period"],
            "used": used,
            "remaining": remaining,
            "periodStart": f"{period.start.isoformat()}T00:00:00Z",
            "resetsAt": period.resets_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "asOf": read_at,
        }
    return out
