"""Unit tests of apigateway.validation: which request model applies, and the validator's messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embedded_stack.apigateway.validation import body_errors, select_model


def test_model_selection_by_content_type():
    models = {"application/json": "Item"}
    assert select_model(models, None) == "Item"
    assert select_model(models, "application/json; charset=utf-8") == "Item"
    assert select_model(models, "text/plain") is None
    assert select_model({"$default": "Any"}, "text/plain") == "Any"


SCHEMAS = Path(__file__).resolve().parents[3] / "shared" / "apikit" / "schemas"


def _errors(schema: str, body: object) -> list[str]:
    return body_errors(json.loads((SCHEMAS / f"{schema}.json").read_text()), json.dumps(body).encode())


@pytest.mark.parametrize(
    ("schema", "body", "expected"),
    [
        ("item_create", {"name": "n"}, ['object has missing required properties (["userId"])']),
        ("item_create", {}, ['object has missing required properties (["userId","name"])']),
        (
            "item_create",
            {"userId": 7, "name": "n"},
            ['instance type (integer) does not match any allowed primitive type (allowed: ["string"])'],
        ),
        (
            "item_create",
            {"userId": "u", "name": "n", "extra": 1, "also": 2},
            ['object instance has properties which are not allowed by the schema: ["also","extra"]'],
        ),
        (
            "item_create",
            {"userId": "u 1", "name": "n"},
            ['ECMA 262 regex "^[A-Za-z0-9_.@:-]{1,128}$" does not match input string "u 1"'],
        ),
        (
            "item_create",
            {"userId": "u", "name": ""},
            ['string "" is too short (length: 0, required minimum: 1)'],
        ),
        (
            "item_patch",
            {"name": "x" * 257},
            [f'string "{"x" * 257}" is too long (length: 257, maximum allowed: 256)'],
        ),
        ("item_patch", {}, ["object has too few properties (found 0 but schema requires at least 1)"]),
        (
            "batch_write",
            {"items": []},
            ["array is too short: must have at least 1 elements but instance has 0 elements"],
        ),
        (
            "batch_write",
            {"items": [{}] * 101},
            ["array is too long: must have at most 100 elements but instance has 101 elements"],
        ),
    ],
)
def test_messages_are_worded_as_api_gateways_validator(schema, body, expected):
    """The wording (and the raw double quotes) of the Java validator API Gateway uses."""
    assert _errors(schema, body) == expected


def test_bodies_too_deep_to_parse_are_invalid_not_an_error():
    deep = b'{"userId":"u","name":"n","info":' + b'{"a":' * 5000 + b"1" + b"}" * 5001
    assert body_errors({"type": "object"}, deep) == ["Invalid JSON in request body: nesting too deep"]
