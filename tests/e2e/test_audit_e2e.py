"""The audit trail end to end: writes over HTTP -> stream -> consumer -> Firehose -> S3, under faults.

Black-box except for the AWS endpoint (to read S3, the stream and the failure bucket, as an operator
would) and, on the embedded stack only, the Firehose fault spec file (embedded_stack/moto_server/faults.py)
and the canary's schedule. Every wait is a poll with a deadline; nothing sleeps to assert.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from embedded_stack.moto_server import faults
from scripts import audit_replay, audit_verify
from scripts.audit_common import Stack, hour_prefixes, object_lines
from tests.e2e.client import Api, new_item
from tests.e2e.targets import StackInfo

pytestmark = pytest.mark.e2e

# Firehose on AWS buffers up to its interval (300 s on AWS stages); moto writes at once.
DELIVERY_DEADLINE_S = float(
    os.environ.get(
        "E2E_AUDIT_DEADLINE_S", "90" if os.environ.get("E2E_TARGET", "local") == "local" else "420"
    )
)
POLL_S = 0.5


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def audit(stack: StackInfo) -> Stack:
    """The names the audit tools need, found from the stack's table and bucket over the AWS API."""
    if not (stack.audit_bucket and stack.table_name):
        pytest.fail("the stack document names no audit bucket or table", pytrace=False)
    kwargs = {"endpoint_url": stack.aws_endpoint_url, "region_name": stack.region}
    firehose = boto3.client("firehose", **kwargs)
    found = None
    for name in firehose.list_delivery_streams(Limit=100)["DeliveryStreamNames"]:
        description = firehose.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        for destination in description["Destinations"]:
            s3 = destination.get("ExtendedS3DestinationDescription") or {}
            if s3.get("BucketARN", "").endswith(f":::{stack.audit_bucket}"):
                found = (name, s3.get("Prefix", ""))
    if found is None:
        pytest.fail(f"no delivery stream writes to {stack.audit_bucket}", pytrace=False)
    table = boto3.client("dynamodb", **kwargs).describe_table(TableName=stack.table_name)["Table"]
    # The failure bucket is where the stream mapping's on-failure destination points (as an operator
    # would find it).
    destinations = [
        ((m.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination", "")
        for m in boto3.client("lambda", **kwargs).list_event_source_mappings(
            EventSourceArn=table.get("LatestStreamArn", "")
        )["EventSourceMappings"]
    ]
    # Every consumer of the stream (the audit trail's, the webhook fan-out's) parks in the same bucket.
    buckets = sorted({d.split(":::", 1)[1] for d in destinations if d.startswith("arn:aws:s3:::")})
    return Stack(
        region=stack.region,
        stage=stack.stage,
        table_name=stack.table_name,
        stream_arn=table.get("LatestStreamArn"),
        bucket=stack.audit_bucket,
        prefix=found[1],
        firehose_name=found[0],
        failure_bucket=buckets[0] if len(buckets) == 1 else None,
    )


@pytest.fixture
def embedded(stack: StackInfo) -> Iterator[None]:
    """Fault injection exists on the embedded stack only; faults are always cleared afterwards."""
    if stack.target != "local":
        pytest.skip(f"fault injection needs the embedded stack, not {stack.target}")
    if os.environ.get("E2E_STACK_JSON") and not os.environ.get("EMBEDDED_FAULTS_FILE"):
        pytest.skip("a stack started elsewhere: set EMBEDDED_FAULTS_FILE to the spec file it reads")
    faults.clear()
    yield
    faults.clear()


def _until(what: str, check: Callable[[], Any], deadline_s: float = DELIVERY_DEADLINE_S) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    end = time.monotonic() + deadline_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > end:
            pytest.fail(f"not within {deadline_s:.0f} s: {what}", pytrace=False)
        time.sleep(POLL_S)


_objects: dict[str, list[dict[str, Any]]] = {}  # S3 key -> its events (objects never change)


def _events(stack: StackInfo, audit: Stack, since: datetime) -> list[dict[str, Any]]:
    """Every audit event stored in the partitions from ``since`` to now (each object read once)."""
    s3 = boto3.client("s3", endpoint_url=stack.aws_endpoint_url, region_name=stack.region)
    events = []
    for partition in hour_prefixes(audit.prefix, since, datetime.now(UTC), timedelta(hours=1)):
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=audit.bucket, Prefix=partition):
            for obj in page.get("Contents", []):
                if obj["Key"] not in _objects:
                    body = s3.get_object(Bucket=audit.bucket, Key=obj["Key"])["Body"].read()
                    _objects[obj["Key"]] = list(object_lines(body))
                events.extend(_objects[obj["Key"]])
    return events


def _of_items(events: list[dict[str, Any]], api: Api, ids: set[str]) -> list[dict[str, Any]]:
    partner = api.partner.name if api.partner else None  # the partner id is the tenant
    return [
        e for e in events if e.get("itemId") in ids and (partner is None or e.get("partnerId") == partner)
    ]


def _writes_seen(
    stack: StackInfo, audit: Stack, api: Api, since: datetime, writes: set[tuple[str, str, int]]
) -> Callable[[], list[dict[str, Any]] | None]:
    """A check: every (itemId, eventName, version) write has an event in S3 (returns the events)."""
    ids = {w[0] for w in writes}

    def check() -> list[dict[str, Any]] | None:
        events = _of_items(_events(stack, audit, since), api, ids)
        seen = {(e["itemId"], e["eventName"], e["version"]) for e in events}
        return events if writes <= seen else None

    return check


def _assert_exactly_once(events: list[dict[str, Any]], writes: set[tuple[str, str, int]]) -> dict[str, int]:
    """After dedupe on eventId, each write has exactly one event and nothing else is there.

    Returns the copies per event id (delivery is at least once: copies above 1 are allowed).
    """
    copies: dict[str, int] = {}
    by_id: dict[str, dict[str, Any]] = {}
    for event in events:
        copies[event["eventId"]] = copies.get(event["eventId"], 0) + 1
        by_id.setdefault(event["eventId"], event)
    per_write: dict[tuple[str, str, int], list[str]] = {}
    for event_id, event in by_id.items():
        per_write.setdefault((event["itemId"], event["eventName"], event["version"]), []).append(event_id)
    assert set(per_write) == writes, (
        f"unexpected: {set(per_write) - writes}, missing: {writes - set(per_write)}"
    )
    doubled = {w: ids for w, ids in per_write.items() if len(ids) != 1}
    assert not doubled, f"one write, several event ids: {doubled}"
    return copies


def _create(api: Api, user: str, **fields: Any) -> dict[str, Any]:
    response = api.create(new_item(user, **fields))
    assert response.status_code == 201, response.text
    return response.json()


def _drain(stack: StackInfo, audit: Stack, api: Api, user: str) -> None:
    """Wait until the consumer has caught up: a fresh write is in S3 (one shard, delivered in order)."""
    since = datetime.now(UTC) - timedelta(minutes=1)
    sentinel = _create(api, user, name="sentinel")
    _until("the consumer caught up", _writes_seen(stack, audit, api, since, {(sentinel["id"], "INSERT", 1)}))


def _parked(stack: StackInfo, audit: Stack) -> list[dict[str, Any]]:
    """The on-failure records in the failure bucket: (key, batch info, the records' sequence numbers)."""
    import json

    s3 = boto3.client("s3", endpoint_url=stack.aws_endpoint_url, region_name=stack.region)
    found = []
    for key in audit_replay.failure_objects(s3, audit.failure_bucket):
        record = json.loads(s3.get_object(Bucket=audit.failure_bucket, Key=key)["Body"].read())
        sequences = [r["dynamodb"]["SequenceNumber"] for r in audit_replay.records_of(record)]
        found.append({"key": key, "info": record["DDBStreamBatchInfo"], "sequences": sequences})
    return found


def _stream_sequence(stack: StackInfo, audit: Stack, item_id: str, event_name: str) -> str:
    """The stream sequence number of one item's change, read from the stream."""
    from scripts.audit_common import read_shard, shards

    streams = boto3.client("dynamodbstreams", endpoint_url=stack.aws_endpoint_url, region_name=stack.region)
    for shard in shards(streams, audit.stream_arn):
        for record in read_shard(streams, audit.stream_arn, shard["ShardId"]):
            image = record["dynamodb"].get("NewImage") or record["dynamodb"].get("OldImage") or {}
            if image.get("id", {}).get("S") == item_id and record["eventName"] == event_name:
                return record["dynamodb"]["SequenceNumber"]
    raise AssertionError(f"{item_id} {event_name} not in the stream")


# --------------------------------------------------------------------------- the tests


def test_every_write_appears_in_s3_exactly_once(stack, audit, api_a, user_id):
    """The count check: creates (single and batch), patches and deletes, each once after dedupe."""
    since = datetime.now(UTC) - timedelta(minutes=1)
    writes: set[tuple[str, str, int]] = set()
    singles = [_create(api_a, user_id, name=f"single-{n}") for n in range(6)]
    batch = api_a.batch_write([new_item(user_id, name=f"batch-{n}") for n in range(10)])
    assert batch.status_code == 201, batch.text
    created = [i["id"] for i in singles] + batch.json()["written"]
    writes |= {(i, "INSERT", 1) for i in created}
    for item_id in created[:5]:
        patched = api_a.patch(item_id, {"name": "patched"})
        assert patched.status_code == 200, patched.text
        writes.add((item_id, "MODIFY", 2))
    for item_id in created[-3:]:
        assert api_a.delete(item_id).status_code == 204
        writes.add((item_id, "REMOVE", 1))

    events = _until("every write in S3", _writes_seen(stack, audit, api_a, since, writes))
    _assert_exactly_once(events, writes)
    removed = [e for e in events if e["eventName"] == "REMOVE"]
    assert all(e["newImage"] is None and e["oldImage"]["id"] == e["itemId"] for e in removed)
    modified = [e for e in events if e["eventName"] == "MODIFY"]
    assert all(e["oldImage"]["name"] != "patched" and e["newImage"]["name"] == "patched" for e in modified)

    # The operator's verify tool agrees, with the expected ids taken from the stream itself.
    expected = {e["eventId"] for e in events}
    result = audit_verify.verify(
        audit,
        since,
        datetime.now(UTC) + timedelta(minutes=1),
        endpoint_url=stack.aws_endpoint_url,
        expected=expected,
    )
    assert result.ok and result.missing == []


def test_firehose_failing_for_a_while_loses_nothing(stack, audit, api_a, user_id, embedded):
    _drain(stack, audit, api_a, user_id)
    since = datetime.now(UTC) - timedelta(minutes=1)
    faults.write({"throttle": {"until": time.time() + 3}, "partial": {"calls": 4, "every": 2}})
    items = [_create(api_a, user_id, name=f"throttled-{n}") for n in range(8)]
    writes = {(i["id"], "INSERT", 1) for i in items}
    events = _until("every write in S3 despite the faults", _writes_seen(stack, audit, api_a, since, writes))
    _assert_exactly_once(events, writes)
    fired = faults.fired()
    assert fired.get("throttle", 0) > 0 or fired.get("partial", 0) > 0, fired
    sequences = {e["sequenceNumber"] for e in events}
    assert not [p for p in _parked(stack, audit) if sequences & set(p["sequences"])]


def test_a_poison_record_is_isolated_parked_whole_then_replayed(stack, audit, api_a, user_id, embedded):
    if not audit.failure_bucket:
        pytest.fail("the audit stream mapping has no S3 on-failure destination", pytrace=False)
    _drain(stack, audit, api_a, user_id)
    since = datetime.now(UTC) - timedelta(minutes=1)
    marker = f"POISON-{uuid.uuid4().hex[:10]}"
    faults.write({"poison": [marker]})
    before = _create(api_a, user_id, name="before")
    poison = _create(api_a, user_id, name=marker)
    after = _create(api_a, user_id, name="after")
    healthy = {(before["id"], "INSERT", 1), (after["id"], "INSERT", 1)}

    _until("the healthy writes in S3", _writes_seen(stack, audit, api_a, since, healthy))
    sequence = _stream_sequence(stack, audit, poison["id"], "INSERT")

    def poison_parked() -> list[dict[str, Any]]:
        return [p for p in _parked(stack, audit) if sequence in p["sequences"]]

    parked = _until("the poison record in the failure bucket", poison_parked)
    assert [(p["info"]["startSequenceNumber"], p["info"]["batchSize"], p["sequences"]) for p in parked] == [
        (sequence, 1, [sequence])
    ]
    assert not [e for e in _of_items(_events(stack, audit, since), api_a, {poison["id"]})]

    faults.clear()  # the cause is fixed; now the operator replays, from the parked record alone
    reports = audit_replay.replay(audit, stack.aws_endpoint_url, progress=False)
    mine = [r for r in reports if r.start == sequence]
    assert [(r.source, r.events, r.delivered, r.retired) for r in mine] == [("failure-record", 1, True, True)]
    writes = healthy | {(poison["id"], "INSERT", 1)}
    events = _until("the replayed poison in S3", _writes_seen(stack, audit, api_a, since, writes))
    _assert_exactly_once(events, writes)
    replayed = [e for e in events if e["itemId"] == poison["id"]]
    assert {e["replaySource"] for e in replayed} == {"failure-record"}
    assert replayed[0]["newImage"]["name"] == marker
    assert not poison_parked()
    again = audit_replay.replay(audit, stack.aws_endpoint_url, progress=False)  # safe twice
    assert not [r for r in again if r.start == sequence]


def test_the_audit_canarys_heartbeat_reaches_s3(stack, audit):
    """The scheduled canary's heartbeat travels table -> stream -> consumer -> Firehose -> S3. On the
    embedded stack the test reschedules the rule so that it runs now (a rate rule starts when it is
    created); on AWS it looks for a heartbeat of the last canary window."""
    kwargs = {"endpoint_url": stack.aws_endpoint_url, "region_name": stack.region}
    events_api = boto3.client("events", **kwargs)
    rules = [r for r in events_api.list_rules()["Rules"] if r["Name"].endswith("-audit_canary")]
    if len(rules) != 1:
        pytest.fail(f"expected one audit canary rule, found {[r['Name'] for r in rules]}", pytrace=False)
    (rule,) = rules
    started = datetime.now(UTC)
    if stack.target == "local":
        events_api.put_rule(Name=rule["Name"], ScheduleExpression="rate(2 minutes)")
        since = started - timedelta(seconds=1)
    else:
        since = started - timedelta(minutes=20)

    def heartbeat_in_s3() -> list[dict[str, Any]]:
        return [
            e
            for e in _events(stack, audit, since)
            if e.get("canary") and e.get("writtenAt", 0) >= since.timestamp() * 1000
        ]

    try:
        found = _until("a canary heartbeat in S3", heartbeat_in_s3)
    finally:
        if stack.target == "local":
            events_api.put_rule(Name=rule["Name"], ScheduleExpression=rule["ScheduleExpression"])
    heartbeat = found[0]
    assert heartbeat["eventName"] == "INSERT" and heartbeat["stage"] == stack.stage
    assert "partnerId" not in heartbeat and heartbeat["heartbeatId"]
    item = boto3.client("dynamodb", **kwargs).get_item(
        TableName=stack.table_name,
        Key={"PK": {"S": "CANARY"}, "SK": {"S": f"HEARTBEAT#{heartbeat['heartbeatId']}"}},
    )
    assert item.get("Item", {}).get("expiresAt"), "the heartbeat item carries its TTL"


def test_a_consumer_crash_mid_batch_may_duplicate_but_loses_nothing(stack, audit, api_a, user_id, embedded):
    _drain(stack, audit, api_a, user_id)
    since = datetime.now(UTC) - timedelta(minutes=1)
    # The 3rd record gets in, then the call fails; 8 such failures outlast one invocation's retries,
    # so the function errors and the mapping redelivers (bisecting) what it had sent.
    faults.write({"crash": {"after_records": 3, "times": 8}})
    response = api_a.batch_write([new_item(user_id, name=f"crash-{n}") for n in range(12)])
    assert response.status_code == 201, response.text
    writes = {(i, "INSERT", 1) for i in response.json()["written"]}
    events = _until("every write in S3 after the crashes", _writes_seen(stack, audit, api_a, since, writes))
    copies = _assert_exactly_once(events, writes)
    assert faults.fired().get("crash", 0) >= 1
    assert sum(copies.values()) >= len(writes)
