"""DynamoDB stream -> item events on the SNS FIFO topic that webhooks (and later consumers) read.

One message per item change: group ``<partner>#<item>`` keeps one item's events in version order,
deduplication id = the stream record's eventID (a retried batch publishes no duplicates within SNS's
5-minute window). Records are published in stream order, ten per PublishBatch; at the first record
that is not published, that record and every later one are reported as failures, so the mapping
retries from there and no item's events are ever reordered.
"""

from __future__ import annotations

import os
from typing import Any

from apikit import logs, tracing, webhook_events  # noqa: F401  (tracing: X-Ray for every AWS call)
from apikit.clients import client

log = logs.get_logger("webhook_fanout")
BATCH = 10  # PublishBatch's limit


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    token = logs.bind(aws_request_id=getattr(context, "aws_request_id", None))
    try:
        return _handle(event.get("Records", []))
    finally:
        logs.unbind(token)


def _handle(records: list[dict[str, Any]]) -> dict[str, Any]:
    pending: list[tuple[str, dict[str, Any]]] = []  # (sequence number, entry)
    for record in records:
        sequence = record["dynamodb"]["SequenceNumber"]
        try:
            envelope = webhook_events.envelope(record)
        except (KeyError, TypeError, ValueError) as error:
            log.error("unmappable stream record", extra={"sequence": sequence, "error": str(error)})
            return _fail_from(records, sequence)
        if envelope is None:
            continue
        pending.append((sequence, _entry(len(pending), record["eventID"], envelope)))
    topic = os.environ["ITEM_EVENTS_TOPIC_ARN"]
    for start in range(0, len(pending), BATCH):
        chunk = pending[start : start + BATCH]
        answer = client("sns").publish_batch(TopicArn=topic, PublishBatchRequestEntries=[e for _, e in chunk])
        failed = {f["Id"] for f in answer.get("Failed", [])}
        for sequence, entry in chunk:
            if entry["Id"] in failed:
                log.warning("item event not published", extra={"sequence": sequence})
                return _fail_from(records, sequence)
    log.info("item events published", extra={"records": len(records), "published": len(pending)})
    return {"batchItemFailures": []}


def _entry(index: int, event_id: str, envelope: dict[str, Any]) -> dict[str, Any]:
    return {
        "Id": str(index),
        "Message": webhook_events.encode(envelope).decode("utf-8"),
        "MessageGroupId": envelope["group"],
        "MessageDeduplicationId": event_id[:128],
        "MessageAttributes": {"partner": {"DataType": "String", "StringValue": envelope["partner"]}},
    }


def _fail_from(records: list[dict[str, Any]], sequence: str) -> dict[str, Any]:
    """Report ``sequence`` and everything after it: the mapping resumes at the lowest one."""
    seen = False
    failures = []
    for record in records:
        current = record["dynamodb"]["SequenceNumber"]
        seen = seen or current == sequence
        if seen:
            failures.append({"itemIdentifier": current})
    return {"batchItemFailures": failures}
