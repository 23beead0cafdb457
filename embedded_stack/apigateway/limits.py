"""Usage-plan limits as API Gateway applies them: token-bucket throttling and calendar-period quotas.

API Gateway throttles with a token bucket (capacity = burst, refill = rate per second) and counts
quotas per API key per usage plan over UTC calendar periods (DAY, WEEK, MONTH) shifted by the plan's
``offset``. Both are kept in memory: the embedded stack is one process, and a restart is a new stage.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True)
class Throttle:
    """A steady-state rate (requests per second) and a burst (bucket capacity)."""

    rate_limit: float
    burst_limit: int


@dataclass(frozen=True)
class Quota:
    """At most ``limit`` requests per ``period`` (DAY, WEEK or MONTH).

    ``offset`` is, as in API Gateway's QuotaSettings, the number of requests subtracted from the
    limit in the initial period only.
    """

    limit: int
    period: str
    offset: int = 0


class TokenBucket:
    """Thread-safe token bucket; starts full, as a fresh API Gateway bucket does."""

    def __init__(self, throttle: Throttle, clock: Callable[[], float] = time.monotonic) -> None:
        self.throttle = throttle
        # A burst below one could never admit a request even at a positive rate; API Gateway
        # rejects such settings for plans, so treat them as a bucket of one.
        self._capacity = float(max(throttle.burst_limit, 1)) if throttle.rate_limit > 0 else 0.0
        self._tokens = self._capacity
        self._clock = clock
        self._last = clock()
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        """Take one token if there is one; False means the request is throttled (429)."""
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._last)
            self._last = now
            self._tokens = min(self._capacity, self._tokens + elapsed * self.throttle.rate_limit)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False


def period_start(period: str, now: datetime) -> date:
    """The first UTC day of the calendar period that contains ``now``.

    DAY starts at 00:00 UTC, WEEK on Sunday 00:00 UTC (API Gateway's reference documented a WEEK of
    QuotaSettings offset 0 as starting on Sunday; apikit.usage reports the same period), MONTH on the 1st.
    """
    today = now.astimezone(UTC).date()
    kind = period.upper()
    if kind == "DAY":
        return today
    if kind == "WEEK":
        return today - timedelta(days=(today.weekday() + 1) % 7)
    if kind == "MONTH":
        return today.replace(day=1)
    raise ValueError(f"unknown quota period {period!r}")


class QuotaCounter:
    """Counts requests per (plan, key) in the current period; resets when the period rolls over.

    Every admitted request is also recorded per UTC day, whether or not the plan has a quota: the
    daily log GetUsage reports (``daily_usage``).
    """

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._used: dict[tuple[str, str], tuple[date, int]] = {}
        self._initial: dict[tuple[str, str], date] = {}
        self._daily: dict[tuple[str, str], dict[date, int]] = {}

    def try_consume(self, plan_id: str, key_id: str, quota: Quota | None) -> bool:
        """Count one request; False when the period's limit is already used up (429)."""
        now = self._clock()
        scope = (plan_id, key_id)
        with self._lock:
            if quota is not None:
                start = period_start(quota.period, now)
                initial = self._initial.setdefault(scope, start)
                limit = quota.limit - quota.offset if start == initial else quota.limit
                period, used = self._used.get(scope, (start, 0))
                if period != start:
                    used = 0
                if used >= limit:
                    self._used[scope] = (start, used)
                    return False
                self._used[scope] = (start, used + 1)
            days = self._daily.setdefault(scope, {})
            today = now.astimezone(UTC).date()
            days[today] = days.get(today, 0) + 1
            return True

    def daily_usage(
        self, plan_id: str, key_id: str, quota: Quota | None, first: date, last: date
    ) -> list[tuple[int, int]] | None:
        """(used, remaining) for each UTC day from ``first`` to ``last``; None if none was used.

        Remaining is what the quota period holding that day had left at the end of it (the offset
        applies in the first period counted); 0 for a plan without a quota.
        """
        scope = (plan_id, key_id)
        with self._lock:
            days = dict(self._daily.get(scope, {}))
            initial = self._initial.get(scope)
        if not any(first <= day <= last for day in days):
            return None
        series: list[tuple[int, int]] = []
        day = first
        while day <= last:
            used = days.get(day, 0)
            remaining = 0
            if quota is not None:
                start = period_start(quota.period, datetime(day.year, day.month, day.day, tzinfo=UTC))
                limit = quota.limit - quota.offset if start == (initial or start) else quota.limit
                spent = sum(n for d, n in days.items() if start <= d <= day)
                remaining = max(0, limit - spent)
            series.append((used, remaining))
            day += timedelta(days=1)
        return series

    def used(self, plan_id: str, key_id: str, quota: Quota) -> int:
        """Requests counted in the current quota period."""
        start = period_start(quota.period, self._clock())
        with self._lock:
            period, used = self._used.get((plan_id, key_id), (start, 0))
            return used if period == start else 0


class BucketRegistry:
    """One bucket per scope (e.g. plan+key+method); rebuilt when the scope's settings change."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, ...], TokenBucket] = {}

    def try_acquire(self, scope: tuple[str, ...], throttle: Throttle) -> bool:
        """Take a token from the scope's bucket, creating or resizing it on first use."""
        with self._lock:
            bucket = self._buckets.get(scope)
            if bucket is None or bucket.throttle != throttle:
                bucket = TokenBucket(throttle, self._clock)
                self._buckets[scope] = bucket
        return bucket.try_acquire()
