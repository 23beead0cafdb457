"""Replay the audit trail's failed batches: send their events to Firehose again, then retire them.

The audit stream mapping's on-failure destination is an S3 bucket, and Lambda's on-failure record for
an S3 destination carries the whole batch: ``payload`` is the function's original event
(``{"Records": [...]}``) as a JSON string. So each record replays exactly (old and new images,
deletes and intermediate versions included) with neither the stream nor the table: nothing is read
from DynamoDB at all. Events keep their stream eventID, so readers deduplicate; a record is deleted
(versioning keeps it, noncurrent, for the lifecycle's days) only after Firehose accepted all its
events, so a second run, or a run after a crash, is harmless.

A legacy SQS on-failure queue (``--queue-url``: records that only name a shard's sequence range)
is replayed from the stream while its 24 h retention holds the range; past that its records are
reported as unrecoverable and left in the queue.

    python -m scripts.audit_replay --endpoint-url http://127.0.0.1:4566 --dry-run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from botocore.exceptions import ClientError
from tqdm import tqdm

from scripts.audit_common import Stack, add_stack_arguments, audit, client, firehose, read_shard, stack_from

# Lambda names on-failure objects aws/lambda/<mapping uuid>/<shard id>/YYYY/MM/DD/<time>-<uuid>.
FAILURE_PREFIX = "aws/lambda/"
# Stream data that is gone: expired past retention, or the stream/shard no longer exists.
_GONE = {"TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"}
VISIBILITY_S = 300
DELIVERY_BUDGET_S = 60.0


@dataclass
class Report:
    """What happened to one failure record (printed as one JSON line)."""

    where: str  # s3://bucket/key, or sqs:<message id>
    shard_id: str = "?"
    start: str = "?"
    end: str = "?"
    condition: str | None = None
    source: str = "unresolved"  # failure-record | stream | unresolved
    records: int = 0
    events: int = 0
    skipped_non_item: int = 0
    delivered: bool = False
    retired: bool = False  # deleted from the bucket or the queue
    notes: list[str] = field(default_factory=list)


def _batch_info(record: dict[str, Any], report: Report) -> dict[str, Any]:
    info = record["DDBStreamBatchInfo"]
    report.shard_id = info["shardId"]
    report.start, report.end = info["startSequenceNumber"], info["endSequenceNumber"]
    report.condition = (record.get("requestContext") or {}).get("condition")
    return info


def records_of(failure: dict[str, Any]) -> list[dict[str, Any]]:
    """The batch an S3 on-failure record carries (``payload``: a JSON string on AWS; an object is
    accepted too), as the function received it."""
    payload = failure["payload"]
    event = json.loads(payload) if isinstance(payload, str | bytes) else payload
    records = event["Records"]
    if not isinstance(records, list):
        raise ValueError("payload.Records is not a list")
    return records


AUDIT_FUNCTION = "audit_stream"


def is_function(deployed_name: str, manifest_name: str) -> bool:
    """Whether a deployed function name (``<project>-<stage>-<manifest name>``) is that manifest's."""
    return deployed_name == manifest_name or deployed_name.endswith(f"-{manifest_name}")


def function_of(failure: dict[str, Any]) -> str | None:
    """The name of the function whose batch an on-failure record holds (no qualifier), if it says."""
    arn = (failure.get("requestContext") or {}).get("functionArn")
    if not isinstance(arn, str) or ":function:" not in arn:
        return None
    return arn.split(":function:", 1)[1].split(":", 1)[0]


def failure_objects(s3: Any, bucket: str) -> Iterator[str]:
    """Keys of the on-failure records still in the bucket (current versions only: replayed ones are
    deleted)."""
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=FAILURE_PREFIX):
        for obj in page.get("Contents", []):
            yield obj["Key"]


