"""Builders for DynamoDB stream records and Lambda contexts shaped like the real ones."""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import boto3
from boto3.dynamodb.types import TypeSerializer

from scripts import table_spec

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
BUCKET = "audit-bucket"
STREAM = "audit-stream"
PREFIX = "audit/stage=test/"
_serializer = TypeSerializer()
_sequence = itertools.count(10**20)


def wire(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {k: _serializer.serialize(v) for k, v in item.items()}


def item(item_id: str = "i1", partner: str = "p1", version: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "PK": f"P#{partner}#I#{item_id}",
        "SK": "ITEM",
        "GSI1PK": f"P#{partner}#U#u1",
        "GSI1SK": f"2026-11-25T12:00:00Z#{item_id}",
        "entity": "item",
        "partnerId": partner,
        "id": item_id,
        "userId": "u1",
        "name": "name",
        "info": {"n": 1},
        "version": version,
        "createdAt": "2026-11-25T12:00:00Z",
        "updatedAt": "2026-11-25T12:00:00Z",
        **extra,
    }


def idempotency_record(partner: str = "p1") -> dict[str, Any]:
    return {
        "PK": f"P#{partner}#K#abc",
        "SK": "IDEMPOTENCY",
        "entity": "idempotency",
        "expiresAt": 1_800_000_000,
    }


def stream_record(
    event_name: str,
    new: dict[str, Any] | None = None,
    old: dict[str, Any] | None = None,
    sequence: str | None = None,
    created: float = 1_764_072_000.0,
) -> dict[str, Any]:
    """One record of a Lambda DynamoDB stream event (NEW_AND_OLD_IMAGES)."""
    sequence = sequence or str(next(_sequence))
    base = new if new is not None else old or {}
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": created,
        "Keys": {"PK": {"S": base.get("PK", "x")}, "SK": {"S": base.get("SK", "x")}},
        "SequenceNumber": sequence,
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if new is not None:
        change["NewImage"] = wire(new)
    if old is not None:
        change["OldImage"] = wire(old)
    return {
        "eventID": f"ev-{sequence}",
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-11-25T00:00:00.000",
    }


class Context:
    """The parts of Lambda's context object the handler and Powertools read."""

    function_name = "audit_stream"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:audit_stream"
    memory_limit_in_mb = 256
    aws_request_id = "req-1"
    log_group_name = "/aws/lambda/audit_stream"
    log_stream_name = "stream"

    def __init__(self, timeout_s: float = 60.0) -> None:
        self._end = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


def load_module(path: Path, name: str) -> Any:
    """Load a file (every function's entry point is called handler.py) under a unique name."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def s3_events(bucket: str = BUCKET, prefix: str = PREFIX) -> list[dict[str, Any]]:
    """Every audit event line under the prefix, in no particular order."""
    s3 = boto3.client("s3", region_name=REGION)
    events = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            events.extend(json.loads(line) for line in body.splitlines() if line.strip())
    return events


def create_table(name: str = "items") -> dict[str, Any]:
    """The table as Terraform makes it (from shared/apikit/table.json), with its stream."""
    description = table_spec.create_table(boto3.client("dynamodb", region_name=REGION), name)
    return {"name": name, "stream_arn": description["LatestStreamArn"]}


def stream_records_now(stream_arn: str) -> list[dict[str, Any]]:
    """Every record currently in the stream (one shard in moto), via the Streams API."""
    streams = boto3.client("dynamodbstreams", region_name=REGION)
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    records = streams.get_records(ShardIterator=iterator["ShardIterator"], Limit=1000)["Records"]
    for record in records:
        record["_shard"] = shard
    return records


def on_failure_message(records: list[dict[str, Any]], stream_arn: str, shard: str) -> dict[str, Any]:
    """Lambda's on-failure destination record for a DynamoDB stream batch (SQS message body)."""

    def arrival(record: dict[str, Any]) -> str:
        return record["dynamodb"]["ApproximateCreationDateTime"].strftime("%Y-%m-%dT%H:%M:%S.000Z")

    return {
        "requestContext": {
            "requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:audit_stream",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 6,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0",
        "timestamp": "2026-11-25T12:00:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": arrival(records[0]),
            "approximateArrivalOfLastRecord": arrival(records[-1]),
            "batchSize": len(records),
            "streamArn": stream_arn,
        },
    }


def s3_failure_record(records: list[dict[str, Any]], stream_arn: str, shard: str) -> dict[str, Any]:
    """Lambda's on-failure record for an S3 destination: the SQS shape plus ``payload``, the function's
    original event as an escaped JSON string (records as Lambda delivers them: epoch times)."""
    delivered = []
    for record in records:
        change = {**record["dynamodb"]}
        created = change["ApproximateCreationDateTime"]
        change["ApproximateCreationDateTime"] = (
            created.timestamp() if hasattr(created, "timestamp") else created
        )
        delivered.append({k: v for k, v in {**record, "dynamodb": change}.items() if not k.startswith("_")})
    return {
        **on_failure_message(records, stream_arn, shard),
        "payload": json.dumps({"Records": delivered}, default=str),
    }
