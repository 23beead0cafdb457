"""Against the patched moto server over HTTP: the DynamoDB throttling fault answers as a table out of
capacity does, for the window the spec gives, and says what fired."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from embedded_stack.moto_server import faults
from tests.embedded_stack.conftest import REGION

_tables = itertools.count()


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "faults.json"
    monkeypatch.setenv("EMBEDDED_FAULTS_FILE", str(path))
    yield path
    faults.clear(path)


@pytest.fixture
def ddb(moto_server):
    """A client that never retries, so each call shows what the server answered."""
    return boto3.client(
        "dynamodb",
        endpoint_url=moto_server.endpoint_url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


@pytest.fixture
def table(ddb) -> str:
    name = f"faults-{next(_tables)}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _put(ddb, table: str, pk: str) -> str:
    try:
        ddb.put_item(TableName=table, Item={"PK": {"S": pk}})
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return "ok"


def test_every_item_call_fails_while_the_window_lasts(ddb, table, spec):
    faults.write({"dynamodb_throttle": {"until": time.time() + 60}}, spec)
    assert _put(ddb, table, "a") == "ProvisionedThroughputExceededException"
    with pytest.raises(ClientError) as raised:
        ddb.get_item(TableName=table, Key={"PK": {"S": "a"}})
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    ddb.describe_table(TableName=table)  # the control plane is never throttled
    assert ddb.scan(TableName=table)["Count"] == 0  # nor Scan: nothing was written
    assert faults.fired(spec)["dynamodb_throttle"] == 2
    faults.write({"dynamodb_throttle": {"until": time.time() - 1}}, spec)  # the window is over
    assert _put(ddb, table, "a") == "ok"


def test_every_nth_call_and_a_bounded_number_of_calls(ddb, table, spec):
    faults.write({"dynamodb_throttle": {"every": 2, "calls": 2}}, spec)
    outcomes = [_put(ddb, table, f"k{i}") for i in range(6)]
    throttled = "ProvisionedThroughputExceededException"
    assert outcomes == ["ok", throttled, "ok", throttled, "ok", "ok"]


def test_batches_that_pass_leave_some_requests_unprocessed(ddb, table, spec):
    faults.write({"dynamodb_throttle": {"every": 1000, "unprocessed_every": 2}}, spec)
    requests = [{"PutRequest": {"Item": {"PK": {"S": f"b{i}"}}}} for i in range(5)]
    answer = ddb.batch_write_item(RequestItems={table: requests})
    left = [r["PutRequest"]["Item"]["PK"]["S"] for r in answer["UnprocessedItems"][table]]
    assert left == ["b1", "b3"]
    keys = [{"PK": {"S": f"b{i}"}} for i in range(5)]
    got = ddb.batch_get_item(RequestItems={table: {"Keys": keys, "ConsistentRead": True}})
    assert sorted(i["PK"]["S"] for i in got["Responses"][table]) == ["b0", "b2", "b4"]
    assert got["UnprocessedKeys"][table] == {"Keys": [keys[1], keys[3]], "ConsistentRead": True}
    faults.clear(spec)
    stored = ddb.scan(TableName=table)["Items"]
    assert sorted(i["PK"]["S"] for i in stored) == ["b0", "b2", "b4"]  # unprocessed = not written


def test_kill_worker_names_a_function_as_deployed_or_by_its_folder(spec):
    faults.write({"kill_worker": {"function": "batch_write", "after_ms": 50, "times": 2}}, spec)
    assert faults.worker_kill_delay("items-local-batch_get") is None
    assert faults.worker_kill_delay("items-local-batch_write") == 0.05
    assert faults.worker_kill_delay("batch_write") == 0.05
    assert faults.worker_kill_delay("batch_write") is None  # `times` is spent
    assert faults.fired(spec) == {"kill_worker": 2}
