"""One deadline per request, and exponential backoff with full jitter bounded by it.

API Gateway gives up on an integration after 29 s, counted from before our container even starts
(a cold start's init is inside it), and Lambda stops the function at its own timeout. A request's
``Deadline`` is the earlier of the two, less a reserve to answer: ``endpoint`` makes it the current
deadline of the request (a ContextVar), our own retry loops stop at it, and ``apikit.clients``
makes botocore's retries and attempts stop at it too. Past it, nothing more is sent to AWS: the
client gets our JSON 503 with ``Retry-After`` before API Gateway answers 504 on our behalf, and no
write lands after API Gateway has given up.

Full jitter: attempt n sleeps uniform(0, min(cap, base * 2**n)).
"""

from __future__ import annotations

import contextvars
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

GATEWAY_TIMEOUT_S = 29.0  # API Gateway REST's integration timeout (the maximum and the default)
RESERVE_S = 1.0  # kept after the deadline to build, log and return the answer


class Deadline:
    """A point in time (monotonic) by which work must stop, leaving a margin to answer."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + max(0.0, seconds)

    @classmethod
    def from_remaining_ms(cls, remaining_ms: int, reserve_ms: int = int(RESERVE_S * 1000)) -> Deadline:
        """From Lambda's ``get_remaining_time_in_millis()``, keeping ``reserve_ms`` to respond."""
        return cls((remaining_ms - reserve_ms) / 1000)

    @classmethod
    def for_request(cls, event: dict[str, Any], context: Any) -> Deadline:
        """The earlier of Lambda's timeout and API Gateway's, both less ``RESERVE_S``.

        API Gateway's clock starts at ``requestContext.requestTimeEpoch`` (when it received the
        request); without a usable one (not a REST proxy event) only Lambda's timeout counts.
        """
        getter = getattr(context, "get_remaining_time_in_millis", None)
        lambda_left = int(getter()) / 1000 if callable(getter) else GATEWAY_TIMEOUT_S
        received = ((event.get("requestContext") or {}) if isinstance(event, dict) else {}).get(
            "requestTimeEpoch"
        )
        gateway_left = GATEWAY_TIMEOUT_S
        if isinstance(received, int) and not isinstance(received, bool):
            gateway_left -= max(0.0, time.time() - received / 1000)
        return cls(min(lambda_left, gateway_left) - RESERVE_S)

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self._end - self._clock())

    def expired(self) -> bool:
        return self.remaining() <= 0


_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar("apikit_deadline", default=None)


def current() -> Deadline | None:
    """The deadline of the request being served (None outside a request, e.g. stream consumers)."""
    return _current.get()


def activate(deadline: Deadline) -> contextvars.Token[Deadline | None]:
    """Make ``deadline`` the current one; returns a token for ``deactivate``."""
    return _current.set(deadline)


def deactivate(token: contextvars.Token[Deadline | None]) -> None:
    _current.reset(token)


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
