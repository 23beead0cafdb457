"""apikit.codec and apikit.keys: wire format round trips, item size, key shapes agree with table.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from apikit import codec, keys
from apikit.errors import BadRequest

VALUES = [
    None,
    True,
    False,
    "",
    "text",
    "ü✓",
    0,
    -7,
    10**37,
    1.5,
    -0.25,
    1e100,
    1.0,
    [],
    [1, "a", None],
    {},
    {"a": {"b": [1, {"c": False}]}},
]


@pytest.mark.parametrize("value", VALUES)
def test_round_trip_preserves_json_value_and_type(value):
    back = codec.from_wire(codec.to_wire(value))
    assert back == value and type(back) is type(value)


def test_wire_shapes():
    assert codec.to_wire(1) == {"N": "1"}
    assert codec.to_wire(True) == {"BOOL": True}
    assert codec.item_to_wire({"a": [None]}) == {"a": {"L": [{"NULL": True}]}}


@pytest.mark.parametrize("value", [10**38 + 1, float("inf"), float("nan"), 1e130, 1e-131, 1e126, -1e126])
def test_numbers_dynamodb_cannot_hold_are_400(value):
    with pytest.raises(BadRequest) as err:
        codec.to_wire({"x": [value]}, "info")
    assert err.value.errors[0]["field"] == "info.x[0]"


def test_other_types_are_a_programming_error():
    with pytest.raises(TypeError):
        codec.to_wire({1, 2})
    with pytest.raises(TypeError):
        codec.from_wire({"SS": ["a"]})


def test_item_size_follows_dynamodb_rules():
    assert codec.item_size({"ab": {"S": "xyz"}}) == 5
    assert codec.item_size({"n": {"N": "12345"}}) == 1 + 4
    assert codec.item_size({"b": {"BOOL": True}, "z": {"NULL": True}}) == 4
    assert codec.item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + 1 + 1 + 1
    assert codec.item_size({"l": {"L": [{"S": "v"}]}}) == 1 + 3 + 1 + 1


def test_item_limit_is_enforced_in_code():
    from apikit import items
    from apikit.errors import PayloadTooLarge

    item = items.build("p1", {"userId": "u", "name": "n"}, "2026-01-01T00:00:00.000000Z")
    base = codec.item_size(codec.item_to_wire(item))
    item["info"] = {"p": "x" * (codec.DYNAMODB_ITEM_LIMIT - base - 2)}
    assert codec.item_size(codec.item_to_wire(item)) == codec.DYNAMODB_ITEM_LIMIT
    items.to_wire_checked(item)
    item["info"]["p"] += "x"
    with pytest.raises(PayloadTooLarge):
        items.to_wire_checked(item)


def test_keys_match_design_and_table_json():
    spec = json.loads((Path(__file__).parents[2] / "shared/apikit/table.json").read_text())
    assert spec["global_secondary_indexes"][0]["name"] == keys.GSI1
    assert spec["ttl_attribute"] == keys.TTL_ATTRIBUTE
    assert keys.item_key("p1", "i1") == {"PK": {"S": "P#p1#I#i1"}, "SK": {"S": "ITEM"}}
    assert keys.owner_key("p1", "u1") == "P#p1#U#u1"
    assert keys.owner_sort_key("2026-01-01T00:00:00.000000Z", "i1") == "2026-01-01T00:00:00.000000Z#i1"
    k = keys.idempotency_key("p1", "abc")
    assert k["PK"]["S"].startswith("P#p1#K#") and len(k["PK"]["S"]) == len("P#p1#K#") + 64
    assert k["SK"] == {"S": "IDEMPOTENCY"}
    assert keys.belongs_to("p1", {"PK": {"S": "P#p1#I#x"}})
    assert not keys.belongs_to("p1", {"PK": {"S": "P#p12#I#x"}})


def test_timestamps_sort_as_text():
    from apikit import items

    stamps = [items.now_iso() for _ in range(3)]
    assert stamps == sorted(stamps) and all(len(s) == 27 for s in stamps)
