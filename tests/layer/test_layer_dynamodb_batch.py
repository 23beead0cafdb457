"""apikit.dynamodb_batch: AWS limits kept in code (moto accepts more), retries, deadlines."""

from __future__ import annotations

import pytest
from apikit import codec, dynamodb_batch, keys
from apikit.retry import Deadline


def _wire(n, size=0):
    return [
        {**keys.item_key("p1", f"i{i}"), "entity": {"S": "item"}, "pad": {"S": "x" * size}} for i in range(n)
    ]


def test_chunks():
    assert list(dynamodb_batch.chunks([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(dynamodb_batch.chunks([], 25)) == []


def test_write_chunk_takes_25_not_26(aws):
    assert dynamodb_batch.write_chunk("items-test", _wire(25), Deadline(5)) == ["written"] * 25
    with pytest.raises(dynamodb_batch.LimitExceeded):
        dynamodb_batch.write_chunk("items-test", _wire(26), Deadline(5))


def test_write_all_splits_into_calls_of_at_most_25(aws):
    from apikit import clients

    ddb = clients.client("dynamodb")
    sizes = []
    ddb.meta.events.register(
        "provide-client-params.dynamodb.BatchWriteItem",
        lambda params, **kw: sizes.append(len(params["RequestItems"]["items-test"])),
    )
    assert dynamodb_batch.write_all("items-test", _wire(51), Deadline(5)) == ["written"] * 51
    assert sizes == [25, 25, 1]
    assert aws.scan(TableName="items-test", Select="COUNT")["Count"] == 51


def test_write_chunk_16_mb_limit():
    with pytest.raises(dynamodb_batch.LimitExceeded):
        dynamodb_batch.write_chunk("t", _wire(25, size=700 * 1024), Deadline(5))


def test_get_chunk_takes_100_not_101(aws):
    dynamodb_batch.write_all("items-test", _wire(100), Deadline(5))
    found, left = dynamodb_batch.get_chunk(
        "items-test", [keys.item_key("p1", f"i{i}") for i in range(100)], Deadline(5)
    )
    assert len(found) == 100 and left == []
    with pytest.raises(dynamodb_batch.LimitExceeded):
        dynamodb_batch.get_chunk(
            "items-test", [keys.item_key("p1", f"i{i}") for i in range(101)], Deadline(5)
        )


def test_get_all_chunks_by_100(aws):
    dynamodb_batch.write_all("items-test", _wire(150), Deadline(5))
    found, left = dynamodb_batch.get_all(
        "items-test", [keys.item_key("p1", f"i{i}") for i in range(150)], Deadline(5)
    )
    assert len(found) == 150 and left == []


def test_transact_takes_100_not_101(aws):
    def puts(n):
        return [{"Put": {"TableName": "items-test", "Item": w}} for w in _wire(n)]

    dynamodb_batch.transact_write(puts(100))
    with pytest.raises(dynamodb_batch.LimitExceeded):
        dynamodb_batch.transact_write(puts(101))


def test_transact_4_mb_limit():
    items = _wire(11, size=390 * 1024)
    assert sum(codec.item_size(i) for i in items) > dynamodb_batch.MAX_TRANSACT_BYTES
    with pytest.raises(dynamodb_batch.LimitExceeded):
        dynamodb_batch.transact_write([{"Put": {"TableName": "t", "Item": i}} for i in items])


def test_write_chunk_gives_back_unprocessed_at_deadline(aws):
    from apikit import clients

    ddb = clients.client("dynamodb")
    ddb.batch_write_item = lambda **p: {"UnprocessedItems": p["RequestItems"]}
    slept = []
    try:
        left = dynamodb_batch.write_chunk("items-test", _wire(3), Deadline(0.05), sleep=slept.append)
    finally:
        del ddb.batch_write_item
    assert left == ["throttled"] * 3
    assert all(s < 0.05 for s in slept)
