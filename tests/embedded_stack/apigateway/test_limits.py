"""Unit tests of apigateway.limits: token bucket arithmetic, quota periods and counters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from embedded_stack.apigateway.limits import Quota, QuotaCounter, Throttle, TokenBucket, period_start


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bucket_starts_full_and_refills_at_the_rate():
    clock = FakeClock()
    bucket = TokenBucket(Throttle(rate_limit=2.0, burst_limit=4), clock)
    assert [bucket.try_acquire() for _ in range(5)] == [True] * 4 + [False]
    clock.now += 0.49  # 0.98 tokens: not yet one
    assert bucket.try_acquire() is False
    clock.now += 0.02  # now 1.02 tokens
    assert bucket.try_acquire() is True
    assert bucket.try_acquire() is False
    clock.now += 100  # refill is capped at the burst
    assert [bucket.try_acquire() for _ in range(5)] == [True] * 4 + [False]


def test_zero_rate_bucket_admits_nothing_and_tiny_burst_admits_one():
    clock = FakeClock()
    assert TokenBucket(Throttle(rate_limit=0.0, burst_limit=10), clock).try_acquire() is False
    one = TokenBucket(Throttle(rate_limit=1.0, burst_limit=0), clock)
    assert [one.try_acquire(), one.try_acquire()] == [True, False]


def test_clock_going_backwards_does_not_mint_tokens():
    clock = FakeClock()
    bucket = TokenBucket(Throttle(rate_limit=1.0, burst_limit=1), clock)
    assert bucket.try_acquire() is True
    clock.now -= 50
    assert bucket.try_acquire() is False


@pytest.mark.parametrize(
    ("period", "now", "start"),
    [
        ("DAY", datetime(2026, 11, 25, 23, 59, 59, tzinfo=UTC), date(2026, 11, 25)),
        ("WEEK", datetime(2026, 11, 25, 12, tzinfo=UTC), date(2026, 11, 22)),  # a Wednesday -> Sunday
        ("WEEK", datetime(2026, 11, 22, 0, 0, tzinfo=UTC), date(2026, 11, 22)),
        ("WEEK", datetime(2026, 11, 21, 23, 59, tzinfo=UTC), date(2026, 11, 15)),  # Saturday
        ("MONTH", datetime(2026, 12, 31, 23, 0, tzinfo=UTC), date(2026, 12, 1)),
        ("month", datetime(2027, 1, 1, 0, 0, tzinfo=UTC), date(2027, 1, 1)),
    ],
)
def test_period_start_is_the_utc_calendar_period(period, now, start):
    assert period_start(period, now) == start


def test_period_start_converts_to_utc():
    tokyo = datetime(2026, 11, 26, 8, 0, tzinfo=UTC).astimezone(
        tz=__import__("zoneinfo").ZoneInfo("Asia/Tokyo")
    )
    assert period_start("DAY", tokyo) == date(2026, 11, 26)
    assert period_start("DAY", tokyo - timedelta(hours=9)) == date(2026, 11, 25)


def test_unknown_period_is_an_error():
    with pytest.raises(ValueError, match="unknown quota period"):
        period_start("YEAR", datetime.now(UTC))


def test_quota_resets_at_the_period_boundary_and_offset_applies_to_the_first_period_only():
    now = [datetime(2026, 11, 25, 23, 59, tzinfo=UTC)]
    counter = QuotaCounter(clock=lambda: now[0])
    quota = Quota(limit=3, period="DAY", offset=1)
    assert [counter.try_consume("p", "k", quota) for _ in range(3)] == [True, True, False]
    assert counter.used("p", "k", quota) == 2
    assert counter.try_consume("p", "other-key", quota) is True  # counted per key
    now[0] += timedelta(minutes=2)  # next UTC day: full limit, no offset
    assert counter.used("p", "k", quota) == 0
    assert [counter.try_consume("p", "k", quota) for _ in range(4)] == [True, True, True, False]


def test_daily_usage_reports_used_and_what_the_period_has_left_per_utc_day():
    now = [datetime(2026, 11, 2, 9, 0, tzinfo=UTC)]
    counter = QuotaCounter(clock=lambda: now[0])
    quota = Quota(limit=10, period="MONTH", offset=2)  # the first month counted allows 8
    assert all(counter.try_consume("p", "k", quota) for _ in range(3))
    now[0] += timedelta(days=1)
    assert all(counter.try_consume("p", "k", quota) for _ in range(2))
    series = counter.daily_usage("p", "k", quota, date(2026, 11, 1), date(2026, 11, 4))
    assert series == [(0, 8), (3, 5), (2, 3), (0, 3)]
    assert counter.daily_usage("p", "k", quota, date(2026, 10, 1), date(2026, 10, 31)) is None
    assert counter.daily_usage("p", "unused-key", quota, date(2026, 11, 1), date(2026, 11, 4)) is None
    now[0] = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # a new month: the full limit, no offset
    assert counter.try_consume("p", "k", quota)
    assert counter.daily_usage("p", "k", quota, date(2026, 11, 30), date(2026, 12, 1)) == [(0, 3), (1, 9)]


def test_daily_usage_counts_plans_without_a_quota_with_nothing_remaining():
    counter = QuotaCounter(clock=lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    assert counter.try_consume("p", "k", None)
    assert counter.daily_usage("p", "k", None, date(2026, 11, 2), date(2026, 11, 2)) == [(1, 0)]


def test_refused_requests_are_not_usage():
    counter = QuotaCounter(clock=lambda: datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    quota = Quota(limit=1, period="DAY")
    assert [counter.try_consume("p", "k", quota) for _ in range(3)] == [True, False, False]
    assert counter.daily_usage("p", "k", quota, date(2026, 11, 2), date(2026, 11, 2)) == [(1, 0)]
