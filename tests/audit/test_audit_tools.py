"""Operator tools: replay the DLQ (from the stream, or the table when the stream is gone) and verify."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from audit_helpers import (
    BUCKET,
    PREFIX,
    REGION,
    ROOT,
    STREAM,
    Context,
    create_table,
    idempotency_record,
    item,
    load_module,
    on_failure_message,
    s3_events,
    s3_failure_record,
    stream_records_now,
    wire,
)

from scripts import audit_replay, audit_verify
from scripts.audit_common import Stack, audit, object_lines


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def stack(delivery: dict[str, Any]) -> Stack:
    table = create_table()
    queue = boto3.client("sqs", region_name=REGION).create_queue(QueueName="t-audit-dlq")["QueueUrl"]
    return Stack(
        region=REGION,
        stage="test",
        table_name=table["name"],
        stream_arn=table["stream_arn"],
        bucket=BUCKET,
        prefix=PREFIX,
        firehose_name=STREAM,
        dlq_url=queue,
    )


def as_lambda_sends_it(record: dict[str, Any]) -> None:
    """The Streams API gives a datetime; Lambda's event carries epoch seconds."""
    change = record["dynamodb"]
    change["ApproximateCreationDateTime"] = change["ApproximateCreationDateTime"].timestamp()


def write(stack: Stack, *items: dict[str, Any]) -> None:
    ddb = boto3.client("dynamodb", region_name=REGION)
    for value in items:
        ddb.put_item(TableName=stack.table_name, Item=wire({**value, "updatedAt": now_iso()}))


def dead_letter(stack: Stack, body: dict[str, Any]) -> None:
    boto3.client("sqs", region_name=REGION).send_message(QueueUrl=stack.dlq_url, MessageBody=json.dumps(body))


def queue_depth(stack: Stack) -> int:
    attributes = boto3.client("sqs", region_name=REGION).get_queue_attributes(
        QueueUrl=stack.dlq_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


FAILURE_BUCKET = "audit-failures"


@pytest.fixture
def failures(stack: Stack) -> Stack:
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=FAILURE_BUCKET)
    stack.failure_bucket = FAILURE_BUCKET
    return stack


def park(stack: Stack, record: dict[str, Any], key: str = "aws/lambda/uuid-1/shard-1/2026/11/25/x") -> str:
    """Put an on-failure record where Lambda puts it (s3_failure_key's layout)."""
    boto3.client("s3", region_name=REGION).put_object(
        Bucket=FAILURE_BUCKET, Key=key, Body=json.dumps(record).encode()
    )
    return key


def parked() -> list[str]:
    listing = boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=FAILURE_BUCKET)
    return [o["Key"] for o in listing.get("Contents", [])]


