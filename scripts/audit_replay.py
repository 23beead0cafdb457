"""Replay the audit dead-letter queue: resolve each failed batch and send its events to Firehose again.

Lambda's on-failure record for a stream names the shard and the sequence range, not the records. Each
message is resolved from the stream while its retention (24 h) allows (AT_SEQUENCE_NUMBER, read up to
endSequenceNumber), otherwise from the table's current state (items whose updatedAt falls in the batch's
arrival window; deletes cannot be recovered that way, and the output says so). Events keep their
stream eventID, so readers deduplicate; a message is deleted only after all its events were delivered,
so a second run (or a run after a crash) is harmless.

    python -m scripts.audit_replay --endpoint-url http://127.0.0.1:4566 --dry-run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError
from tqdm import tqdm

from scripts.audit_common import (
    Stack,
    add_stack_arguments,
    audit,
    client,
    firehose,
    parse_time,
    read_shard,
    stack_from,
)

# Stream data that is gone: expired past retention, or the stream/shard no longer exists.
_GONE = {"TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException"}
VISIBILITY_S = 300


@dataclass
class Failure:
    """One on-failure record (DDBStreamBatchInfo) from the queue."""

    message_id: str
    receipt_handle: str
    stream_arn: str
    shard_id: str
    start: str
    end: str
    batch_size: int
    first_arrival: str | None
    last_arrival: str | None
    condition: str | None


@dataclass
class Report:
    """What happened to one message (printed as one JSON line)."""

    message_id: str
    shard_id: str
    start: str
    end: str
    source: str = "unresolved"  # stream | table | unresolved
    records: int = 0
    events: int = 0
    skipped_non_item: int = 0
    delivered: bool = False
    deleted: bool = False
    notes: list[str] = field(default_factory=list)


def parse(message: dict[str, Any]) -> Failure:
    body = json.loads(message["Body"])
    info = body["DDBStreamBatchInfo"]
    return Failure(
        message_id=message["MessageId"],
        receipt_handle=message["ReceiptHandle"],
        stream_arn=info["streamArn"],
        shard_id=info["shardId"],
        start=info["startSequenceNumber"],
        end=info["endSequenceNumber"],
        batch_size=int(info.get("batchSize", 0)),
        first_arrival=info.get("approximateArrivalOfFirstRecord"),
        last_arrival=info.get("approximateArrivalOfLastRecord"),
        condition=(body.get("requestContext") or {}).get("condition"),
    )


def receive_all(sqs: Any, queue_url: str, limit: int | None = None) -> list[dict[str, Any]]:
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


def from_stream(streams: Any, failure: Failure) -> list[dict[str, Any]] | None:
    """The batch's records from the stream, or None when the stream no longer has all of them."""
    records: list[dict[str, Any]] = []
    end = int(failure.end)
    try:
        for record in read_shard(
            streams, failure.stream_arn, failure.shard_id, "AT_SEQUENCE_NUMBER", failure.start
        ):
            if int(record["dynamodb"]["SequenceNumber"]) > end:
                break
            records.append(record)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in _GONE:
            return None
        raise
    if not records or records[0]["dynamodb"]["SequenceNumber"] != failure.start:
        return None
    return records


