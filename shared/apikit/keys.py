"""The single-table key design (docs/data-model.md); the table's shape comes from table.json.

Every key of partner data starts with ``P#<partner>#`` so that no key of one partner can address
another's data. API key records (the authorizer's, written by Terraform) live outside that space,
under ``APIKEY#<sha256 of the key>``: no partner key can ever name one. The audit canary's heartbeats
live under ``CANARY``, outside every partner's keys too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

TABLE_SPEC: dict[str, Any] = json.loads((Path(__file__).parent / "table.json").read_text())
GSI1 = TABLE_SPEC["global_secondary_indexes"][0]["name"]
TTL_ATTRIBUTE = TABLE_SPEC["ttl_attribute"]
API_KEY_RECORD = TABLE_SPEC["api_key_record"]

ITEM_SK = "ITEM"
IDEMPOTENCY_SK = "IDEMPOTENCY"
# The canary's partition (its IAM policy allows PutItem on this leading key only: function.json).
CANARY_PK = "CANARY"
KEY_ATTRIBUTES = ("PK", "SK", "GSI1PK", "GSI1SK")
NOT_EXISTS = "attribute_not_exists(PK)"  # the condition of every create: never write over a key


def _prefix(partner: str) -> str:
    return f"P#{partner}#"


def item_key(partner: str, item_id: str) -> dict[str, dict[str, str]]:
    """Primary key of an item, in wire format."""
    return {"PK": {"S": f"{_prefix(partner)}I#{item_id}"}, "SK": {"S": ITEM_SK}}


def owner_key(partner: str, user_id: str) -> str:
    """GSI1 partition of one partner's end user: all of the user's items, sorted by creation."""
    return f"{_prefix(partner)}U#{user_id}"


def owner_sort_key(created_at: str, item_id: str) -> str:
    """GSI1 sort key: fixed-width ISO timestamp then id, so newest-first is a reverse Query."""
    return f"{created_at}#{item_id}"


def idempotency_key(partner: str, client_key: str) -> dict[str, dict[str, str]]:
    """Key of an idempotency record; the client's key is hashed (bounded size, no odd characters)."""
    digest = hashlib.sha256(client_key.encode("utf-8")).hexdigest()
    return {"PK": {"S": f"{_prefix(partner)}K#{digest}"}, "SK": {"S": IDEMPOTENCY_SK}}


def api_key_record_key(digest: str) -> dict[str, dict[str, str]]:
    """Key of the record of an API key, by the hex SHA-256 of its value (never the value itself)."""
    return {"PK": {"S": f"{API_KEY_RECORD['pk_prefix']}{digest}"}, "SK": {"S": API_KEY_RECORD["sk"]}}


def belongs_to(partner: str, wire_key: dict[str, Any]) -> bool:
    """Whether a key (e.g. a cursor's ExclusiveStartKey) is the partner's own."""
    pk = wire_key.get("PK", {}).get("S", "")
    return isinstance(pk, str) and pk.startswith(_prefix(partner))


def canary_key(heartbeat_id: str) -> dict[str, dict[str, str]]:
    """Key of one audit canary heartbeat: no partner prefix, so no partner can ever read it."""
    return {"PK": {"S": CANARY_PK}, "SK": {"S": f"HEARTBEAT#{heartbeat_id}"}}
