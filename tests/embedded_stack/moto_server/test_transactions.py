"""embedded_stack.moto_server.transactions: TransactWriteItems checks every condition, then writes, and
copies no table (moto's own copied the whole table once per action: 10 s for 100 actions on 1,000 items).

Against the session's patched moto server, as the embedded stack runs it.
"""

from __future__ import annotations

import copy
import itertools

import pytest
from botocore.exceptions import ClientError

_tables = itertools.count()


@pytest.fixture
def table(aws):
    name = f"txn-{next(_tables)}"
    aws("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _put(table, pk):
    return {
        "Put": {
            "TableName": table,
            "Item": {"PK": {"S": pk}},
            "ConditionExpression": "attribute_not_exists(PK)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def _keys(aws, table):
    return sorted(i["PK"]["S"] for i in aws("dynamodb").scan(TableName=table)["Items"])


def test_a_failed_condition_cancels_before_anything_is_written(aws, table):
    ddb = aws("dynamodb")
    ddb.put_item(TableName=table, Item={"PK": {"S": "b"}, "v": {"S": "old"}})
    with pytest.raises(ClientError) as cancelled:
        ddb.transact_write_items(TransactItems=[_put(table, "a"), _put(table, "b"), _put(table, "c")])
    reasons = cancelled.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed", "None"]
    assert reasons[1]["Item"] == {"PK": {"S": "b"}, "v": {"S": "old"}}
    assert _keys(aws, table) == ["b"]


def test_all_writes_land_together(aws, table):
    ddb = aws("dynamodb")
    ddb.put_item(TableName=table, Item={"PK": {"S": "u"}, "n": {"N": "1"}})
    ddb.transact_write_items(
        TransactItems=[
            _put(table, "a"),
            {
                "Update": {
                    "TableName": table,
                    "Key": {"PK": {"S": "u"}},
                    "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )
    assert _keys(aws, table) == ["a", "u"]
    assert ddb.get_item(TableName=table, Key={"PK": {"S": "u"}})["Item"]["n"] == {"N": "2"}


def test_a_write_moto_refuses_half_way_is_undone(aws, table):
    ddb = aws("dynamodb")
    bad_update = {
        "Update": {
            "TableName": table,
            "Key": {"PK": {"S": "z"}},
            "UpdateExpression": "SET n = :missing",
            "ExpressionAttributeValues": {":other": {"N": "1"}},
        }
    }
    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=[_put(table, "a"), bad_update])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert _keys(aws, table) == []


def test_no_table_is_copied(aws, table, monkeypatch):
    from moto.dynamodb.models.table import Table

    copied = []
    deepcopy = copy.deepcopy

    def counting(value, *args, **kwargs):
        if isinstance(value, Table):
            copied.append(value.name)
        return deepcopy(value, *args, **kwargs)

    monkeypatch.setattr(copy, "deepcopy", counting)
    aws("dynamodb").transact_write_items(TransactItems=[_put(table, f"k{i}") for i in range(100)])
    assert copied == [] and len(_keys(aws, table)) == 100
