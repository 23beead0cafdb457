"""DynamoDB batch and transaction calls that keep AWS's limits themselves (emulators accept more).

BatchWriteItem: 25 requests and 16 MB per call; BatchGetItem: 100 keys per call;
TransactWriteItems: 100 actions and 4 MB. Unprocessed work is retried with full-jitter backoff
until the deadline. Writes report an outcome for every item, never an exception half way: what was
written, what DynamoDB refused (throttled, invalid), what may or may not have been written (a
timeout or server error after the call was sent), and, for conditional puts, what already existed.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import EndpointConnectionError, HTTPClientError

from apikit import clients, keys
from apikit.codec import item_size
from apikit.errors import THROTTLING_CODES, TRANSIENT_CODES, VALIDATION_CODES, DeadlineExceeded, error_code
from apikit.retry import Deadline, delays, sleep_within

MAX_BATCH_WRITE = 25
MAX_BATCH_GET = 100
MAX_TRANSACT_ACTIONS = 100
MAX_BATCH_WRITE_BYTES = 16 * 1024 * 1024
MAX_TRANSACT_BYTES = 4 * 1024 * 1024
PARALLEL_PUTS = 8  # conditional puts in flight at once (botocore's pool holds 10 connections)

# What happened to one item of a write. Every name but WRITTEN is also a reason clients read.
WRITTEN = "written"
EXISTS = "exists"  # a conditional put found the key taken: nothing was written over it
THROTTLED = "throttled"  # not written: DynamoDB refused for throughput, or no time was left to send it
UNKNOWN = "unknown"  # sent, but no answer: a timeout or a server error after retries
INVALID = "invalid"  # DynamoDB refused the item's data (a gap in our validation)

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


def failure(exc: Exception) -> str:
    """The outcome of a write call that raised; re-raises what is not an AWS failure (a bug)."""
    if isinstance(exc, DeadlineExceeded | EndpointConnectionError):
        return THROTTLED  # never reached DynamoDB
    code = error_code(exc)
    if code in THROTTLING_CODES:
        return THROTTLED
    if code in VALIDATION_CODES:
        return INVALID
    if code in TRANSIENT_CODES or isinstance(exc, HTTPClientError | BotocoreConnectionError):
        return UNKNOWN
    raise exc


def _key(wire_item: dict[str, Any]) -> tuple[str, str]:
    return wire_item["PK"]["S"], wire_item["SK"]["S"]


def write_chunk(
    table: str,
    wire_items: list[dict[str, Any]],
    deadline: Deadline,
    sleep: Callable[[float], None] | None = None,
) -> list[str]:
    """Put up to 25 items with one BatchWriteItem (retrying UnprocessedItems): an outcome per item."""
    if len(wire_items) > MAX_BATCH_WRITE:
        raise LimitExceeded(f"BatchWriteItem takes at most {MAX_BATCH_WRITE} items, got {len(wire_items)}")
    if sum(item_size(i) for i in wire_items) > MAX_BATCH_WRITE_BYTES:
        raise LimitExceeded("BatchWriteItem takes at most 16 MB")
    outcome = {_key(i): WRITTEN for i in wire_items}
    pending = [{"PutRequest": {"Item": i}} for i in wire_items]
    reason = THROTTLED  # of what is still pending when the loop stops: unprocessed at the deadline
    backoff = delays()
    while pending:
        try:
            out = _ddb().batch_write_item(RequestItems={table: pending})
        except Exception as exc:
            reason = failure(exc)
            break
        pending = out.get("UnprocessedItems", {}).get(table, [])
        if pending and not sleep_within(deadline, next(backoff), *([sleep] if sleep else [])):
            break
    for request in pending:
        outcome[_key(request["PutRequest"]["Item"])] = reason
    return [outcome[_key(i)] for i in wire_items]


def write_all(table: str, wire_items: list[dict[str, Any]], deadline: Deadline) -> list[str]:
    """Put any number of items in chunks of 25 (each chunk gets its retries): an outcome per item."""
    out: list[str] = []
    for chunk in chunks(wire_items, MAX_BATCH_WRITE):
        out += [THROTTLED] * len(chunk) if deadline.expired() else write_chunk(table, chunk, deadline)
    return out


def put_new(
    table: str, wire_item: dict[str, Any], ours: Callable[[dict[str, Any]], bool] = lambda _: False
) -> str:
    """A conditional PutItem that never overwrites: WRITTEN, EXISTS, or a failure.

    A taken key is WRITTEN when ``ours(existing item)`` says the existing item is this very write,
    landed by an earlier attempt (a retried call whose first answer was lost, a resumed request).
    """
    try:
        _ddb().put_item(
            TableName=table,
            Item=wire_item,
            ConditionExpression=keys.NOT_EXISTS,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return WRITTEN
    except Exception as exc:
        if error_code(exc) != "ConditionalCheckFailedException":
            return failure(exc)
        existing = getattr(exc, "response", {}).get("Item")
    if existing is None:  # where an implementation omits the old image
        try:
            key = {"PK": wire_item["PK"], "SK": wire_item["SK"]}
            existing = _ddb().get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        except Exception as exc:
            return failure(exc)
    return WRITTEN if existing is not None and ours(existing) else EXISTS


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=PARALLEL_PUTS, thread_name_prefix="apikit-put")


def put_new_all(
    table: str, wire_items: list[dict[str, Any]], ours: Callable[[dict[str, Any]], bool] = lambda _: False
) -> list[str]:
    """``put_new`` for every item, ``PARALLEL_PUTS`` at a time; the request's deadline goes along."""
    if not wire_items:
        return []
    _ddb()  # create the shared client once, before threads race to
    calls = [contextvars.copy_context() for _ in wire_items]
    return list(_pool().map(lambda c, w: c.run(put_new, table, w, ours), calls, wire_items))


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
    """One TransactWriteItems call within AWS's limits (100 actions, 4 MB).

    botocore sends one ClientRequestToken for all of its attempts, so its retries after a lost
    answer are idempotent (DynamoDB remembers the token for 10 minutes).
    """
    if len(actions) > MAX_TRANSACT_ACTIONS:
        raise LimitExceeded(
            f"TransactWriteItems takes at most {MAX_TRANSACT_ACTIONS} actions, got {len(actions)}"
        )
    size = sum(item_size(a["Put"]["Item"]) for a in actions if "Put" in a)
    if size > MAX_TRANSACT_BYTES:
        raise LimitExceeded("TransactWriteItems takes at most 4 MB")
    _ddb().transact_write_items(TransactItems=actions)