def from_stream(streams: Any, info: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A legacy record's batch from the stream, or None when the stream no longer has all of it."""
    records: list[dict[str, Any]] = []
    end = int(info["endSequenceNumber"])
    try:
        for record in read_shard(
            streams, info["streamArn"], info["shardId"], "AT_SEQUENCE_NUMBER", info["startSequenceNumber"]
        ):
            if int(record["dynamodb"]["SequenceNumber"]) > end:
                break
            records.append(record)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _GONE:
            return None
        raise
    if not records or records[0]["dynamodb"]["SequenceNumber"] != info["startSequenceNumber"]:
        return None
    return records


def _send(
    records: list[dict[str, Any]], report: Report, stack: Stack, clients: dict[str, Any], dry_run: bool
) -> bool:
    """Map the records as the consumer does and send them; whether every event got in (False on a
    dry run: nothing is sent)."""
    report.records = len(records)
    events = []
    for record in records:
        event = audit.audit_event(record, stack.stage or "")
        if event is None:
            report.skipped_non_item += 1
            continue
        event["replaySource"] = report.source
        events.append(event)
    report.events = len(events)
    if dry_run:
        return False
    payloads = [audit.encode(event)[0] for event in events]
    outcome = firehose.put_all(
        clients["firehose"], stack.firehose_name, payloads, time.monotonic() + DELIVERY_BUDGET_S
    )
    report.delivered = not outcome.failed
    if not report.delivered:
        report.notes.append(f"{len(outcome.failed)} events not delivered: {dict(outcome.errors)}")
    return report.delivered


def replay_object(key: str, stack: Stack, clients: dict[str, Any], dry_run: bool = False) -> Report:
    """One S3 on-failure record: replayed from its payload, then deleted."""
    s3 = clients["s3"]
    report = Report(f"s3://{stack.failure_bucket}/{key}")
    try:
        failure = json.loads(s3.get_object(Bucket=stack.failure_bucket, Key=key)["Body"].read())
        _batch_info(failure, report)
        records = records_of(failure)
    except (KeyError, TypeError, ValueError) as error:
        report.notes.append(f"not a stream on-failure record with a payload: {error!r}")
        return report
    owner = function_of(failure)
    if owner is not None and not is_function(owner, AUDIT_FUNCTION):
        # Another stream consumer's batch (webhook_fanout's: scripts/webhook_replay.py replays it).
        report.notes.append(f"left in place: a batch of {owner}, not of the audit consumer")
        return report
    report.source = "failure-record"
    if failure["DDBStreamBatchInfo"].get("batchSize") not in (None, len(records)):
        report.notes.append(f"payload holds {len(records)} records, batchSize says otherwise")
    if _send(records, report, stack, clients, dry_run):
        s3.delete_object(Bucket=stack.failure_bucket, Key=key)
        report.retired = True
    return report


def _receive_all(sqs: Any, queue_url: str, limit: int | None) -> list[dict[str, Any]]:
    """Every message currently visible, each once (they stay invisible while we work on them)."""
    seen: dict[str, dict[str, Any]] = {}
    while limit is None or len(seen) < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=VISIBILITY_S
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            seen.setdefault(message["MessageId"], message)
    return list(seen.values())[:limit] if limit else list(seen.values())


def replay_message(
    message: dict[str, Any], stack: Stack, clients: dict[str, Any], dry_run: bool = False
) -> Report:
    """One legacy SQS record (no data): from the stream while it holds the range, else unresolved."""
    report = Report(f"sqs:{message['MessageId']}")
    try:
        info = _batch_info(json.loads(message["Body"]), report)
    except (KeyError, TypeError, ValueError) as error:
        report.notes.append(f"not a stream on-failure record: {error!r}")
        return report
    records = from_stream(clients["dynamodbstreams"], info)
    if records is None:
        report.notes.append(
            "stream data no longer available and the record carries none: these changes cannot be "
            "replayed (audit_verify over the window lists them while the table's backups can)"
        )
        return report
    report.source = "stream"
    if _send(records, report, stack, clients, dry_run):
        clients["sqs"].delete_message(QueueUrl=stack.dlq_url, ReceiptHandle=message["ReceiptHandle"])
        report.retired = True
    return report


def replay(
    stack: Stack,
    endpoint_url: str | None = None,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    progress: bool = True,
) -> list[Report]:
    """Replay every on-failure record in the failure bucket (and a legacy queue, if given)."""
    missing = [n for n in ("firehose_name",) if not getattr(stack, n)]
    if not (stack.failure_bucket or stack.dlq_url):
        missing.append("failure_bucket")
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: pass flags or --outputs")
    clients = {s: client(s, endpoint_url, stack.region) for s in ("s3", "sqs", "dynamodbstreams", "firehose")}
    reports: list[Report] = []
    if stack.failure_bucket:
        keys = list(failure_objects(clients["s3"], stack.failure_bucket))[:limit]
        for key in tqdm(keys, desc="replay", unit="record", disable=not progress or None):
            reports.append(replay_object(key, stack, clients, dry_run))
    if stack.dlq_url:
        messages = _receive_all(clients["sqs"], stack.dlq_url, limit)
        handled = [replay_message(m, stack, clients, dry_run) for m in messages]
        for message, report in zip(messages, handled, strict=True):
            if not report.retired:  # visible again at once: for the next run, or for another tool
                clients["sqs"].change_message_visibility(
                    QueueUrl=stack.dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                )
        reports += handled
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_stack_arguments(parser)
    parser.add_argument("--dry-run", action="store_true", help="resolve and report; send and delete nothing")
    parser.add_argument("--limit", type=int, help="at most this many records (per source)")
    args = parser.parse_args(argv)
    reports = replay(stack_from(args), args.endpoint_url, dry_run=args.dry_run, limit=args.limit)
    for report in reports:
        print(json.dumps(asdict(report)))
    left = [r for r in reports if not r.retired]
    print(
        f"{len(reports)} failure record(s); {len(reports) - len(left)} replayed and retired; "
        f"{len(left)} left" + (" (dry run)" if args.dry_run else ""),
        file=sys.stderr,
    )
    return 1 if left and not args.dry_run else 0


if __name__ == "__main__":
    sys.exit(main())
