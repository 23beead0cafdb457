"""The tools' shared plumbing: names from flags or Terraform outputs, partitions, times, S3 objects."""

from __future__ import annotations

import argparse
import gzip
from datetime import UTC, datetime, timedelta

from scripts.audit_common import add_stack_arguments, hour_prefixes, object_lines, parse_time, stack_from


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_stack_arguments(parser)
    return parser.parse_args(list(argv))


OUTPUTS = {
    "stage": "dev",
    "region": "eu-west-1",
    "table_name": "items-dev-items",
    "table_stream_arn": "arn:stream",
    "audit_bucket": "bucket",
    "audit_prefix": "audit/stage=dev/",
    "firehose_name": "items-dev-audit",
    "audit_failure_bucket": "items-dev-audit-fail",
    "dlq_urls": {"items-dev-audit-dlq": "https://sqs/audit", "items-dev-other-dlq": "https://sqs/other"},
}


def test_terraform_outputs_fill_what_flags_do_not_say() -> None:
    stack = stack_from(parse("--bucket", "mine", "--region", "us-east-2"), OUTPUTS)
    assert (stack.bucket, stack.region) == ("mine", "us-east-2")
    assert (stack.stage, stack.table_name, stack.stream_arn) == ("dev", "items-dev-items", "arn:stream")
    assert (stack.prefix, stack.firehose_name, stack.dlq_url) == (
        "audit/stage=dev/",
        "items-dev-audit",
        "https://sqs/audit",
    )
    assert stack.failure_bucket == "items-dev-audit-fail"
    assert stack_from(parse("--failure-bucket", "other"), OUTPUTS).failure_bucket == "other"


def test_hour_partitions_cover_the_window_with_slack() -> None:
    since = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    until = datetime(2026, 11, 26, 0, 10, tzinfo=UTC)
    assert hour_prefixes("audit/stage=dev/", since, until, timedelta(hours=1)) == [
        "audit/stage=dev/2026/11/25/22/",
        "audit/stage=dev/2026/11/25/23/",
        "audit/stage=dev/2026/11/26/00/",
        "audit/stage=dev/2026/11/26/01/",
    ]


def test_times_in_iso_or_epoch() -> None:
    assert parse_time("2026-11-25T12:00:00Z") == datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert parse_time("2026-11-25T12:00:00") == datetime(2026, 11, 25, 12, tzinfo=UTC)
    assert parse_time("1764072000") == datetime(2025, 11, 25, 12, tzinfo=UTC)


def test_objects_plain_or_gzip() -> None:
    body = b'{"eventId":"a"}\n\n{"eventId":"b"}\n'
    assert [e["eventId"] for e in object_lines(body)] == ["a", "b"]
    assert [e["eventId"] for e in object_lines(gzip.compress(body))] == ["a", "b"]
