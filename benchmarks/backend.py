"""The embedded DynamoDB backend the request benchmarks talk to: a moto server on loopback.

Workers reach it only through AWS_ENDPOINT_URL, as Lambda code reaches the embedded stack. Items are
written in the key layout of docs/data-model.md (our table) or keyed by `id` (the seed-style table).
"""

import json
import logging
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from benchmarks.events import PARTNER
from benchmarks.sandbox import REPO
from embedded_stack.moto_server.patches import serialize_dynamodb_writes

REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Backend:
    """A running moto server with the benchmark's tables."""

    endpoint_url: str
    env: dict[str, str]

    def client(self, service: str) -> Any:
        """A boto3 client for the server (setup and checks only; never measured)."""
        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",  # noqa: S106 - fake credentials for a local emulator
        )

    def put_our_item(self, item_id: str, user_id: str = "bench-user", partner: str = PARTNER) -> None:
        """Write an item as our layer stores it (docs/data-model.md)."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.client("dynamodb").put_item(
            TableName=self.env["TABLE_NAME"],
            Item={
                "PK": {"S": f"P#{partner}#I#{item_id}"},
                "SK": {"S": "ITEM"},
                "GSI1PK": {"S": f"P#{partner}#U#{user_id}"},
                "GSI1SK": {"S": f"{now}#{item_id}"},
                "entity": {"S": "item"},
                "partnerId": {"S": partner},
                "id": {"S": item_id},
                "userId": {"S": user_id},
                "name": {"S": "benchmark item"},
                "info": {"M": {"index": {"N": "1"}}},
                "version": {"N": "1"},
                "createdAt": {"S": now},
                "updatedAt": {"S": now},
            },
        )

    def put_seed_item(self, item_id: str, user_id: str = "bench-user") -> None:
        """Write an item as the seed-style handler stores it (keyed by id)."""
        self.client("dynamodb").put_item(
            TableName=self.env["SEED_TABLE_NAME"],
            Item={
                "id": {"S": item_id},
                "userId": {"S": user_id},
                "name": {"S": "benchmark item"},
                "info": {"M": {"index": {"N": "1"}}},
            },
        )

    def get_item(self, key: tuple[str, str]) -> dict[str, Any] | None:
        """The item stored under (PK, SK) of our table, or None."""
        wire_key = {"PK": {"S": key[0]}, "SK": {"S": key[1]}}
        found = self.client("dynamodb").get_item(
            TableName=self.env["TABLE_NAME"], Key=wire_key, ConsistentRead=True
        )
        return found.get("Item")

    def count_items(self, partner: str) -> int:
        """How many of a partner's items the table holds (a check that writes really happened)."""
        paginator = self.client("dynamodb").get_paginator("scan")
        total = 0
        for page in paginator.paginate(
            TableName=self.env["TABLE_NAME"],
            FilterExpression="begins_with(PK, :prefix) AND SK = :sk",
            ExpressionAttributeValues={":prefix": {"S": f"P#{partner}#I#"}, ":sk": {"S": "ITEM"}},
            Select="COUNT",
        ):
            total += page["Count"]
        return total


def _create_tables(backend: Backend) -> None:
    spec = json.loads((REPO / "shared" / "apikit" / "table.json").read_text())
    ddb = backend.client("dynamodb")
    ddb.create_table(
        TableName=backend.env["TABLE_NAME"],
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": a["name"], "AttributeType": a["type"]} for a in spec["attributes"]
        ],
        KeySchema=[
            {"AttributeName": spec["hash_key"], "KeyType": "HASH"},
            {"AttributeName": spec["range_key"], "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": gsi["name"],
                "KeySchema": [
                    {"AttributeName": gsi["hash_key"], "KeyType": "HASH"},
                    {"AttributeName": gsi["range_key"], "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": gsi["projection_type"]},
            }
            for gsi in spec["global_secondary_indexes"]
        ],
    )
    for name in (backend.env["SEED_TABLE_NAME"], backend.env["IDEMPOTENCY_TABLE_NAME"]):
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
    backend.client("secretsmanager").create_secret(
        Name=backend.env["CURSOR_SECRET_ID"],
        SecretString="bench-cursor-secret-0123456789abcdef0123456789abcdef",
    )


@contextmanager
def running(env: dict[str, str]) -> Iterator[Backend]:
    """Start a moto server on 127.0.0.1 with the tables named in env; stop it afterwards.

    Its DynamoDB writes are atomic per item and its transactions copy no tables, as in the embedded
    stack (embedded_stack/moto_server/transactions.py): moto's own take seconds on a table of 1,000 items.
    """
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per call drowns progress
    serialize_dynamodb_writes()
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    backend = Backend(endpoint_url=endpoint, env={**env, "AWS_ENDPOINT_URL": endpoint})
    try:
        _create_tables(backend)
        yield backend
    finally:
        server.stop()
