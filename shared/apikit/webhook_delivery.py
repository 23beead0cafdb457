"""One signed POST to a checked endpoint, and the retry schedule of an event that failed.

The request goes to the address ``webhook_urls.check`` approved (no second DNS lookup), with the
URL's host as Host header and TLS server name, certificates verified, short timeouts, no redirects
followed and no retries here: the queue retries, with ``backoff_seconds`` between attempts.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import urllib3

from apikit import webhook_urls

CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 5.0
FIRST_DELAY_S = 30
MAX_DELAY_S = 6 * 3600  # below SQS's 12 h visibility timeout limit
MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Outcome:
    """What an attempt achieved; ``status`` is None when no HTTP answer came back."""

    delivered: bool
    status: int | None
    reason: str


def first_delay_s() -> int:
    """The stage's webhooks.first_retry_seconds (``WEBHOOK_FIRST_RETRY_SECONDS``), 30 s by default."""
    return int(os.environ.get("WEBHOOK_FIRST_RETRY_SECONDS") or FIRST_DELAY_S)


def backoff_seconds(receive_count: int, jitter: float = 0.1, first: int = FIRST_DELAY_S) -> int:
    """Visibility timeout after the ``receive_count``-th failed attempt: ``first`` (30 s) doubling to
    6 h, +- ``jitter`` so that many failed events do not come back at the same moment."""
    base = min(first * 2 ** max(receive_count - 1, 0), MAX_DELAY_S)
    return max(1, min(round(base * (1 + random.uniform(-jitter, jitter))), 43_200))


def schedule_span_seconds(max_receive_count: int) -> int:
    """Time from the first attempt to the dead-letter queue without jitter (docs and tests)."""
    return sum(backoff_seconds(n, jitter=0) for n in range(1, max_receive_count + 1))


def post(target: webhook_urls.Target, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST ``body``: 2xx is delivered; anything else (3xx included) is a failure to retry."""
    timeout = urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S)
    common = {"port": target.port, "timeout": timeout, "retries": False, "maxsize": 1}
    pool: urllib3.HTTPConnectionPool
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            cert_reqs="CERT_REQUIRED",
            assert_hostname=target.host,
            server_hostname=target.host,
            **common,  # type: ignore[arg-type]
        )
    else:
        pool = urllib3.HTTPConnectionPool(target.address, **common)  # type: ignore[arg-type]
    host = target.host if target.port in (80, 443) else f"{target.host}:{target.port}"
    try:
        with pool:
            answer = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers={**headers, "host": host, "user-agent": "items-webhooks/1"},
                redirect=False,
                preload_content=False,
                assert_same_host=False,
            )
            answer.read(MAX_RESPONSE_BYTES, decode_content=False)
            answer.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        return Outcome(False, None, type(exc).__name__)
    except OSError as exc:
        return Outcome(False, None, type(exc).__name__)
    ok = 200 <= answer.status < 300
    return Outcome(ok, answer.status, "delivered" if ok else f"HTTP {answer.status}")
