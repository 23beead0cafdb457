"""Idempotency-Key on POST /batch (issue 11, finding 2): replayed, or finished, never duplicated.

A crash is simulated by an exception that escapes the handler (as a Lambda timeout would end it)
with the claim left as it was; time is moved past the claim's lease by the module's clock.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.support.events import PARTNER_A, body_of

KEY = {"Idempotency-Key": "batch-key-1"}


class Crash(BaseException):
    """The invocation dies here (nothing of ours runs after it)."""


def _bodies(n, with_ids=False):
    return [{"userId": "u1", "name": f"n{i}", **({"id": f"b{i}"} if with_ids else {})} for i in range(n)]


def _items(aws):
    return {i["id"]["S"]: i for i in aws.scan(TableName="items-test")["Items"] if i["entity"]["S"] == "item"}


def _record(aws, key="batch-key-1"):
    from apikit import keys

    return aws.get_item(
        TableName="items-test", Key=keys.idempotency_key(PARTNER_A, key), ConsistentRead=True
    ).get("Item")


def _on_write(fn):
    from apikit import clients

    ddb = clients.client("dynamodb")

    def hook(model, params, **_):
        fn(model.name, params)

    ddb.meta.events.register("before-parameter-build.dynamodb", hook)
    return lambda: ddb.meta.events.unregister("before-parameter-build.dynamodb", hook)


@pytest.fixture
def later(monkeypatch):
    """Move the idempotency clock forward by ``seconds`` (past a crashed request's lease)."""
    import time

    from apikit import batch_idempotency

    def move(seconds: float) -> None:
        monkeypatch.setattr(batch_idempotency, "_now", lambda: time.time() + seconds)

    return move


@pytest.mark.parametrize(("atomic", "n"), [(False, 100), (True, 100)])
def test_same_key_and_body_replays_and_writes_nothing_more(api, aws, atomic, n):
    body = {"items": _bodies(n), "atomic": atomic}
    first = api.batch_write(body, headers=KEY)
    assert first["statusCode"] == 201 and len(body_of(first)["written"]) == n
    again = api.batch_write(body, headers=KEY)
    assert again["statusCode"] == 201 and body_of(again) == body_of(first)
    assert again["headers"]["Idempotent-Replayed"] == "true"
    assert set(_items(aws)) == set(body_of(first)["written"])


def test_same_key_other_body_is_422_and_so_is_a_key_of_post_items(api, aws):
    assert api.batch_write({"items": _bodies(2)}, headers=KEY)["statusCode"] == 201
    assert api.batch_write({"items": _bodies(3)}, headers=KEY)["statusCode"] == 422
    assert api.create({"userId": "u1", "name": "x"}, headers=KEY)["statusCode"] == 422
    assert (
        api.create({"userId": "u1", "name": "x"}, headers={"Idempotency-Key": "items-key"})["statusCode"]
        == 201
    )
    assert (
        api.batch_write({"items": _bodies(2)}, headers={"Idempotency-Key": "items-key"})["statusCode"] == 422
    )
    assert len(_items(aws)) == 3


def test_a_small_atomic_batch_and_its_record_are_one_transaction(api, aws):
    seen = []
    remove = _on_write(lambda op, params: seen.append((op, len(params.get("TransactItems", [])))))
    try:
        response = api.batch_write({"items": _bodies(99), "atomic": True}, headers=KEY)
    finally:
        remove()
    assert response["statusCode"] == 201
    assert seen == [("TransactWriteItems", 100)]  # 99 items and the record: TransactWriteItems' limit
    assert _record(aws)["statusCode"] == {"N": "201"}


def _crash_after(item_writes: int):
    """A hook that kills the invocation at its n-th item write call; nothing more lands after it."""
    import threading

    seen = []
    lock = threading.Lock()

    def hook(operation, params):
        if operation == "BatchWriteItem" or (
            operation == "PutItem" and params["Item"]["entity"]["S"] == "item"
        ):
            with lock:
                seen.append(operation)
                dead = len(seen) >= item_writes
            if dead:
                raise Crash

    return hook


@pytest.mark.parametrize(("with_ids", "crash_at"), [(False, 3), (True, 60)])
def test_a_batch_that_crashed_is_finished_by_its_retry_without_duplicates(
    api, aws, later, monkeypatch, with_ids, crash_at
):
    from apikit import batch_idempotency, dynamodb_batch

    body = {"items": _bodies(100, with_ids=with_ids)}
    release = batch_idempotency._release
    monkeypatch.setattr(batch_idempotency, "_release", lambda claimed: None)  # the dead release nothing
    remove = _on_write(_crash_after(crash_at))
    try:
        with pytest.raises(Crash):
            api.batch_write(body, headers=KEY)
    finally:
        dynamodb_batch._pool().shutdown(wait=True)  # the puts still queued die with the invocation
        dynamodb_batch._pool.cache_clear()
        remove()
    monkeypatch.setattr(batch_idempotency, "_release", release)
    landed = set(_items(aws))
    assert 0 < len(landed) < 100

    busy = api.batch_write(body, headers=KEY)
    assert busy["statusCode"] == 409 and busy["headers"]["Retry-After"] in {"1", "2", "3"}

    later(60)  # the crashed invocation's lease has run out
    finished = api.batch_write(body, headers=KEY)
    assert finished["statusCode"] == 201, body_of(finished)
    written = body_of(finished)["written"]
    assert len(written) == 100 and landed <= set(written)
    assert set(_items(aws)) == set(written)  # nothing twice
    replay = api.batch_write(body, headers=KEY)
    assert replay["headers"].get("Idempotent-Replayed") == "true" and body_of(replay) == body_of(finished)


def test_a_207_with_throttled_items_is_finished_by_retrying_with_the_same_key(api, aws):
    body = {"items": _bodies(100)}
    calls = []

    def throttle_second(operation, params):
        if operation == "BatchWriteItem":
            calls.append(operation)
            if len(calls) == 2:
                raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "x"}}, operation)

    remove = _on_write(throttle_second)
    try:
        partial = api.batch_write(body, headers=KEY)
    finally:
        remove()
    assert partial["statusCode"] == 207
    failed = body_of(partial)["failed"]
    assert [f["index"] for f in failed] == list(range(25, 50))
    retried = api.batch_write(body, headers=KEY)
    assert retried["statusCode"] == 201 and "Idempotent-Replayed" not in retried["headers"]
    written = body_of(retried)["written"]
    # The same ids: what the 207 reported written, and the very ids it reported failed.
    assert written[:25] == body_of(partial)["written"][:25]
    assert [written[f["index"]] for f in failed] == [f["id"] for f in failed]
    assert set(_items(aws)) == set(written) and len(written) == 100


