"""DynamoDB's documented limits, enforced on the layer's requests in tests, where moto is lenient.

moto stores ``1E+126``, 39-digit numbers, 33 levels of nesting, 26 requests in one BatchWriteItem
and items over 400 KB; DynamoDB refuses each with a ValidationException (which the layer must never
provoke: it would be a 5xx). ``install(client)`` makes the client refuse them the same way before
anything is sent, so that every in-process test runs against AWS's rules, not moto's.

Written from AWS's documentation (Constraints in Amazon DynamoDB; the API reference of each call),
independently of ``apikit.codec``, so that the two can disagree.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from botocore.exceptions import ClientError

MAX_DIGITS = 38
LARGEST = Decimal("9.9999999999999999999999999999999999999E+125")
SMALLEST = Decimal("1E-130")
MAX_LEVELS = 32  # "DynamoDB supports nested attributes up to 32 levels deep"; the scalar is a level
MAX_ITEM_BYTES = 400 * 1024
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024
MAX_BATCH_WRITE = 25
MAX_TRANSACT_ACTIONS = 100


def refuse(operation: str, message: str) -> ClientError:
    """The error DynamoDB answers (HTTP 400 ValidationException)."""
    return ClientError(
        {
            "Error": {"Code": "ValidationException", "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        },
        operation,
    )


def number_error(text: str) -> str | None:
    """DynamoDB's objection to a Number, or None."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return "A value provided cannot be converted into a number"
    if not value.is_finite():
        return "A value provided cannot be converted into a number"
    if value == 0:
        return None
    if len(_significant(text)) > MAX_DIGITS:
        return "Attempting to store more than 38 significant digits in a Number"
    if abs(value) > LARGEST:
        return "Number overflow. Attempting to store a number with magnitude larger than supported range"
    if abs(value) < SMALLEST:
        return "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    return None


def _significant(text: str) -> str:
    """The digits DynamoDB keeps: the mantissa without sign, point, leading and trailing zeroes."""
    return text.strip().lstrip("+-").lower().split("e")[0].replace(".", "").strip("0")


def value_size(av: dict[str, Any]) -> int:
    """A lower bound of an attribute value's size by DynamoDB's rules (enough to refuse what is over)."""
    ((kind, raw),) = av.items()
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind == "N":
        return (len(_significant(raw)) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in raw)
    return len(str(raw))


def value_error(av: dict[str, Any], level: int = 1) -> str | None:
    """DynamoDB's objection to one attribute value (numbers, nesting), or None."""
    if level > MAX_LEVELS:
        return "Nesting Levels have exceeded supported limits"
    ((kind, raw),) = av.items()
    if kind == "N":
        return number_error(raw)
    children = raw.values() if kind == "M" else raw if kind == "L" else ()
    for child in children:
        problem = value_error(child, level + 1)
        if problem:
            return problem
    return None


def item_error(item: dict[str, Any]) -> str | None:
    """DynamoDB's objection to a whole item, or None."""
    for av in item.values():
        problem = value_error(av)
        if problem:
            return problem
    if sum(len(k.encode("utf-8")) + value_size(v) for k, v in item.items()) > MAX_ITEM_BYTES:
        return "Item size has exceeded the maximum allowed size"
    pk, sk = item.get("PK", {}).get("S", ""), item.get("SK", {}).get("S", "")
    if len(pk.encode("utf-8")) > MAX_PARTITION_KEY_BYTES or len(sk.encode("utf-8")) > MAX_SORT_KEY_BYTES:
        return "One or more parameter values were invalid: Size of a key attribute exceeds its limit"
    return None


def _items(operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    if operation == "PutItem":
        return [params["Item"]]
    if operation == "BatchWriteItem":
        requests = [r for rs in params["RequestItems"].values() for r in rs]
        if len(requests) > MAX_BATCH_WRITE:
            raise refuse(operation, "Too many items requested for the BatchWriteItem call")
        return [r["PutRequest"]["Item"] for r in requests if "PutRequest" in r]
    if operation == "TransactWriteItems":
        if len(params["TransactItems"]) > MAX_TRANSACT_ACTIONS:
            raise refuse(operation, "Member must have length less than or equal to 100")
        return [a["Put"]["Item"] for a in params["TransactItems"] if "Put" in a]
    return []


def _values(operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = list((params.get("ExpressionAttributeValues") or {}).values())
    for action in params.get("TransactItems") or []:
        for body in action.values():
            found += list((body.get("ExpressionAttributeValues") or {}).values())
    return found


def check(params: dict[str, Any], model: Any, **_: Any) -> None:
    """``before-parameter-build.dynamodb`` hook: raise DynamoDB's ValidationException where it would."""
    operation = model.name
    for item in _items(operation, params):
        problem = item_error(item)
        if problem:
            raise refuse(operation, problem)
    for av in _values(operation, params):
        problem = value_error(av)
        if problem:
            raise refuse(operation, problem)


def install(client: Any) -> None:
    """Make ``client`` (a DynamoDB client) refuse what DynamoDB refuses."""
    client.meta.events.register("before-parameter-build.dynamodb", check)
