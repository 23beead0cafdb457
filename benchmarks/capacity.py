"""Write capacity by DynamoDB's published rules, from what each call sent (moto's own figures are wrong).

- A standard write (PutItem, each put of a BatchWriteItem) costs 1 WCU per KB of the item, rounded up.
- A transactional write (each action of a TransactWriteItems) costs 2 WCU per KB.
- UpdateItem costs by the larger of the item before and after; after is the larger here (it only adds
  attributes), so it is sized from the item as finally stored.
- A write of an item carrying the index keys also writes the index (GSI1, projection ALL): reported
  apart, at the standard rate, as the same number in every mode.

Item size is the sum of attribute name and value sizes: strings their UTF-8 bytes, numbers one byte
per two significant digits plus one, booleans and nulls one byte, maps and lists 3 bytes plus one per
element plus their elements. Failed conditional writes also consume capacity; the benchmark has none.
"""

import math
from collections.abc import Callable
from typing import Any

KB = 1024
INDEX_KEYS = ("GSI1PK", "GSI1SK")


def value_size(av: dict[str, Any]) -> int:
    """Bytes of one attribute value by DynamoDB's rules."""
    ((kind, raw),) = av.items()
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind == "N":
        significant = raw.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0")
        return (len(significant) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in raw)
    raise ValueError(f"unexpected attribute type {kind}")


def item_size(item: dict[str, Any]) -> int:
    """Bytes of a whole item (attribute names plus values)."""
    return sum(len(name.encode("utf-8")) + value_size(av) for name, av in item.items())


def units(item: dict[str, Any], transactional: bool = False) -> int:
    """WCUs of writing ``item`` once."""
    return math.ceil(item_size(item) / KB) * (2 if transactional else 1)


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item["PK"]["S"], item["SK"]["S"]


def of_calls(
    writes: list[dict[str, Any]], stored: Callable[[tuple[str, str]], dict[str, Any] | None]
) -> dict[str, int]:
    """Table and index WCUs of the recorded write calls (``{"op", "params"}``, as the worker records them).

    ``stored(key)`` gives the final item of an UpdateItem's key.
    """
    table = index = 0

    def put(item: dict[str, Any], transactional: bool) -> None:
        nonlocal table, index
        table += units(item, transactional)
        if all(k in item for k in INDEX_KEYS):
            index += units(item)

    for call in writes:
        op, params = call["op"], call["params"]
        if op == "PutItem":
            put(params["Item"], False)
        elif op == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for request in requests:
                    put(request["PutRequest"]["Item"], False)
        elif op == "TransactWriteItems":
            for action in params["TransactItems"]:
                put(action["Put"]["Item"], True)
        elif op == "UpdateItem":
            final = stored((params["Key"]["PK"]["S"], params["Key"]["SK"]["S"]))
            table += units(final) if final else 1
    return {"table_wcu": table, "index_wcu": index}
