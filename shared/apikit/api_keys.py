"""API key records: what the authorizer knows about a presented key, found by the key's SHA-256.

Terraform writes one record per key of the stage file (docs/data-model.md): the partner (the
tenant), the key's scope and name, its API Gateway key id and usage plan id, and its state. The key
value itself is never stored, logged or compared in plain text here: only its hash reaches DynamoDB.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from apikit import clients, keys

clients.preload("dynamodb")  # SnapStart: the client is in the snapshot

ACTIVE = "active"
_FIELDS = ("partnerId", "scope", "keyName", "apiKeyId", "usagePlanId", "state")


@dataclass(frozen=True)
class KeyRecord:
    """One API key as its record describes it."""

    partner: str
    scope: str
    key_name: str
    api_key_id: str
    usage_plan_id: str
    state: str

    @property
    def active(self) -> bool:
        """Only an ``active`` record authenticates; any other state is a known but refused key."""
        return self.state == ACTIVE


def digest(value: str) -> str:
    """The hex SHA-256 of a key value: the only form of it that is stored or looked up."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def lookup(value: str) -> KeyRecord | None:
    """The record of a presented key, or None when no record has its hash (an unknown key).

    A record missing a field is treated as unknown rather than guessed at. An eventually consistent
    read is enough: records change only when Terraform applies a stage file.
    """
    out = clients.client("dynamodb").get_item(
        TableName=clients.table_name(),
        Key=keys.api_key_record_key(digest(value)),
        ProjectionExpression=", ".join(f"#f{i}" for i in range(len(_FIELDS))),
        ExpressionAttributeNames={f"#f{i}": name for i, name in enumerate(_FIELDS)},
    )
    item = out.get("Item")
    if not item:
        return None
    values = [item.get(name, {}).get("S") for name in _FIELDS]
    if not all(isinstance(v, str) and v for v in values):
        return None
    partner, scope, key_name, api_key_id, usage_plan_id, state = values
    return KeyRecord(partner, scope, key_name, api_key_id, usage_plan_id, state)  # type: ignore[arg-type]
