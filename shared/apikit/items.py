"""The items repository: single-item reads and conditional writes of one partner's items.

Every function takes the partner first; keys are built only by ``apikit.keys``, so a partner can
never address another partner's item (it is simply absent: 404).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from apikit import clients, keys
from apikit.codec import DYNAMODB_ITEM_LIMIT, item_from_wire, item_size, item_to_wire, to_wire
from apikit.errors import Conflict, NotFound, PayloadTooLarge, PreconditionFailed

ENTITY = "item"
MUTABLE_FIELDS = ("name", "info")  # the only names an update expression can contain
INTERNAL = frozenset({*keys.KEY_ATTRIBUTES, "entity", "partnerId", keys.TTL_ATTRIBUTE})
NOT_EXISTS = keys.NOT_EXISTS


def now_iso() -> str:
    """UTC now, fixed width with microseconds, so that it sorts as text (GSI1SK)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id() -> str:
    """A server-generated id (matches the id pattern)."""
    return str(uuid.uuid4())


def build(partner: str, body: dict[str, Any], now: str | None = None) -> dict[str, Any]:
    """A complete item (JSON) from a validated create body; the id is generated unless given."""
    now = now or now_iso()
    item_id = body.get("id") or new_id()
    return {
        **{k: v["S"] for k, v in keys.item_key(partner, item_id).items()},
        "GSI1PK": keys.owner_key(partner, body["userId"]),
        "GSI1SK": keys.owner_sort_key(now, item_id),
        "entity": ENTITY,
        "partnerId": partner,
        "id": item_id,
        "userId": body["userId"],
        "name": body["name"],
        "info": body.get("info", {}),
        "version": 1,
        "createdAt": now,
        "updatedAt": now,
    }


def to_wire_checked(item: dict[str, Any]) -> dict[str, Any]:
    """Serialize an item and enforce DynamoDB's 400 KB item limit ourselves (413, not a 5xx)."""
    wire = item_to_wire(item)
    if item_size(wire) > DYNAMODB_ITEM_LIMIT:
        raise PayloadTooLarge(f"item exceeds DynamoDB's {DYNAMODB_ITEM_LIMIT} byte limit")
    return wire


def public(item: dict[str, Any]) -> dict[str, Any]:
    """What a client sees of a stored item: no keys, no partner, no TTL."""
    return {k: v for k, v in item.items() if k not in INTERNAL}


def _ddb() -> Any:
    return clients.client("dynamodb")


clients.preload("dynamodb")


def _is(exc: Exception, code: str) -> bool:
    return getattr(exc, "response", {}).get("Error", {}).get("Code") == code


def create(partner: str, body: dict[str, Any]) -> dict[str, Any]:
    """Conditional put of a new item: never overwrites; an existing id is 409."""
    item = build(partner, body)
    try:
        _ddb().put_item(
            TableName=clients.table_name(), Item=to_wire_checked(item), ConditionExpression=NOT_EXISTS
        )
    except Exception as exc:
        if _is(exc, "ConditionalCheckFailedException"):
            raise Conflict(f"item {item['id']} already exists") from exc
        raise
    return public(item)


def get(partner: str, item_id: str) -> dict[str, Any]:
    """One item of the partner, or 404."""
    out = _ddb().get_item(TableName=clients.table_name(), Key=keys.item_key(partner, item_id))
    if "Item" not in out:
        raise NotFound("item not found")
    return public(item_from_wire(out["Item"]))


def update(
    partner: str, item_id: str, changes: dict[str, Any], expected_version: int | None
) -> dict[str, Any]:
    """Set the validated mutable fields and bump ``version`` in one conditional UpdateItem.

    404 when absent, 412 when ``expected_version`` is given and differs. ALL_OLD on a failed
    condition tells the two apart without a second read (a consistent read only where a DynamoDB
    implementation does not return the old image).
    """
    names = {"#version": "version", "#updatedAt": "updatedAt"}
    values: dict[str, Any] = {":one": {"N": "1"}, ":now": {"S": now_iso()}}
    sets = ["#version = #version + :one", "#updatedAt = :now"]
    for i, name in enumerate(f for f in MUTABLE_FIELDS if f in changes):
        names[f"#f{i}"] = name
        values[f":f{i}"] = to_wire(changes[name], name)
        sets.append(f"#f{i} = :f{i}")
    condition = "attribute_exists(PK)"
    if expected_version is not None:
        condition += " AND #version = :expected"
        values[":expected"] = {"N": str(expected_version)}
    try:
        out = _ddb().update_item(
            TableName=clients.table_name(),
            Key=keys.item_key(partner, item_id),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except Exception as exc:
        if _is(exc, "ConditionalCheckFailedException"):
            old_image = getattr(exc, "response", {}).get("Item")
            if old_image or (expected_version is not None and _exists(partner, item_id)):
                raise PreconditionFailed("If-Match does not match the item's version") from exc
            raise NotFound("item not found") from exc
        raise
    return public(item_from_wire(out["Attributes"]))


def _exists(partner: str, item_id: str) -> bool:
    """Fallback where a DynamoDB implementation ignores ReturnValuesOnConditionCheckFailure."""
    out = _ddb().get_item(
        TableName=clients.table_name(),
        Key=keys.item_key(partner, item_id),
        ConsistentRead=True,
        ProjectionExpression="PK",
    )
    return "Item" in out


def delete(partner: str, item_id: str) -> None:
    """Delete one item; 404 when absent."""
    try:
        _ddb().delete_item(
            TableName=clients.table_name(),
            Key=keys.item_key(partner, item_id),
            ConditionExpression="attribute_exists(PK)",
        )
    except Exception as exc:
        if _is(exc, "ConditionalCheckFailedException"):
            raise NotFound("item not found") from exc
        raise


def list_by_owner(
    partner: str, user_id: str, limit: int, start_key: dict[str, Any] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Up to ``limit`` items of one end user, newest first, and the key to continue after (or None).

    Reads one item beyond ``limit`` so that the last page never carries a cursor to an empty page.
    """
    found: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": clients.table_name(),
        "IndexName": keys.GSI1,
        "KeyConditionExpression": "GSI1PK = :owner",
        "ExpressionAttributeValues": {":owner": {"S": keys.owner_key(partner, user_id)}},
        "ScanIndexForward": False,
    }
    if start_key:
        request["ExclusiveStartKey"] = start_key
    while len(found) <= limit:
        request["Limit"] = limit + 1 - len(found)
        out = _ddb().query(**request)
        found += out.get("Items", [])
        if "LastEvaluatedKey" not in out:
            break
        request["ExclusiveStartKey"] = out["LastEvaluatedKey"]
    if len(found) <= limit:
        return [public(item_from_wire(i)) for i in found], None
    page = found[:limit]
    last = {k: page[-1][k] for k in keys.KEY_ATTRIBUTES}
    return [public(item_from_wire(i)) for i in page], last
