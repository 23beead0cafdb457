"""Event source mappings for DynamoDB streams: Lambda's stream poller, reading the deployed mappings.

For every enabled mapping in the control plane whose source is a DynamoDB stream, one thread per
shard reads records through the DynamoDB Streams API at the moto endpoint (moto itself must not
consume the stream: see moto_patches) and invokes the function through the runner, honouring the
mapping as Lambda does:

- StartingPosition, BatchSize, MaximumBatchingWindowInSeconds; batches stay under the 6 MB
  synchronous payload limit; records of a shard are delivered strictly in order.
- A function error (or timeout) retries the batch; BisectBatchOnFunctionError splits it in two
  first (splitting does not count as a retry); MaximumRetryAttempts and MaximumRecordAgeInSeconds
  (-1 = unlimited) end the retries.
- FunctionResponseTypes=ReportBatchItemFailures: the checkpoint moves to the lowest failed
  sequence number and the batch is retried from there; an empty response means success; an
  invalid itemIdentifier fails the whole batch.
- Records given up on are described (not included) in a message to the OnFailure destination,
  shaped as Lambda's invocation record for stream sources (``DDBStreamBatchInfo``).
- Throttles and other service errors are retried with backoff without counting as retries,
  until the records expire, as Lambda does for errors before the function runs.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from embedded_stack.lambda_runtime import MAX_SYNC_PAYLOAD, InvokeResult

log = logging.getLogger("embedded.streams")

POLL_INTERVAL_S = 0.25  # Lambda polls each shard four times a second
REFRESH_INTERVAL_S = 2.0  # how often the set of mappings is re-read from the control plane
GET_RECORDS_LIMIT = 1000  # DynamoDB Streams' GetRecords maximum
RETRY_BASE_S = 0.05
RETRY_MAX_S = 2.0

Invoke = Callable[..., InvokeResult]


# --------------------------------------------------------------------------- records and events


def _wire_value(value: Any) -> Any:
    """An AttributeValue as DynamoDB JSON puts it on the wire (boto3 decoded binary into bytes)."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _wire_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire_value(v) for v in value]
    if isinstance(value, set):
        return [_wire_value(v) for v in sorted(value)]
    return value


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def lambda_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record reshaped into a record of Lambda's DynamoDB stream event."""
    ddb = record["dynamodb"]
    out: dict[str, Any] = {
        "ApproximateCreationDateTime": int(_epoch(ddb["ApproximateCreationDateTime"])),
        "Keys": _wire_value(ddb["Keys"]),
    }
    for image in ("NewImage", "OldImage"):
        if image in ddb:
            out[image] = _wire_value(ddb[image])
    out["SequenceNumber"] = ddb["SequenceNumber"]
    out["SizeBytes"] = ddb["SizeBytes"]
    out["StreamViewType"] = ddb["StreamViewType"]
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": record.get("eventSource", "aws:dynamodb"),
        "awsRegion": record["awsRegion"],
        "dynamodb": out,
        "eventSourceARN": stream_arn,
    }


