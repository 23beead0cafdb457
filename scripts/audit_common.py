"""What the audit operator tools share: stack names, clients, reading the stream and the S3 log.

Names come from flags or from ``terraform output -json`` (a saved file or a live call); endpoint and
region from flags, so the same tools work on AWS, LocalStack and the embedded stack.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "shared") not in sys.path:  # the layer's audit mapping, exactly as the consumer uses it
    sys.path.insert(0, str(ROOT / "shared"))

from apikit import audit, firehose  # noqa: E402

__all__ = ["audit", "firehose"]

GZIP_MAGIC = b"\x1f\x8b"
# An open shard answers empty pages at its current end (and, rarely, before it): stop after a few.
EMPTY_PAGES_AT_END = 3


@dataclass
class Stack:
    """The deployed names the tools need (any may be None when not needed for a command)."""

    region: str | None = None
    stage: str | None = None
    table_name: str | None = None
    stream_arn: str | None = None
    bucket: str | None = None
    prefix: str | None = None
    firehose_name: str | None = None
    failure_bucket: str | None = None
    dlq_url: str | None = None  # a legacy SQS on-failure queue (records that name no data)


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint-url", help="AWS endpoint (LocalStack, the embedded stack); default: AWS")
    parser.add_argument("--region", help="AWS region (default: terraform output, then AWS_REGION)")
    parser.add_argument("--outputs", type=Path, help="saved `terraform output -json`; default: ask terraform")
    parser.add_argument("--stage", help="stage name (default: terraform output)")
    parser.add_argument("--table", help="table name (default: terraform output table_name)")
    parser.add_argument("--stream-arn", help="table stream ARN (default: terraform output table_stream_arn)")
    parser.add_argument("--bucket", help="audit bucket (default: terraform output audit_bucket)")
    parser.add_argument("--prefix", help="audit key prefix (default: terraform output audit_prefix)")
    parser.add_argument("--firehose", help="delivery stream (default: terraform output firehose_name)")
    parser.add_argument(
        "--failure-bucket", help="on-failure records bucket (default: terraform output audit_failure_bucket)"
    )
    parser.add_argument(
        "--queue-url",
        help="a legacy SQS on-failure queue to replay as well (default: an *-audit-dlq entry of dlq_urls)",
    )


def terraform_outputs(path: Path | None) -> dict[str, Any]:
    """Plain values of ``terraform output -json`` (from a file, else from terraform in terraform/)."""
    if path is not None:
        raw = json.loads(path.read_text())
    else:
        try:
            done = subprocess.run(
                ["terraform", f"-chdir={ROOT / 'terraform'}", "output", "-json"],
                capture_output=True,
                text=True,
                check=True,
                timeout=120,
            )
        except (OSError, subprocess.SubprocessError):
            return {}
        raw = json.loads(done.stdout or "{}")
    return {k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in raw.items()}


def stack_from(args: argparse.Namespace, outputs: dict[str, Any] | None = None) -> Stack:
    """Flags win over Terraform's outputs; Terraform is asked only when a flag is missing."""
    flags = {
        "stage": args.stage,
        "table_name": args.table,
        "stream_arn": args.stream_arn,
        "bucket": args.bucket,
        "prefix": args.prefix,
        "firehose_name": args.firehose,
        "failure_bucket": getattr(args, "failure_bucket", None),
        "dlq_url": args.queue_url,
        "region": args.region,
    }
    if outputs is None:
        outputs = terraform_outputs(args.outputs) if None in flags.values() else {}
    audit_dlqs = [url for name, url in (outputs.get("dlq_urls") or {}).items() if name.endswith("audit-dlq")]
    fallback = {
        "stage": outputs.get("stage"),
        "table_name": outputs.get("table_name"),
        "stream_arn": outputs.get("table_stream_arn"),
        "bucket": outputs.get("audit_bucket"),
        "prefix": outputs.get("audit_prefix"),
        "firehose_name": outputs.get("firehose_name"),
        "failure_bucket": outputs.get("audit_failure_bucket"),
        "dlq_url": audit_dlqs[0] if len(audit_dlqs) == 1 else None,
        "region": outputs.get("region")
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION"),
    }
    return Stack(**{k: v if v is not None else fallback[k] for k, v in flags.items()})


def client(service: str, endpoint_url: str | None, region: str | None) -> Any:
    config = Config(retries={"mode": "standard", "max_attempts": 5})
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, config=config)


def parse_time(text: str) -> datetime:
    """ISO 8601 (``Z`` allowed) or epoch seconds, as UTC."""
    try:
        return datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_shard(
    streams: Any,
    stream_arn: str,
    shard_id: str,
    iterator_type: str = "TRIM_HORIZON",
    sequence: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Every record of one shard from a position up to its current end (open) or its last (closed)."""
    kwargs: dict[str, Any] = {
        "StreamArn": stream_arn,
        "ShardId": shard_id,
        "ShardIteratorType": iterator_type,
    }
    if sequence is not None:
        kwargs["SequenceNumber"] = sequence
    iterator = streams.get_shard_iterator(**kwargs).get("ShardIterator")
    empty = 0
    while iterator and empty < EMPTY_PAGES_AT_END:
        page = streams.get_records(ShardIterator=iterator, Limit=1000)
        yield from page.get("Records", [])
        empty = 0 if page.get("Records") else empty + 1
        iterator = page.get("NextShardIterator")


def shards(streams: Any, stream_arn: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"StreamArn": stream_arn}
    while True:
        description = streams.describe_stream(**kwargs)["StreamDescription"]
        found.extend(description.get("Shards", []))
        last = description.get("LastEvaluatedShardId")
        if not last:
            return found
        kwargs["ExclusiveStartShardId"] = last


def object_lines(body: bytes) -> Iterator[dict[str, Any]]:
    """Audit events of one S3 object: NDJSON, gzip-compressed on AWS (detected by magic bytes)."""
    if body[:2] == GZIP_MAGIC:
        body = gzip.decompress(body)
    for line in body.splitlines():
        if line.strip():
            yield json.loads(line)


def hour_prefixes(prefix: str, since: datetime, until: datetime, slack: timedelta) -> list[str]:
    """The YYYY/MM/DD/HH/ partitions Firehose may have written events of the window into."""
    hour = (since - slack).replace(minute=0, second=0, microsecond=0)
    end = until + slack
    found = []
    while hour <= end:
        found.append(f"{prefix}{hour:%Y/%m/%d/%H}/")
        hour += timedelta(hours=1)
    return found


def s3_events(
    s3: Any,
    bucket: str,
    prefix: str,
    since: datetime,
    until: datetime,
    *,
    slack: timedelta = timedelta(hours=1),
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(object key, event) for every event stored in the partitions covering the window."""
    for partition in hour_prefixes(prefix, since, until, slack):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=partition):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                for event in object_lines(body):
                    yield obj["Key"], event
