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
    stream_records_now,
    wire,
)

from scripts import audit_replay, audit_verify
from scripts.audit_common import Stack, object_lines


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


def test_replay_resolves_from_the_stream_and_is_safe_twice(stack: Stack) -> None:
    write(stack, item("a"), idempotency_record(), item("b"), item("a", version=2, name="new"))
    records = stream_records_now(stack.stream_arn)
    assert len(records) == 4
    dead_letter(stack, on_failure_message(records[1:4], stack.stream_arn, records[0]["_shard"]))

    dry = audit_replay.replay(stack, dry_run=True, progress=False)
    assert [(r.source, r.records, r.events, r.skipped_non_item, r.deleted) for r in dry] == [
        ("stream", 3, 2, 1, False)
    ]
    assert s3_events() == [] and queue_depth(stack) == 1

    first = audit_replay.replay(stack, progress=False)
    assert [(r.source, r.events, r.delivered, r.deleted) for r in first] == [("stream", 2, True, True)]
    events = s3_events()
    assert sorted(e["eventId"] for e in events) == sorted([records[2]["eventID"], records[3]["eventID"]])
    assert {e["replaySource"] for e in events} == {"stream"}
    modify = next(e for e in events if e["eventName"] == "MODIFY")
    assert modify["oldImage"]["version"] == 1 and modify["newImage"]["name"] == "new"
    assert queue_depth(stack) == 0

    assert audit_replay.replay(stack, progress=False) == []
    assert len(s3_events()) == 2


def test_replayed_events_equal_what_the_consumer_sends(stack: Stack) -> None:
    write(stack, item("a"))
    record = stream_records_now(stack.stream_arn)[0]
    dead_letter(stack, on_failure_message([record], stack.stream_arn, record["_shard"]))
    audit_replay.replay(stack, progress=False)
    replayed = s3_events()[0]
    consumer = load_module(ROOT / "functions/audit_stream/handler.py", "audit_stream_handler_tools")
    lambda_record = {**record, "dynamodb": {**record["dynamodb"]}}
    lambda_record["dynamodb"]["ApproximateCreationDateTime"] = record["dynamodb"][
        "ApproximateCreationDateTime"
    ].timestamp()
    consumer.handler({"Records": [lambda_record]}, Context())
    sent = [e for e in s3_events() if "replaySource" not in e]
    assert sent == [{k: v for k, v in replayed.items() if k != "replaySource"}]


def test_replay_falls_back_to_the_table_when_the_stream_is_gone(stack: Stack) -> None:
    write(stack, item("a"), item("b", version=3), idempotency_record())
    records = stream_records_now(stack.stream_arn)
    message = on_failure_message(records, stack.stream_arn, records[0]["_shard"])
    # The stream is gone (here: its table was since replaced), as it is after 24 h of retention.
    message["DDBStreamBatchInfo"]["streamArn"] = stack.stream_arn.replace("table/items/", "table/gone/")
    dead_letter(stack, message)

    reports = audit_replay.replay(stack, progress=False)
    assert [(r.source, r.events, r.deleted) for r in reports] == [("table", 2, True)]
    assert "cannot be recovered" in reports[0].notes[0]
    events = sorted(s3_events(), key=lambda e: e["itemId"])
    assert [(e["eventId"], e["eventName"], e["replaySource"]) for e in events] == [
        ("table:p1:a:v1", "INSERT", "table"),
        ("table:p1:b:v3", "MODIFY", "table"),
    ]

    dead_letter(stack, message)  # the same failure again: the same ids, so readers deduplicate
    audit_replay.replay(stack, progress=False)
    assert sorted(e["eventId"] for e in s3_events()) == sorted(["table:p1:a:v1", "table:p1:b:v3"] * 2)


def test_replay_leaves_a_message_it_could_not_deliver(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    write(stack, item("a"))
    records = stream_records_now(stack.stream_arn)
    dead_letter(stack, on_failure_message(records, stack.stream_arn, records[0]["_shard"]))
    dead_letter(stack, {"not": "a failure record"})
    stack.firehose_name = "no-such-stream"
    monkeypatch.setattr(audit_replay.firehose.random, "uniform", lambda low, high: 0.0)
    reports = audit_replay.replay(stack, progress=False)
    assert sorted((r.delivered, r.deleted) for r in reports) == [(False, False), (False, False)]
    assert queue_depth(stack) == 2
    assert len(audit_replay.receive_all(boto3.client("sqs", region_name=REGION), stack.dlq_url)) == 2


def test_replay_main_reads_terraform_outputs(stack: Stack, tmp_path: Path) -> None:
    write(stack, item("a"))
    records = stream_records_now(stack.stream_arn)
    dead_letter(stack, on_failure_message(records, stack.stream_arn, records[0]["_shard"]))
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
                "dlq_urls": {"value": {"t-create_item-dlq": "nope", "t-audit-dlq": stack.dlq_url}},
            }
        )
    )
    assert audit_replay.main(["--outputs", str(outputs)]) == 0
    assert len(s3_events()) == 1
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
