"""Idempotency-Key on POST /items: replay, 422, concurrency, TTL, atomicity with the item."""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.events import body_of

KEY = {"Idempotency-Key": "order-42"}


def _items(aws, entity="item"):
    return [i for i in aws.scan(TableName="items-test")["Items"] if i["entity"]["S"] == entity]


def test_replay_returns_the_original_response_and_creates_nothing(api, aws):
    first = api.create({"userId": "u1", "name": "n"}, headers=KEY)
    assert first["statusCode"] == 201 and "Idempotent-Replayed" not in first["headers"]
    again = api.create({"name": "n", "userId": "u1"}, headers=KEY)  # same body, other key order
    assert again["statusCode"] == 201
    assert body_of(again) == body_of(first)
    assert again["headers"]["Idempotent-Replayed"] == "true"
    assert len(_items(aws)) == 1


def test_same_key_different_body_is_422(api, aws):
    api.create({"userId": "u1", "name": "n"}, headers=KEY)
    resp = api.create({"userId": "u1", "name": "other"}, headers=KEY)
    assert resp["statusCode"] == 422
    assert len(_items(aws)) == 1


def test_record_and_item_are_written_together_with_a_ttl(api, aws):
    before = int(time.time())
    api.create({"userId": "u1", "name": "n"}, headers=KEY)
    (record,) = _items(aws, "idempotency")
    assert record["SK"]["S"] == "IDEMPOTENCY" and record["PK"]["S"].startswith(f"P#{api.partner}#K#")
    assert "order-42" not in record["PK"]["S"]  # hashed
    assert before + 24 * 3600 <= int(record["expiresAt"]["N"]) <= int(time.time()) + 24 * 3600


def test_existing_client_id_without_record_is_409_and_writes_no_record(api, aws):
    api.create({"id": "taken", "userId": "u1", "name": "n"})
    resp = api.create({"id": "taken", "userId": "u1", "name": "n"}, headers=KEY)
    assert resp["statusCode"] == 409
    assert _items(aws, "idempotency") == []


def test_keys_are_scoped_per_partner(api, other, aws):
    a = body_of(api.create({"userId": "u1", "name": "n"}, headers=KEY))
    b = other.create({"userId": "u1", "name": "n"}, headers=KEY)
    assert b["statusCode"] == 201 and "Idempotent-Replayed" not in b["headers"]
    assert body_of(b)["id"] != a["id"]


def test_expired_record_counts_as_absent(api, aws):
    api.create({"userId": "u1", "name": "n"}, headers=KEY)
    (record,) = _items(aws, "idempotency")
    aws.update_item(
        TableName="items-test",
        Key={"PK": record["PK"], "SK": record["SK"]},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 10)}},
    )
    resp = api.create({"userId": "u1", "name": "different"}, headers=KEY)
    assert resp["statusCode"] == 201 and "Idempotent-Replayed" not in resp["headers"]
    assert len(_items(aws)) == 2


@pytest.mark.parametrize("key", ["", "x" * 129, "with space", "tab\tkey", "ünïcode"])
def test_invalid_keys_are_400(api, aws, key):
    resp = api.create({"userId": "u1", "name": "n"}, headers={"Idempotency-Key": key})
    assert resp["statusCode"] == 400 and body_of(resp)["errors"][0]["field"] == "Idempotency-Key"
    assert _items(aws) == []


def test_key_of_128_characters_is_accepted(api):
    assert (
        api.create({"userId": "u1", "name": "n"}, headers={"Idempotency-Key": "k" * 128})["statusCode"] == 201
    )


def test_concurrent_requests_with_one_key_create_one_item(api, aws):
    from embedded_stack.moto_server.patches import serialize_dynamodb_writes

    serialize_dynamodb_writes()
    workers = 8
    barrier = threading.Barrier(workers)
    responses = []
    lock = threading.Lock()

    def send() -> None:
        barrier.wait()
        resp = api.create({"userId": "u1", "name": "n"}, headers=KEY)
        with lock:
            responses.append(resp)

    threads = [threading.Thread(target=send) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r["statusCode"] for r in responses] == [201] * workers
    assert len({body_of(r)["id"] for r in responses}) == 1
    assert sum("Idempotent-Replayed" not in r["headers"] for r in responses) == 1
    assert len(_items(aws)) == 1 and len(_items(aws, "idempotency")) == 1


def test_transaction_conflict_is_retried_then_replayed(api, aws):
    """A TransactionConflict (another request with the key in flight) is retried, not surfaced."""
    from apikit import clients

    first = body_of(api.create({"userId": "u1", "name": "n"}, headers=KEY))
    ddb = clients.client("dynamodb")
    calls = []

    def conflict_once(params, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            from botocore.exceptions import ClientError

            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                    "CancellationReasons": [{"Code": "None"}, {"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )

    ddb.meta.events.register("before-call.dynamodb.TransactWriteItems", conflict_once)
    try:
        resp = api.create({"userId": "u1", "name": "n"}, headers=KEY)
    finally:
        ddb.meta.events.unregister("before-call.dynamodb.TransactWriteItems", conflict_once)
    assert resp["statusCode"] == 201 and body_of(resp) == first and len(calls) == 2


def test_a_value_dynamodb_refuses_in_the_transaction_is_400_at_once(api, aws):
    """A cancellation reason ValidationError is the client's data: never retried until the deadline."""
    from apikit import clients
    from botocore.exceptions import ClientError

    def refuse(model, **_):
        if model.name == "TransactWriteItems":
            error = {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": "ValidationError"}, {"Code": "None"}],
            }
            raise ClientError(error, model.name)

    ddb = clients.client("dynamodb")
    ddb.meta.events.register("before-call.dynamodb", refuse)
    try:
        started = time.monotonic()
        response = api.create({"userId": "u1", "name": "n"}, headers={"Idempotency-Key": "k-invalid"})
    finally:
        ddb.meta.events.unregister("before-call.dynamodb", refuse)
    assert response["statusCode"] == 400 and time.monotonic() - started < 2
