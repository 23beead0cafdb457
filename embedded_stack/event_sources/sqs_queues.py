"""Event source mappings for SQS queues, following the deployed mappings in the control plane.

Lambda's SQS poller as AWS documents it, against moto's queue (which keeps visibility, receive
counts, FIFO message-group locking and the redrive to the dead-letter queue itself):

- ``POLLERS_PER_MAPPING`` concurrent pollers per mapping (Lambda starts with five), each receiving up
  to BatchSize messages with every system attribute and invoking the function synchronously; on
  a FIFO queue SQS itself keeps one group's messages out of two batches at once.
- A successful invocation deletes the batch; with ReportBatchItemFailures only the messages not
  listed in ``batchItemFailures`` (an identifier that is not in the batch, or a malformed response,
  fails the whole batch, as in Lambda). A failed, timed-out or throttled invocation deletes
  nothing: the messages come back when their visibility timeout ends (the function may have changed
  it), and after the queue's maxReceiveCount SQS moves them to the dead-letter queue.
- moto must not push messages to Lambda itself (moto_server.patches keeps it from doing so).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from embedded_stack.event_sources.clients import Clients
from embedded_stack.event_sources.shard_poller import Invoke

log = logging.getLogger("embedded.queues")

POLLERS_PER_MAPPING = 5
EMPTY_PAUSE_S = 0.1  # between receives that found the queue empty
REFRESH_INTERVAL_S = 2.0


@dataclass(frozen=True)
class QueueMapping:
    """The deployed SQS mapping, as list_event_source_mappings reports it."""

    uuid: str
    function_arn: str
    queue_arn: str
    batch_size: int
    report_item_failures: bool

    @classmethod
    def from_api(cls, m: dict[str, Any]) -> QueueMapping:
        return cls(
            uuid=m["UUID"],
            function_arn=m["FunctionArn"],
            queue_arn=m["EventSourceArn"],
            batch_size=int(m.get("BatchSize") or 10),
            report_item_failures="ReportBatchItemFailures" in (m.get("FunctionResponseTypes") or []),
        )


def is_sqs_queue(arn: str) -> bool:
    return arn.startswith("arn:") and arn.split(":")[2:3] == ["sqs"]


@dataclass
class QueueStats:
    """What a mapping's pollers have done (tests read it)."""

    invocations: int = 0
    deleted: int = 0
    returned: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def lambda_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One message as Lambda's SQS event carries it."""
    attributes = {
        k: v
        for k, v in (message.get("Attributes") or {}).items()
        if k
        in (
            "ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp",
            "MessageGroupId", "MessageDeduplicationId", "SequenceNumber", "AWSTraceHeader",
        )
    }  # fmt: skip
    message_attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType"),
        }
        for name, value in (message.get("MessageAttributes") or {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_ids(payload: Any, batch_ids: set[str]) -> set[str] | None:
    """Message ids a partial batch response reports; None when the response fails the whole batch."""
    if payload is None or payload == {}:
        return set()
    if not isinstance(payload, dict):
        return None
    failures = payload.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    ids = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in batch_ids:
            return None
        ids.add(identifier)
    return ids


class QueuePollers:
    """Keeps ``POLLERS_PER_MAPPING`` pollers per enabled SQS mapping running, following the control plane."""

    def __init__(self, endpoint_url: str, region: str, invoke: Invoke) -> None:
        self._clients = Clients(endpoint_url, region)
        self._sqs = self._clients.sqs
        self._region = region
        self._invoke = invoke
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[str, tuple[QueueMapping, threading.Event, list[threading.Thread]]] = {}
        self.stats: dict[str, QueueStats] = {}
        self._receive_locks: dict[str, threading.Lock] = {}
        self._thread: threading.Thread | None = None

    def start(self) -> QueuePollers:
        self.sync()
        self._thread = threading.Thread(target=self._watch, name="queue-mappings", daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(REFRESH_INTERVAL_S):
            try:
                self.sync()
            except Exception:
                log.exception("could not refresh SQS event source mappings")

    def sync(self) -> None:
        wanted = {}
        for page in self._clients.lambda_.get_paginator("list_event_source_mappings").paginate():
            for m in page.get("EventSourceMappings", []):
                if is_sqs_queue(m.get("EventSourceArn", "")) and m.get("State") == "Enabled":
                    mapping = QueueMapping.from_api(m)
                    wanted[mapping.uuid] = mapping
        with self._lock:
            for uuid, (mapping, stop, _threads) in list(self._running.items()):
                if wanted.get(uuid) != mapping:
                    stop.set()
                    del self._running[uuid]
            for uuid, mapping in wanted.items():
                if uuid in self._running or self._stop.is_set():
                    continue
                stop = threading.Event()
                url = self._queue_url(mapping.queue_arn)
                self.stats.setdefault(uuid, QueueStats())
                threads = [
                    threading.Thread(
                        target=self._poll, args=(mapping, url, stop), name=f"sqs-{uuid[:8]}-{i}", daemon=True
                    )
                    for i in range(POLLERS_PER_MAPPING)
                ]
                self._running[uuid] = (mapping, stop, threads)
                for thread in threads:
                    thread.start()

    def _receive_lock(self, url: str) -> threading.Lock:
        with self._lock:
            return self._receive_locks.setdefault(url, threading.Lock())

    def _queue_url(self, arn: str) -> str:
        _, _, _, _, account, name = arn.split(":", 5)
        return str(self._sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])

    def _poll(self, mapping: QueueMapping, url: str, stop: threading.Event) -> None:
        while not stop.is_set() and not self._stop.is_set():
            try:
                self._once(mapping, url, stop)
            except Exception:
                if stop.is_set() or self._stop.is_set():
                    return
                log.exception("SQS poller of mapping %s failed; retrying", mapping.uuid)
                time.sleep(1.0)

    def _once(self, mapping: QueueMapping, url: str, stop: threading.Event) -> None:
        # One receive at a time per queue: moto decides which FIFO groups are in flight without a
        # lock, so two concurrent receives could hand out one group's next two messages (SQS never
        # does). Short polls under the lock, a pause outside it when the queue is empty.
        with self._receive_lock(url):
            messages = self._sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(mapping.batch_size, 10),
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
        if not messages:
            stop.wait(EMPTY_PAUSE_S)
            return
        records = [lambda_record(m, mapping.queue_arn, self._region) for m in messages]
        result = self._invoke(mapping.function_arn, None, {"Records": records})
        stats = self.stats[mapping.uuid]
        keep: set[str]
        if result.status != "ok":
            keep = {m["MessageId"] for m in messages}
            log.warning("mapping %s: invocation %s; batch returns to the queue", mapping.uuid, result.status)
        elif mapping.report_item_failures:
            reported = failed_ids(result.payload, {m["MessageId"] for m in messages})
            keep = {m["MessageId"] for m in messages} if reported is None else reported
        else:
            keep = set()
        done = [m for m in messages if m["MessageId"] not in keep]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            self._sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        with stats.lock:
            stats.invocations += 1
            stats.deleted += len(done)
            stats.returned += len(keep)

    def halt(self) -> None:
        self._stop.set()
        with self._lock:
            for _, stop, _threads in self._running.values():
                stop.set()

    def join(self, timeout_s: float = 10.0) -> None:
        with self._lock:
            threads = [t for _, _, ts in self._running.values() for t in ts]
            self._running.clear()
        for thread in threads:
            thread.join(timeout=timeout_s)
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)

    def stop(self, timeout_s: float = 10.0) -> None:
        self.halt()
        self.join(timeout_s)
