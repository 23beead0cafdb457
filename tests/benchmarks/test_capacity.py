"""benchmarks.capacity: write capacity by DynamoDB's published sizing rules (moto's own figures are wrong)."""

from __future__ import annotations

from benchmarks import capacity


def _item(pad: int) -> dict:
    return {"PK": {"S": "P#p#I#a"}, "SK": {"S": "ITEM"}, "pad": {"S": "x" * pad}}


def test_sizes_follow_dynamodb_rules():
    assert capacity.item_size({"ab": {"S": "xyz"}}) == 5
    assert capacity.value_size({"N": "12.3400"}) == 3  # 4 significant digits: 2 bytes + 1
    assert capacity.value_size({"N": "1E+125"}) == 2
    assert capacity.value_size({"M": {"a": {"BOOL": True}}}) == 3 + 1 + 1 + 1
    assert capacity.value_size({"L": [{"NULL": True}, {"S": "é"}]}) == 3 + 2 + 3


def test_one_wcu_per_started_kb_and_twice_in_transactions():
    base = capacity.item_size(_item(0))
    assert capacity.units(_item(1024 - base)) == 1
    assert capacity.units(_item(1025 - base)) == 2
    assert capacity.units(_item(1025 - base), transactional=True) == 4


def test_calls_add_up_with_the_index_apart():
    indexed = {**_item(10), "GSI1PK": {"S": "P#p#U#u"}, "GSI1SK": {"S": "t#a"}}
    writes = [
        {"op": "BatchWriteItem", "params": {"RequestItems": {"t": [{"PutRequest": {"Item": indexed}}] * 3}}},
        {"op": "TransactWriteItems", "params": {"TransactItems": [{"Put": {"Item": indexed}}]}},
        {"op": "PutItem", "params": {"Item": _item(3000)}},
        {"op": "UpdateItem", "params": {"Key": {"PK": {"S": "k"}, "SK": {"S": "s"}}}},
    ]
    got = capacity.of_calls(writes, lambda key: _item(5000) if key == ("k", "s") else None)
    assert got == {"table_wcu": 3 + 2 + 3 + 5, "index_wcu": 4}
