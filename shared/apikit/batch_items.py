"""POST /batch and GET /batch: creating and reading many items of one partner at once.

Non-atomic writes use BatchWriteItem, which cannot be conditional: ids the client chose are first
checked with BatchGetItem and reported as "already exists". A concurrent create of the same id
between that check and the write can still be overwritten; ``atomic=true`` is strict (conditional
puts in one transaction) and is the choice when that matters.
"""

from __future__ import annotations

from typing import Any

from apikit import clients, dynamodb_batch, items, keys
from apikit.codec import item_from_wire
from apikit.errors import ApiError, Conflict, ServiceUnavailable, from_client_error
from apikit.retry import Deadline, delays, sleep_within

ALREADY_EXISTS = "already exists"
NOT_PROCESSED = "not processed: throughput exceeded, retry"


def _existing_ids(partner: str, ids: list[str], deadline: Deadline) -> set[str]:
    if not ids:
        return set()
    found, unprocessed = dynamodb_batch.get_all(
        clients.table_name(), [keys.item_key(partner, i) for i in ids], deadline, consistent=True
    )
    if unprocessed:
        raise ServiceUnavailable()
    return {item_from_wire(i)["id"] for i in found}


def create_many(
    partner: str, bodies: list[dict[str, Any]], deadline: Deadline
) -> tuple[list[str], list[dict[str, str]]]:
    """Write validated bodies with BatchWriteItem: ``(written ids, [{"id", "reason"}])`` in body order."""
    now = items.now_iso()
    built = [items.build(partner, b, now) for b in bodies]
    wire = [items.to_wire_checked(i) for i in built]
    exists = _existing_ids(partner, [b["id"] for b in bodies if "id" in b], deadline)
    todo = [w for i, w in zip(built, wire, strict=True) if i["id"] not in exists]
    unwritten = dynamodb_batch.write_all(clients.table_name(), todo, deadline)
    not_written = {item_from_wire(w)["id"] for w in unwritten}
    written, failed = [], []
    for item in built:
        if item["id"] in exists:
            failed.append({"id": item["id"], "reason": ALREADY_EXISTS})
        elif item["id"] in not_written:
            failed.append({"id": item["id"], "reason": NOT_PROCESSED})
        else:
            written.append(item["id"])
    return written, failed


def create_atomic(partner: str, bodies: list[dict[str, Any]], deadline: Deadline) -> list[str]:
    """All or nothing: conditional puts in one TransactWriteItems; 409 naming every id that exists."""
    now = items.now_iso()
    built = [items.build(partner, b, now) for b in bodies]
    actions = [
        {
            "Put": {
                "TableName": clients.table_name(),
                "Item": items.to_wire_checked(i),
                "ConditionExpression": items.NOT_EXISTS,
            }
        }
        for i in built
    ]
    backoff = delays(base=0.05, cap=1.0)
    while True:
        try:
            dynamodb_batch.transact_write(actions)
            return [i["id"] for i in built]
        except dynamodb_batch.LimitExceeded as exc:
            raise ApiError(str(exc), status=413) from exc
        except Exception as exc:
            reasons = getattr(exc, "response", {}).get("CancellationReasons") or []
            if not reasons:
                raise
            taken = [
                i["id"]
                for i, r in zip(built, reasons, strict=False)
                if r.get("Code") == "ConditionalCheckFailed"
            ]
            if taken:
                raise Conflict(
                    f"items already exist: {', '.join(taken)}; nothing was written",
                    errors=[
                        {"field": f"items[{built.index(i)}].id", "reason": ALREADY_EXISTS}
                        for i in built
                        if i["id"] in taken
                    ],
                ) from exc
            codes = {r.get("Code") for r in reasons}
            if codes & {"ThrottlingError", "ProvisionedThroughputExceeded"}:
                raise ServiceUnavailable() from exc
            if not sleep_within(deadline, next(backoff)):
                raise from_client_error(exc) or ServiceUnavailable() from exc


def get_many(partner: str, ids: list[str], deadline: Deadline) -> tuple[list[dict[str, Any]], list[str]]:
    """Items found (in request order) and ids missing; unprocessed keys after retries are a 503."""
    found, unprocessed = dynamodb_batch.get_all(
        clients.table_name(), [keys.item_key(partner, i) for i in ids], deadline
    )
    if unprocessed:
        raise ServiceUnavailable()
    by_id = {i["id"]: items.public(i) for i in map(item_from_wire, found)}
    return [by_id[i] for i in ids if i in by_id], [i for i in ids if i not in by_id]
