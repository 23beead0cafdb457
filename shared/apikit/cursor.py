"""Opaque, tamper-proof pagination cursors: base64url(payload) "." base64url(HMAC-SHA256(payload)).

The payload binds the partner and userId to DynamoDB's LastEvaluatedKey, so a cursor can neither be
forged nor replayed by another partner or for another user. The HMAC key is an SSM SecureString
(env CURSOR_SECRET_PARAMETER), read with decryption on first use and cached per container.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
from typing import Any

from apikit import clients, keys, snapstart
from apikit.errors import BadRequest, field_error

MAX_CURSOR_LENGTH = 2048


@functools.lru_cache(maxsize=1)
def secret() -> bytes:
    """The HMAC key (once per container)."""
    out = clients.client("ssm").get_parameter(Name=os.environ["CURSOR_SECRET_PARAMETER"], WithDecryption=True)
    return out["Parameter"]["Value"].encode("utf-8")


# Under SnapStart every restored copy reads the key again (a rotated key reaches all of them); the
# client is preloaded into the snapshot, the key itself never is.
snapstart.after_restore(secret.cache_clear)
clients.preload("ssm")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: bytes) -> bytes:
    return hmac.new(secret(), payload, hashlib.sha256).digest()


def encode(partner: str, user_id: str, last_key: dict[str, Any]) -> str:
    """A cursor continuing after ``last_key`` (wire format) for this partner and user."""
    payload = json.dumps({"p": partner, "u": user_id, "k": last_key}, separators=(",", ":"), sort_keys=True)
    raw = payload.encode("utf-8")
    return f"{_b64(raw)}.{_b64(_sign(raw))}"


def _invalid() -> BadRequest:
    return BadRequest(
        "invalid cursor", errors=[field_error("cursor", "is not a cursor issued for this query")]
    )


def decode(partner: str, user_id: str, cursor: str) -> dict[str, Any]:
    """The ExclusiveStartKey of a cursor; 400 when forged, truncated, or issued to another partner/user."""
    if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
        raise _invalid()
    body, signature = cursor.split(".")
    try:
        raw, mac = _unb64(body), _unb64(signature)
    except (binascii.Error, ValueError) as exc:
        raise _invalid() from exc
    if not hmac.compare_digest(mac, _sign(raw)):
        raise _invalid()
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise _invalid() from exc
    last_key = payload.get("k") if isinstance(payload, dict) else None
    if (
        payload.get("p") != partner
        or payload.get("u") != user_id
        or not isinstance(last_key, dict)
        or set(last_key) != set(keys.KEY_ATTRIBUTES)
        or not keys.belongs_to(partner, last_key)
        or last_key.get("GSI1PK") != {"S": keys.owner_key(partner, user_id)}
    ):
        raise _invalid()
    return last_key
