"""apikit.validation accepts a body only when both validators do, and names the offending field.

fastjsonschema checks every body; jsonschema is asked for the detailed errors of a rejected one. A body
that fastjsonschema accepted but jsonschema would reject would slip through, so these cases walk every
keyword of our schemas on both sides of its boundary.
"""

import pytest
from apikit import validation
from jsonschema import Draft4Validator

OK_ITEM = {"userId": "u-1", "name": "n"}
CASES = {
    "item_create": [
        OK_ITEM,
        {**OK_ITEM, "id": "a" * 64},
        {**OK_ITEM, "id": "a" * 65},
        {**OK_ITEM, "id": "bad id"},
        {**OK_ITEM, "id": "x\n"},
        {**OK_ITEM, "info": {}},
        {**OK_ITEM, "info": []},
        {**OK_ITEM, "info": None},
        {**OK_ITEM, "name": ""},
        {**OK_ITEM, "name": "n" * 256},
        {**OK_ITEM, "name": "n" * 257},
        {**OK_ITEM, "name": 5},
        {**OK_ITEM, "userId": "u#1"},
        {**OK_ITEM, "userId": "u" * 129},
        {**OK_ITEM, "extra": 1},
        {"name": "n"},
        {},
        [],
        "text",
        None,
        True,
    ],
    "item_patch": [{"name": "x"}, {"info": {"a": 1}}, {}, {"name": ""}, {"id": "x"}, {"info": 1}, []],
    "batch_write": [
        {"items": [OK_ITEM]},
        {"items": [OK_ITEM], "atomic": True},
        {"items": [OK_ITEM], "atomic": 1},
        {"items": []},
        {"items": [OK_ITEM] * 100},
        {"items": [OK_ITEM] * 101},
        {"items": [1]},
        {"items": {}},
        {"atomic": False},
        {"items": [OK_ITEM], "other": 1},
    ],
}


@pytest.mark.parametrize(
    ("model", "body"), [(model, body) for model, bodies in CASES.items() for body in bodies]
)
def test_a_body_is_valid_only_when_both_validators_accept_it(model, body):
    authority = Draft4Validator(validation.schema(model)).is_valid(body)
    try:
        validation.fast_validator(model)(body)
        fast = True
    except Exception:
        fast = False
    if fast:
        assert authority, "fastjsonschema accepted what jsonschema rejects"
    found = validation.errors(model, body)
    assert (found == []) is fast
    assert all(e["field"] and e["reason"] for e in found)


def test_a_trailing_newline_does_not_satisfy_a_pattern():
    """Python's `$` matches before a final newline (jsonschema's verdict); JSON Schema's does not."""
    found = validation.errors("item_create", {**OK_ITEM, "id": "x\n"})
    assert found == [{"field": "id", "reason": "must match ^[A-Za-z0-9_-]{1,64}$"}]
    found = validation.errors("item_create", {**OK_ITEM, "id": "x\n"}, prefix="items[3]")
    assert found == [{"field": "items[3].id", "reason": "must match ^[A-Za-z0-9_-]{1,64}$"}]
