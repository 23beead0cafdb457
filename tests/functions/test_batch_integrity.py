"""POST /batch never writes over an item, and every partial outcome is a 207 (issue 11, findings 1-2).

In process against moto, whose writes are made atomic per item as DynamoDB's are
(tests/support/inprocess.py): a create that races a batch on the same id must leave exactly one
winner, whatever the interleaving.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.support.events import PARTNER_A, body_of

WRITES = ("PutItem", "BatchWriteItem", "TransactWriteItems")


def _items(ids, user="u1", name="batch"):
    return [{"id": i, "userId": user, "name": name} for i in ids]


def _stored(aws, item_id, partner=PARTNER_A):
    key = {"PK": {"S": f"P#{partner}#I#{item_id}"}, "SK": {"S": "ITEM"}}
    return aws.get_item(TableName="items-test", Key=key, ConsistentRead=True).get("Item")


def _item_count(aws):
    return len([i for i in aws.scan(TableName="items-test")["Items"] if i["entity"]["S"] == "item"])


def _on_write(fn):
    """Run ``fn(operation, params)`` before every write call the layer makes (botocore's own hook)."""
    from apikit import clients

    ddb = clients.client("dynamodb")

    def hook(model, params, **_):
        if model.name in WRITES:
            fn(model.name, params)

    ddb.meta.events.register("before-parameter-build.dynamodb", hook)
    return lambda: ddb.meta.events.unregister("before-parameter-build.dynamodb", hook)


def test_an_item_created_while_the_batch_runs_is_never_overwritten(api, aws):
    """Finding 1: the create lands after the batch started (after any check it made), before its writes."""
    ids = [f"r{i}" for i in range(100)]
    racer: dict = {}
    lock = threading.Lock()

    def create_the_last_id(operation, params):
        with lock:
            if racer:
                return
            racer["started"] = True
        thread = threading.Thread(
            target=lambda: racer.update(response=api.create({"id": "r99", "userId": "u2", "name": "racer"}))
        )
        thread.start()
        thread.join()

    remove = _on_write(create_the_last_id)
    try:
        batch = api.batch_write({"items": _items(ids)})
    finally:
        remove()
    created = racer["response"]
    body = body_of(batch)
    batch_won = "r99" in body["written"]
    assert (created["statusCode"] == 201) != batch_won, "exactly one of the two may create r99"
    stored = _stored(aws, "r99")
    assert stored["name"]["S"] == ("batch" if batch_won else "racer") and stored["version"]["N"] == "1"
    if not batch_won:
        assert batch["statusCode"] == 207
        assert body["failed"] == [{"index": 99, "id": "r99", "reason": "exists"}]
        # The creator's ETag still holds: nothing reset the item behind its back.
        patched = api.patch("r99", {"name": "mine"}, headers={"If-Match": created["headers"]["ETag"]})
        assert patched["statusCode"] == 200
    assert len(body["written"]) == 99 + batch_won and _item_count(aws) == 100


def _race(api, ids: list[str]) -> dict[str, list[str]]:
    """Two batches of half the ids each, and one create per id, all at once: who created each id."""
    winners: dict[str, list[str]] = {i: [] for i in ids}

    def create(item_id):
        response = api.create({"id": item_id, "userId": "u1", "name": f"single-{item_id}"})
        if response["statusCode"] == 201:
            winners[item_id].append(f"single-{item_id}")
        else:
            assert response["statusCode"] == 409, response

    def batch(half):
        response = api.batch_write({"items": _items(half, name="batch")})
        assert response["statusCode"] in (201, 207), response
        for item_id in body_of(response)["written"]:
            winners[item_id].append("batch")
        assert {f["reason"] for f in body_of(response)["failed"]} <= {"exists"}

    half = len(ids) // 2
    with ThreadPoolExecutor(max_workers=6) as pool:
        jobs = [pool.submit(batch, ids[:half]), pool.submit(batch, ids[half:])]
        jobs += [pool.submit(create, i) for i in reversed(ids)]
        for job in jobs:
            job.result()
    return winners


def test_concurrent_creates_and_batches_of_the_same_ids_leave_one_winner_each(api, aws):
    """Threads create ids that batches of the same ids are writing: each id is created exactly once."""
    for round_ in range(2):
        winners = _race(api, [f"c{round_}-{i}" for i in range(60)])
        for item_id, who in winners.items():
            assert len(who) == 1, f"{item_id} was created by {who}"
            assert _stored(aws, item_id)["name"]["S"] == who[0]


def test_a_throttled_later_chunk_is_a_207_listing_what_was_written(api, aws):
    """Finding 2: the second BatchWriteItem is refused after botocore's retries; the rest goes on."""
    calls = []

    def throttle_second(operation, params):
        calls.append(operation)
        if operation == "BatchWriteItem" and calls.count("BatchWriteItem") == 2:
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
            raise ClientError(error, operation)

    remove = _on_write(throttle_second)
    try:
        response = api.batch_write({"items": [{"userId": "u1", "name": f"n{i}"} for i in range(100)]})
    finally:
        remove()
    assert response["statusCode"] == 207 and response["headers"]["Retry-After"] in {"1", "2", "3"}
    body = body_of(response)
    assert [f["index"] for f in body["failed"]] == list(range(25, 50))
    assert {f["reason"] for f in body["failed"]} == {"throttled"}
    stored = {i["id"]["S"] for i in aws.scan(TableName="items-test")["Items"]}
    assert stored == set(body["written"]) and len(stored) == 75
    assert not stored & {f["id"] for f in body["failed"]}


def test_a_chunk_whose_answer_was_lost_is_unknown_not_failed(api, aws):
    def time_out_second(operation, params):
        time_out_second.calls += 1
        if time_out_second.calls == 2:
            raise ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-1.amazonaws.com")

    time_out_second.calls = 0
    remove = _on_write(time_out_second)
    try:
        response = api.batch_write({"items": [{"userId": "u1", "name": f"n{i}"} for i in range(50)]})
    finally:
        remove()
    body = body_of(response)
    assert response["statusCode"] == 207 and len(body["written"]) == 25
    assert [(f["index"], f["reason"]) for f in body["failed"]] == [(n, "unknown") for n in range(25, 50)]


def test_a_put_retried_after_a_lost_answer_counts_as_written_not_as_exists(api, aws):
    """botocore resends a conditional put whose answer timed out; the item it finds is its own."""
    from apikit import clients
    from botocore.awsrequest import AWSPreparedRequest

    ddb = clients.client("dynamodb")
    import boto3

    direct = boto3.client("dynamodb", region_name="eu-west-1")
    lost = []

    def land_then_lose_the_answer(request: AWSPreparedRequest, **_):
        import json

        payload = json.loads(request.body)
        if payload.get("Item", {}).get("id", {}).get("S") == "lost-1" and not lost:
            lost.append(True)
            direct.put_item(TableName="items-test", Item=payload["Item"])  # it landed...
            raise ReadTimeoutError(endpoint_url=request.url)  # ...but the answer never came

    ddb.meta.events.register_first("before-send.dynamodb.PutItem", land_then_lose_the_answer)
    try:
        response = api.batch_write({"items": _items(["lost-0", "lost-1", "lost-2"])})
    finally:
        ddb.meta.events.unregister("before-send.dynamodb.PutItem", land_then_lose_the_answer)
    assert lost and response["statusCode"] == 201
    assert body_of(response) == {"written": ["lost-0", "lost-1", "lost-2"], "failed": []}


def test_client_ids_are_conditional_puts_and_server_ids_batches(api, aws):
    seen = []
    remove = _on_write(lambda op, params: seen.append(op))
    try:
        generated = [{"userId": "u1", "name": f"g{i}"} for i in range(50)]
        chosen = _items([f"k{i}" for i in range(10)])
        response = api.batch_write({"items": generated + chosen})
    finally:
        remove()
    assert response["statusCode"] == 201 and len(body_of(response)["written"]) == 60
    assert seen.count("BatchWriteItem") == 2 and seen.count("PutItem") == 10


@pytest.mark.parametrize("n", [1, 99])
def test_the_atomic_batch_is_still_one_transaction(api, aws, n):
    seen = []
    remove = _on_write(lambda op, params: seen.append((op, len(params.get("TransactItems", [])))))
    try:
        response = api.batch_write({"items": _items([f"t{i}" for i in range(n)]), "atomic": True})
    finally:
        remove()
    assert response["statusCode"] == 201 and seen == [("TransactWriteItems", n)]
