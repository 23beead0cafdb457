"""DynamoDB stream -> audit events -> Firehose (-> S3), reporting only the records not delivered.

The whole batch is mapped and sent first (PutRecordBatch calls of up to 500 records are far cheaper
than one call per record); Powertools' BatchProcessor then turns the per-record outcome into the
``batchItemFailures`` response, so Lambda checkpoints before the first failed record and retries
from there. When the batch's FIRST record is the one that fails (nothing to checkpoint), the
invocation fails instead: the mapping then bisects the batch until the bad record is alone, retries
it, and parks just that one in the on-failure bucket (the whole record: replay needs nothing else),
while the rest of the shard moves on.

A heartbeat of the audit canary (functions/audit_canary) is audited like an item change; once
Firehose has accepted its record, the ``CanaryAuditDelivered`` metric (and the heartbeat's latency)
go out in CloudWatch's embedded metric format, and the audit-canary alarm watches for their absence.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from apikit import audit, firehose, logs, tracing  # noqa: F401  (tracing: X-Ray for every AWS call)
from apikit.clients import client, preload
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

log = logs.get_logger("audit_stream")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
metrics = Metrics()  # namespace POWERTOOLS_METRICS_NAMESPACE, dimension service (Terraform sets both)
preload("firehose")  # SnapStart: the client is ready in the snapshot

# Stop retrying this long before the Lambda timeout: the response must still get out.
SAFETY_MARGIN_S = 5.0


class NotDelivered(Exception):
    """The record's audit event did not reach Firehose in this invocation."""


class HeadOfBatchFailed(Exception):
    """The batch's first record failed: a function error, so that the mapping bisects the batch."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    token = logs.bind(aws_request_id=context.aws_request_id)
    try:
        return _handle(event, context)
    finally:
        logs.unbind(token)


def _handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records", [])
    failed, unmapped = _deliver(records, context)

    def check(record: DynamoDBRecord) -> None:
        sequence = record.dynamodb.sequence_number if record.dynamodb else None
        if sequence in unmapped:
            raise ValueError(unmapped[sequence])
        if sequence in failed:
            raise NotDelivered(sequence)

    response = process_partial_response(
        event=event, record_handler=check, processor=processor, context=context
    )
    failures = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
    head = records[0]["dynamodb"]["SequenceNumber"] if records else None
    if head in failures:
        raise HeadOfBatchFailed(
            f"{len(failures)} of {len(records)} records not delivered, the first among them"
        )
    return response


def _deliver(records: list[dict[str, Any]], context: Any) -> tuple[set[str], dict[str, str]]:
    """Send the batch's audit events; returns (sequence numbers not delivered, unmappable ones)."""
    stage = os.environ.get("STAGE", "")
    payloads: list[bytes] = []
    sequences: list[str] = []
    canaries: dict[int, dict[str, Any]] = {}  # payload index -> canary heartbeat event
    unmapped: dict[str, str] = {}
    skipped = truncated = 0
    for record in records:
        sequence = record.get("dynamodb", {}).get("SequenceNumber", "")
        try:
            event = audit.audit_event(record, stage)
        except (KeyError, TypeError, ValueError) as error:
            unmapped[sequence] = f"cannot map stream record: {error!r}"
            continue
        if event is None:
            skipped += 1
            continue
        payload, summarised = audit.encode(event)
        truncated += summarised
        if event.get("canary"):
            canaries[len(payloads)] = event
        payloads.append(payload)
        sequences.append(sequence)

    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - SAFETY_MARGIN_S
    outcome = firehose.put_all(client("firehose"), os.environ["AUDIT_DELIVERY_STREAM"], payloads, deadline)
    failed = {sequences[i] for i in outcome.failed}
    _canary_metrics([e for i, e in canaries.items() if i not in outcome.failed])
    log.log(
        logging.WARNING if failed or unmapped else logging.INFO,
        "audit batch",
        extra={
            "records": len(records),
            "events": len(payloads),
            "skipped_non_item": skipped,
            "truncated": truncated,
            "unmappable": len(unmapped),
            "not_delivered": len(failed),
            "firehose_calls": outcome.calls,
            "attempts": outcome.attempts,
            "errors": dict(outcome.errors),
        },
    )
    return failed, unmapped


def _canary_metrics(delivered: list[dict[str, Any]]) -> None:
    """One CanaryAuditDelivered datapoint (and its latency) per heartbeat Firehose accepted.

    Never raises: the events are already in Firehose, and failing the batch now would only send them
    again. A missing datapoint is what the alarm is for.
    """
    if not delivered:
        return
    try:
        now_ms = time.time() * 1000
        for event in delivered:
            metrics.add_metric(name="CanaryAuditDelivered", unit=MetricUnit.Count, value=1)
            written = event.get("writtenAt")
            if isinstance(written, int | float):
                metrics.add_metric(
                    name="CanaryAuditLatency", unit=MetricUnit.Milliseconds, value=max(0.0, now_ms - written)
                )
            log.info("canary audited", extra={"heartbeat_id": event.get("heartbeatId")})
        metrics.flush_metrics()
    except Exception:
        log.exception("could not emit the canary metrics")
        metrics.clear_metrics()
