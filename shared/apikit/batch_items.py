"""POST /batch and GET /batch: creating and reading many items of one partner at once.

A batch never writes over an item. Ids the server generates (UUID4) cannot collide, so those items
take the cheap path, BatchWriteItem in chunks of 25. An id the client chose may exist already or be
created by someone else while the batch runs, and BatchWriteItem cannot be conditional: those items
are conditional PutItems (``attribute_not_exists``), a few in parallel, each answering for itself.
Both cost the same write capacity per item; only the number of calls differs (benchmarks/README.md).

Every item ends with an outcome (``apikit.dynamodb_batch``): written, or failed with a reason the
client can act on. ``atomic=true`` is one transaction of conditional puts: all or nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apikit import clients, dynamodb_batch, items, keys
from apikit.codec import item_from_wire
from apikit.dynamodb_batch import THROTTLED, UNKNOWN, WRITTEN
from apikit.errors import ApiError, BadRequest, Conflict, ServiceUnavailable, error_code, retry_after
from apikit.retry import Deadline, delays, sleep_within

ALREADY_EXISTS = "already exists"
RETRYABLE = frozenset({THROTTLED, UNKNOWN})
_CANCELLED_BY_THROUGHPUT = {"ThrottlingError", "ProvisionedThroughputExceeded"}


@dataclass
class BatchResult:
    """The outcome of a non-atomic batch: one id and one outcome per item, in request order."""

    ids: list[str]
    outcomes: list[str]

    def failed(self) -> list[dict[str, Any]]:
        return [
            {"index": n, "id": i, "reason": o}
            for n, (i, o) in enumerate(zip(self.ids, self.outcomes, strict=True))
            if o != WRITTEN
        ]

    def body(self) -> dict[str, Any]:
        """``{"written": [ids], "failed": [{"index", "id", "reason"}]}``, both in request order."""
        written = [i for i, o in zip(self.ids, self.outcomes, strict=True) if o == WRITTEN]
        out: dict[str, Any] = {"written": written, "failed": self.failed()}
        return {"message": "service busy, retry later", **out} if self.status() == 503 else out

    def status(self) -> int:
        """201 all written; 503 none written, all throttled (resend it all); else 207."""
        if all(o == WRITTEN for o in self.outcomes):
            return 201
        return 503 if all(o == THROTTLED for o in self.outcomes) else 207

    def retryable(self) -> bool:
        """Whether some item may be written by sending it again (throttled, or outcome unknown)."""
        return any(o in RETRYABLE for o in self.outcomes)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": retry_after()} if self.retryable() else {}


def check_storable(partner: str, bodies: list[dict[str, Any]]) -> None:
    """400/413 for any item DynamoDB could not store, before anything (a record included) is written."""
    now = items.now_iso()
    for body in bodies:
        items.to_wire_checked(items.build(partner, body, now))


def _same_write(wire: dict[str, Any]) -> Any:
    """Whether an existing item is ``wire`` written by an earlier attempt of the same request."""

    def same(existing: dict[str, Any]) -> bool:
        return existing.get("createdAt") == wire["createdAt"] and existing.get("userId") == wire["userId"]

    return same


def create_many(
    partner: str,
    bodies: list[dict[str, Any]],
    deadline: Deadline,
    *,
    now: str | None = None,
    generated: list[bool] | None = None,
    resumed: bool = False,
) -> BatchResult:
    """Write validated bodies, never over an existing item: an outcome per item.

    ``generated`` marks the ids the server chose (default: bodies without an ``id``); they go
    through BatchWriteItem unless ``resumed`` (an earlier attempt of this request may have written
    them, and then only a conditional put can tell). ``now`` is the items' ``createdAt``.
    """
    now = now or items.now_iso()
    built = [items.build(partner, b, now) for b in bodies]
    wire = [items.to_wire_checked(i) for i in built]
    generated = generated if generated is not None else ["id" not in b for b in bodies]
    cheap = [n for n, g in enumerate(generated) if g and not resumed]
    careful = [n for n, g in enumerate(generated) if not (g and not resumed)]
    outcomes = [WRITTEN] * len(built)
    table = clients.table_name()
    batched = dynamodb_batch.write_all(table, [wire[n] for n in cheap], deadline)
    for n, outcome in zip(cheap, batched, strict=True):
        outcomes[n] = outcome
    puts = dynamodb_batch.put_new_all(table, [wire[n] for n in careful], _ours(wire, careful))
    for n, outcome in zip(careful, puts, strict=True):
        outcomes[n] = outcome
    return BatchResult([i["id"] for i in built], outcomes)


def _ours(wire: list[dict[str, Any]], indexes: list[int]) -> Any:
    by_key = {wire[n]["PK"]["S"]: wire[n] for n in indexes}

    def ours(existing: dict[str, Any]) -> bool:
        mine = by_key.get(existing.get("PK", {}).get("S", ""))
        return mine is not None and _same_write(mine)(existing)

    return ours


class RecordTaken(Exception):
    """The extra (idempotency record) action of an atomic batch failed its condition."""

    def __init__(self, existing: dict[str, Any] | None) -> None:
        super().__init__("idempotency record exists")
        self.existing = existing


def create_atomic(
    partner: str,
    bodies: list[dict[str, Any]],
    deadline: Deadline,
    *,
    now: str | None = None,
    extra: dict[str, Any] | None = None,
    resumed: bool = False,
) -> list[str]:
    """All or nothing: conditional puts (plus ``extra``) in one TransactWriteItems.

    409 naming every id that exists; ``RecordTaken`` when ``extra``'s condition fails. When
    ``resumed``, items that exist and are this request's own (an earlier attempt committed the
    transaction) mean success. An answer lost after retries is a 503 naming the ids to check.
    """
    now = now or items.now_iso()
    built = [items.build(partner, b, now) for b in bodies]
    wire = [items.to_wire_checked(i) for i in built]
    ids = [i["id"] for i in built]
    table = clients.table_name()
    actions: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table,
                "Item": w,
                "ConditionExpression": keys.NOT_EXISTS,
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        for w in wire
    ]
    backoff = delays(base=0.05, cap=1.0)
    while True:
        try:
            dynamodb_batch.transact_write([*actions, *([extra] if extra else [])])
            return ids
        except dynamodb_batch.LimitExceeded as exc:
            raise ApiError(str(exc), status=413) from exc
        except Exception as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise _unanswered(exc, ids) from exc
            reasons = [*(getattr(exc, "response", {}).get("CancellationReasons") or [])]
        codes = {r.get("Code") for r in reasons}
        if extra and len(reasons) > len(wire) and reasons[len(wire)].get("Code") == "ConditionalCheckFailed":
            raise RecordTaken(reasons[len(wire)].get("Item"))
        taken = [n for n, r in enumerate(reasons[: len(wire)]) if r.get("Code") == "ConditionalCheckFailed"]
        if taken and resumed and _committed_before(table, wire, reasons, taken):
            return ids
        if taken:
            raise Conflict(
                f"items already exist: {', '.join(ids[n] for n in taken)}; nothing was written",
                errors=[{"field": f"items[{n}].id", "reason": ALREADY_EXISTS} for n in taken],
            )
        if "ValidationError" in codes:
            raise BadRequest("the request holds a value the database cannot store")
        if codes & _CANCELLED_BY_THROUGHPUT:
            raise ServiceUnavailable()
        # TransactionConflict: another transaction touched one of these keys; try again.
        if not sleep_within(deadline, next(backoff)):
            raise ServiceUnavailable()


def _committed_before(
    table: str, wire: list[dict[str, Any]], reasons: list[dict[str, Any]], taken: list[int]
) -> bool:
    """Whether a taken key holds this request's own item (then its transaction committed earlier)."""
    n = taken[0]
    existing = reasons[n].get("Item")
    if existing is None:
        key = {"PK": wire[n]["PK"], "SK": wire[n]["SK"]}
        read = clients.client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True)
        existing = read.get("Item")
    return existing is not None and _same_write(wire[n])(existing)


def _unanswered(exc: Exception, ids: list[str]) -> Exception:
    """What a failed transaction call tells the client: throttled, invalid, or an unknown outcome."""
    outcome = dynamodb_batch.failure(exc)
    if outcome == UNKNOWN:
        return ServiceUnavailable(
            "the outcome is unknown: read the ids (GET /batch) or retry with the same Idempotency-Key",
            body={"ids": ids},
        )
    if outcome == THROTTLED:
        return ServiceUnavailable()
    return BadRequest("the request holds a value the database cannot store")


def get_many(partner: str, ids: list[str], deadline: Deadline) -> tuple[list[dict[str, Any]], list[str]]:
    """Items found (in request order) and ids missing; unprocessed keys after retries are a 503."""
    found, unprocessed = dynamodb_batch.get_all(
        clients.table_name(), [keys.item_key(partner, i) for i in ids], deadline
    )
    if unprocessed:
        raise ServiceUnavailable()
    by_id = {i["id"]: items.public(i) for i in map(item_from_wire, found)}
    return [by_id[i] for i in ids if i in by_id], [i for i in ids if i not in by_id]
