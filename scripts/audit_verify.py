"""Verify the audit log: every change of a time window is in S3, and which events came more than once.

What changed comes from the table's stream (item records whose creation time is in the window; the
stream keeps 24 h) or from a JSON list of expected event ids (``--expected``, e.g. written by a test).
What was delivered comes from the S3 objects under the audit prefix, in the hourly partitions that
can hold the window's events (gzip objects are read by their magic bytes). Delivery is at least once,
so duplicates are reported but are not an error; a missing event is, and the exit code says so.

    python -m scripts.audit_verify --endpoint-url http://127.0.0.1:4566 --since 2026-11-25T10:00:00Z
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.audit_common import (
    Stack,
    add_stack_arguments,
    audit,
    client,
    parse_time,
    read_shard,
    s3_events,
    shards,
    stack_from,
)


@dataclass
class Result:
    """The comparison (``stored``: distinct event ids found for the window); ``ok`` when none is missing."""

    expected: int = 0
    stored: int = 0
    missing: list[str] = field(default_factory=list)
    duplicates: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing


def changes_from_stream(streams: Any, stream_arn: str, since: datetime, until: datetime) -> set[str]:
    """Event ids of item changes in the window, from every shard of the stream."""
    expected = set()
    for shard in shards(streams, stream_arn):
        for record in read_shard(streams, stream_arn, shard["ShardId"]):
            created = record["dynamodb"].get("ApproximateCreationDateTime")
            if created is None or audit.entity_of(record) != audit.ITEM_ENTITY:
                continue
            moment = created if isinstance(created, datetime) else datetime.fromtimestamp(float(created), UTC)
            if since <= moment <= until:
                expected.add(record["eventID"])
    return expected


def compare(expected: set[str], events: list[dict[str, Any]], since: datetime, until: datetime) -> Result:
    """Missing = expected but never stored; duplicates and unexpected among the window's events."""
    counts: Counter[str] = Counter()
    truncated = set()
    in_window = set()
    for event in events:
        event_id = event.get("eventId")
        if not isinstance(event_id, str) or event.get("canary"):
            continue  # the audit canary's heartbeats are not changes of the table's items
        created = event.get("approximateCreationTime")
        if event_id in expected or (created and since <= parse_time(created) <= until):
            counts[event_id] += 1
            in_window.add(event_id)
            if event.get("truncated"):
                truncated.add(event_id)
    return Result(
        expected=len(expected),
        stored=len(in_window),
        missing=sorted(expected - in_window),
        duplicates={k: n for k, n in sorted(counts.items()) if n > 1},
        unexpected=sorted(in_window - expected),
        truncated=sorted(truncated),
    )


def verify(
    stack: Stack,
    since: datetime,
    until: datetime,
    *,
    endpoint_url: str | None = None,
    expected: set[str] | None = None,
) -> Result:
    """Compare the window's changes (the stream, or ``expected``) with the audit events in S3."""
    if not (stack.bucket and stack.prefix is not None):
        raise SystemExit("missing the audit bucket or prefix: pass flags or --outputs")
    if expected is None:
        if not stack.stream_arn:
            raise SystemExit("missing the stream ARN (or pass --expected)")
        expected = changes_from_stream(
            client("dynamodbstreams", endpoint_url, stack.region), stack.stream_arn, since, until
        )
    s3 = client("s3", endpoint_url, stack.region)
    events = [event for _key, event in s3_events(s3, stack.bucket, stack.prefix, since, until)]
    return compare(expected, events, since, until)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_stack_arguments(parser)
    parser.add_argument("--since", required=True, help="window start: ISO 8601 or epoch seconds")
    parser.add_argument("--until", help="window end (default: now)")
    parser.add_argument("--expected", type=Path, help="JSON list of expected event ids instead of the stream")
    args = parser.parse_args(argv)
    since = parse_time(args.since)
    until = parse_time(args.until) if args.until else datetime.now(UTC)
    expected = set(json.loads(args.expected.read_text())) if args.expected else None
    result = verify(stack_from(args), since, until, endpoint_url=args.endpoint_url, expected=expected)
    print(json.dumps({**result.__dict__, "ok": result.ok}, indent=2))
    print(
        f"{result.expected} expected, {result.stored} distinct stored, {len(result.missing)} missing, "
        f"{len(result.duplicates)} duplicated, {len(result.unexpected)} unexpected, "
        f"{len(result.truncated)} truncated",
        file=sys.stderr,
    )
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
