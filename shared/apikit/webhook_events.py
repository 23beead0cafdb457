"""Item changes as webhook events: one DynamoDB stream record in, the partner's event out.

The event's ``webhook-id`` is derived from the stream record's eventID, so that every retry and
every replay of one change carries the same id (receivers deduplicate on it). Only items are
partners' data; idempotency records, key records, webhook registrations and the canary's heartbeats
share the stream and map to nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from apikit import audit, items

TYPES = {"INSERT": "item.created", "MODIFY": "item.updated", "REMOVE": "item.deleted"}
# SNS and SQS take at most 256 KiB per message; items are far smaller (64 KiB bodies), but an event
# that would not fit is still sent, with ``item`` null and ``itemOmitted`` true, never dropped.
MAX_MESSAGE_BYTES = 256 * 1024 - 4 * 1024


def message_group(partner: str, item_id: str) -> str:
    """FIFO group: one per partner's item, so one item's events stay in version order while other
    items (and other partners) move on when one is held back."""
    return f"{partner}#{item_id}"[:128]


def _timestamp(record: dict[str, Any], current: dict[str, Any]) -> str:
    if record.get("eventName") != "REMOVE" and isinstance(current.get("updatedAt"), str):
        return current["updatedAt"]
    created = record.get("dynamodb", {}).get("ApproximateCreationDateTime")
    moment = datetime.fromtimestamp(float(created), tz=UTC) if created is not None else datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope(record: dict[str, Any]) -> dict[str, Any] | None:
    """``{"partner", "webhookId", "group", "event"}`` for an item change; None for anything else."""
    if audit.entity_of(record) != items.ENTITY or record.get("eventName") not in TYPES:
        return None
    change = record["dynamodb"]
    new, old = audit.image(change.get("NewImage")), audit.image(change.get("OldImage"))
    current = new if new is not None else old or {}
    partner, item_id = current.get("partnerId"), current.get("id")
    if not isinstance(partner, str) or not isinstance(item_id, str):
        raise ValueError(f"stream record {record.get('eventID')} has no partner or item id")
    version = current.get("version")
    event = {
        "type": TYPES[record["eventName"]],
        "timestamp": _timestamp(record, current),
        "data": {
            "id": item_id,
            "userId": current.get("userId"),
            "version": version,
            "item": items.public(new) if new is not None else None,
        },
    }
    out = {
        "partner": partner,
        "webhookId": f"msg_{record['eventID']}",
        "group": message_group(partner, item_id),
        "event": event,
    }
    if len(encode(out)) > MAX_MESSAGE_BYTES:
        event["data"].update(item=None, itemOmitted=True)
    return out


def encode(value: Any) -> bytes:
    """Compact UTF-8 JSON: the exact bytes that are signed and sent."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
