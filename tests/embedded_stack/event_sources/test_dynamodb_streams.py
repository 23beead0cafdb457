"""Over processes: moto keeps stream records; the pollers deliver them to a real function in a worker
process as Lambda's event source mapping would."""

from __future__ import annotations

import itertools
import json
import re
import time
from pathlib import Path

import pytest

from embedded_stack.event_sources import StreamPollers

_tables = itertools.count()

# Appends each batch it receives to $OUT; fails as the records ask:
#   "poison" in the item's name -> raises (every time)
#   "flaky" -> reported in batchItemFailures the first time only (remembered in $OUT.seen)
RECORDER = """
import json, os

def handler(event, context):
    out = os.environ["OUT"]
    with open(out, "a") as f:
        f.write(json.dumps(event) + "\\n")
    images = [r["dynamodb"].get("NewImage") or {} for r in event["Records"]]
    names = [image.get("name", {}).get("S", "") for image in images]
    if any("poison" in n for n in names):
        raise RuntimeError("poison record")
    seen_path = out + ".seen"
    seen = set(open(seen_path).read().split()) if os.path.exists(seen_path) else set()
    failures = []
    for record, name in zip(event["Records"], names):
        if "flaky" in name and name not in seen:
            seen.add(name)
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
    with open(seen_path, "w") as f:
        f.write(" ".join(sorted(seen)))
    return {"batchItemFailures": failures}
"""


@pytest.fixture(autouse=True)
def _no_leftover_mappings(aws):
    """Each test sees only its own mapping (the moto server is shared by the session)."""
    yield
    lam = aws("lambda")
    for mapping in lam.list_event_source_mappings()["EventSourceMappings"]:
        lam.delete_event_source_mapping(UUID=mapping["UUID"])


@pytest.fixture
def table(aws):
    name = f"stream-table-{next(_tables)}"
    ddb = aws("dynamodb")
    desc = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    return name, desc["LatestStreamArn"]


@pytest.fixture
def queue(aws):
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=f"on-failure-{next(_tables)}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


@pytest.fixture
def recorder(deploy, tmp_path):
    out = tmp_path / "batches.jsonl"
    name = deploy({"handler.py": RECORDER}, env={"OUT": str(out)}, timeout=5)
    return name, out


def _map(aws, function, stream_arn, **settings):
    params = {
        "EventSourceArn": stream_arn,
        "FunctionName": function,
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": 10,
        "MaximumBatchingWindowInSeconds": 0,
    }
    params.update(settings)
    return aws("lambda").create_event_source_mapping(**params)["UUID"]


def _put(aws, table_name, pk, name):
    aws("dynamodb").put_item(TableName=table_name, Item={"PK": {"S": pk}, "name": {"S": name}})


def _batches(out: Path) -> list[list[dict]]:
    if not out.exists():
        return []
    return [json.loads(line)["Records"] for line in out.read_text().splitlines() if line.strip()]


@pytest.fixture
def pollers(moto_server, runner):
    started: list[StreamPollers] = []

    def _start():
        p = StreamPollers(moto_server.endpoint_url, "eu-west-1", runner.invoke, poll_interval_s=0.05)
        started.append(p.start())
        return p

    yield _start
    for p in started:
        p.stop()


def test_moto_keeps_records_when_a_mapping_exists(aws, table, recorder):
    table_name, stream_arn = table
    _map(aws, recorder[0], stream_arn)
    _put(aws, table_name, "a", "first")
    _put(aws, table_name, "a", "second")
    streams = aws("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    records = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY"]
    assert all(r["awsRegion"] == "eu-west-1" for r in records)
    # Reading again finds the same records: nothing consumed them.
    again = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert len(streams.get_records(ShardIterator=again["ShardIterator"])["Records"]) == 2


