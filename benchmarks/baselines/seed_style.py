"""Seed-style handler: one function for every verb, `boto3.resource`, one DynamoDB call per item.

This is the shape of the sample Lambda in the seed notes, extended to the same routes as ours (list and
batch as loops of single-item calls) so it can do the same work in the same benchmark. Its table is keyed
by `id` alone, as in the sample; it validates nothing and has no tenant isolation, logging or tracing.
"""

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
from boto3.dynamodb.conditions import Key

dynamodb = boto3.resource("dynamodb")
table = dynamodb.Table(os.environ["SEED_TABLE_NAME"])


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _response(status: int, body: Any) -> dict[str, Any]:
    return {"statusCode": status, "body": json.dumps(body, default=str)}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:  # noqa: PLR0911
    """Dispatch on method and resource the way the seed sample does, one call per item."""
    method = event["httpMethod"]
    resource = event.get("resource") or event["path"]
    params = event.get("pathParameters") or {}
    query = event.get("queryStringParameters") or {}
    if resource == "/items" and method == "POST":
        item = json.loads(event["body"])
        item.setdefault("id", str(uuid.uuid4()))
        item["createdAt"] = item["updatedAt"] = _now()
        table.put_item(Item=item)
        return _response(201, item)
    if resource == "/items" and method == "GET":
        found = table.scan(FilterExpression=Key("userId").eq(query["userId"]))
        return _response(200, {"items": found.get("Items", []), "nextCursor": None})
    if resource == "/items/{id}" and method == "GET":
        found = table.get_item(Key={"id": params["id"]})
        if "Item" not in found:
            return _response(404, {"message": "Not found"})
        return _response(200, found["Item"])
    if resource == "/items/{id}" and method == "PATCH":
        update = json.loads(event["body"])
        updated = table.update_item(
            Key={"id": params["id"]},
            UpdateExpression="set info = :val, updatedAt = :now",
            ExpressionAttributeValues={":val": update["info"], ":now": _now()},
            ReturnValues="ALL_NEW",
        )
        return _response(200, updated["Attributes"])
    if resource == "/items/{id}" and method == "DELETE":
        table.delete_item(Key={"id": params["id"]})
        return _response(204, {})
    if resource == "/batch" and method == "POST":
        written = []
        for item in json.loads(event["body"])["items"]:
            item.setdefault("id", str(uuid.uuid4()))
            item["createdAt"] = item["updatedAt"] = _now()
            table.put_item(Item=item)
            written.append(item["id"])
        return _response(201, {"written": written, "failed": []})
    if resource == "/batch" and method == "GET":
        items, missing = [], []
        for item_id in query["ids"].split(","):
            found = table.get_item(Key={"id": item_id})
            if "Item" in found:
                items.append(found["Item"])
            else:
                missing.append(item_id)
        return _response(200, {"items": items, "missing": missing})
    return _response(400, {"message": "Unsupported route"})
