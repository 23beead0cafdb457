"""CreateTable arguments from shared/apikit/table.json, for tests and benchmarks that need the table
without Terraform. Terraform reads the same file (terraform/modules/table); nothing here restates it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TABLE_JSON = Path(__file__).resolve().parent.parent / "shared" / "apikit" / "table.json"


def spec() -> dict[str, Any]:
    """The key design: hash/range keys, attributes, GSIs, TTL attribute, stream view type."""
    return json.loads(TABLE_JSON.read_text())


def create_table_kwargs(name: str, *, stream: bool = True) -> dict[str, Any]:
    """``dynamodb.create_table(**kwargs)`` for an on-demand table shaped like the deployed one."""
    table = spec()

    def key_schema(hash_key: str, range_key: str) -> list[dict[str, str]]:
        return [
            {"AttributeName": hash_key, "KeyType": "HASH"},
            {"AttributeName": range_key, "KeyType": "RANGE"},
        ]

    kwargs: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in table["attributes"]
        ],
        "KeySchema": key_schema(table["hash_key"], table["range_key"]),
        "GlobalSecondaryIndexes": [
            {
                "IndexName": g["name"],
                "KeySchema": key_schema(g["hash_key"], g["range_key"]),
                "Projection": {"ProjectionType": g["projection_type"]},
            }
            for g in table["global_secondary_indexes"]
        ],
    }
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table["stream_view_type"]}
    return kwargs


def create_table(client: Any, name: str, *, stream: bool = True) -> dict[str, Any]:
    """Create the table and turn on its TTL; return the TableDescription."""
    description = client.create_table(**create_table_kwargs(name, stream=stream))["TableDescription"]
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec()["ttl_attribute"]}
    )
    return description