def from_table(dynamodb: Any, table: str, failure: Failure, slack: timedelta) -> list[dict[str, Any]]:
    """Stream-shaped records for the items changed in the batch's arrival window, as they are now.

    Their event ids are derived from the item and its version, so replaying twice sends the same ids.
    """
    first = parse_time(failure.first_arrival or failure.last_arrival or "0") - slack
    last = parse_time(failure.last_arrival or failure.first_arrival or "0") + slack
    iso = "%Y-%m-%dT%H:%M:%S.%fZ"
    kwargs: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": "#e = :item AND #u BETWEEN :lo AND :hi",
        "ExpressionAttributeNames": {"#e": "entity", "#u": "updatedAt"},
        "ExpressionAttributeValues": {
            ":item": {"S": audit.ITEM_ENTITY},
            ":lo": {"S": first.strftime(iso)},
            ":hi": {"S": last.strftime(iso)},
        },
    }
    records = []
    while True:
        page = dynamodb.scan(**kwargs)
        for item in page.get("Items", []):
            version = int(item["version"]["N"])
            partner, item_id = item["partnerId"]["S"], item["id"]["S"]
            records.append(
                {
                    "eventID": f"table:{partner}:{item_id}:v{version}",
                    "eventName": "INSERT" if version == 1 else "MODIFY",
                    "dynamodb": {
                        "NewImage": item,
                        "ApproximateCreationDateTime": parse_time(item["updatedAt"]["S"]),
                    },
                }
            )
        if "LastEvaluatedKey" not in page:
            return records
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def replay_one(
    failure: Failure, stack: Stack, clients: dict[str, Any], dry_run: bool, slack: timedelta
) -> Report:
    report = Report(failure.message_id, failure.shard_id, failure.start, failure.end)
    records = from_stream(clients["dynamodbstreams"], failure)
    if records is not None:
        report.source = "stream"
        if failure.batch_size and len(records) != failure.batch_size:
            report.notes.append(
                f"stream range holds {len(records)} records, the batch had {failure.batch_size}"
            )
    elif stack.table_name:
        report.source = "table"
        records = from_table(clients["dynamodb"], stack.table_name, failure, slack)
        report.notes.append(
            "stream data no longer available: items changed in the batch's window, as they are now; "
            "intermediate versions and deletes in that window cannot be recovered"
        )
    else:
        report.notes.append("stream data no longer available and no table name given")
        return report
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
        return report
    payloads = [audit.encode(event)[0] for event in events]
    outcome = firehose.put_all(clients["firehose"], stack.firehose_name, payloads, time.monotonic() + 60)
    report.delivered = not outcome.failed
    if not report.delivered:
        report.notes.append(f"{len(outcome.failed)} events not delivered: {dict(outcome.errors)}")
        return report
    clients["sqs"].delete_message(QueueUrl=stack.dlq_url, ReceiptHandle=failure.receipt_handle)
    report.deleted = True
    return report


def replay(
    stack: Stack,
    endpoint_url: str | None = None,
    *,
    dry_run: bool = False,
    limit: int | None = None,
    slack: timedelta = timedelta(seconds=5),
    progress: bool = True,
) -> list[Report]:
    """Replay every message of the audit DLQ; returns one report per message."""
    missing = [n for n in ("dlq_url", "firehose_name") if not getattr(stack, n)]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: pass flags or --outputs")
    clients = {
        s: client(s, endpoint_url, stack.region) for s in ("sqs", "dynamodbstreams", "dynamodb", "firehose")
    }
    messages = receive_all(clients["sqs"], stack.dlq_url, limit)
    reports = []
    for message in tqdm(messages, desc="replay", unit="msg", disable=not progress or None):
        try:
            failure = parse(message)
        except (KeyError, ValueError) as error:
            reports.append(
                Report(message["MessageId"], "?", "?", "?", notes=[f"not a stream failure: {error!r}"])
            )
            continue
        reports.append(replay_one(failure, stack, clients, dry_run, slack))
    for message, report in zip(messages, reports, strict=True):
        if not report.deleted:  # visible again at once: for the next run, or for another tool
            clients["sqs"].change_message_visibility(
                QueueUrl=stack.dlq_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
            )
    return reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_stack_arguments(parser)
    parser.add_argument("--dry-run", action="store_true", help="resolve and report; send and delete nothing")
    parser.add_argument("--limit", type=int, help="at most this many messages")
    parser.add_argument(
        "--table-slack-seconds",
        type=float,
        default=5.0,
        help="widen the table fallback's window by this much",
    )
    args = parser.parse_args(argv)
    stack = stack_from(args)
    reports = replay(
        stack,
        args.endpoint_url,
        dry_run=args.dry_run,
        limit=args.limit,
        slack=timedelta(seconds=args.table_slack_seconds),
    )
    for report in reports:
        print(json.dumps(asdict(report)))
    failed = [r for r in reports if not (r.delivered or args.dry_run)]
    print(
        f"{len(reports)} message(s); {sum(r.deleted for r in reports)} replayed and deleted; "
        f"{len(failed)} left in the queue" + (" (dry run)" if args.dry_run else ""),
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
