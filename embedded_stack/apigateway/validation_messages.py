"""Validation messages worded as API Gateway's request validator words them.

API Gateway validates bodies with a Java JSON Schema validator whose messages quote names and values
with raw double quotes, e.g. ``object has missing required properties (["name"])``, and hands them to
gateway responses as ``$context.error.validationErrorString`` (``[message, message]``) without any
escaping. We validate with jsonschema and reword its errors for the keywords our models use, so that
a template that embeds the string the way AWS renders it breaks here exactly as it breaks on AWS.
Keywords our models do not use keep jsonschema's wording (listed in docs/embedded-stack.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from jsonschema import ValidationError

_JSON_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return next(name for kind, name in _JSON_TYPES if isinstance(value, kind))


def _quoted(values: Iterable[Any]) -> str:
    """A JSON array as the validator prints it: ``["a","b"]``."""
    return json.dumps(list(values), separators=(",", ":"), ensure_ascii=False)


def _scalar(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# The validator's messages for keywords that bound a length, a count, a pattern or a value. Fields:
# {expected} the schema's value, {found} the instance, {size} its length, {found_json}/{expected_json}
# as JSON.
_WORDING = {
    "pattern": 'ECMA 262 regex "{expected}" does not match input string "{found}"',
    "minLength": 'string "{found}" is too short (length: {size}, required minimum: {expected})',
    "maxLength": 'string "{found}" is too long (length: {size}, maximum allowed: {expected})',
    "minItems": "array is too short: must have at least {expected} elements but instance has {size} elements",
    "maxItems": "array is too long: must have at most {expected} elements but instance has {size} elements",
    "minProperties": "object has too few properties (found {size} but schema requires at least {expected})",
    "maxProperties": "object has too many properties (found {size} but schema requires at most {expected})",
    "enum": "instance value ({found_json}) not found in enum (possible values: {expected_json})",
    "minimum": "numeric instance is lower than the required minimum (minimum: {expected}, found: {found})",
    "maximum": "numeric instance is greater than the required maximum (maximum: {expected}, found: {found})",
}


def message(error: ValidationError) -> str:
    """One error in the validator's wording (jsonschema's own message for other keywords)."""
    keyword, expected, found = str(error.validator), error.validator_value, error.instance
    if keyword == "required":
        missing = [name for name in expected if isinstance(found, dict) and name not in found]
        return f"object has missing required properties ({_quoted(missing)})"
    if keyword == "type":
        allowed = [expected] if isinstance(expected, str) else list(expected)
        return (
            f"instance type ({_type_name(found)}) does not match any allowed primitive type "
            f"(allowed: {_quoted(allowed)})"
        )
    if keyword == "additionalProperties" and isinstance(found, dict):
        known = set(error.schema.get("properties", {}))
        extra = sorted(name for name in found if name not in known)
        return f"object instance has properties which are not allowed by the schema: {_quoted(extra)}"
    wording = _WORDING.get(keyword)
    if wording is None:
        return error.message
    return wording.format(
        expected=expected,
        found=found,
        size=len(found) if isinstance(found, str | list | dict) else 0,
        found_json=_scalar(found),
        expected_json=_quoted(expected) if isinstance(expected, list) else _scalar(expected),
    )
