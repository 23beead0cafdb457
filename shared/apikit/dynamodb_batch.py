"""DynamoDB batch and transaction calls that keep AWS's limits themselves (emulators accept more).

BatchWriteItem: 25 requests and 16 MB per call; BatchGetItem: 100 keys per call;
TransactWriteItems: 100 actions and 4 MB. Unprocessed work is retried with full-jitter backoff
until the deadline; what is still unprocessed is returned to the caller, never dropped silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from apikit import clients
from apikit.codec import item_size
from apikit.retry import Deadline, delays, sleep_within

MAX_BATCH_WRITE = 25
MAX_BATCH_GET = 100
MAX_TRANSACT_ACTIONS = 100
MAX_BATCH_WRITE_BYTES = 16 * 1024 * 1024
MAX_TRANSACT_BYTES = 4 * 1024 * 1024

T = TypeVar("T")


class LimitExceeded(ValueError):
    """A call would break an AWS limit: a bug in the caller, not a client mistake."""


def chunks(seq: Sequence[T], size: int) -> Iterator[list[T]]:
    """Consecutive slices of at most ``size``."""
    for start in range(0, len(seq), size):
        yield list(seq[start : start + size])


def _ddb() -> Any:
    return clients.client("dynamodb")


clients.preload("dynamodb")


def write_chunk(
    table: str,
    wire_items: list[dict[str, Any]],
    deadline: Deadline,
    sleep: Callable[[float], None] | None = None,
) -> list[dict[str, Any]]:
    """Put up to 25 items with BatchWriteItem; returns the items still unprocessed at the deadline."""
    if len(wire_items) > MAX_BATCH_WRITE:
        raise LimitExceeded(f"BatchWriteItem takes at most {MAX_BATCH_WRITE} items, got {len(wire_items)}")
    if sum(item_size(i) for i in wire_items) > MAX_BATCH_WRITE_BYTES:
        raise LimitExceeded("BatchWriteItem takes at most 16 MB")
    pending = [{"PutRequest": {"Item": i}} for i in wire_items]
    backoff = delays()
    while pending:
        out = _ddb().batch_write_item(RequestItems={table: pending})
        pending = out.get("UnprocessedItems", {}).get(table, [])
        if pending and not sleep_within(deadline, next(backoff), *([sleep] if sleep else [])):
            break
    return [p["PutRequest"]["Item"] for p in pending]


def write_all(table: str, wire_items: list[dict[str, Any]], deadline: Deadline) -> list[dict[str, Any]]:
    """Put any number of items in chunks of 25; returns those not written (each chunk gets its retries)."""
    failed: list[dict[str, Any]] = []
    for chunk in chunks(wire_items, MAX_BATCH_WRITE):
        if deadline.expired():
            failed += chunk
            continue
        failed += write_chunk(table, chunk, deadline)
    return failed


def get_chunk(
    table: str, wire_keys: list[dict[str, Any]], deadline: Deadline, consistent: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """BatchGetItem of up to 100 keys: ``(items found, keys still unprocessed at the deadline)``."""
    if len(wire_keys) > MAX_BATCH_GET:
        raise LimitExceeded(f"BatchGetItem takes at most {MAX_BATCH_GET} keys, got {len(wire_keys)}")
    found: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = wire_keys
    backoff = delays()
    while pending:
        out = _ddb().batch_get_item(RequestItems={table: {"Keys": pending, "ConsistentRead": consistent}})
        found += out.get("Responses", {}).get(table, [])
        pending = out.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
        if pending and not sleep_within(deadline, next(backoff)):
            break
    return found, pending


def get_all(
    table: str, wire_keys: list[dict[str, Any]], deadline: Deadline, consistent: bool = False
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """BatchGetItem of any number of keys in chunks of 100."""
    found: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for chunk in chunks(wire_keys, MAX_BATCH_GET):
        got, left = get_chunk(table, chunk, deadline, consistent)
        found += got
        pending += left
    return found, pending


def transact_write(actions: list[dict[str, Any]]) -> None:
    """One TransactWriteItems call within AWS's limits (100 actions, 4 MB)."""
    if len(actions) > MAX_TRANSACT_ACTIONS:
        raise LimitExceeded(
            f"TransactWriteItems takes at most {MAX_TRANSACT_ACTIONS} actions, got {len(actions)}"
        )
    size = sum(item_size(a["Put"]["Item"]) for a in actions if "Put" in a)
    if size > MAX_TRANSACT_BYTES:
        raise LimitExceeded("TransactWriteItems takes at most 4 MB")
    _ddb().transact_write_items(TransactItems=actions)
