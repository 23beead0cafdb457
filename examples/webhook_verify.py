"""Verify a webhook as the Standard Webhooks specification signs it (https://www.standardwebhooks.com).

Standard library only (the ``standardwebhooks`` package does the same, and the tests check that both
agree). Every delivery carries three headers:

- ``webhook-id``: the event's id, the same on every retry of one event: use it to drop duplicates
  (delivery is at least once);
- ``webhook-timestamp``: Unix seconds when it was signed: refuse old ones (replays);
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` of ``"{id}.{timestamp}.{body}"``, keyed with the
  secret's bytes (``whsec_<base64>``), space-separated when several (during a secret rotation).

Verify the raw body bytes as received, before parsing them: re-serialised JSON would not match.

    event = verify(secret, request.headers, request.body)   # raises InvalidSignature
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

PREFIX = "whsec_"
TOLERANCE_S = 5 * 60


class InvalidSignature(Exception):
    """The delivery is not from the API (or is too old): answer 400 and do not act on it."""


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one delivery (the sender's side, shown for tests)."""
    key = base64.b64decode(secret.removeprefix(PREFIX))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None) -> dict[str, Any]:
    """The event, if the headers sign ``body`` with ``secret`` within the tolerance; else raise."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        msg_id, stamp, signatures = (
            lower["webhook-id"],
            lower["webhook-timestamp"],
            lower["webhook-signature"],
        )
        timestamp = int(stamp)
    except (KeyError, ValueError) as exc:
        raise InvalidSignature("missing or malformed webhook headers") from exc
    if abs((time.time() if now is None else now) - timestamp) > TOLERANCE_S:
        raise InvalidSignature("timestamp outside the tolerance")
    expected = sign(secret, msg_id, timestamp, body).encode()
    if not any(hmac.compare_digest(expected, s.encode()) for s in signatures.split() if s.startswith("v1,")):
        raise InvalidSignature("no matching signature")
    return json.loads(body)
