"""JSON values <-> DynamoDB's low-level wire format, and DynamoDB's item-size arithmetic.

A dozen lines instead of boto3's TypeSerializer: it keeps boto3 out of the import graph and maps
numbers straight to JSON ints/floats (no Decimal round trip).

Values are held to DynamoDB's documented limits here, so that DynamoDB never has to refuse one (its
ValidationException would otherwise be a 5xx): a number is checked as the exact decimal text that is
sent (``decimal.Decimal``, never a float comparison), nesting as DynamoDB counts it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from apikit.errors import BadRequest, field_error

# DynamoDB's Number: up to 38 significant digits (leading and trailing zeroes trimmed), magnitude
# 1E-130 to 9.9999999999999999999999999999999999999E+125, or zero.
MAX_NUMBER_DIGITS = 38
MAX_NUMBER_MAGNITUDE = Decimal("9.9999999999999999999999999999999999999E+125")
MIN_NUMBER_MAGNITUDE = Decimal("1E-130")
DYNAMODB_ITEM_LIMIT = 400 * 1024
# DynamoDB's 32 levels count the scalar at the bottom: an attribute may hold 31 nested maps/lists
# (itself included) and no more (measured on DynamoDB: 31 nested maps accepted, 32 refused).
MAX_NESTING = 32
MAX_CONTAINER_DEPTH = MAX_NESTING - 1


def number_problem(text: str) -> str | None:
    """Why DynamoDB would refuse the number ``text``, or None when it is storable."""
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return "is not a number"
    if not value.is_finite():
        return "must be finite"
    if value.is_zero():
        return None
    digits = "".join(map(str, value.as_tuple().digits)).strip("0")
    if len(digits) > MAX_NUMBER_DIGITS:
        return f"at most {MAX_NUMBER_DIGITS} significant digits"
    if not MIN_NUMBER_MAGNITUDE <= abs(value) <= MAX_NUMBER_MAGNITUDE:
        return "magnitude must be 1E-130 to 9.9999999999999999999999999999999999999E+125"
    return None


def _number(value: int | float, path: str) -> str:
    try:
        text = str(value) if isinstance(value, int) else repr(value)
    except ValueError:  # an int beyond Python's digit limit for str()
        text = "inf"
    problem = number_problem(text)
    if problem:
        raise BadRequest("invalid number", errors=[field_error(path, problem)])
    return text


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
    if isinstance(value, dict | list | tuple) and depth >= MAX_CONTAINER_DEPTH:
        raise BadRequest(
            "too deeply nested",
            errors=[field_error(path, f"at most {MAX_CONTAINER_DEPTH} nested objects and arrays")],
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