def test_delivers_insert_modify_remove_in_order_shaped_like_lambda(aws, table, recorder, pollers):
    table_name, stream_arn = table
    function, out = recorder
    _put(aws, table_name, "k1", "one")
    _put(aws, table_name, "k1", "one-changed")
    _put(aws, table_name, "k2", "two")
    aws("dynamodb").delete_item(TableName=table_name, Key={"PK": {"S": "k1"}})
    _map(aws, function, stream_arn, BatchSize=2)
    p = pollers()
    assert p.wait_idle(20)
    batches = _batches(out)
    assert [len(b) for b in batches] == [2, 2]  # BatchSize honoured
    records = [r for b in batches for r in b]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "INSERT", "REMOVE"]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs)
    first, modify, _, remove = records
    assert set(first) == {
        "eventID",
        "eventName",
        "eventVersion",
        "eventSource",
        "awsRegion",
        "dynamodb",
        "eventSourceARN",
    }
    assert first["eventSource"] == "aws:dynamodb"
    assert first["eventSourceARN"] == stream_arn
    assert first["awsRegion"] == "eu-west-1"
    assert first["dynamodb"]["Keys"] == {"PK": {"S": "k1"}}
    assert first["dynamodb"]["NewImage"] == {"PK": {"S": "k1"}, "name": {"S": "one"}}
    assert "OldImage" not in first["dynamodb"]
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], int)
    assert abs(first["dynamodb"]["ApproximateCreationDateTime"] - time.time()) < 120
    assert first["dynamodb"]["SizeBytes"] > 0
    assert modify["dynamodb"]["OldImage"]["name"] == {"S": "one"}
    assert modify["dynamodb"]["NewImage"]["name"] == {"S": "one-changed"}
    assert remove["dynamodb"]["OldImage"]["name"] == {"S": "one-changed"}
    assert "NewImage" not in remove["dynamodb"]
    assert len({r["eventID"] for r in records}) == 4


def test_new_writes_are_delivered_while_polling(aws, table, recorder, pollers):
    table_name, stream_arn = table
    function, out = recorder
    _map(aws, function, stream_arn)
    p = pollers()
    for i in range(5):
        _put(aws, table_name, f"live{i}", f"n{i}")
    deadline = time.monotonic() + 20
    while sum(len(b) for b in _batches(out)) < 5:
        assert time.monotonic() < deadline, _batches(out)
        time.sleep(0.05)
    names = [r["dynamodb"]["NewImage"]["name"]["S"] for b in _batches(out) for r in b]
    assert names == [f"n{i}" for i in range(5)]
    assert p.wait_idle(10)


def test_batch_item_failures_retry_from_the_lowest_failed_sequence(aws, table, recorder, pollers):
    table_name, stream_arn = table
    function, out = recorder
    for name in ("a", "b-flaky", "c", "d-flaky", "e"):
        _put(aws, table_name, name, name)
    _map(aws, function, stream_arn, FunctionResponseTypes=["ReportBatchItemFailures"])
    p = pollers()
    assert p.wait_idle(20)
    calls = [[r["dynamodb"]["NewImage"]["name"]["S"] for r in batch] for batch in _batches(out)]
    assert calls == [
        ["a", "b-flaky", "c", "d-flaky", "e"],  # b and d reported: checkpoint at b (the lowest)
        ["b-flaky", "c", "d-flaky", "e"],  # retried from b, not from d and not from the start
    ]
    stats = p.pollers()[0].stats
    assert stats.delivered == 5
    assert stats.failed_to_destination == 0


