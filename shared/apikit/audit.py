"""Audit events: one DynamoDB stream record in, one newline-delimited JSON line out.

The consumer (functions/audit_stream) and the operator's replay tool (scripts/audit_replay.py) both
map records here, so a replayed event is byte-for-byte the event the consumer would have sent and
keeps the stream record's eventID: readers deduplicate on ``eventId``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

# Firehose: each record at most 1,000 KiB before base64 (PutRecordBatch API reference).
MAX_RECORD_BYTES = 1_000 * 1024
ITEM_ENTITY = "item"
CANARY_ENTITY = "canary"


def plain(value: dict[str, Any]) -> Any:
    """Turn one DynamoDB wire-format value (``{"S": "x"}``) into plain JSON.

    Numbers stay exact: integral ones become ints, others floats only when the float prints back
    to the same decimal, else the decimal's string. Sets become sorted lists; binary becomes base64.
    """
    (kind, raw), *_ = value.items()
    try:
        convert = _CONVERTERS[kind]
    except KeyError:
        raise ValueError(f"unknown DynamoDB type {kind!r}") from None
    return convert(raw)


def image(attributes: dict[str, Any] | None) -> dict[str, Any] | None:
    """A whole item image (``NewImage``/``OldImage``) as a plain JSON object."""
    if attributes is None:
        return None
    return {name: plain(v) for name, v in attributes.items()}


def _number(text: str) -> int | float | str:
    number = Decimal(text)
    if number == number.to_integral_value():
        return int(number)
    as_float = float(number)
    return as_float if Decimal(repr(as_float)) == number else str(number)


def _b64(raw: bytes | str) -> str:
    # Lambda events carry binary as base64 text already; the Streams API (boto) gives bytes.
    return raw if isinstance(raw, str) else base64.b64encode(raw).decode("ascii")


_CONVERTERS: dict[str, Any] = {
    "S": lambda raw: raw,
    "BOOL": lambda raw: raw,
    "NULL": lambda _raw: None,
    "N": _number,
    "B": _b64,
    "SS": sorted,
    "NS": lambda raw: [_number(n) for n in sorted(raw, key=Decimal)],
    "BS": lambda raw: sorted(_b64(b) for b in raw),
    "L": lambda raw: [plain(v) for v in raw],
    "M": image,
}


def _creation_time(value: Any) -> str | None:
    """ApproximateCreationDateTime: epoch seconds in Lambda events, a datetime from the Streams API."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromtimestamp(float(value), tz=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def entity_of(record: dict[str, Any]) -> str | None:
    """The ``entity`` attribute of a stream record's item (new image, else old image)."""
    change = record.get("dynamodb", {})
    for side in ("NewImage", "OldImage"):
        entity = (change.get(side) or {}).get("entity")
        if entity is not None:
            return plain(entity)
    return None


def audit_event(record: dict[str, Any], stage: str) -> dict[str, Any] | None:
    """The audit event for one stream record, or None when the record is not audited.

    Items are audited; so is the creation of an audit canary heartbeat (flagged ``canary``), whose
    arrival in S3 proves the whole path works. Idempotency records, the canary's expiry and any future
    entity share the table and its stream; they are not partner data and are skipped (the caller
    counts them).
    """
    entity = entity_of(record)
    if entity == CANARY_ENTITY and record.get("eventName") == "INSERT":
        return canary_event(record, stage)
    if entity != ITEM_ENTITY:
        return None
    change = record["dynamodb"]
    new, old = image(change.get("NewImage")), image(change.get("OldImage"))
    current = new if new is not None else old or {}
    return {
        "eventId": record["eventID"],
        "eventName": record["eventName"],
        "partnerId": current.get("partnerId"),
        "itemId": current.get("id"),
        "userId": current.get("userId"),
        "version": current.get("version"),
        "approximateCreationTime": _creation_time(change.get("ApproximateCreationDateTime")),
        "sequenceNumber": change.get("SequenceNumber"),
        "stage": stage,
        "oldImage": old,
        "newImage": new,
    }


def canary_event(record: dict[str, Any], stage: str) -> dict[str, Any]:
    """A heartbeat's audit event: no partner, no item; ``writtenAt`` says when the canary wrote it."""
    change = record["dynamodb"]
    new = image(change.get("NewImage")) or {}
    return {
        "eventId": record["eventID"],
        "eventName": record["eventName"],
        "canary": True,
        "heartbeatId": new.get("heartbeatId"),
        "writtenAt": new.get("writtenAt"),
        "approximateCreationTime": _creation_time(change.get("ApproximateCreationDateTime")),
        "sequenceNumber": change.get("SequenceNumber"),
        "stage": stage,
    }


def encode(event: dict[str, Any]) -> tuple[bytes, bool]:
    """One NDJSON line for Firehose and whether it had to be reduced to a flagged summary.

    The summary keeps ids, event name, sizes and a hash of the full line, so nothing is dropped
    silently and the full change can still be recovered from the table or a backup.
    """
    line = _line(event)
    if len(line) <= MAX_RECORD_BYTES:
        return line, False
    summary = {k: v for k, v in event.items() if k not in ("oldImage", "newImage")}
    summary.update(
        truncated=True,
        originalSizeBytes=len(line),
        sha256=hashlib.sha256(line).hexdigest(),
        oldImageSizeBytes=len(_line(event.get("oldImage"))) - 1,
        newImageSizeBytes=len(_line(event.get("newImage"))) - 1,
    )
    return _line(summary), True


def _line(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"
