"""JSON values <-> DynamoDB's low-level wire format, and DynamoDB's item-size arithmetic.

A dozen lines instead of boto3's TypeSerializer: it keeps boto3 out of the import graph and maps
numbers straight to JSON ints/floats (no Decimal round trip).
"""

from __future__ import annotations

import math
from typing import Any

from apikit.errors import BadRequest, field_error

MAX_NUMBER_DIGITS = 38
MAX_NUMBER_MAGNITUDE = 9.9999999999999999999999999999999999999e125
MIN_NUMBER_MAGNITUDE = 1e-130
DYNAMODB_ITEM_LIMIT = 400 * 1024
MAX_NESTING = 32  # DynamoDB's limit for nested maps and lists


def _number(value: int | float, path: str) -> str:
    if isinstance(value, int):
        text = str(value)
        if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
            raise BadRequest("invalid number", errors=[field_error(path, "at most 38 significant digits")])
        return text
    if not math.isfinite(value) or (
        value != 0 and not MIN_NUMBER_MAGNITUDE <= abs(value) <= MAX_NUMBER_MAGNITUDE
    ):
        raise BadRequest("invalid number", errors=[field_error(path, "number out of range")])
    return repr(value)


def to_wire(value: Any, path: str = "", depth: int = 0) -> dict[str, Any]:
    """Serialize one JSON value; ``path`` names the field in errors (values DynamoDB cannot hold)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | float):
        return {"N": _number(value, path)}
    if isinstance(value, dict | list | tuple) and depth >= MAX_NESTING:
        raise BadRequest(
            "too deeply nested", errors=[field_error(path, f"at most {MAX_NESTING} levels of nesting")]
        )
    if isinstance(value, dict):
        if "" in value:
            raise BadRequest("empty key", errors=[field_error(path, "object keys must not be empty")])
        return {"M": {k: to_wire(v, f"{path}.{k}" if path else k, depth + 1) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_wire(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]}
    raise TypeError(f"cannot store {type(value).__name__}")


def item_to_wire(item: dict[str, Any]) -> dict[str, Any]:
    """Serialize a whole item (a JSON object) attribute by attribute."""
    return {k: to_wire(v, k) for k, v in item.items()}


def from_wire(av: dict[str, Any]) -> Any:
    """Deserialize one attribute value written by ``to_wire``."""
    ((kind, raw),) = av.items()
    if kind == "S":
        return raw
    if kind == "N":
        return int(raw) if raw.lstrip("-").isdigit() else float(raw)
    if kind == "BOOL":
        return raw
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_wire(v) for k, v in raw.items()}
    if kind == "L":
        return [from_wire(v) for v in raw]
    raise TypeError(f"unsupported attribute type {kind}")


def item_from_wire(item: dict[str, Any]) -> dict[str, Any]:
    """Deserialize a whole item."""
    return {k: from_wire(v) for k, v in item.items()}


def _value_size(av: dict[str, Any]) -> int:
    ((kind, raw),) = av.items()
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind == "N":
        digits = raw.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + _value_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(_value_size(v) + 1 for v in raw)
    raise TypeError(f"unsupported attribute type {kind}")


def item_size(wire_item: dict[str, Any]) -> int:
    """DynamoDB's size of an item: attribute names plus values (an upper bound for maps and lists)."""
    return sum(len(k.encode("utf-8")) + _value_size(v) for k, v in wire_item.items())