def test_bisects_a_poison_record_and_sends_it_to_the_on_failure_queue(aws, table, recorder, queue, pollers):
    table_name, stream_arn = table
    function, out = recorder
    queue_url, queue_arn = queue
    for name in ("a", "b", "c-poison", "d"):
        _put(aws, table_name, name, name)
    _map(
        aws,
        function,
        stream_arn,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    p = pollers()
    assert p.wait_idle(30)
    calls = [[r["dynamodb"]["NewImage"]["name"]["S"] for r in batch] for batch in _batches(out)]
    assert calls == [
        ["a", "b", "c-poison", "d"],  # fails: split in two (no retry used)
        ["a", "b"],
        ["c-poison", "d"],  # fails: split again
        ["c-poison"],  # fails: cannot split, retry 1
        ["c-poison"],  # fails again: retries exhausted -> destination
        ["d"],
    ]
    messages = aws("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)[
        "Messages"
    ]
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    poison = _batches(out)[3][0]
    assert set(body) == {"requestContext", "responseContext", "version", "timestamp", "DDBStreamBatchInfo"}
    assert body["version"] == "1.0"
    assert body["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert body["requestContext"]["approximateInvokeCount"] == 2
    assert body["requestContext"]["functionArn"].endswith(f":function:{function}")
    assert body["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    info = body["DDBStreamBatchInfo"]
    assert info["shardId"] == p.pollers()[0].shard_id
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == poison["dynamodb"]["SequenceNumber"]
    assert info["batchSize"] == 1
    assert info["streamArn"] == stream_arn
    assert info["approximateArrivalOfFirstRecord"].endswith("Z")
    assert body["timestamp"].endswith("Z")
    stats = p.pollers()[0].stats
    assert (stats.delivered, stats.failed_to_destination) == (3, 1)


def test_without_bisect_the_whole_batch_is_retried_then_discarded(aws, table, recorder, queue, pollers):
    table_name, stream_arn = table
    function, out = recorder
    queue_url, queue_arn = queue
    for name in ("a", "b-poison", "c"):
        _put(aws, table_name, name, name)
    _map(
        aws,
        function,
        stream_arn,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    p = pollers()
    assert p.wait_idle(30)
    assert [len(b) for b in _batches(out)] == [3, 3, 3]  # first try + 2 retries
    body = json.loads(
        aws("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"][0]["Body"]
    )
    assert body["DDBStreamBatchInfo"]["batchSize"] == 3
    assert body["requestContext"]["approximateInvokeCount"] == 3


def test_records_older_than_the_maximum_age_go_to_the_destination(aws, table, recorder, queue, pollers):
    table_name, stream_arn = table
    function, out = recorder
    queue_url, queue_arn = queue
    _put(aws, table_name, "old", "x-poison")
    time.sleep(2.1)
    _map(
        aws,
        function,
        stream_arn,
        MaximumRecordAgeInSeconds=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    p = pollers()
    assert p.wait_idle(20)
    assert _batches(out) == []  # expired before any invocation
    body = json.loads(
        aws("sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"][0]["Body"]
    )
    assert body["requestContext"]["condition"] == "RecordAgeExceeded"
    assert body["requestContext"]["approximateInvokeCount"] == 0


def test_a_mapping_update_keeps_the_checkpoint(aws, table, recorder, pollers):
    table_name, stream_arn = table
    function, out = recorder
    _put(aws, table_name, "c1", "one")
    _put(aws, table_name, "c2", "two")
    uuid = _map(aws, function, stream_arn)
    p = pollers()
    assert p.wait_idle(20)
    aws("lambda").update_event_source_mapping(UUID=uuid, BatchSize=5)
    p.sync()
    assert p.pollers()[0].settings.batch_size == 5  # a new poller, from the old one's checkpoint
    _put(aws, table_name, "c3", "three")
    assert p.wait_idle(20)
    names = [r["dynamodb"]["NewImage"]["name"]["S"] for b in _batches(out) for r in b]
    assert names == ["one", "two", "three"]  # nothing delivered twice


def _bucket_writable_by(aws, role_arn: str) -> str:
    """A bucket only ``role_arn`` may write (the audit module's failure bucket policy)."""
    name = f"on-failure-{next(_tables)}"
    s3 = aws("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    deny = {
        "Sid": "DenyObjectWritesByOthers",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{name}/*",
        "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [role_arn]}},
    }
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    return name


@pytest.fixture
def failure_bucket(aws):
    return _bucket_writable_by(aws, "arn:aws:iam::123456789012:role/embedded-test")


def test_an_s3_destination_gets_the_whole_batch_under_lambdas_key_layout(
    aws, table, recorder, failure_bucket, pollers
):
    table_name, stream_arn = table
    function, out = recorder
    for name in ("a", "b-poison", "c"):
        _put(aws, table_name, name, name)
    uuid = _map(
        aws,
        function,
        stream_arn,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": f"arn:aws:s3:::{failure_bucket}"}},
    )
    p = pollers()
    assert p.wait_idle(30)
    s3 = aws("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=failure_bucket).get("Contents", [])]
    assert len(keys) == 1, keys
    shard = p.pollers()[0].shard_id
    assert re.fullmatch(
        rf"aws/lambda/{uuid}/{re.escape(shard)}/\d{{4}}/\d{{2}}/\d{{2}}/"
        r"\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}-[0-9a-f-]{36}",
        keys[0],
    ), keys[0]
    body = json.loads(s3.get_object(Bucket=failure_bucket, Key=keys[0])["Body"].read())
    assert set(body) == {
        "requestContext",
        "responseContext",
        "version",
        "timestamp",
        "DDBStreamBatchInfo",
        "payload",
    }
    assert isinstance(body["payload"], str)  # an escaped JSON string, as AWS documents
    delivered = [
        batch
        for batch in _batches(out)
        if [r["dynamodb"]["NewImage"]["name"]["S"] for r in batch] == ["b-poison"]
    ]
    assert json.loads(body["payload"]) == {"Records": delivered[-1]}
    assert body["DDBStreamBatchInfo"]["batchSize"] == 1
    stats = p.pollers()[0].stats
    assert (stats.delivered, stats.failed_to_destination, stats.destination_failures) == (2, 1, 0)


def test_a_destination_bucket_that_refuses_the_role_counts_a_delivery_failure(aws, table, recorder, pollers):
    """Lambda writes with the function's role: a bucket admitting another role refuses it (as on AWS)."""
    table_name, stream_arn = table
    function, _ = recorder
    name = _bucket_writable_by(aws, "arn:aws:iam::123456789012:role/someone-else")
    s3 = aws("s3")
    _put(aws, table_name, "x-poison", "x-poison")
    _map(
        aws,
        function,
        stream_arn,
        MaximumRetryAttempts=0,
        DestinationConfig={"OnFailure": {"Destination": f"arn:aws:s3:::{name}"}},
    )
    p = pollers()
    assert p.wait_idle(30)
    assert s3.list_objects_v2(Bucket=name).get("KeyCount", 0) == 0
    assert p.pollers()[0].stats.destination_failures == 1


def _names(out: Path) -> list[str]:
    return [r["dynamodb"]["NewImage"]["name"]["S"] for b in _batches(out) for r in b]


def test_a_poller_that_crashes_is_restarted_from_its_checkpoint(
    aws, table, recorder, moto_server, runner, tmp_path, monkeypatch, caplog
):
    """The function took a batch, then the poller died before checkpointing it: the restarted poller
    delivers that batch again (at least once, as Lambda does) and then the rest, in order."""
    from embedded_stack.moto_server import faults

    spec = tmp_path / "faults.json"
    monkeypatch.setenv("EMBEDDED_FAULTS_FILE", str(spec))
    table_name, stream_arn = table
    function, out = recorder
    for name in ("one", "two"):
        _put(aws, table_name, name, name)
    faults.write({"poller_crash": {"times": 1}}, spec)
    _map(aws, function, stream_arn)
    p = StreamPollers(
        moto_server.endpoint_url, "eu-west-1", runner.invoke, poll_interval_s=0.05, refresh_interval_s=0.2
    ).start()
    try:
        deadline = time.monotonic() + 20
        while p.restarts < 1:
            assert time.monotonic() < deadline, "the dead poller was never restarted"
            time.sleep(0.05)
        _put(aws, table_name, "three", "three")
        assert p.wait_idle(20)
    finally:
        p.stop()
        faults.clear(spec)
    assert _names(out) == ["one", "two", "one", "two", "three"]
    assert p.restarts == 1
    deaths = [r for r in caplog.records if r.name == "embedded.streams" and r.exc_info]
    assert [type(r.exc_info[1]) for r in deaths] == [faults.InjectedFault]
    assert any("died; restarting it from checkpoint" in r.getMessage() for r in caplog.records)


def test_a_poller_killed_by_an_unexpected_error_is_restarted(
    aws, table, recorder, moto_server, runner, monkeypatch
):
    """E.g. the endpoint refusing a GetRecords call for a moment: the poller dies, then comes back."""
    table_name, stream_arn = table
    function, out = recorder
    _map(aws, function, stream_arn)
    p = StreamPollers(
        moto_server.endpoint_url, "eu-west-1", runner.invoke, poll_interval_s=0.05, refresh_interval_s=0.2
    )
    real = p._clients.streams.get_records
    failures = iter([ConnectionError("connection refused (simulated)")])

    def flaky(**kwargs):
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return real(**kwargs)

    monkeypatch.setattr(p._clients.streams, "get_records", flaky)
    p.start()
    try:
        _put(aws, table_name, "after", "after")
        deadline = time.monotonic() + 20
        while "after" not in _names(out):
            assert time.monotonic() < deadline, "nothing was delivered after the poller died"
            time.sleep(0.05)
    finally:
        p.stop()
    assert p.restarts == 1
    assert _names(out) == ["after"]