def _iso(epoch_s: float, millis: bool = False) -> str:
    stamp = datetime.fromtimestamp(epoch_s, UTC)
    if millis:
        return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_record(
    records: list[dict[str, Any]],
    *,
    shard_id: str,
    stream_arn: str,
    function_arn: str,
    condition: str,
    invoke_count: int,
    last: InvokeResult | None,
    executed_version: str,
) -> dict[str, Any]:
    """The JSON Lambda sends to an on-failure destination for a stream batch it gave up on."""
    first, final = records[0]["dynamodb"], records[-1]["dynamodb"]
    response: dict[str, Any] = {"statusCode": 200, "executedVersion": executed_version}
    if last is not None and last.function_error:
        response["functionError"] = last.function_error
    elif last is not None and last.status == "throttled":
        response = {"statusCode": 429, "executedVersion": executed_version}
    return {
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "responseContext": response,
        "version": "1.0",
        "timestamp": _iso(time.time(), millis=True),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": final["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(first["ApproximateCreationDateTime"]),
            "approximateArrivalOfLastRecord": _iso(final["ApproximateCreationDateTime"]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


# --------------------------------------------------------------------------- mapping settings


@dataclass(frozen=True)
class MappingSettings:
    """The deployed mapping, as list_event_source_mappings reports it."""

    uuid: str
    function_arn: str
    stream_arn: str
    batch_size: int
    batching_window_s: float
    starting_position: str
    bisect: bool
    max_retries: int  # -1 = until the record expires
    max_record_age_s: int  # -1 = until the record expires
    report_item_failures: bool
    on_failure: str | None

    @classmethod
    def from_api(cls, m: dict[str, Any]) -> MappingSettings:
        def _int(key: str, default: int) -> int:
            value = m.get(key)
            return default if value is None else int(value)

        return cls(
            uuid=m["UUID"],
            function_arn=m["FunctionArn"],
            stream_arn=m["EventSourceArn"],
            batch_size=_int("BatchSize", 100),
            batching_window_s=float(m.get("MaximumBatchingWindowInSeconds") or 0),
            starting_position=m.get("StartingPosition") or "LATEST",
            bisect=bool(m.get("BisectBatchOnFunctionError")),
            max_retries=_int("MaximumRetryAttempts", -1),
            max_record_age_s=_int("MaximumRecordAgeInSeconds", -1),
            report_item_failures="ReportBatchItemFailures" in (m.get("FunctionResponseTypes") or []),
            on_failure=((m.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination"),
        )


def is_dynamodb_stream(arn: str) -> bool:
    return arn.startswith("arn:") and ":dynamodb:" in arn and "/stream/" in arn


# --------------------------------------------------------------------------- one shard


@dataclass
class _Pending:
    """A contiguous run of records still to deliver, with the invocations it has used so far."""

    records: list[dict[str, Any]]
    retries: int = 0
    invokes: int = 0


@dataclass
class ShardStats:
    """What a shard poller has done; tests and `drain` read it."""

    delivered: int = 0
    failed_to_destination: int = 0
    invocations: int = 0
    caught_up_at: float = 0.0  # wall time of the last GetRecords that found nothing left to deliver
    lock: threading.Lock = field(default_factory=threading.Lock)


class ShardPoller(threading.Thread):
    """Reads one shard in order and delivers its records to the mapping's function."""

    def __init__(
        self,
        settings: MappingSettings,
        shard_id: str,
        clients: _Clients,
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
        except Exception:  # a poller must say why it died, loudly
            log.exception("stream poller %s for %s stopped", self.name, self.settings.function_arn)
            raise

    def _loop(self) -> None:
        iterator = self._iterator()
        buffer: list[dict[str, Any]] = []
        window_start = 0.0
        window = self.settings.batching_window_s
        while not self._halt.is_set():
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
                    self.stats.caught_up_at = time.time()
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
            with self.stats.lock:
                self.stats.invocations += 1
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
        self._clients.send_to_destination(destination, json.dumps(message))


# --------------------------------------------------------------------------- clients


class _Clients:
    """boto3 clients at the moto endpoint, shared by the pollers (boto3 clients are thread-safe)."""

    def __init__(self, endpoint_url: str, region: str) -> None:
        def make(service: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id="embedded",
                aws_secret_access_key="embedded",  # noqa: S106 - moto accepts anything
                config=Config(retries={"mode": "standard"}, max_pool_connections=20),
            )

        self.streams = make("dynamodbstreams")
        self.lambda_ = make("lambda")
        self._sqs = make("sqs")
        self._sns = make("sns")
        self._queue_urls: dict[str, str] = {}

    def send_to_destination(self, arn: str, body: str) -> None:
        service = arn.split(":")[2]
        if service == "sqs":
            url = self._queue_urls.get(arn)
            if url is None:
                _, _, _, _, account, name = arn.split(":", 5)
                url = self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
                self._queue_urls[arn] = url
            self._sqs.send_message(QueueUrl=url, MessageBody=body)
        elif service == "sns":
            self._sns.publish(TopicArn=arn, Message=body)
        else:
            log.error("on-failure destination %s is not supported here (SQS and SNS are)", arn)


# --------------------------------------------------------------------------- all mappings


class StreamPollers:
    """Keeps one poller per (DynamoDB stream mapping, shard) running, following the control plane."""

    def __init__(
        self,
        endpoint_url: str,
        region: str,
        invoke: Invoke,
        *,
        poll_interval_s: float = POLL_INTERVAL_S,
        refresh_interval_s: float = REFRESH_INTERVAL_S,
    ) -> None:
        self._clients = _Clients(endpoint_url, region)
        self._invoke = invoke
        self._poll = poll_interval_s
        self._refresh = refresh_interval_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pollers: dict[tuple[str, str], tuple[ShardPoller, threading.Event]] = {}
        self._thread: threading.Thread | None = None
        self._warned: set[str] = set()

    def start(self) -> StreamPollers:
        self.sync()
        self._thread = threading.Thread(target=self._watch, name="stream-mappings", daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(self._refresh):
            try:
                self.sync()
            except Exception:
                log.exception("could not refresh event source mappings")

    def _mappings(self) -> list[MappingSettings]:
        found = []
        for page in self._clients.lambda_.get_paginator("list_event_source_mappings").paginate():
            for m in page.get("EventSourceMappings", []):
                if is_dynamodb_stream(m.get("EventSourceArn", "")) and m.get("State") == "Enabled":
                    if (m.get("FilterCriteria") or {}).get("Filters") and m["UUID"] not in self._warned:
                        self._warned.add(m["UUID"])
                        log.warning(
                            "mapping %s: FilterCriteria are not applied here (all records delivered)",
                            m["UUID"],
                        )
                    found.append(MappingSettings.from_api(m))
        return found

    def sync(self) -> None:
        """Start pollers for new mappings and shards; stop those of removed or changed mappings."""
        wanted: dict[tuple[str, str], MappingSettings] = {}
        for settings in self._mappings():
            shards = self._clients.streams.describe_stream(StreamArn=settings.stream_arn)["StreamDescription"]
            for shard in shards.get("Shards", []):
                wanted[(settings.uuid, shard["ShardId"])] = settings
        retired: dict[tuple[str, str], ShardPoller] = {}
        with self._lock:
            for key, (poller, stop) in list(self._pollers.items()):
                if wanted.get(key) != poller.settings:
                    stop.set()
                    del self._pollers[key]
                    retired[key] = poller
        for poller in retired.values():
            poller.join(timeout=60)  # let it finish its batch so the checkpoint is exact
        with self._lock:
            for key, settings in wanted.items():
                if key in self._pollers or self._stop.is_set():
                    continue
                stop = threading.Event()
                poller = ShardPoller(
                    settings,
                    key[1],
                    self._clients,
                    self._invoke,
                    stop,
                    poll_interval_s=self._poll,
                    resume_after=retired[key].checkpoint if key in retired else None,
                )
                self._pollers[key] = (poller, stop)
                poller.start()

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Wait until every shard poller has delivered all that was in its shard when this was called."""
        since = time.time()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pollers = self.pollers()
            if all(p.stats.caught_up_at > since for p in pollers):
                return True
            time.sleep(0.05)
        return False

    def pollers(self) -> list[ShardPoller]:
        with self._lock:
            return [p for p, _ in self._pollers.values()]

    def halt(self) -> None:
        """Ask every poller to stop after its current step (does not wait)."""
        self._stop.set()
        with self._lock:
            for _, stop in self._pollers.values():
                stop.set()

    def join(self, timeout_s: float = 10.0) -> None:
        with self._lock:
            pollers = [p for p, _ in self._pollers.values()]
            self._pollers.clear()
        for poller in pollers:
            poller.join(timeout=timeout_s)
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        self.halt()
        self.join(timeout_s)
