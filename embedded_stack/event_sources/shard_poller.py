"""Lambda's poller for one shard of a DynamoDB stream: reads in order and delivers as a mapping says.

The mapping's settings are honoured as Lambda does:

- StartingPosition, BatchSize, MaximumBatchingWindowInSeconds; batches stay under the 6 MB
  synchronous payload limit; records of a shard are delivered strictly in order.
- A function error (or timeout) retries the batch; BisectBatchOnFunctionError splits it in two
  first (splitting does not count as a retry); MaximumRetryAttempts and MaximumRecordAgeInSeconds
  (-1 = unlimited) end the retries.
- FunctionResponseTypes=ReportBatchItemFailures: the checkpoint moves to the lowest failed
  sequence number and the batch is retried from there; an empty response means success; an
  invalid itemIdentifier fails the whole batch.
- Records given up on go to the OnFailure destination as Lambda's invocation record for stream
  sources (``DDBStreamBatchInfo``): described only for SQS and SNS, whole (``payload``) for S3. A
  destination that refuses the record is logged and counted (``destination_failures``, as Lambda's
  DestinationDeliveryFailures) and the shard moves on: those records are lost to the mapping.
- Throttles and other service errors are retried with backoff without counting as retries,
  until the records expire, as Lambda does for errors before the function runs.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from embedded_stack.event_sources.clients import Clients
from embedded_stack.event_sources.records import failure_record, lambda_record
from embedded_stack.event_sources.settings import MappingSettings
from embedded_stack.lambda_runtime import MAX_SYNC_PAYLOAD, InvokeResult
from embedded_stack.moto_server import faults

log = logging.getLogger("embedded.streams")

POLL_INTERVAL_S = 0.25  # Lambda polls each shard four times a second
GET_RECORDS_LIMIT = 1000  # DynamoDB Streams' GetRecords maximum
RETRY_BASE_S = 0.05
RETRY_MAX_S = 2.0

Invoke = Callable[..., InvokeResult]


@dataclass
class _Pending:
    """A contiguous run of records still to deliver, with the invocations it has used so far."""

    records: list[dict[str, Any]]
    retries: int = 0
    invokes: int = 0


@dataclass
class ShardStats:
    """What a shard poller has done; tests and ``StreamPollers.wait_idle`` read it."""

    delivered: int = 0
    failed_to_destination: int = 0
    destination_failures: int = 0
    caught_up_at: float = 0.0  # wall time the last GetRecords that found nothing left to deliver began
    lock: threading.Lock = field(default_factory=threading.Lock)


class ShardPoller(threading.Thread):
    """Reads one shard in order and delivers its records to the mapping's function."""

    def __init__(
        self,
        settings: MappingSettings,
        shard_id: str,
        clients: Clients,
        invoke: Invoke,
        stop: threading.Event,
        *,
        poll_interval_s: float = POLL_INTERVAL_S,
        resume_after: str | None = None,
    ) -> None:
        super().__init__(name=f"stream-{settings.uuid[:8]}-{shard_id[-8:]}", daemon=True)
        self.settings = settings
        self.shard_id = shard_id
        self._clients = clients
        self._invoke = invoke
        self._halt = stop
        self._poll = poll_interval_s
        self.stats = ShardStats()
        # Sequence number of the last record fully dealt with (delivered or sent to the destination).
        self.checkpoint: str | None = resume_after
        self._version = (
            settings.function_arn.rsplit(":", 1)[-1] if settings.function_arn.count(":") > 6 else None
        )

    # -- reading -------------------------------------------------------------------------

    def _iterator(self) -> str:
        """From the checkpoint when there is one (a mapping update keeps it, as Lambda's does)."""
        if self.checkpoint is not None:
            return self._clients.streams.get_shard_iterator(
                StreamArn=self.settings.stream_arn,
                ShardId=self.shard_id,
                ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                SequenceNumber=self.checkpoint,
            )["ShardIterator"]
        kind = "TRIM_HORIZON" if self.settings.starting_position == "TRIM_HORIZON" else "LATEST"
        return self._clients.streams.get_shard_iterator(
            StreamArn=self.settings.stream_arn, ShardId=self.shard_id, ShardIteratorType=kind
        )["ShardIterator"]

    def _fetch(self, iterator: str) -> tuple[list[dict[str, Any]], str]:
        response = self._clients.streams.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
        records = [lambda_record(r, self.settings.stream_arn) for r in response.get("Records", [])]
        return records, response.get("NextShardIterator") or iterator

    def run(self) -> None:
        try:
            self._loop()
        except Exception:  # a poller must say why it died, loudly; StreamPollers restarts it
            log.exception("stream poller %s for %s died", self.name, self.settings.function_arn)

    def _loop(self) -> None:
        iterator = self._iterator()
        buffer: list[dict[str, Any]] = []
        window_start = 0.0
        window = self.settings.batching_window_s
        while not self._halt.is_set():
            fetch_started = time.time()
            try:
                records, iterator = self._fetch(iterator)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code in ("ExpiredIteratorException", "TrimmedDataAccessException"):
                    iterator = self._iterator()
                    continue
                raise
            now = time.monotonic()
            if records:
                if not buffer:
                    window_start = now
                buffer.extend(records)
            elif not buffer:
                with self.stats.lock:
                    # When the empty read *started*: a write that raced the read is not "caught up".
                    self.stats.caught_up_at = fetch_started
                self._halt.wait(self._poll)
                continue
            waited = now - window_start
            if len(buffer) < self.settings.batch_size and waited < window:
                self._halt.wait(min(self._poll, window - waited))
                continue
            while buffer and not self._halt.is_set():
                batch = self._cut(buffer)
                if not self._deliver(batch):
                    return  # halted mid-batch: the checkpoint stays before it
                self.checkpoint = batch[-1]["dynamodb"]["SequenceNumber"]
                del buffer[: len(batch)]
                if len(buffer) < self.settings.batch_size and window > 0:
                    break
            window_start = time.monotonic()

    def _cut(self, buffer: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The next batch: at most BatchSize records and a payload under Lambda's 6 MB limit."""
        batch: list[dict[str, Any]] = []
        size = len('{"Records":[]}')
        for record in buffer[: self.settings.batch_size]:
            record_size = len(json.dumps(record, separators=(",", ":")).encode()) + 1
            if batch and size + record_size > MAX_SYNC_PAYLOAD:
                break
            batch.append(record)
            size += record_size
        return batch

    # -- delivering ----------------------------------------------------------------------

    def _deliver(self, batch: list[dict[str, Any]]) -> bool:
        """Deliver a batch completely: every record succeeds or goes to the destination (False: halted)."""
        queue = [_Pending(batch)]
        throttled_for = 0
        while queue and not self._halt.is_set():
            pending = queue[0]
            pending.records = self._expire(pending)
            if not pending.records:
                queue.pop(0)
                continue
            result = self._invoke(self.settings.function_arn, None, {"Records": pending.records})
            pending.invokes += 1
            faults.poller_crash(self.name)  # injected: the function took the batch, no checkpoint yet
            if result.status == "ok":
                failed_at = self._first_failure(pending.records, result.payload)
                if failed_at is None:
                    self._delivered(len(pending.records))
                    queue.pop(0)
                    continue
                self._delivered(failed_at)
                pending.records = pending.records[failed_at:]
            elif result.function_error is None:
                # The function never ran (throttled, service error): retried until the records expire.
                throttled_for += 1
                self._halt.wait(min(RETRY_BASE_S * 2**throttled_for, RETRY_MAX_S))
                continue
            elif self.settings.bisect and len(pending.records) > 1:
                half = len(pending.records) // 2
                queue[0:1] = [
                    _Pending(pending.records[:half], pending.retries),
                    _Pending(pending.records[half:], pending.retries),
                ]
                continue
            pending.retries += 1
            if 0 <= self.settings.max_retries < pending.retries:
                self._give_up(pending.records, "RetryAttemptsExhausted", pending.invokes, result)
                queue.pop(0)
                continue
            self._halt.wait(min(RETRY_BASE_S * 2 ** min(pending.retries, 10), RETRY_MAX_S))
        return not queue

    def _first_failure(self, records: list[dict[str, Any]], payload: Any) -> int | None:
        """Index of the lowest reported failure (None = all succeeded), per ReportBatchItemFailures."""
        if not self.settings.report_item_failures or not isinstance(payload, dict):
            return None
        failures = payload.get("batchItemFailures")
        if not failures:
            return None
        if not isinstance(failures, list):
            return 0
        positions = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(records)}
        indexes = []
        for failure in failures:
            ident = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not isinstance(ident, str) or ident not in positions:
                return 0  # Lambda treats an invalid identifier as a failure of the whole batch
            indexes.append(positions[ident])
        return min(indexes)

    def _expire(self, pending: _Pending) -> list[dict[str, Any]]:
        """Drop (to the destination) leading records older than MaximumRecordAgeInSeconds."""
        limit = self.settings.max_record_age_s
        if limit < 0:
            return pending.records
        cutoff = time.time() - limit
        expired = 0
        for record in pending.records:
            if record["dynamodb"]["ApproximateCreationDateTime"] >= cutoff:
                break
            expired += 1
        if expired:
            self._give_up(pending.records[:expired], "RecordAgeExceeded", pending.invokes, None)
        return pending.records[expired:]

    def _delivered(self, count: int) -> None:
        with self.stats.lock:
            self.stats.delivered += count

    def _give_up(
        self, records: list[dict[str, Any]], condition: str, invokes: int, last: InvokeResult | None
    ) -> None:
        with self.stats.lock:
            self.stats.failed_to_destination += len(records)
        destination = self.settings.on_failure
        log.warning(
            "%s: %d record(s) from %s discarded (%s)%s",
            self.settings.function_arn,
            len(records),
            self.shard_id,
            condition,
            f", described in {destination}" if destination else "",
        )
        if not destination:
            return
        message = failure_record(
            records,
            shard_id=self.shard_id,
            stream_arn=self.settings.stream_arn,
            function_arn=self.settings.function_arn,
            condition=condition,
            invoke_count=invokes,
            last=last,
            executed_version=self._version or "$LATEST",
        )
        try:
            self._clients.send_to_destination(
                destination,
                message,
                records=records,
                mapping_uuid=self.settings.uuid,
                shard_id=self.shard_id,
                function_arn=self.settings.function_arn,
            )
        except Exception:
            with self.stats.lock:
                self.stats.destination_failures += 1
            log.exception(
                "%s: could not deliver to %s; records dropped", self.settings.function_arn, destination
            )