@pytest.fixture
def aws_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every (service, operation) the replay tool calls."""
    calls: list[tuple[str, str]] = []
    real = audit_replay.client

    def counting(service: str, endpoint_url: str | None, region: str | None) -> Any:
        made = real(service, endpoint_url, region)
        made.meta.events.register("before-call", lambda model, **_: calls.append((service, model.name)))
        return made

    monkeypatch.setattr(audit_replay, "client", counting)
    return calls


def test_a_failure_record_replays_exactly_without_stream_or_table(
    failures: Stack, aws_calls: list[tuple[str, str]]
) -> None:
    """Past the stream's retention and after the item was deleted, the parked batch still replays
    every change exactly, the delete and the intermediate version included, reading no table."""
    stack = failures
    ddb = boto3.client("dynamodb", region_name=REGION)
    write(stack, item("a"), idempotency_record())
    ddb.update_item(
        TableName=stack.table_name,
        Key={"PK": {"S": "P#p1#I#a"}, "SK": {"S": "ITEM"}},
        UpdateExpression="SET #n = :n, version = :v",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":n": {"S": "renamed"}, ":v": {"N": "2"}},
    )
    ddb.delete_item(TableName=stack.table_name, Key={"PK": {"S": "P#p1#I#a"}, "SK": {"S": "ITEM"}})
    records = stream_records_now(stack.stream_arn)
    assert [r["eventName"] for r in records] == ["INSERT", "INSERT", "MODIFY", "REMOVE"]
    key = park(stack, s3_failure_record(records, stack.stream_arn, records[0]["_shard"]))
    # What the consumer would have sent for the same batch (its event, as Lambda delivers it).
    lambda_event = json.loads(s3_failure_record(records, stack.stream_arn, records[0]["_shard"])["payload"])
    expected = [audit.audit_event(r, "test") for r in lambda_event["Records"]]
    expected = [e for e in expected if e is not None]
    # The stream and the table are gone (retention passed, the table since replaced).
    ddb.delete_table(TableName=stack.table_name)

    dry = audit_replay.replay(stack, dry_run=True, progress=False)
    assert [(r.source, r.records, r.events, r.skipped_non_item, r.retired) for r in dry] == [
        ("failure-record", 4, 3, 1, False)
    ]
    assert s3_events() == [] and parked() == [key]

    first = audit_replay.replay(stack, progress=False)
    assert [(r.source, r.events, r.delivered, r.retired, r.condition) for r in first] == [
        ("failure-record", 3, True, True, "RetryAttemptsExhausted")
    ]
    events = sorted(s3_events(), key=lambda e: e["sequenceNumber"])
    assert [e["eventName"] for e in events] == ["INSERT", "MODIFY", "REMOVE"]
    assert [{k: v for k, v in e.items() if k != "replaySource"} for e in events] == expected
    assert {e["replaySource"] for e in events} == {"failure-record"}
    modify, remove = events[1], events[2]
    assert modify["oldImage"]["name"] == "name" and modify["newImage"]["name"] == "renamed"
    assert remove["newImage"] is None and remove["oldImage"]["version"] == 2
    assert parked() == []  # retired; the bucket's versioning keeps it as a noncurrent version

    assert audit_replay.replay(stack, progress=False) == []  # safe twice
    assert len(s3_events()) == 3
    assert not [c for c in aws_calls if c[0] in ("dynamodb", "dynamodbstreams")], aws_calls


def test_replayed_events_equal_what_the_consumer_sends(failures: Stack) -> None:
    stack = failures
    write(stack, item("a"))
    record = stream_records_now(stack.stream_arn)[0]
    park(stack, s3_failure_record([record], stack.stream_arn, record["_shard"]))
    audit_replay.replay(stack, progress=False)
    replayed = s3_events()[0]
    consumer = load_module(ROOT / "functions/audit_stream/handler.py", "audit_stream_handler_tools")
    lambda_record = {**record, "dynamodb": {**record["dynamodb"]}}
    lambda_record.pop("_shard")
    as_lambda_sends_it(lambda_record)
    consumer.handler({"Records": [lambda_record]}, Context())
    sent = [e for e in s3_events() if "replaySource" not in e]
    assert sent == [{k: v for k, v in replayed.items() if k != "replaySource"}]


def test_replay_leaves_a_record_it_could_not_deliver_or_read(
    failures: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = failures
    write(stack, item("a"))
    records = stream_records_now(stack.stream_arn)
    good = park(stack, s3_failure_record(records, stack.stream_arn, records[0]["_shard"]))
    bad = park(stack, {"not": "a failure record"}, key="aws/lambda/uuid-1/shard-1/2026/11/25/y")
    stack.firehose_name = "no-such-stream"
    monkeypatch.setattr(audit_replay.firehose.random, "uniform", lambda low, high: 0.0)
    reports = {r.where.rsplit("/", 1)[-1]: r for r in audit_replay.replay(stack, progress=False)}
    assert (reports["x"].delivered, reports["x"].retired) == (False, False)
    assert reports["y"].source == "unresolved" and "not a stream on-failure record" in reports["y"].notes[0]
    assert sorted(parked()) == sorted([good, bad])


def test_replay_leaves_the_webhook_fan_outs_parked_batches_to_their_own_tool(failures: Stack) -> None:
    """The fan-out's mapping parks its batches in the same bucket; replaying them into the audit log
    and deleting them would lose the webhook events (scripts/webhook_replay.py replays them)."""
    stack = failures
    write(stack, item("a"))
    records = stream_records_now(stack.stream_arn)
    record = s3_failure_record(records, stack.stream_arn, records[0]["_shard"])
    record["requestContext"]["functionArn"] = (
        "arn:aws:lambda:us-east-1:123456789012:function:items-dev-webhook_fanout:7"
    )
    fanout = park(stack, record, key="aws/lambda/uuid-2/shard-1/2026/11/25/f")
    (report,) = audit_replay.replay(stack, progress=False)
    assert (report.delivered, report.retired) == (False, False)
    assert "items-dev-webhook_fanout" in report.notes[0]
    assert parked() == [fanout] and s3_events() == []


def test_a_legacy_queue_record_replays_from_the_stream_and_never_scans_the_table(
    stack: Stack, aws_calls: list[tuple[str, str]]
) -> None:
    """SQS records (before the S3 destination) name only a sequence range: the stream resolves them
    while it holds the range; past that they are reported, left in the queue, and the table is not
    scanned (the old fallback scanned the whole table per message and still lost deletes)."""
    write(stack, item("a"), idempotency_record(), item("b"), item("a", version=2, name="new"))
    records = stream_records_now(stack.stream_arn)
    dead_letter(stack, on_failure_message(records[1:4], stack.stream_arn, records[0]["_shard"]))
    gone = on_failure_message(records, stack.stream_arn, records[0]["_shard"])
    gone["DDBStreamBatchInfo"]["streamArn"] = stack.stream_arn.replace("table/items/", "table/gone/")
    dead_letter(stack, gone)

    reports = sorted(audit_replay.replay(stack, progress=False), key=lambda r: r.source)
    assert [(r.source, r.events, r.retired) for r in reports] == [
        ("stream", 2, True),
        ("unresolved", 0, False),
    ]
    assert "cannot be replayed" in reports[1].notes[0]
    events = s3_events()
    assert sorted(e["eventId"] for e in events) == sorted([records[2]["eventID"], records[3]["eventID"]])
    modify = next(e for e in events if e["eventName"] == "MODIFY")
    assert modify["oldImage"]["version"] == 1 and modify["newImage"]["name"] == "new"
    assert queue_depth(stack) == 1
    assert not [c for c in aws_calls if c[0] == "dynamodb"], aws_calls


def test_replay_main_reads_terraform_outputs(failures: Stack, tmp_path: Path) -> None:
    stack = failures
    write(stack, item("a"))
    records = stream_records_now(stack.stream_arn)
    park(stack, s3_failure_record(records, stack.stream_arn, records[0]["_shard"]))
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "stage": {"value": "test"},
                "region": {"value": REGION},
                "table_name": {"value": stack.table_name},
                "table_stream_arn": {"value": stack.stream_arn},
                "audit_bucket": {"value": BUCKET},
                "audit_prefix": {"value": PREFIX},
                "firehose_name": {"value": STREAM},
                "audit_failure_bucket": {"value": FAILURE_BUCKET},
                "dlq_urls": {"value": {"t-create_item-dlq": "nope"}},
            }
        )
    )
    assert audit_replay.main(["--outputs", str(outputs)]) == 0
    assert len(s3_events()) == 1 and parked() == []
    expected = tmp_path / "expected.json"
    expected.write_text(json.dumps([records[0]["eventID"]]))
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    assert audit_verify.main(["--outputs", str(outputs), "--since", since, "--expected", str(expected)]) == 0
    expected.write_text(json.dumps([records[0]["eventID"], "never-sent"]))
    assert audit_verify.main(["--outputs", str(outputs), "--since", since, "--expected", str(expected)]) == 1


def test_verify_from_the_stream_finds_missing_and_duplicates(stack: Stack) -> None:
    since = datetime.now(UTC) - timedelta(minutes=1)
    write(stack, item("a"), item("b"), item("c"), idempotency_record())
    records = [
        r for r in stream_records_now(stack.stream_arn) if r["dynamodb"]["NewImage"]["entity"]["S"] == "item"
    ]
    for record in records:
        record["dynamodb"]["ApproximateCreationDateTime"] = record["dynamodb"][
            "ApproximateCreationDateTime"
        ].timestamp()
    consumer = load_module(ROOT / "functions/audit_stream/handler.py", "audit_stream_handler_verify")
    consumer.handler({"Records": records[:2]}, Context())
    consumer.handler({"Records": records[1:2]}, Context())  # redelivered: a duplicate

    result = audit_verify.verify(stack, since, datetime.now(UTC) + timedelta(minutes=1))
    assert result.expected == 3 and result.stored == 2
    assert result.missing == [records[2]["eventID"]]
    assert result.duplicates == {records[1]["eventID"]: 2}
    assert not result.ok

    consumer.handler({"Records": records[2:]}, Context())
    assert audit_verify.verify(stack, since, datetime.now(UTC) + timedelta(minutes=1)).ok


def test_verify_reads_gzip_objects_and_ignores_other_windows(stack: Stack) -> None:
    import gzip

    s3 = boto3.client("s3", region_name=REGION)
    hour = datetime.now(UTC)
    old = {"eventId": "old", "approximateCreationTime": "2020-01-01T00:00:00Z"}
    fresh = {"eventId": "e1", "approximateCreationTime": hour.isoformat()}
    body = gzip.compress(b"".join(json.dumps(e).encode() + b"\n" for e in (old, fresh, fresh)))
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}{hour:%Y/%m/%d/%H}/obj.gz", Body=body)
    assert list(object_lines(body)) == [old, fresh, fresh]
    result = audit_verify.verify(
        stack, hour - timedelta(minutes=5), hour + timedelta(minutes=5), expected={"e1", "e2"}
    )
    assert result.missing == ["e2"] and result.duplicates == {"e1": 2} and result.unexpected == []
