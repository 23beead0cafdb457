"""Idempotent creation: the item and its idempotency record are written in ONE transaction.

Powertools' idempotency utility is not used: it writes its record separately from the item (a crash
in between leaves one without the other) and costs >100 ms of cold start. Here both puts are
conditional; a cancelled transaction tells us which condition failed, and the record's old image
(ReturnValuesOnConditionCheckFailure=ALL_OLD) lets us replay or answer 422 without another read.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from apikit import clients, items, keys
from apikit.codec import from_wire
from apikit.errors import BadRequest, Conflict, ServiceUnavailable, Unprocessable, field_error
from apikit.retry import Deadline, delays, sleep_within

TTL_SECONDS = 24 * 3600
MAX_KEY_LENGTH = 128
ENTITY = "idempotency"


def check_key(key: str) -> str:
    """An Idempotency-Key is 1-128 printable ASCII characters."""
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(32 < ord(c) < 127 for c in key):
        raise BadRequest(
            "invalid Idempotency-Key",
            errors=[field_error("Idempotency-Key", "must be 1-128 printable ASCII characters")],
        )
    return key


def body_hash(body: Any) -> str:
    """Hash of the parsed body in canonical form (key order and whitespace do not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _reason_codes(exc: Exception) -> list[dict[str, Any]]:
    return getattr(exc, "response", {}).get("CancellationReasons") or []


def create(
    partner: str, client_key: str, body: dict[str, Any], deadline: Deadline
) -> tuple[int, dict[str, Any], bool]:
    """Create the item once per key: ``(status, response body, replayed)``.

    Same key and body again -> the stored response (nothing new is written); same key, other body
    -> 422; the item id already taken (without a record) -> 409. Concurrent requests with one key
    race on the record's condition: one writes, the others replay.
    """
    digest = body_hash(body)
    backoff = delays(base=0.02, cap=0.5)
    while True:
        item = items.build(partner, body)
        response_body = items.public(item)
        now = int(time.time())
        record = {
            **keys.idempotency_key(partner, client_key),
            "entity": {"S": ENTITY},
            "partnerId": {"S": partner},
            "requestHash": {"S": digest},
            **stored_response(201, response_body),
            "createdAt": {"S": item["createdAt"]},
            keys.TTL_ATTRIBUTE: {"N": str(now + TTL_SECONDS)},
        }
        try:
            clients.client("dynamodb").transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": clients.table_name(),
                            "Item": items.to_wire_checked(item),
                            "ConditionExpression": items.NOT_EXISTS,
                        }
                    },
                    {
                        "Put": {
                            "TableName": clients.table_name(),
                            "Item": record,
                            # an expired record that TTL has not removed yet counts as absent
                            "ConditionExpression": "attribute_not_exists(PK) OR #ttl < :now",
                            "ExpressionAttributeNames": {"#ttl": keys.TTL_ATTRIBUTE},
                            "ExpressionAttributeValues": {":now": {"N": str(now)}},
                            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                        }
                    },
                ]
            )
            return 201, response_body, False
        except Exception as exc:
            if getattr(exc, "response", {}).get("Error", {}).get("Code") != "TransactionCanceledException":
                raise
            item_reason, record_reason = ([*_reason_codes(exc), {}, {}])[:2]
            if record_reason.get("Code") == "ConditionalCheckFailed":
                stored = record_reason.get("Item") or read_record(partner, client_key)
                if stored is not None:
                    return replay(stored, digest)
            elif item_reason.get("Code") == "ConditionalCheckFailed":
                raise Conflict(f"item {item['id']} already exists") from exc
            codes = {r.get("Code") for r in (item_reason, record_reason)}
            if "ThrottlingError" in codes or "ProvisionedThroughputExceeded" in codes:
                raise ServiceUnavailable() from exc
            if "ValidationError" in codes:  # DynamoDB refused a value: the client's, never a retry
                raise BadRequest("the request holds a value the database cannot store") from exc
            # TransactionConflict: a concurrent request with this key is in flight; retry, then replay.
            if not sleep_within(deadline, next(backoff)):
                raise ServiceUnavailable("concurrent request with this Idempotency-Key, retry later") from exc


def stored_response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """The attributes of a record that hold the response it replays."""
    return {
        "statusCode": {"N": str(status)},
        "responseBody": {"S": json.dumps(body, separators=(",", ":"), ensure_ascii=False)},
    }


def read_record(partner: str, client_key: str) -> dict[str, Any] | None:
    """The record under the key (a consistent read), or None."""
    out = clients.client("dynamodb").get_item(
        TableName=clients.table_name(), Key=keys.idempotency_key(partner, client_key), ConsistentRead=True
    )
    return out.get("Item")


def reused_key() -> Unprocessable:
    return Unprocessable("Idempotency-Key was already used with a different request")


def replay(stored: dict[str, Any], digest: str) -> tuple[int, dict[str, Any], bool]:
    """``(status, body, True)`` of a stored response; 422 when it answered another request."""
    if from_wire(stored.get("requestHash", {"S": ""})) != digest or "responseBody" not in stored:
        raise reused_key()
    return int(from_wire(stored["statusCode"])), json.loads(from_wire(stored["responseBody"])), True
