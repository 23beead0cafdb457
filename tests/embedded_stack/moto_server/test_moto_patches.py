"""Against the patched moto server over HTTP: the patches fail loudly when moto's internals change, and
serve exactly the deployed code."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
import requests

from embedded_stack.lambda_runtime import CodeCache, RunnerError
from embedded_stack.moto_server import patches as moto_patches
from tests.embedded_stack.support import make_zip


def test_stream_patch_refuses_an_unknown_moto(monkeypatch, moto_server):
    from moto.dynamodb.models import table as table_mod

    def add(self, old, new):  # what a future moto might look like
        return None

    monkeypatch.setattr(table_mod.StreamShard, "add", add)
    with pytest.raises(moto_patches.MotoPatchError, match=r"StreamShard\.add"):
        moto_patches._patch_stream_shard()


def test_code_location_serves_the_deployed_bytes_and_the_cache_checks_them(aws, deploy, tmp_path):
    name = deploy({"handler.py": "def handler(e, c):\n    return 1\n"})
    fn = aws("lambda").get_function(FunctionName=name)
    location, sha = fn["Code"]["Location"], fn["Configuration"]["CodeSha256"]
    assert location.startswith(moto_patches._endpoint_url)
    cache = CodeCache(tmp_path / "code")
    extracted = cache.extract(location, sha)
    assert (extracted / "handler.py").read_text().startswith("def handler")
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    with pytest.raises(RunnerError, match="CodeSha256"):
        cache.extract(location, wrong)


def test_layer_location_is_served_too(aws):
    lam = aws("lambda")
    published = lam.publish_layer_version(
        LayerName="patch-test", Content={"ZipFile": make_zip({"python/x.py": ""})}
    )
    content = lam.get_layer_version(LayerName="patch-test", VersionNumber=published["Version"])["Content"]
    assert content["Location"].startswith(moto_patches._endpoint_url)
    assert content["CodeSha256"] == published["Content"]["CodeSha256"]


def test_a_redrive_policy_reads_back_as_compact_json_as_sqs_returns_it(aws):
    import json

    sqs = aws("sqs")
    dlq = sqs.create_queue(QueueName="redrive-format-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 14}, separators=(",", ":"))
    url = sqs.create_queue(QueueName="redrive-format", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
    assert got["RedrivePolicy"] == policy  # what Terraform's jsonencode wrote: no perpetual diff


BROWSER_REQUESTS = [
    # A CORS preflight, as a page's fetch() of the DynamoDB API would send first.
    (
        "OPTIONS",
        "/",
        {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        None,
    ),
    # What the page would send next: Scan the table (keys and data are in there).
    (
        "POST",
        "/",
        {
            "Origin": "https://evil.example",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
        },
        b"{}",
    ),
    # The API keys (values included) through API Gateway's control plane.
    ("GET", "/apikeys?includeValues=true", {"Origin": "https://evil.example"}, None),
    # A form POST or an <img> needs no CORS to be sent: a query-protocol write (SQS) without reading.
    (
        "POST",
        "/",
        {"Origin": "null", "Content-Type": "application/x-www-form-urlencoded"},
        b"Action=ListQueues",
    ),
    ("GET", "/?Action=ListQueues", {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "cross-site"}, None),
]


@pytest.mark.parametrize(("method", "path", "headers", "body"), BROWSER_REQUESTS)
def test_a_web_page_can_neither_read_nor_drive_the_control_plane(moto_server, method, path, headers, body):
    """moto's server allows CORS from every origin (flask-cors): during `make run` any web page could
    read the partners' keys and data. The control plane serves SDKs only: browsers are refused."""
    auth = {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request"}
    response = requests.request(
        method, f"{moto_server.endpoint_url}{path}", headers={**auth, **headers}, data=body, timeout=10
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.status_code == 403
    assert response.json()["message"].startswith("Browser requests are refused")


def test_sdk_requests_still_work(aws):
    assert "TableNames" in aws("dynamodb").list_tables()
    assert aws("apigateway").get_api_keys()["items"] is not None


def test_reads_racing_transactions_never_fail(moto_server):
    """moto's GetItem of an absent key inserted into the table's defaultdict, and its Query/Scan iterate
    it, while a TransactWriteItems deep-copies the table: "dictionary changed size during iteration",
    a 500 under load (the soak found it). Reads and writes of the table must not break each other."""
    import threading
    import uuid

    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    ddb = boto3.client(
        "dynamodb",
        endpoint_url=moto_server.endpoint_url,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=20),
    )
    table = f"race-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    for chunk in range(80):  # a table of some size: each transaction deep-copies all of it
        ddb.batch_write_item(
            RequestItems={
                table: [
                    {"PutRequest": {"Item": {"PK": {"S": f"seed-{chunk}-{i}"}, "SK": {"S": "ITEM"}}}}
                    for i in range(25)
                ]
            }
        )
    errors: list[str] = []
    stop = time.monotonic() + 3

    def guarded(call):
        def loop():
            while time.monotonic() < stop:
                try:
                    call()
                except ClientError as exc:
                    errors.append(exc.response["Error"]["Code"])

        return threading.Thread(target=loop)

    def transact():
        key = uuid.uuid4().hex
        ddb.transact_write_items(
            TransactItems=[{"Put": {"TableName": table, "Item": {"PK": {"S": key}, "SK": {"S": "ITEM"}}}}]
        )

    def get_absent():
        ddb.get_item(TableName=table, Key={"PK": {"S": uuid.uuid4().hex}, "SK": {"S": "ITEM"}})

    def query():
        ddb.query(
            TableName=table,
            KeyConditionExpression="PK = :p",
            ExpressionAttributeValues={":p": {"S": uuid.uuid4().hex}},
        )

    threads = [guarded(transact) for _ in range(2)] + [guarded(get_absent) for _ in range(4)]
    threads += [guarded(query), guarded(lambda: ddb.scan(TableName=table, Limit=50))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_a_cancelled_transaction_leaves_the_stream_readable_and_clean(moto_server, monkeypatch):
    """moto rolls a cancelled TransactWriteItems back by swapping in a deep copy of the table, stream
    shard included: every shard iterator held before (the pollers') then read a shard nothing was
    appended to any more, and the audit trail stopped after the first idempotent replay. Nor may a
    poller read the record of a write the transaction then undoes (it did, in the soak: an audit event
    for an item that never existed, and a later record skipped for reusing its sequence number)."""
    import uuid

    import boto3
    from botocore.exceptions import ClientError

    def client(service):
        return boto3.client(
            service,
            endpoint_url=moto_server.endpoint_url,
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    ddb, streams = client("dynamodb"), client("dynamodbstreams")
    table = f"txn-{uuid.uuid4().hex[:8]}"
    stream_arn = ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]["LatestStreamArn"]
    ddb.put_item(TableName=table, Item={"PK": {"S": "first"}})
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    page = streams.get_records(ShardIterator=iterator)
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in page["Records"]] == ["first"]
    ddb.put_item(TableName=table, Item={"PK": {"S": "kept"}, "v": {"N": "1"}})
    page = streams.get_records(ShardIterator=page["NextShardIterator"])
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in page["Records"]] == ["kept"]
    from moto.dynamodb.models.table import Table

    seen_mid_transaction: list[list[str]] = []
    put = Table.put_item

    def peeking_put(self, item_attrs, *args, **kwargs):
        result = put(self, item_attrs, *args, **kwargs)
        if item_attrs.get("PK") == {"S": "undone"}:  # a poller reading while the transaction runs
            peek = streams.get_records(ShardIterator=page["NextShardIterator"])["Records"]
            seen_mid_transaction.append([r["dynamodb"]["Keys"]["PK"]["S"] for r in peek])
        return result

    monkeypatch.setattr(Table, "put_item", peeking_put)
    with pytest.raises(ClientError, match="TransactionCanceled"):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"PK": {"S": "undone"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": {"S": "kept"}},
                        "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Delete": {"TableName": table, "Key": {"PK": {"S": "first"}}}},
                {
                    "ConditionCheck": {
                        "TableName": table,
                        "Key": {"PK": {"S": "nowhere"}},
                        "ConditionExpression": "attribute_exists(PK)",
                    }
                },
            ]
        )
    # Cancelled by a condition: every condition is checked before any write, so nothing was written.
    assert seen_mid_transaction == []
    # A write moto refuses half way (an update of an attribute "first" lacks): those before it were
    # made, a poller read meanwhile, and all of it was undone.
    with pytest.raises(ClientError):
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": table, "Item": {"PK": {"S": "undone"}}}},
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": {"S": "kept"}},
                        "UpdateExpression": "SET v = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"PK": {"S": "first"}},
                        "UpdateExpression": "SET v = v + :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
            ]
        )
    monkeypatch.undo()
    assert seen_mid_transaction == [[]]
    ddb.put_item(TableName=table, Item={"PK": {"S": "after"}})
    page = streams.get_records(ShardIterator=page["NextShardIterator"])
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in page["Records"]] == ["after"]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )
    everything = streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert [r["dynamodb"]["Keys"]["PK"]["S"] for r in everything] == ["first", "kept", "after"]
    sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in everything]
    assert sequence == sorted(set(sequence))
    assert "Item" not in ddb.get_item(TableName=table, Key={"PK": {"S": "undone"}})
    assert ddb.get_item(TableName=table, Key={"PK": {"S": "kept"}})["Item"]["v"] == {"N": "1"}
    assert "Item" in ddb.get_item(TableName=table, Key={"PK": {"S": "first"}})


def test_queries_keep_dynamodbs_order_on_the_faster_sort(moto_server):
    """all_items sorts on precomputed values now: numbers must still sort as numbers, not as text."""
    import random
    import uuid

    import boto3

    ddb = boto3.client(
        "dynamodb",
        endpoint_url=moto_server.endpoint_url,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    table = f"order-{uuid.uuid4().hex[:8]}"
    ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "N", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "N", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    numbers = random.Random(7).sample(range(-500, 500), 40)
    for n in numbers:
        ddb.put_item(TableName=table, Item={"PK": {"S": "u"}, "N": {"N": str(n)}})
    page = ddb.query(
        TableName=table, KeyConditionExpression="PK = :u", ExpressionAttributeValues={":u": {"S": "u"}}
    )
    assert [int(i["N"]["N"]) for i in page["Items"]] == sorted(numbers)
    assert ddb.scan(TableName=table)["Count"] == len(numbers)
