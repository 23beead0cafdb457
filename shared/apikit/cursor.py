"""Opaque, tamper-proof pagination cursors: kid "." base64url(payload) "." base64url(HMAC-SHA256).

The payload binds the partner and userId to DynamoDB's LastEvaluatedKey, so a cursor can neither be
forged nor replayed by another partner or for another user. The HMAC keys are the versions of a
Secrets Manager secret (env CURSOR_SECRET_ID): the AWSCURRENT version signs, and every cursor names
the version that signed it (``kid``, a hash of its VersionId), so that after a rotation the
AWSPREVIOUS version still verifies cursors in flight until an operator retires it
(scripts/cursor_key.py, docs/operations.md). Keys are cached per container for
CURSOR_KEY_CACHE_SECONDS (default 300); a kid the cache does not know re-reads them, at most once a
second, so a container that has not seen a rotation yet still accepts the new key's cursors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from apikit import clients, keys, snapstart
from apikit.errors import BadRequest, field_error

MAX_CURSOR_LENGTH = 2048
CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
DEFAULT_CACHE_SECONDS = 300.0
_MIN_REFRESH_SECONDS = 1.0  # an unknown kid (a forged one, or a rotation) re-reads at most this often
_KID = re.compile(r"^[0-9a-f]{8}\Z")


@dataclass(frozen=True)
class SigningKey:
    """One version of the secret: the kid cursors carry, and the HMAC key."""

    kid: str
    secret: bytes


def kid_of(version_id: str) -> str:
    """The short, fixed-size name of a secret version that cursors carry."""
    return hashlib.sha256(version_id.encode("utf-8")).hexdigest()[:8]


class _KeyCache:
    """AWSCURRENT and AWSPREVIOUS, read on first use and again after the cache time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self._current: SigningKey | None = None
        self._previous: SigningKey | None = None
        self._previous_read = False
        self._read_at = float("-inf")
        self._refreshed_at = float("-inf")

    @staticmethod
    def _ttl() -> float:
        return float(os.environ.get("CURSOR_KEY_CACHE_SECONDS") or DEFAULT_CACHE_SECONDS)

    @staticmethod
    def _read(stage: str) -> SigningKey | None:
        try:
            out = clients.client("secretsmanager").get_secret_value(
                SecretId=os.environ["CURSOR_SECRET_ID"], VersionStage=stage
            )
        except Exception as exc:
            code = (getattr(exc, "response", None) or {}).get("Error", {}).get("Code")
            if stage == PREVIOUS and code == "ResourceNotFoundException":
                return None  # never rotated, or the previous key was retired
            raise
        return SigningKey(kid_of(out["VersionId"]), out["SecretString"].encode("utf-8"))

    def _expire(self, now: float) -> None:
        if self._current is None or now - self._read_at >= self._ttl():
            self._current = self._read(CURRENT)
            self._previous, self._previous_read = None, False
            self._read_at = now

    def current(self) -> SigningKey:
        """The key that signs new cursors."""
        with self._lock:
            self._expire(time.monotonic())
            assert self._current is not None
            return self._current

    def verifying(self, kid: str) -> SigningKey | None:
        """The key a cursor names, if it is the current or the previous one; None otherwise."""
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            found = self._lookup(kid)
            if found is None and now - self._refreshed_at >= _MIN_REFRESH_SECONDS:
                self._refreshed_at = now
                self._current, self._read_at = None, float("-inf")
                self._expire(now)
                found = self._lookup(kid)
            return found

    def _lookup(self, kid: str) -> SigningKey | None:
        assert self._current is not None
        if kid == self._current.kid:
            return self._current
        if not self._previous_read:
            self._previous, self._previous_read = self._read(PREVIOUS), True
        if self._previous is not None and kid == self._previous.kid:
            return self._previous
        return None


_keys = _KeyCache()


def reset_cache() -> None:
    """Forget the keys (tests; a new container starts this way)."""
    _keys.clear()


# Under SnapStart every restored copy reads the keys again (a rotation reaches all of them at once,
# and no key is carried in the snapshot); the client is preloaded into it.
snapstart.after_restore(reset_cache)
clients.preload("secretsmanager")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(key: SigningKey, body: str) -> bytes:
    return hmac.new(key.secret, f"{key.kid}.{body}".encode(), hashlib.sha256).digest()


def encode(partner: str, user_id: str, last_key: dict[str, Any]) -> str:
    """A cursor continuing after ``last_key`` (wire format) for this partner and user."""
    key = _keys.current()
    payload = json.dumps({"p": partner, "u": user_id, "k": last_key}, separators=(",", ":"), sort_keys=True)
    body = _b64(payload.encode("utf-8"))
    return f"{key.kid}.{body}.{_b64(_sign(key, body))}"


def _invalid() -> BadRequest:
    return BadRequest(
        "invalid cursor", errors=[field_error("cursor", "is not a cursor issued for this query")]
    )


def decode(partner: str, user_id: str, cursor: str) -> dict[str, Any]:
    """The ExclusiveStartKey of a cursor; 400 when forged, truncated, signed with a retired key, or
    issued to another partner/user."""
    if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 2:
        raise _invalid()
    kid, body, signature = cursor.split(".")
    if not _KID.match(kid):
        raise _invalid()
    key = _keys.verifying(kid)
    if key is None:
        raise _invalid()
    try:
        mac = _unb64(signature)
    except (binascii.Error, ValueError) as exc:
        raise _invalid() from exc
    if not hmac.compare_digest(mac, _sign(key, body)):
        raise _invalid()
    try:
        payload = json.loads(_unb64(body))
    except ValueError as exc:  # binascii.Error and JSONDecodeError are ValueErrors
        raise _invalid() from exc
    if not isinstance(payload, dict):
        raise _invalid()
    last_key = payload.get("k")
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
