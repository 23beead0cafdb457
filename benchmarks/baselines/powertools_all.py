"""Powertools-everything handler: Logger, Tracer, Metrics, the REST resolver, idempotency, validation.

The usual "batteries included" way to write this API. It really serves POST /items (validated against
the same JSON Schema as ours, idempotent on the `Idempotency-Key` header) and GET /items/{id}; the
benchmark measures its init, which is dominated by what it imports, not by how many routes it has.
"""

import json
import os
import uuid
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from aws_lambda_powertools.utilities.validation import SchemaValidationError, validate

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="PartnerItemsBaseline")
app = APIGatewayRestResolver()
table = boto3.resource("dynamodb").Table(os.environ["SEED_TABLE_NAME"])
persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE_NAME"])
idempotency_config = IdempotencyConfig(event_key_jmespath='[headers."Idempotency-Key", body]')
with open(os.environ["ITEM_SCHEMA_PATH"], encoding="utf-8") as schema_file:
    ITEM_SCHEMA = json.load(schema_file)


@app.post("/items")
@tracer.capture_method
def create_item() -> Response:
    """Validate, write, count."""
    body = app.current_event.json_body
    try:
        validate(event=body, schema=ITEM_SCHEMA)
    except SchemaValidationError as error:
        return Response(400, "application/json", json.dumps({"message": str(error)}))
    now = datetime.now(UTC).isoformat()
    item = {"id": str(uuid.uuid4()), **body, "version": 1, "createdAt": now, "updatedAt": now}
    table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")
    metrics.add_metric(name="ItemCreated", unit=MetricUnit.Count, value=1)
    return Response(201, "application/json", json.dumps(item))


@app.get("/items/<item_id>")
@tracer.capture_method
def get_item(item_id: str) -> Response:
    """Read one item."""
    found = table.get_item(Key={"id": item_id})
    if "Item" not in found:
        return Response(404, "application/json", json.dumps({"message": "Not found"}))
    return Response(200, "application/json", json.dumps(found["Item"], default=str))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
@idempotent(persistence_store=persistence, config=idempotency_config)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Resolve the REST route."""
    return app.resolve(event, context)
