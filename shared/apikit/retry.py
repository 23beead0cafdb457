"""Exponential backoff with full jitter, bounded by the invocation's remaining time.

Used where botocore's retries do not reach: UnprocessedItems/UnprocessedKeys of batch calls and
transaction conflicts. Full jitter: sleep uniform(0, min(cap, base * 2**attempt)).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator


class Deadline:
    """A point in time (monotonic) by which work must stop, leaving a margin to answer."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + max(0.0, seconds)

    @classmethod
    def from_remaining_ms(cls, remaining_ms: int, reserve_ms: int = 1500) -> Deadline:
        """From Lambda's ``get_remaining_time_in_millis()``, keeping ``reserve_ms`` to respond."""
        return cls((remaining_ms - reserve_ms) / 1000)

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self._end - self._clock())

    def expired(self) -> bool:
        return self.remaining() <= 0


def delays(base: float = 0.05, cap: float = 2.0) -> Iterator[float]:
    """Endless full-jitter delays: attempt n sleeps uniform(0, min(cap, base * 2**n))."""
    attempt = 0
    while True:
        yield random.uniform(0, min(cap, base * 2**attempt))
        attempt += 1


def sleep_within(deadline: Deadline, delay: float, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Sleep ``delay`` if the deadline allows it; False (and no sleep) when it would be overrun."""
    if delay >= deadline.remaining():
        return False
    sleep(delay)
    return True
