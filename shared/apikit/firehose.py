"""Firehose PutRecordBatch within AWS's limits, retrying only the records that failed.

Firehose answers a batch call with per-record results: a 200 can still carry ``FailedPutCount``
> 0 and an ``ErrorCode`` on some entries. Only those records (and records of calls that failed
as a whole) are sent again, with exponential backoff and full jitter, until every record is in,
the attempts run out, or the caller's deadline (the Lambda's remaining time) comes near. What is
still pending is returned so the caller can report it (as batch item failures) instead of losing it.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

# PutRecordBatch: at most 500 records and 4 MiB per call (API reference; the limits cannot be raised).
MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024


@dataclass
class Outcome:
    """What happened to a delivery: indexes (into the payloads) still failing, and counters."""

    failed: set[int] = field(default_factory=set)
    calls: int = 0
    attempts: int = 0
    errors: Counter[str] = field(default_factory=Counter)


def batches(payloads: Sequence[bytes], indexes: Sequence[int] | None = None) -> Iterator[list[int]]:
    """Group payload indexes, in order, into calls of at most 500 records and 4 MiB."""
    batch: list[int] = []
    size = 0
    for index in range(len(payloads)) if indexes is None else indexes:
        length = len(payloads[index])
        if batch and (len(batch) == MAX_BATCH_RECORDS or size + length > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(index)
        size += length
    if batch:
        yield batch


def put_all(
    client: Any,
    stream_name: str,
    payloads: Sequence[bytes],
    deadline: float,
    *,
    max_attempts: int = 6,
    base_delay: float = 0.1,
    max_delay: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Deliver every payload (each at most 1,000 KiB) or report which could not be delivered.

    ``deadline`` is a ``clock()`` value: no call starts and no backoff sleeps past it.
    """
    outcome = Outcome()
    pending = list(range(len(payloads)))
    while pending and outcome.attempts < max_attempts:
        if outcome.attempts:
            delay = random.uniform(0, min(max_delay, base_delay * 2**outcome.attempts))
            if clock() + delay >= deadline:
                break
            sleep(delay)
        outcome.attempts += 1
        still: list[int] = []
        for batch in batches(payloads, pending):
            if clock() >= deadline:
                still.extend(batch)
                continue
            still.extend(_put(client, stream_name, payloads, batch, outcome))
        pending = still
    outcome.failed = set(pending)
    return outcome


def _put(
    client: Any, stream_name: str, payloads: Sequence[bytes], batch: list[int], outcome: Outcome
) -> list[int]:
    """One PutRecordBatch call; returns the indexes that did not get in."""
    outcome.calls += 1
    try:
        response = client.put_record_batch(
            DeliveryStreamName=stream_name, Records=[{"Data": payloads[i]} for i in batch]
        )
    except ClientError as error:
        outcome.errors[error.response.get("Error", {}).get("Code", "ClientError")] += len(batch)
        return batch
    except BotoCoreError as error:  # connection or read timeout: the records may or may not be in
        outcome.errors[type(error).__name__] += len(batch)
        return batch
    if not response.get("FailedPutCount"):
        return []
    results = response.get("RequestResponses") or []
    if len(results) != len(batch):  # cannot tell which records failed: send them all again
        outcome.errors["MalformedResponse"] += len(batch)
        return batch
    failed = []
    for index, result in zip(batch, results, strict=True):
        if result.get("ErrorCode"):
            outcome.errors[result["ErrorCode"]] += 1
            failed.append(index)
    return failed