def test_an_existing_id_is_final_and_stored(api, aws):
    api.create({"id": "b1", "userId": "u1", "name": "first"})
    body = {"items": _bodies(3, with_ids=True)}
    partial = api.batch_write(body, headers=KEY)
    assert partial["statusCode"] == 207
    assert body_of(partial)["failed"] == [{"index": 1, "id": "b1", "reason": "exists"}]
    replay = api.batch_write(body, headers=KEY)
    assert replay["headers"]["Idempotent-Replayed"] == "true" and body_of(replay) == body_of(partial)


def test_a_full_atomic_batch_that_crashed_after_its_transaction_is_answered_by_the_retry(
    api, aws, later, monkeypatch
):
    from apikit import batch_idempotency

    def die(*_):
        raise Crash

    body = {"items": _bodies(100), "atomic": True}
    complete = batch_idempotency._complete
    monkeypatch.setattr(batch_idempotency, "_complete", die)
    with pytest.raises(Crash):
        api.batch_write(body, headers=KEY)
    monkeypatch.setattr(batch_idempotency, "_complete", complete)
    landed = set(_items(aws))
    assert len(landed) == 100
    later(60)
    retried = api.batch_write(body, headers=KEY)
    assert retried["statusCode"] == 201 and set(body_of(retried)["written"]) == landed
    assert len(_items(aws)) == 100


def test_an_atomic_conflict_with_a_key_is_409_and_not_stored(api, aws):
    api.create({"id": "b2", "userId": "u1", "name": "first"})
    body = {"items": _bodies(4, with_ids=True), "atomic": True}
    assert api.batch_write(body, headers=KEY)["statusCode"] == 409
    api.delete("b2")
    assert api.batch_write(body, headers=KEY)["statusCode"] == 201
